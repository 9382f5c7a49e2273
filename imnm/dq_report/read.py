"""Reading what a release's data-quality report shows from the audit tables.

The report is read from the release's refresh run only; the trend reads the outcomes of the
recent releases' runs. Everything is read through one connection (the warehouse, read-only or
the refresh's own writer, or a published results file).
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from imnm.dq_report.model import (
    EXAMPLES_PER_CHECK,
    TREND_RELEASES,
    ExampleRow,
    QuarantinedFile,
    ReportData,
    UnmappedCount,
)
from imnm.quality.checks import CheckOutcome, outcome_from_row
from imnm.quality.privacy import mask_text_value
from imnm.releases import read_outcomes, read_release
from warehouse.db import sql


def read_examples(con: duckdb.DuckDBPyConnection, run_id: str, per_check: int
                  ) -> list[ExampleRow]:
    """Up to `per_check` failing rows per check of a run, values masked."""
    rows = con.execute(sql("select_dq_failed_row_examples"), [run_id, per_check]).fetchall()
    return [ExampleRow(layer, site, kind, check, path, file_id, source_row, column,
                       mask_text_value(column, value), patient_key)
            for (layer, site, kind, check, path, file_id, source_row, column, value,
                 patient_key) in rows]


def read_trend(con: duckdb.DuckDBPyConnection, release_id: str, n_releases: int
               ) -> tuple[tuple[str, ...], list[CheckOutcome]]:
    """(the last `n_releases` release ids up to `release_id`, oldest first; every check's
    outcome in each of them, with its release_id)."""
    recent = [r[0] for r in con.execute(sql("select_dq_recent_releases"),
                                        [release_id, n_releases]).fetchall()]
    recent.reverse()  # oldest first
    points = [replace(outcome_from_row(row[:-1]), release_id=row[-1])
              for row in con.execute(sql("select_dq_trend"), [recent]).fetchall()]
    return tuple(recent), points


def read_report_data(con: duckdb.DuckDBPyConnection, release_id: str,
                     landing: Path | None = None, *, trend_releases: int = TREND_RELEASES,
                     examples_per_check: int = EXAMPLES_PER_CHECK) -> ReportData:
    """Everything the report of `release_id` shows; quarantine reasons lose the `landing`
    prefix, so they name files as the centre delivered them."""
    release = read_release(con, release_id)
    recent, points = read_trend(con, release_id, trend_releases)
    prefix = f"{landing}{os.sep}" if landing else None
    quarantined = tuple(
        QuarantinedFile(site, path, reason.replace(prefix, "") if reason and prefix else reason)
        for site, path, reason in con.execute(sql("select_dq_quarantined_files"),
                                              [release.run_id]).fetchall())
    return ReportData(
        release=release,
        outcomes=read_outcomes(con, release.run_id),
        examples=tuple(read_examples(con, release.run_id, examples_per_check)),
        recent_releases=recent,
        trend=tuple(points),
        quarantined=quarantined,
        unmapped=tuple(UnmappedCount(*row) for row in con.execute(
            sql("select_dq_unmapped_counts"), [release.run_id]).fetchall()),
        generated_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0),
    )
