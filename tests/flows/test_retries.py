"""Tasks that do I/O retry a transient failure (a DuckDB lock, an OSError) and nothing else:
a task failing once with a DuckDB lock error succeeds on its retry under real Prefect, and
one failing with a data error or a missing file fails at once."""

from __future__ import annotations

import contextlib

import duckdb
import pytest

from imnm.refresh.retries import IO_RETRIES, is_transient_io_failure


class _State:
    def __init__(self, data: object) -> None:
        self.data = data


@pytest.mark.parametrize(("error", "retried"), [
    (duckdb.IOException("Could not set lock on file"), True),
    (OSError(5, "Input/output error"), True),
    (TimeoutError("timed out"), True),
    (FileNotFoundError("gone"), False),
    (PermissionError("refused"), False),
    (ValueError("bad value"), False),
    (duckdb.CatalogException("no table"), False),
])
def test_only_transient_io_failures_are_retried(error: BaseException, retried: bool) -> None:
    assert is_transient_io_failure(None, None, _State(error)) is retried


def test_a_task_retries_a_lock_and_not_a_data_error(prefect_harness: None) -> None:
    from prefect import flow, task

    attempts = {"lock": 0, "data": 0}

    @task(**{**IO_RETRIES, "retry_delay_seconds": 0})
    def locked_once() -> str:
        attempts["lock"] += 1
        if attempts["lock"] == 1:
            raise duckdb.IOException("Could not set lock on file warehouse.duckdb")
        return "done"

    @task(**{**IO_RETRIES, "retry_delay_seconds": 0})
    def bad_data() -> None:
        attempts["data"] += 1
        raise ValueError("column ck is not a number")

    @flow
    def both() -> str:
        result = locked_once()
        with contextlib.suppress(ValueError):
            bad_data()
        return result

    assert both() == "done"
    assert attempts == {"lock": 2, "data": 1}
