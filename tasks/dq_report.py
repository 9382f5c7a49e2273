"""Data-quality report of a release: read the audit tables, write the HTML report and the Great
Expectations Data Docs under the release's report folder.

    <data>/releases/<release_id>/reports/dq-report.html        the report (one file)
    <data>/releases/<release_id>/reports/data-docs/index.html  Data Docs (GX validation pages)
    <data>/dq_runs/<run_id>/gx/<layer>__<site>__<suite>.json    GX results the validate stages
                                                                 saved (save_gx_result)

The report is read from the release's refresh run only; the trend reads `audit.check_history`.
Everything is read through one connection: `write_dq_report` opens the warehouse read-only,
`build_from_connection` reuses a connection the caller holds (the refresh's writer).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import duckdb
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from imnm.dq_report import (
    DATA_DOCS_DIR,
    REPORT_FILE,
    DataDocsPage,
    ExampleRow,
    Outcome,
    QuarantinedFile,
    ReleaseInfo,
    ReportData,
    SiteSummary,
    TrendPoint,
    UnmappedCount,
    mask_text_value,
    render_data_docs_index,
    render_report,
    sanitize_gx_result,
    summarize_sites,
)
from imnm.dq_report.model import EXAMPLES_PER_CHECK, TREND_RELEASES
from imnm.settings import DataPaths
from tasks.context import RunContext
from warehouse.db import open_warehouse, sql

DQ_RUNS_DIR: Final[str] = "dq_runs"
# layer, site and suite become one file name joined by "__": each is a plain name.
_NAME_PART = re.compile(r"^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$")


@dataclass(frozen=True)
class DqReport:
    """What was written for a release: the report, the Data Docs index, and its figures."""

    release_id: str
    run_id: str
    html: Path
    data_docs_index: Path
    data_docs_pages: int
    data_docs_errors: tuple[str, ...]  # "<layer>/<site>/<suite>: error" per unrendered page
    sites: tuple[SiteSummary, ...]
    checks_run: int
    checks_failed: int
    blocking_failed: int
    rows_failed: int
    seconds: float


# --- GX results of the validate stages ----------------------------------------------------

def gx_results_dir(paths: DataPaths, run_id: str) -> Path:
    """Where a run's Great Expectations results are kept: <data>/dq_runs/<run_id>/gx."""
    if not _NAME_PART.match(run_id):
        raise ValueError(f"not a run id: {run_id!r}")
    return paths.root / DQ_RUNS_DIR / run_id / "gx"


def save_gx_result(run_dir: Path, layer: str, site: str, suite: str, gx_result: Any
                   ) -> Path | None:
    """Save one batch's GX suite result as JSON in `run_dir` (= gx_results_dir(paths, run_id)),
    identifier values masked; returns the file (None when there was no result: empty batch)."""
    if gx_result is None:
        return None
    for part in (layer, site, suite):
        if not _NAME_PART.match(part):
            raise ValueError(f"{part!r} cannot be part of a result file name")
    payload = gx_result if isinstance(gx_result, dict) else gx_result.to_json_dict()
    target = run_dir / f"{layer}__{site}__{suite}.json"
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(sanitize_gx_result(payload), default=str), encoding="utf-8")
    os.replace(tmp, target)
    return target


def load_gx_results(run_dir: Path) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(layer, site, suite, result JSON) of every result saved in `run_dir`, in name order."""
    if not run_dir.is_dir():
        return []
    results = []
    for path in sorted(run_dir.glob("*.json")):
        parts = path.stem.split("__")
        if len(parts) != 3 or not all(_NAME_PART.match(p) for p in parts):
            continue
        layer, site, suite = parts
        results.append((layer, site, suite, json.loads(path.read_text(encoding="utf-8"))))
    return results


# --- reading the audit tables -------------------------------------------------------------

def latest_release_id(con: duckdb.DuckDBPyConnection) -> str | None:
    """The newest release's id, or None before the first release."""
    row = con.execute(sql("select_latest_release")).fetchone()
    return row[0] if row else None


def read_release(con: duckdb.DuckDBPyConnection, release_id: str) -> ReleaseInfo:
    """The release's registry entry; ValueError if there is no such release."""
    row = con.execute(sql("select_dq_release"), [release_id]).fetchone()
    if row is None:
        raise ValueError(f"no release {release_id!r}: `imnm sql \"SELECT release_id FROM "
                         "results.releases\"` lists them")
    rid, published_at, run_id, code_version, model_version, sites_json = row
    sites = json.loads(sites_json) if isinstance(sites_json, str) else (sites_json or {})
    return ReleaseInfo(
        release_id=rid, published_at=published_at, run_id=run_id, code_version=code_version,
        model_version=model_version,
        included_sites=tuple(sites.get("included") or ()),
        held_back={site: tuple(checks) for site, checks in
                   sorted((sites.get("held_back") or {}).items())})


def read_outcomes(con: duckdb.DuckDBPyConnection, run_id: str) -> list[Outcome]:
    """Every check outcome of a run (audit.validation_results), both layers."""
    return [Outcome(*row) for row in con.execute(sql("select_dq_outcomes"), [run_id]).fetchall()]


def _examples(con: duckdb.DuckDBPyConnection, run_id: str, per_check: int) -> list[ExampleRow]:
    rows = con.execute(sql("select_dq_failed_row_examples"), [run_id, per_check]).fetchall()
    return [ExampleRow(layer, site, kind, check, path, file_id, source_row, column,
                       mask_text_value(column, value), patient_key)
            for (layer, site, kind, check, path, file_id, source_row, column, value,
                 patient_key) in rows]


def _trend(con: duckdb.DuckDBPyConnection, release_id: str, n_releases: int
           ) -> tuple[tuple[str, ...], list[TrendPoint]]:
    recent = [r[0] for r in con.execute(sql("select_dq_recent_releases"),
                                        [release_id, n_releases]).fetchall()]
    recent.reverse()  # oldest first
    points = [TrendPoint(*row) for row in con.execute(sql("select_dq_trend"), [recent]).fetchall()]
    return tuple(recent), points


def read_report_data(con: duckdb.DuckDBPyConnection, release_id: str,
                     landing: Path | None = None, *, trend_releases: int = TREND_RELEASES,
                     examples_per_check: int = EXAMPLES_PER_CHECK) -> ReportData:
    """Everything the report of `release_id` shows, read from the warehouse's audit tables."""
    release = read_release(con, release_id)
    recent, points = _trend(con, release_id, trend_releases)
    prefix = f"{landing}{os.sep}" if landing else None
    quarantined = tuple(
        QuarantinedFile(site, path, reason.replace(prefix, "") if reason and prefix else reason)
        for site, path, reason in con.execute(sql("select_dq_quarantined_files"),
                                              [release.run_id]).fetchall())
    return ReportData(
        release=release,
        outcomes=tuple(read_outcomes(con, release.run_id)),
        examples=tuple(_examples(con, release.run_id, examples_per_check)),
        recent_releases=recent,
        trend=tuple(points),
        quarantined=quarantined,
        unmapped=tuple(UnmappedCount(*row) for row in con.execute(
            sql("select_dq_unmapped_counts"), [release.run_id]).fetchall()),
        generated_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0),
    )


# --- Great Expectations Data Docs ---------------------------------------------------------

def build_data_docs(target: Path, release: ReleaseInfo, run_dir: Path | None
                    ) -> tuple[Path, tuple[DataDocsPage, ...]]:
    """Render every saved GX result of the release's run with GX's Data Docs renderer into
    `target` (replaced whole); returns index.html and the pages (a page GX could not render
    is listed in the index with its error instead).

    Pages keep GX's site layout (validations/<suite>/<run>/<time>/<batch>.html, so GX's "Home"
    link finds the index); the index is static HTML because GX's own needs CDN scripts.
    """
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResultSchema,
    )
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    renderer, view = ValidationResultsPageRenderer(), DefaultJinjaPageView()
    schema = ExpectationSuiteValidationResultSchema()
    run_time = f"{release.published_at:%Y%m%dT%H%M%S}Z"
    pages: list[DataDocsPage] = []
    results = load_gx_results(run_dir) if run_dir is not None else []
    for layer, site, suite, payload in results:
        payload = sanitize_gx_result(payload)
        meta = payload.setdefault("meta", {}) or {}
        payload["meta"] = meta
        meta["run_id"] = {"run_name": release.run_id,
                          "run_time": release.published_at.isoformat()}
        meta.setdefault("batch_spec", {})["data_asset_name"] = f"{site} ({layer})"
        relative = Path("validations", *suite.split("."), release.run_id, run_time,
                        f"{layer}-{site}.html")
        error = None
        try:
            html = view.render(renderer.render(schema.load(payload)), data_context_id=None,
                               show_how_to_buttons=False)
        except Exception as exc:  # one unrenderable result must not cost the other pages
            error = f"{type(exc).__name__}: {exc}"
        else:
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            (staging / relative).write_text(html, encoding="utf-8")
        stats = payload.get("statistics") or {}
        pages.append(DataDocsPage(
            layer=layer, site=site, suite=suite,
            href=None if error else relative.as_posix(), error=error,
            evaluated=int(stats.get("evaluated_expectations", 0)),
            successful=int(stats.get("successful_expectations", 0)),
            unsuccessful=int(stats.get("unsuccessful_expectations", 0)),
            success_percent=float(stats.get("success_percent") or 0.0),
            success=bool(payload.get("success"))))
    favicon = Path(gx.__file__).parent / "render" / "view" / "static" / "images" / "favicon.ico"
    if favicon.is_file():
        (staging / "static" / "images").mkdir(parents=True)
        shutil.copyfile(favicon, staging / "static" / "images" / "favicon.ico")
    note = None if pages else (f"No Great Expectations results were saved for run "
                               f"{release.run_id} (looked in {run_dir}).")
    pages.sort(key=lambda p: (p.layer != "staging", p.layer, p.site, p.suite))
    (staging / "index.html").write_text(render_data_docs_index(
        release.release_id, release.run_id, pages, gx.__version__, release.synthetic, note),
        encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, target)
    return target / "index.html", tuple(pages)


# --- the report ---------------------------------------------------------------------------

def write_text_atomically(path: Path, text: str) -> None:
    """Write a report page whole or not at all (a temporary file, then os.replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def build_from_connection(con: duckdb.DuckDBPyConnection, paths: DataPaths, release_id: str,
                          gx_dir: Path | None = None) -> DqReport:
    """Write the release's report and Data Docs, reading through `con` (any open connection);
    GX results come from `gx_dir`, by default gx_results_dir(paths, <the release's run>)."""
    started = time.perf_counter()
    data = read_report_data(con, release_id, paths.landing)
    release = data.release
    reports = paths.release_reports(release.release_id)
    html_path = reports / REPORT_FILE
    write_text_atomically(html_path, render_report(data))
    index, pages = build_data_docs(
        reports / DATA_DOCS_DIR, release,
        gx_dir if gx_dir is not None else gx_results_dir(paths, release.run_id))
    sites = tuple(summarize_sites(release, data.outcomes))
    return DqReport(
        release_id=release.release_id, run_id=release.run_id, html=html_path,
        data_docs_index=index, data_docs_pages=sum(p.error is None for p in pages),
        data_docs_errors=tuple(f"{p.layer}/{p.site}/{p.suite}: {p.error}" for p in pages
                               if p.error),
        sites=sites,
        checks_run=sum(s.checks_run for s in sites),
        checks_failed=sum(s.checks_failed for s in sites),
        blocking_failed=sum(s.blocking_failed for s in sites),
        rows_failed=sum(s.rows_failed for s in sites),
        seconds=time.perf_counter() - started)


def write_dq_report(paths: DataPaths, release_id: str, gx_results_dir: Path | None = None
                    ) -> DqReport:
    """Write the release's report and Data Docs, reading the warehouse read-only."""
    with open_warehouse(paths.warehouse, read_only=True) as con:
        return build_from_connection(con, paths, release_id, gx_results_dir)


@task(name="data-quality report", cache_policy=NO_CACHE)
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


# --- `imnm dq` ----------------------------------------------------------------------------

def _is_locked(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text


def _open_for_reading(paths: DataPaths) -> tuple[duckdb.DuckDBPyConnection, str | None]:
    """A read-only connection to the warehouse, else to the published file (with a note)."""
    if paths.warehouse.exists():
        try:
            return duckdb.connect(str(paths.warehouse), read_only=True), None
        except duckdb.Error as exc:
            if not (_is_locked(exc) and paths.results.exists()):
                raise ValueError(f"{paths.warehouse} cannot be opened now ({exc})") from exc
            return (duckdb.connect(str(paths.results), read_only=True),
                    f"The warehouse is locked by a running refresh: read from the published "
                    f"results file {paths.results}.")
    if paths.results.exists():
        return (duckdb.connect(str(paths.results), read_only=True),
                f"No warehouse in {paths.root}: read from the published results file.")
    raise FileNotFoundError(f"no release yet in {paths.root}: run `imnm refresh` first")


def dq_summary(paths: DataPaths, release_id: str | None = None) -> str:
    """The terminal summary of a release (default the latest), read-only; falls back to the
    published results file when a running refresh holds the warehouse."""
    from imnm.dq_report import format_dq_summary

    con, note = _open_for_reading(paths)
    try:
        chosen = release_id or latest_release_id(con)
        if chosen is None:
            raise ValueError("no release yet: run `imnm refresh` first")
        release = read_release(con, chosen)
        outcomes = read_outcomes(con, release.run_id)
    except duckdb.CatalogException as exc:
        raise ValueError("no release yet: run `imnm refresh` first") from exc
    finally:
        con.close()
    reports = paths.release_reports(release.release_id)
    return format_dq_summary(release, outcomes, reports / REPORT_FILE,
                             reports / DATA_DOCS_DIR / "index.html", note)
