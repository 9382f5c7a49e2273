"""Run bookkeeping: open an audit run at the start of a refresh and close it with its summary."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from imnm.refresh.context import RunContext
from imnm.settings import CONFIG_DIR, DataPaths
from imnm.siteconfig import load_site_configs, load_vocabularies
from warehouse.db import open_warehouse, sql


@dataclass(frozen=True)
class SiteRunSummary:
    """One site's share of a run."""

    site: str
    files_loaded: int
    files_quarantined: int
    files_skipped: int
    rows_staged: int
    rows_rejected: int


@dataclass(frozen=True)
class StudyRunSummary:
    """One study's share of a run: what the summary prints for it and where its report is."""

    study: str
    title: str
    headline: tuple[str, ...] = ()
    report: str = ""


@dataclass
class RefreshSummary:
    """What one refresh did, for the terminal and the audit trail."""

    run_id: str
    sites: list[SiteRunSummary] = field(default_factory=list)
    ecgs_scored: int = 0
    model_version: str = ""
    scoring_engine: str = ""
    scoring_ecgs_per_second: float = 0.0
    release_id: str = ""
    release_is_new: bool = False
    studies: list[StudyRunSummary] = field(default_factory=list)
    held_back_sites: dict[str, list[str]] = field(default_factory=dict)
    results_file: str = ""
    dq_report: str = ""
    dq_checks_failed: int = 0
    dq_blocking_failed: int = 0

    def as_json(self) -> str:
        return json.dumps(asdict(self), default=str)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def start_run(paths: DataPaths, flow: str, parameters: dict[str, Any],
              sites_dir: Path | None = None, run_date: date | None = None) -> RunContext:
    """Load the site configurations and open an audit run; returns the run's context."""
    sites_dir = sites_dir or CONFIG_DIR / "sites"
    sites = tuple(load_site_configs(sites_dir))
    vocabularies = load_vocabularies(CONFIG_DIR / "vocabularies.toml")
    started = _now()
    run_id = f"run-{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    with open_warehouse(paths.warehouse) as con:
        con.execute(sql("insert_run"), [run_id, flow, started, json.dumps(parameters, default=str)])
    return RunContext(run_id=run_id, run_date=run_date or started.date(), paths=paths,
                      sites=sites, vocabularies=vocabularies)


def site_summaries(ctx: RunContext) -> list[SiteRunSummary]:
    """Per-site counts of this run's files and rows, read back from the audit trail."""
    with open_warehouse(ctx.paths.warehouse) as con:
        rows = con.execute(sql("select_run_site_summary"), [ctx.run_id]).fetchall()
    by_site = {row[0]: SiteRunSummary(*row) for row in rows}
    return [by_site.get(s.site, SiteRunSummary(s.site, 0, 0, 0, 0, 0)) for s in ctx.sites]


def finish_run(ctx: RunContext, summary: RefreshSummary, status: str = "completed") -> None:
    """Close the audit run with its status and summary."""
    with open_warehouse(ctx.paths.warehouse) as con:
        con.execute(sql("update_run_finished"), [_now(), status, summary.as_json(), ctx.run_id])
