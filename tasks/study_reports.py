"""Prefect shell of the study report stage: every registered study's page of the release
(the pages themselves: imnm/studies/reports.py and each study's report/ package)."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from imnm.refresh.context import RunContext
from imnm.refresh.retries import IO_RETRIES
from imnm.studies.registry import all_studies
from imnm.studies.reports import StudyReport, build_from_connection
from models.registry import card_says_synthetic
from warehouse.db import open_warehouse


@task(name="study reports", cache_policy=NO_CACHE, **IO_RETRIES)
def study_reports_task(ctx: RunContext, release_id: str) -> tuple[StudyReport, ...]:
    """Write each study's report of the release (after publish), reading the warehouse
    read-only."""
    logger = get_run_logger()
    reports = []
    with open_warehouse(ctx.paths.warehouse, read_only=True) as con:
        for study in all_studies():
            report = build_from_connection(
                con, ctx.paths, study, release_id,
                lambda version: card_says_synthetic(ctx.paths.models, version))
            if report.not_computed:
                logger.info("%s report of %s: not computed: %s", study.name,
                            report.release_id, ", ".join(report.not_computed))
            logger.info("%s report of %s written in %.2fs: %s", study.name, report.release_id,
                        report.seconds, report.html)
            reports.append(report)
    return tuple(reports)
