"""The study A report of a release as one self-contained HTML page (no scripts, no external
assets, figures inline as SVG), rendered with Jinja2 and autoescaping.

Every number taken from a result table is a `<span>` carrying `data-table`, `data-row` (see
`model.row_key`), `data-column`, `data-value` (the exact stored value, Python's repr for
floats, "" for NULL) and `data-style` (how the shown text derives from it: `int`, `num`,
`pct` = value x 100 with "%", `p`); text values carry the first three. Figures are
`<figure data-figure="roc|score_by_echo|trajectory|km">`. Numbers computed here rather than
read (numbers at risk, data-quality counts) carry `data-derived` instead of `data-table`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from imnm.dq_report.html import REPORT_FILE as DQ_REPORT_FILE
from imnm.dq_report.html import SYNTHETIC_NOTICE
from imnm.dq_report.html import TEMPLATES as DQ_TEMPLATES
from imnm.dq_report.model import blocking_failures, summarize_sites
from imnm.studies.report_data import StudyReportData
from imnm.studies.report_html import CellWriter, raw_value
from imnm.studies.study_a.report import figures
from imnm.studies.study_a.report.model import (
    CUTOFF_RULES,
    ECHO_GROUPS,
    MODEL_GROUPS,
    PHASES,
    ROW_KEYS,
    Row,
    group_order,
    numbers_at_risk,
    ph_verdict,
    yearly_times,
)

TEMPLATES: Final[Path] = Path(__file__).resolve().parent / "templates"
REPORT_FILE: Final[str] = "study-a.html"  # = STUDY.report_file
DEFAULT_DQ_HREF: Final[str] = DQ_REPORT_FILE  # the data-quality report sits beside this one


_CELLS = CellWriter(ROW_KEYS)
cell, text, with_ci, p_is = _CELLS.cell, _CELLS.text, _CELLS.with_ci, _CELLS.p_is


def _parameter(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


@cache
def _environment() -> Environment:
    # The data-quality report's stylesheet is the base; study_a.css adds to it.
    env = Environment(loader=FileSystemLoader([str(TEMPLATES), str(DQ_TEMPLATES)]),
                      autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.globals.update(cell=cell, text=text, with_ci=with_ci, p_is=p_is, ph_verdict=ph_verdict,
                       raw_value=raw_value, group_labels=figures.GROUP_LABELS)
    env.filters["parameter"] = _parameter
    return env


def _one(rows: tuple[Row, ...]) -> Row | None:
    return rows[0] if rows else None


def _figures(data: StudyReportData) -> dict[str, Markup | None]:
    """Each figure's inline SVG, or None where its tables are missing."""
    drawn: dict[str, Markup | None] = dict.fromkeys(("roc", "score_by_echo", "trajectory", "km"))
    if not data.missing("roc_curve", "accuracy"):
        drawn["roc"] = Markup(figures.roc_figure(data.rows("roc_curve"), data.rows("accuracy")))
    if not data.missing("patients", "score_by_echo"):
        drawn["score_by_echo"] = Markup(figures.score_by_echo_figure(
            data.rows("patients"), data.rows("score_by_echo")))
    if not data.missing("serial_ecgs"):
        drawn["trajectory"] = Markup(figures.trajectory_figure(
            data.rows("serial_ecgs"), data.rows("trajectory_phases"),
            _one(data.rows("trajectory"))))
    if not data.missing("km"):
        drawn["km"] = Markup(figures.km_figure(data.rows("km"), _one(data.rows("logrank"))))
    return drawn


def _ordered(rows: tuple[Row, ...], column: str, known: tuple[str, ...]) -> list[Row]:
    """One row per value of `column`, documented values first (e.g. configured, youden)."""
    index = {str(row.get(column)): row for row in rows}
    return [index[k] for k in group_order(index, known)]


def render_report(data: StudyReportData) -> str:
    """The release's study A report as one HTML page."""
    km_rows = data.rows("km")
    times = yearly_times(km_rows)
    parameters: Mapping[str, Any] = data.analysis_parameters
    return _environment().get_template("study_a.html.j2").render(
        data=data,
        release=data.release,
        parameters=sorted(parameters.items()),
        cutoff=parameters.get("cutoff"),
        synthetic_notice=SYNTHETIC_NOTICE if data.synthetic else None,
        sites=summarize_sites(data.release, data.outcomes),
        blocking=blocking_failures(data.outcomes),
        accuracy=_ordered(data.rows("accuracy"), "cutoff_rule", CUTOFF_RULES),
        score_by_echo=_ordered(data.rows("score_by_echo"), "echo_group", ECHO_GROUPS),
        early_detection=_ordered(data.rows("early_detection"), "model_group", MODEL_GROUPS),
        phases=_ordered(data.rows("trajectory_phases"), "phase", PHASES),
        trajectory=_one(data.rows("trajectory")),
        logrank=_one(data.rows("logrank")),
        at_risk_times=times,
        at_risk=numbers_at_risk(km_rows, times),
        figures=_figures(data),
    )
