"""Writing a release's data-quality report: the HTML page and the Great Expectations Data Docs
under the release's report folder, and the terminal summary `imnm dq` prints.

    <data>/releases/<release_id>/reports/dq-report.html        the report (one file)
    <data>/releases/<release_id>/reports/data-docs/index.html  Data Docs (GX validation pages)

`write_dq_report` opens the warehouse read-only; `build_from_connection` reuses a connection
the caller holds (the refresh's writer).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from imnm.dq_report.html import (
    DATA_DOCS_DIR,
    REPORT_FILE,
    DataDocsPage,
    render_data_docs_index,
    render_report,
)
from imnm.dq_report.model import SiteSummary, summarize_sites
from imnm.dq_report.read import read_report_data
from imnm.dq_report.terminal import format_dq_summary
from imnm.quality.gx_results import gx_results_dir, load_gx_results
from imnm.quality.privacy import sanitize_gx_result
from imnm.releases import (
    NoReleaseError,
    ReleaseInfo,
    chosen_release_id,
    open_release_source,
    read_outcomes,
    read_release,
)
from imnm.settings import DataPaths
from warehouse.db import open_warehouse
from warehouse.files import temporary_sibling, write_text_atomically


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

    staging = temporary_sibling(target)
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
    staging.replace(target)
    return target / "index.html", tuple(pages)


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


def write_dq_report(paths: DataPaths, release_id: str, gx_dir: Path | None = None) -> DqReport:
    """Write the release's report and Data Docs, reading the warehouse read-only."""
    with open_warehouse(paths.warehouse, read_only=True) as con:
        return build_from_connection(con, paths, release_id, gx_dir)


def dq_summary(paths: DataPaths, release_id: str | None = None) -> str:
    """The terminal summary of a release (default the latest), read-only; falls back to the
    published results file when a running refresh holds the warehouse."""
    con, note = open_release_source(paths)
    try:
        release = read_release(con, chosen_release_id(con, release_id))
        outcomes = read_outcomes(con, release.run_id)
    except duckdb.CatalogException as exc:
        raise NoReleaseError("no release yet: run `imnm refresh` first") from exc
    finally:
        con.close()
    reports = paths.release_reports(release.release_id)
    return format_dq_summary(release, outcomes, reports / REPORT_FILE,
                             reports / DATA_DOCS_DIR / "index.html", note)
