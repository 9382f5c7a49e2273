"""Storing check outcomes in the audit schema: every outcome (audit.validation_results) and
every failing row with its patient pseudonym (audit.failed_rows), whatever the verdict."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import duckdb

from imnm.quality.checks import CheckOutcome
from warehouse.db import insert_many, sql


def record_outcomes(con: duckdb.DuckDBPyConnection, run_id: str,
                    outcomes: Iterable[CheckOutcome],
                    patient_keys: Mapping[tuple[int, int], str | None]) -> None:
    """Store each outcome (its layer, site and record kind set) and its failing rows, the rows
    keyed (file_id, source_row) -> pseudonym of the row's patient."""
    now = datetime.now(UTC).replace(tzinfo=None)
    for outcome in outcomes:
        check = outcome.check
        con.execute(sql("insert_validation_result"), [
            run_id, outcome.site, outcome.record_kind, check.suite, check.check_name,
            check.expectation_type, check.column_name, check.category, check.severity,
            check.threshold, outcome.rows_tested, outcome.rows_failed, outcome.passed, now,
            outcome.layer])
        insert_many(con, "insert_failed_row", [
            (run_id, outcome.site, outcome.record_kind, check.check_name, file_id, source_row,
             check.column_name, value, outcome.layer, patient_keys.get((file_id, source_row)))
            for file_id, source_row, value in outcome.failed_rows])
