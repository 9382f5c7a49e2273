"""Progress of long work: a live bar on a terminal, a log line every tenth of the way otherwise.

Logs (Prefect's, CI's) get a bounded number of lines however many items pass.
"""

from __future__ import annotations

import logging
import sys
import time
from types import TracebackType
from typing import Final

LOG_STEPS: Final[int] = 10


class Progress:
    """Counts `total` items as they finish; use as a context manager."""

    def __init__(self, description: str, total: int, logger: logging.Logger | logging.LoggerAdapter,
                 *, unit: str = "ECGs", show_bar: bool | None = None) -> None:
        self.description = description
        self.total = total
        self.unit = unit
        self.done = 0
        self._logger = logger
        self._next_log = 1
        self._started = time.perf_counter()
        self._show_bar = sys.stderr.isatty() if show_bar is None else show_bar
        self._bar = None
        self._task = None

    def __enter__(self) -> Progress:
        self._started = time.perf_counter()
        if self._show_bar:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                     MofNCompleteColumn(), TaskProgressColumn(),
                                     TimeRemainingColumn(), console=Console(stderr=True))
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total)
        return self

    def advance(self, n: int) -> None:
        """Record `n` more finished items."""
        self.done += n
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
        reached = min(LOG_STEPS, self.done * LOG_STEPS // self.total) if self.total else 0
        if reached >= self._next_log:
            self._next_log = reached + 1
            self._logger.info("%s: %d/%d %s (%.0f/s)", self.description, self.done, self.total,
                              self.unit, self.rate)

    @property
    def rate(self) -> float:
        """Items per second so far."""
        elapsed = time.perf_counter() - self._started
        return self.done / elapsed if elapsed > 0 else 0.0

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
