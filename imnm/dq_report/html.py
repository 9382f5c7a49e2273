"""The data-quality report and the Data Docs index as self-contained HTML (no scripts, no
external assets), rendered with Jinja2 and autoescaping: every value is escaped.

Each figure a reader (or the browser test) may compare with the audit tables carries
machine-readable attributes: `data-section`, `data-site`, `data-layer`, `data-category`,
`data-suite`, `data-check`, `data-release` and `data-metric`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from imnm.dq_report.model import (
    ReportData,
    category_rows,
    failing_checks,
    site_names,
    summarize_sites,
    trend_rows,
)

TEMPLATES: Final[Path] = Path(__file__).resolve().parent / "templates"
REPORT_FILE: Final[str] = "dq-report.html"
DATA_DOCS_DIR: Final[str] = "data-docs"
SYNTHETIC_NOTICE: Final[str] = (
    "Synthetic data: this release was computed from the synthetic demo network and scored by "
    "a demo model. Nothing clinical is claimed from these figures.")


@dataclass(frozen=True)
class DataDocsPage:
    """One Great Expectations validation page of the Data Docs site, with GX's statistics."""

    layer: str
    site: str
    suite: str
    href: str | None  # relative to the Data Docs folder; None when GX could not render it
    evaluated: int
    successful: int
    unsuccessful: int
    success_percent: float
    success: bool
    error: str | None = None


def format_threshold(threshold: float) -> str:
    """A threshold fraction as a percentage without trailing zeros (0.05 -> "5")."""
    return f"{threshold * 100:.2f}".rstrip("0").rstrip(".")


@cache
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["pct"] = format_threshold
    return env


def render_report(data: ReportData, data_docs_href: str | None = f"{DATA_DOCS_DIR}/index.html"
                  ) -> str:
    """The release's data-quality report as one HTML page."""
    sites = site_names(data.release, data.outcomes)
    return _environment().get_template("report.html.j2").render(
        release=data.release,
        synthetic_notice=SYNTHETIC_NOTICE if data.release.synthetic else None,
        generated_at=data.generated_at,
        site_summaries=summarize_sites(data.release, data.outcomes),
        categories=category_rows(data.outcomes, sites),
        failing=failing_checks(data.outcomes, data.examples),
        recent_releases=data.recent_releases,
        trend=trend_rows(data.recent_releases, data.trend, sites),
        quarantined=data.quarantined,
        quarantined_counts=_count_by_site(f.site for f in data.quarantined),
        unmapped=data.unmapped,
        data_docs_href=data_docs_href,
    )


def render_data_docs_index(release_id: str, run_id: str, pages: list[DataDocsPage],
                           gx_version: str, synthetic: bool, note: str | None = None) -> str:
    """The Data Docs site's index: every validation page of the run with GX's statistics."""
    return _environment().get_template("data_docs_index.html.j2").render(
        release_id=release_id, run_id=run_id, pages=pages, gx_version=gx_version,
        synthetic_notice=SYNTHETIC_NOTICE if synthetic else None, note=note)


def _count_by_site(sites: Iterable[str]) -> list[tuple[str, int]]:
    return sorted(Counter(sites).items())
