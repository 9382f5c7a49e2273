"""Retries for the refresh's tasks that read or write files and can be run again whole: a
transient I/O failure (the warehouse locked for a moment by a reader, a network file system
that hiccups) is retried twice, after 2 and then 10 seconds; any other failure, and an I/O
error that will not go away (a missing file, a permission refused), fails at once."""

from __future__ import annotations

from typing import Any, Final

import duckdb

# Errors that waiting can cure; of OSError, the kinds that waiting cannot are excluded.
TRANSIENT: Final[tuple[type[BaseException], ...]] = (OSError, duckdb.IOException)
PERMANENT: Final[tuple[type[BaseException], ...]] = (
    FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError)


def is_transient_io_failure(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's retry condition: retry only a transient I/O error (state.data holds the
    exception the task raised)."""
    del task, task_run
    error = state.data
    return isinstance(error, TRANSIENT) and not isinstance(error, PERMANENT)


IO_RETRIES: Final[dict[str, Any]] = {"retries": 2, "retry_delay_seconds": [2, 10],
                                     "retry_condition_fn": is_transient_io_failure}
