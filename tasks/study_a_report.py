"""Study A report of a release: read the release's result rows, write one HTML page.

    <data>/releases/<release_id>/reports/study-a.html   beside dq-report.html

Rows come from the `results.study_a_<name>_history` tables filtered by release id (in the
published file the plain names show only the latest release), the release's registry entry
from `results.releases`, and the data-quality outcomes of its refresh run from
`audit.validation_results`. A table the file does not have, or without rows for the release,
becomes a "not computed" note in the page rather than an error.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import duckdb
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from imnm.dq_report.html import REPORT_FILE as DQ_REPORT_FILE
from imnm.dq_report.model import Outcome
from imnm.settings import DataPaths
from imnm.study_a_report import (
    REPORT_FILE,
    TABLE_NAMES,
    StudyAReportData,
    history_table,
    render_report,
)
from tasks.context import RunContext
from tasks.dq_report import (
    latest_release_id,
    read_outcomes,
    read_release,
    write_text_atomically,
)
from warehouse.db import open_warehouse, sql

# Row order within each table (rowid: the order the analysis wrote them).
ORDER_BY: Final[dict[str, str]] = {
    "attrition": "rowid", "accuracy": "cutoff_rule", "roc_curve": "point",
    "score_by_echo": "echo_group", "logistic": "rowid", "table1": "row_order",
    "early_detection": "model_group", "serial_ecgs": "patient_key, years_from_treatment_onset",
    "trajectory": "rowid", "trajectory_phases": "phase", "cox": "rowid",
    "km": "model_group, time_years", "logrank": "rowid", "patients": "patient_key",
}


@dataclass(frozen=True)
class StudyAReport:
    """A release's study A page: where it is, whether it was written now, and the result
    tables it could not show (absent or without rows; known only when written now)."""

    release_id: str
    html: Path
    written: bool
    not_computed: tuple[str, ...]
    synthetic: bool
    seconds: float


# --- reading ------------------------------------------------------------------------------

def read_release_parameters(con: duckdb.DuckDBPyConnection, release_id: str
                            ) -> dict[str, Any]:
    """The analysis parameters the release recorded (empty when it has none)."""
    row = con.execute(sql("select_release_parameters"), [release_id]).fetchone()
    if row is None or row[0] is None:
        return {}
    return dict(json.loads(row[0]) if isinstance(row[0], str) else row[0])


def read_table(con: duckdb.DuckDBPyConnection, name: str, release_id: str
               ) -> tuple[dict[str, Any], ...] | None:
    """The release's rows of one result table (without release_id); None if there is no
    such table in this file."""
    query = (f"SELECT * EXCLUDE (release_id) FROM {history_table(name)} "
             f"WHERE release_id = $1 ORDER BY {ORDER_BY[name]}")
    try:
        cursor = con.execute(query, [release_id])
    except duckdb.CatalogException:
        return None
    columns = [d[0] for d in cursor.description]
    return tuple(dict(zip(columns, values, strict=True)) for values in cursor.fetchall())


def _outcomes(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[Outcome, ...]:
    try:
        return tuple(read_outcomes(con, run_id))
    except duckdb.CatalogException:  # a results file without the audit copy
        return ()


def model_card_synthetic(models_dir: Path, version: str) -> bool | None:
    """Whether the registered model's card says it was trained on synthetic data (None when
    this data directory has no card for that version)."""
    if not (models_dir / version).is_dir():
        return None
    from models.registry import ModelRegistry, RegistryError

    try:
        return ModelRegistry(models_dir).get(version).card.training_data.synthetic
    except (RegistryError, ValueError, KeyError, TypeError):
        return None


def read_report_data(con: duckdb.DuckDBPyConnection, release_id: str,
                     models_dir: Path | None = None, dq_report_href: str | None = None
                     ) -> StudyAReportData:
    """Everything the study A report of `release_id` shows, read through `con`."""
    release = read_release(con, release_id)
    return StudyAReportData(
        release=release, analysis_parameters=read_release_parameters(con, release_id),
        tables={name: read_table(con, name, release_id) for name in TABLE_NAMES},
        outcomes=_outcomes(con, release.run_id),
        model_card_synthetic=(model_card_synthetic(models_dir, release.model_version)
                              if models_dir is not None else None),
        dq_report_href=dq_report_href,
        generated_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0))


# --- writing ------------------------------------------------------------------------------

def report_path(paths: DataPaths, release_id: str) -> Path:
    """Where the release's study A report is written."""
    return paths.release_reports(release_id) / REPORT_FILE


def build_from_connection(con: duckdb.DuckDBPyConnection, paths: DataPaths, release_id: str
                          ) -> StudyAReport:
    """Write the release's study A report, reading through `con` (any open connection)."""
    started = time.perf_counter()
    data = read_report_data(con, release_id, paths.models, DQ_REPORT_FILE)
    target = report_path(paths, data.release.release_id)
    write_text_atomically(target, render_report(data))
    return StudyAReport(
        release_id=data.release.release_id, html=target, written=True,
        not_computed=tuple(n for n in TABLE_NAMES if data.missing(n)),
        synthetic=data.synthetic, seconds=time.perf_counter() - started)


def write_study_a_report(paths: DataPaths, release_id: str | None = None, *,
                         source: Path | None = None, overwrite: bool = True) -> StudyAReport:
    """Write the study A report of `release_id` (default the latest), reading `source` (default
    the published results file) read-only; with overwrite=False an existing page is kept."""
    database = source or paths.results
    if not database.exists():
        raise FileNotFoundError(f"no release yet in {paths.root}: run `imnm refresh` first")
    started = time.perf_counter()
    with duckdb.connect(str(database), read_only=True) as con:
        try:
            chosen = release_id or latest_release_id(con)
        except duckdb.CatalogException as exc:
            raise ValueError(f"{database} holds no releases: run `imnm refresh` first") from exc
        if chosen is None:
            raise ValueError("no release yet: run `imnm refresh` first")
        existing = report_path(paths, chosen)
        if not overwrite and existing.is_file():
            release = read_release(con, chosen)  # the id must still name a release
            return StudyAReport(chosen, existing, False, (), release.synthetic,
                                time.perf_counter() - started)
        return build_from_connection(con, paths, chosen)


@task(name="study A report", cache_policy=NO_CACHE)
def study_a_report_task(ctx: RunContext, release_id: str) -> StudyAReport:
    """Write the release's study A report (after publish), reading the warehouse read-only."""
    with open_warehouse(ctx.paths.warehouse, read_only=True) as con:
        report = build_from_connection(con, ctx.paths, release_id)
    logger = get_run_logger()
    if report.not_computed:
        logger.info("study A report of %s: not computed: %s", report.release_id,
                    ", ".join(report.not_computed))
    logger.info("study A report of %s written in %.2fs: %s", report.release_id, report.seconds,
                report.html)
    return report
