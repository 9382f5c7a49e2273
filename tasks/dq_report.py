"""Prefect shell of the data-quality report stage (the report itself: imnm/dq_report/)."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from imnm.dq_report.write import DqReport, write_dq_report
from imnm.refresh.context import RunContext
from imnm.refresh.retries import IO_RETRIES


@task(name="data-quality report", cache_policy=NO_CACHE, **IO_RETRIES)
def dq_report_task(ctx: RunContext, release_id: str) -> DqReport:
    """Write the release's data-quality report and Data Docs (after publish)."""
    report = write_dq_report(ctx.paths, release_id)
    logger = get_run_logger()
    for error in report.data_docs_errors:
        logger.warning("Data Docs page not rendered: %s", error)
    logger.info(
        "data-quality report of %s: %d checks, %d failed (%d blocking), %d Data Docs pages, "
        "%.2fs: %s", report.release_id, report.checks_run, report.checks_failed,
        report.blocking_failed, report.data_docs_pages, report.seconds, report.html)
    return report
