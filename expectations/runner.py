"""Validating one site's newly staged rows of one record kind against the kind's suite.

Batches are pandas DataFrames (Great Expectations over duckdb-engine loses query results), so
the caller reads the staged rows, lineage columns included, and hands them over. Each check
becomes one `CheckOutcome` (a row of `audit.validation_results`) whose `failed_rows` are the
rows of `audit.failed_rows`.

`rows_tested` is the number of rows the check looked at: the whole batch, or the rows its
`row_condition` selects. `rows_failed / rows_tested <= threshold` decides `passed`; null values
count as tested and not failed except in not-null checks (and rows with either value missing
are not failed by column-pair checks).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.core.expectation_validation_result import ExpectationValidationResult
from great_expectations.core.result_format import ResultFormat
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

from expectations.registry import load_suite, suite_checks
from imnm.quality.checks import Check, CheckOutcome

LINEAGE_COLUMNS: Final[tuple[str, ...]] = ("site", "file_id", "source_row")
RESULT_FORMAT: Final[dict[str, Any]] = {
    "result_format": ResultFormat.COMPLETE,
    "unexpected_index_column_names": ["file_id", "source_row"],
    "return_unexpected_index_query": False,
    "include_unexpected_rows": False,
}
# One ephemeral context is shared by the process; GX validators are not made for concurrency.
_VALIDATION_LOCK = threading.Lock()


class ValidationError(RuntimeError):
    """Great Expectations could not evaluate a check on a batch."""


@cache
def _batch_definition() -> Any:
    """The pandas batch definition of the process's ephemeral GX context (built once)."""
    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
        ),
    )
    asset = context.data_sources.add_pandas("staging").add_dataframe_asset("staged_batch")
    return asset.add_batch_definition_whole_dataframe("whole_batch")


def suite_parameters(run_date: dt.date) -> dict[str, dt.datetime]:
    """Values for the suites' `$PARAMETER`s: the start and the last instant of the run date."""
    day = run_date.date() if isinstance(run_date, dt.datetime) else run_date
    return {
        "run_date": dt.datetime.combine(day, dt.time.min),
        "run_date_end": dt.datetime.combine(day, dt.time.max),
    }


def _as_datetime(series: pd.Series) -> pd.Series:
    """Dates and timestamps as naive datetime64 (ns where it fits, else us) for comparisons."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    try:
        return series.astype("datetime64[ns]")
    except (pd.errors.OutOfBoundsDatetime, OverflowError, ValueError):
        return series.astype("datetime64[us]")


def _prepare(batch: pd.DataFrame) -> pd.DataFrame:
    """A copy of the batch with a fresh index and date-like columns as datetime64."""
    frame = batch.reset_index(drop=True)
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            if column.dtype != np.dtype("datetime64[ns]"):
                frame[name] = _as_datetime(column)
        elif column.dtype == object:
            first = column.first_valid_index()
            if first is not None and isinstance(column[first], dt.date):
                frame[name] = _as_datetime(column)
    return frame


def format_value(value: Any) -> str | None:
    """A failing value as text for audit.failed_rows: dates ISO, whole numbers without '.0'."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, dt.datetime):
        if value.time() == dt.time.min:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _failed_rows(
    spec: Check, result: dict[str, Any]
) -> tuple[tuple[int, int, str | None], ...]:
    """(file_id, source_row, value) per failing row; pair checks join both values with a comma."""
    columns = (spec.column_name or "").split(",")
    rows = []
    for entry in result.get("unexpected_index_list") or []:
        values = [format_value(entry.get(column)) for column in columns]
        value = values[0] if len(values) == 1 else ",".join("" if v is None else v for v in values)
        rows.append((int(entry["file_id"]), int(entry["source_row"]), value))
    return tuple(sorted(rows, key=lambda row: (row[0], row[1])))


def _outcome(spec: Check, evr: ExpectationValidationResult) -> CheckOutcome:
    """Turn one GX result into an outcome; an evaluation error raises ValidationError."""
    info = evr.exception_info or {}
    errors = [info] if "raised_exception" in info else list(info.values())
    for error in errors:
        if isinstance(error, dict) and error.get("raised_exception"):
            raise ValidationError(
                f"suite {spec.suite!r}, check {spec.check_name!r}: "
                f"{error.get('exception_message')}"
            )
    result = evr.result
    rows_tested = int(result["element_count"])
    rows_failed = int(result["unexpected_count"])
    failed_rows = _failed_rows(spec, result)
    if len(failed_rows) != rows_failed:
        raise ValidationError(
            f"suite {spec.suite!r}, check {spec.check_name!r}: {rows_failed} rows failed but "
            f"{len(failed_rows)} came back with their lineage"
        )
    allowed = math.floor(spec.threshold * rows_tested + 1e-9)
    return CheckOutcome(
        check=spec,
        rows_tested=rows_tested,
        rows_failed=rows_failed,
        passed=rows_failed <= allowed,
        failed_rows=failed_rows,
    )


@dataclass(frozen=True)
class BatchValidation:
    """One suite run on one batch: an outcome per check, plus GX's own result (Data Docs)."""

    outcomes: list[CheckOutcome]
    gx_result: Any  # great_expectations ExpectationSuiteValidationResult, or None if empty


def validate_batch(suite_name: str, batch: pd.DataFrame, run_date: dt.date) -> BatchValidation:
    """Run a suite (a record kind's or a core suite) on one site's rows, lineage included.

    `run_date` bounds the "not in the future" checks, so a rerun gives the same outcomes.
    """
    checks = suite_checks(suite_name)
    if batch.empty:
        return BatchValidation([], None)
    needed = set(LINEAGE_COLUMNS)
    for spec in checks:
        needed.update((spec.column_name or "").split(","))
    missing = sorted(needed - set(batch.columns) - {""})
    if missing:
        raise ValueError(
            f"{suite_name} batch lacks column(s) {', '.join(missing)} that the suite or the "
            "lineage needs"
        )
    frame = _prepare(batch)
    suite = load_suite(suite_name)
    with _VALIDATION_LOCK:
        gx_batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
        suite_result = gx_batch.validate(
            suite,
            result_format=RESULT_FORMAT,
            expectation_parameters=suite_parameters(run_date),
        )
    by_name = {evr.expectation_config.meta["check_name"]: evr for evr in suite_result.results}
    return BatchValidation([_outcome(spec, by_name[spec.check_name]) for spec in checks],
                           suite_result)


def validate_staged_batch(
    record_kind: str, batch: pd.DataFrame, run_date: dt.date
) -> list[CheckOutcome]:
    """Run `record_kind`'s suite on one site's staged rows; one outcome per check, file order."""
    return validate_batch(record_kind, batch, run_date).outcomes
