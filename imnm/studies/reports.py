"""Any registered study's report of a release: read the release's result rows, render them
with the study's own `report/` package, write one HTML page.

    <data>/releases/<release_id>/reports/<study report file>   beside dq-report.html

Rows come from the study's `results.<study>_<name>_history` tables filtered by release id (in
the published file the plain names show only the latest release), the release's registry
entry from `results.releases`, and the data-quality outcomes of its refresh run. A table the
file does not have, or without rows for the release, becomes a "not computed" note in the page
rather than an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from imnm.dq_report.html import REPORT_FILE as DQ_REPORT_FILE
from imnm.releases import (
    NoReleaseError,
    chosen_release_id,
    open_published,
    read_outcomes,
    read_release,
    read_release_parameters,
    read_release_rows,
)
from imnm.settings import DataPaths
from imnm.studies.base import Study
from imnm.studies.report_data import StudyReportData
from warehouse.files import write_text_atomically


@dataclass(frozen=True)
class StudyReport:
    """A release's page of one study: where it is, whether it was written now, and the result
    tables it could not show (absent or without rows; known only when written now)."""

    study: str
    release_id: str
    html: Path
    written: bool
    not_computed: tuple[str, ...]
    synthetic: bool
    seconds: float


def study_parameters(recorded: dict[str, Any], study: Study) -> dict[str, Any]:
    """The study's own parameters out of a release's recorded ones ({study: {...}}); releases
    published before parameters were kept per study hold the first study's, flat."""
    own = recorded.get(study.name)
    if isinstance(own, dict):
        return own
    return {} if any(isinstance(v, dict) for v in recorded.values()) else recorded


# Looks up whether a model version's card says synthetic training data (None: no card);
# models/registry.py's `card_says_synthetic`, passed in by the stage or command.
CardLookup = Callable[[str], bool | None]


def read_report_data(con: duckdb.DuckDBPyConnection, study: Study, release_id: str,
                     card_lookup: CardLookup | None = None, dq_report_href: str | None = None
                     ) -> StudyReportData:
    """Everything the study's report of `release_id` shows, read through `con`; a release
    that did not record its model's word on synthetic data asks `card_lookup`."""
    release = read_release(con, release_id)
    card_synthetic = None
    if release.model_synthetic is None and card_lookup is not None:
        card_synthetic = card_lookup(release.model_version)
    return StudyReportData(
        study=study.name, release=release,
        analysis_parameters=study_parameters(read_release_parameters(con, release_id), study),
        tables={t.name: read_release_rows(con, study.history_table(t.name), release_id,
                                          t.order_by)
                for t in study.result_tables},
        outcomes=read_outcomes(con, release.run_id),
        dq_report_href=dq_report_href,
        generated_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0),
        model_card_synthetic=card_synthetic)


def report_path(paths: DataPaths, study: Study, release_id: str) -> Path:
    """Where the release's report of `study` is written."""
    return paths.release_reports(release_id) / study.report_file


def build_from_connection(con: duckdb.DuckDBPyConnection, paths: DataPaths, study: Study,
                          release_id: str, card_lookup: CardLookup | None = None
                          ) -> StudyReport:
    """Write the release's report of `study`, reading through `con` (any open connection)."""
    started = time.perf_counter()
    data = read_report_data(con, study, release_id, card_lookup, DQ_REPORT_FILE)
    target = report_path(paths, study, data.release.release_id)
    write_text_atomically(target, study.render_report(data))
    return StudyReport(
        study=study.name, release_id=data.release.release_id, html=target, written=True,
        not_computed=tuple(n for n in study.table_names if data.missing(n)),
        synthetic=data.synthetic, seconds=time.perf_counter() - started)


def write_study_report(paths: DataPaths, study: Study, release_id: str | None = None, *,
                       source: Path | None = None, overwrite: bool = True,
                       card_lookup: CardLookup | None = None) -> StudyReport:
    """Write the report of `study` for `release_id` (default the latest), reading `source`
    (default the published results file) read-only; with overwrite=False an existing page is
    kept."""
    started = time.perf_counter()
    with open_published(paths, source) as con:
        try:
            chosen = chosen_release_id(con, release_id)
        except duckdb.CatalogException as exc:
            raise NoReleaseError(f"{source or paths.results} holds no releases: run "
                                 "`imnm refresh` first") from exc
        existing = report_path(paths, study, chosen)
        if not overwrite and existing.is_file():
            release = read_release(con, chosen)  # the id must still name a release
            return StudyReport(study.name, chosen, existing, False, (), release.synthetic,
                               time.perf_counter() - started)
        return build_from_connection(con, paths, study, chosen, card_lookup)
