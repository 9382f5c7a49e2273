"""The studies' progress (each model they fit) reaches the refresh's log."""

from __future__ import annotations

import logging

from tasks.analyse import studies_logging_to


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_studies_progress_reaches_the_run_log_while_analysing_only() -> None:
    run_logger = logging.getLogger("test.refresh.run")
    run_logger.setLevel(logging.DEBUG)
    collected = _Collect()
    run_logger.addHandler(collected)
    study = logging.getLogger("imnm.studies.any_study.analyses")
    try:
        with studies_logging_to(run_logger):
            study.info("fit of model %s: %.1f s", "grade", 9.5)
            study.debug("not at INFO")
        study.info("after the analyse stage")
    finally:
        run_logger.removeHandler(collected)
    assert collected.messages == ["fit of model grade: 9.5 s"]
    assert logging.getLogger("imnm.studies").propagate
