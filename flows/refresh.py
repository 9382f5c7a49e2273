"""The multicentre refresh: site extracts in, a versioned release of the results out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from flows.score_ecgs import score_new_ecgs
from imnm.refresh.lock import refresh_lock
from imnm.refresh.runs import RefreshSummary, finish_run, start_run
from imnm.scoring_config import load_scoring_settings
from imnm.settings import DataPaths, pseudonym_key, resolve_data_paths
from imnm.studies.parameters import load_study_parameters, recorded_parameters
from tasks.analyse import run_study_analyses
from tasks.artifacts import refresh_artifacts
from tasks.discover import discover_new_files
from tasks.dq_report import dq_report_task
from tasks.harmonize import harmonize_into_core
from tasks.model_selection import current_model_version
from tasks.publish import publish_release
from tasks.stage import parse_and_stage
from tasks.study_reports import study_reports_task
from tasks.summary import summarize_refresh
from tasks.validate import validate_staged
from tasks.validate_core import validate_core_and_apply_policy


@flow(name="refresh", log_prints=True)
def refresh(data_dir: str | None = None, sites_dir: str | None = None,
            study_parameters: dict[str, dict[str, Any]] | None = None,
            retry_quarantined: bool = False) -> RefreshSummary:
    """Discover -> stage -> validate -> harmonize -> score -> analyse -> publish -> report.

    `study_parameters` overrides studies' configured parameters: {study: {name: value}}.
    """
    paths = resolve_data_paths(data_dir)
    with refresh_lock(paths.root):  # one refresh at a time on a data directory
        return _refresh_locked(paths, sites_dir, study_parameters, retry_quarantined)


def _refresh_locked(paths: DataPaths, sites_dir: str | None,
                    study_parameters: dict[str, dict[str, Any]] | None,
                    retry_quarantined: bool) -> RefreshSummary:
    """The refresh's stages, run while it holds the data directory's lock."""
    params = load_study_parameters(study_parameters)
    key = pseudonym_key()
    scoring = load_scoring_settings()
    model_version = current_model_version(paths)
    ctx = start_run(paths, "refresh", recorded_parameters(params),
                    Path(sites_dir) if sites_dir else None)
    try:
        # Load
        files = discover_new_files(ctx, retry_quarantined)
        staged = parse_and_stage(ctx, files)
        verdicts = validate_staged(ctx, staged, key)
        harmonized = harmonize_into_core(ctx, verdicts, key)
        harmonized = validate_core_and_apply_policy(ctx, key, harmonized)
        # Score and analyse
        scored = score_new_ecgs(ctx, model_version, scoring)
        analysed = run_study_analyses(ctx, model_version, params)
        # Publish
        release = publish_release(ctx, model_version, params, analysed, harmonized)
        # Report (a release that already exists keeps the reports it was published with)
        report = dq_report_task(ctx, release.release_id) if release.is_new else None
        study_reports = study_reports_task(ctx, release.release_id) if release.is_new else ()
    except BaseException:
        finish_run(ctx, RefreshSummary(run_id=ctx.run_id), status="failed")
        raise
    summary = summarize_refresh(ctx, scored, analysed, release, harmonized, report,
                                study_reports)
    finish_run(ctx, summary)
    refresh_artifacts(summary, report)
    return summary
