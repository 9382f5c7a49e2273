"""The pure summaries the study A report builds on a release's rows.

Result tables arrive as `StudyReportData` (imnm/studies/report_data.py): one mapping per row of
`results.study_a_<name>_history` for the release; `None` for a table the results file does not
have, an empty tuple for an analysis that produced no rows in this release.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from imnm.studies.report_html import key_part
from imnm.studies.study_a.tables import RESULT_TABLES

Row = Mapping[str, Any]
Rows = tuple[Row, ...]

# Columns naming one row of each table within a release (empty: the table has one row).
ROW_KEYS: Final[Mapping[str, tuple[str, ...]]] = {t.name: t.row_key for t in RESULT_TABLES}
ECHO_GROUPS: Final[tuple[str, ...]] = ("lvd", "no_lvd")
MODEL_GROUPS: Final[tuple[str, ...]] = ("predicts_lvd", "predicts_no_lvd")
PHASES: Final[tuple[str, ...]] = ("before_treatment", "on_treatment")
CUTOFF_RULES: Final[tuple[str, ...]] = ("configured", "youden")


def row_key(table: str, row: Row) -> str:
    """The identifier of a row within its table and release ("" for one-row tables)."""
    return "|".join(key_part(row.get(column)) for column in ROW_KEYS[table])


def by_key(rows: Iterable[Row], column: str) -> dict[Any, Row]:
    """Rows indexed by one column's value (the last row wins on duplicates)."""
    return {row.get(column): row for row in rows}


def yearly_times(km_rows: Iterable[Row]) -> tuple[float, ...]:
    """0, 1, 2, ... years up to the last time of the step table (at-risk table times)."""
    times = [float(row["time_years"]) for row in km_rows]
    if not times:
        return ()
    return tuple(float(t) for t in range(int(math.floor(max(times))) + 1))


def numbers_at_risk(km_rows: Iterable[Row], times: Sequence[float]
                    ) -> dict[str, tuple[int, ...]]:
    """Per model group, patients still at risk at each time, from the Kaplan-Meier step table.

    The step table has a row at every time a patient leaves the risk set (event or censoring),
    so those at risk at t are the risk set of the first row at or after t, and none after the
    last row.
    """
    steps: dict[str, list[Row]] = {}
    for row in km_rows:
        steps.setdefault(str(row["model_group"]), []).append(row)
    result = {}
    for group in group_order(steps, MODEL_GROUPS):
        rows = sorted(steps[group], key=lambda r: float(r["time_years"]))
        counts = []
        for t in times:
            later = next((r for r in rows if float(r["time_years"]) >= t), None)
            if later is None:
                last = rows[-1]
                counts.append(max(int(last["n_at_risk"]) - int(last["n_events"])
                                  - int(last["n_censored"]), 0))
            else:
                counts.append(int(later["n_at_risk"]))
        result[group] = tuple(counts)
    return result


def group_order(groups: Iterable[str], known: Sequence[str]) -> list[str]:
    """Groups in their documented order, unknown ones after them by name."""
    return sorted(set(groups), key=lambda g: (known.index(g) if g in known else len(known), g))


def km_curve(km_rows: Iterable[Row], group: str) -> tuple[list[float], list[float]]:
    """The step curve of one group from time 0 (survival 1) through every step."""
    rows = sorted((r for r in km_rows if r["model_group"] == group),
                  key=lambda r: float(r["time_years"]))
    times, survival = [0.0], [1.0]
    for row in rows:
        times.append(float(row["time_years"]))
        survival.append(float(row["survival"]))
    return times, survival


def ph_verdict(p_value: float | None, alpha: float = 0.05) -> str:
    """A Schoenfeld-residual test's p-value in words: is proportional hazards in doubt?"""
    if p_value is None or (isinstance(p_value, float) and math.isnan(p_value)):
        return "not tested"
    return "violated" if p_value < alpha else "not rejected"
