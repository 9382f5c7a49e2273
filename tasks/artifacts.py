"""Prefect shell of the refresh's artifacts (imnm/refresh/artifacts.py builds them): the
summary, the per-centre data-quality table and links to the release's reports."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.cache_policies import NO_CACHE

from imnm.dq_report.write import DqReport
from imnm.refresh.artifacts import (
    DATA_QUALITY_KEY,
    SUMMARY_KEY,
    data_quality_rows,
    report_links,
    summary_markdown,
)
from imnm.refresh.retries import IO_RETRIES
from imnm.refresh.runs import RefreshSummary


@task(name="refresh artifacts", cache_policy=NO_CACHE, **IO_RETRIES)
def refresh_artifacts(summary: RefreshSummary, report: DqReport | None) -> None:
    """Leave the refresh's summary, data-quality table and report links in Prefect."""
    release = f"release {summary.release_id}"
    create_markdown_artifact(summary_markdown(summary), key=SUMMARY_KEY,
                             description=f"What refresh {summary.run_id} did ({release})")
    if report is not None:
        create_table_artifact(data_quality_rows(report), key=DATA_QUALITY_KEY,
                              description=f"Data-quality checks per centre, {release}")
    for link in report_links(summary, report):
        create_link_artifact(link.url, link_text=link.text, key=link.key,
                             description=f"{link.text}, {release}")
