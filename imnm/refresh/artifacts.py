"""What a refresh leaves in Prefect as artifacts (its UI's Artifacts tab, `prefect artifact
ls`): the terminal summary, the per-centre data-quality table and links to the release's
reports. Pure: tasks/artifacts.py hands these to Prefect."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imnm.dq_report.write import DqReport
from imnm.refresh.runs import RefreshSummary
from imnm.refresh.summary import format_summary

# Artifact keys (Prefect keeps every version of a key: one per refresh).
SUMMARY_KEY = "refresh-summary"
DATA_QUALITY_KEY = "refresh-data-quality"
REPORT_KEY_PREFIX = "refresh-report-"


@dataclass(frozen=True)
class ReportLink:
    """One report of the release: its artifact key, link text and file URL."""

    key: str
    text: str
    url: str


def summary_markdown(summary: RefreshSummary) -> str:
    """The refresh summary as Markdown: the terminal text, verbatim."""
    return f"# Refresh {summary.run_id}\n\n```text\n{format_summary(summary)}\n```\n"


def data_quality_rows(report: DqReport) -> list[dict[str, Any]]:
    """One row per centre: checks run and failed, blocking failures, failing rows, held back."""
    return [{"centre": s.site, "checks run": s.checks_run, "checks failed": s.checks_failed,
             "blocking failed": s.blocking_failed, "rows failed": s.rows_failed,
             "held back": ", ".join(s.held_back) or "no"} for s in report.sites]


def _key_part(name: str) -> str:
    """A name as Prefect allows in a key: lowercase letters, digits and dashes."""
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def report_links(summary: RefreshSummary, report: DqReport | None) -> list[ReportLink]:
    """The release's data-quality report, its Data Docs and every study report, as file URLs."""
    links = []
    if report is not None:
        links += [ReportLink(f"{REPORT_KEY_PREFIX}data-quality", "data-quality report",
                             Path(report.html).resolve().as_uri()),
                  ReportLink(f"{REPORT_KEY_PREFIX}data-docs", "Great Expectations Data Docs",
                             Path(report.data_docs_index).resolve().as_uri())]
    links += [ReportLink(f"{REPORT_KEY_PREFIX}{_key_part(study.study)}", study.title,
                         Path(study.report).resolve().as_uri())
              for study in summary.studies if study.report]
    return links
