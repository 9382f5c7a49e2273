"""One refresh at a time per data directory: an exclusive lock on `<data dir>/.refresh.lock`,
taken before a refresh touches anything and released when it ends (or its process dies: the
operating system drops the lock with the process, so a killed run never leaves it stuck).

A second refresh on the same directory is refused at once with who holds the lock, instead of
running until DuckDB refuses its write to the warehouse. Deployment runs queue before this
(the deployment's concurrency limit of 1); this lock also covers `imnm refresh` by hand.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

LOCK_FILE = ".refresh.lock"


class RefreshRunningError(RuntimeError):
    """Another refresh holds the data directory's lock; the message names it."""


def lock_path(data_root: Path) -> Path:
    """The lock file of a data directory."""
    return data_root / LOCK_FILE


def _holder(handle: IO[str]) -> str:
    handle.seek(0)
    try:
        facts = json.loads(handle.read() or "{}")
    except json.JSONDecodeError:
        facts = {}
    if not facts:
        return "another process"
    return f"process {facts.get('pid')} on {facts.get('host')}, since {facts.get('started')} UTC"


def _try_lock(handle: IO[str], data_root: Path) -> None:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise RefreshRunningError(
            f"another refresh is running on {data_root} ({_holder(handle)}); this one did not "
            "start: wait for it to finish, then run again") from None


@contextlib.contextmanager
def refresh_lock(data_root: Path) -> Iterator[None]:
    """Hold the data directory's refresh lock while inside; RefreshRunningError at once when
    another refresh holds it."""
    data_root.mkdir(parents=True, exist_ok=True)
    with open(lock_path(data_root), "a+", encoding="utf-8") as handle:
        _try_lock(handle, data_root)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({"pid": os.getpid(), "host": os.uname().nodename,
                                     "started": f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S}"}))
            handle.flush()
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def check_no_refresh_running(data_root: Path) -> None:
    """RefreshRunningError when a refresh holds the directory now (a quick probe before a
    command starts Prefect; the refresh itself takes the lock)."""
    path = lock_path(data_root)
    if not path.exists():
        return
    with open(path, "a+", encoding="utf-8") as handle:
        _try_lock(handle, data_root)
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
