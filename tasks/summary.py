"""Prefect shell of the summary stage: collect the run's figures (imnm/refresh/summary.py
prints them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from prefect import task
from prefect.cache_policies import NO_CACHE

from imnm.dq_report.write import DqReport
from imnm.refresh.context import RunContext
from imnm.refresh.runs import RefreshSummary, StudyRunSummary, site_summaries
from imnm.studies.base import StudyResults
from imnm.studies.registry import all_studies
from imnm.studies.reports import StudyReport
from tasks.harmonize import HarmonizeSummary
from tasks.publish import ReleaseSummary
from tasks.score import ScoreSummary


@task(name="summarize refresh", cache_policy=NO_CACHE)
def summarize_refresh(ctx: RunContext, scored: ScoreSummary,
                      analysed: Mapping[str, StudyResults], release: ReleaseSummary,
                      harmonized: HarmonizeSummary, report: DqReport | None = None,
                      study_reports: Sequence[StudyReport] = ()) -> RefreshSummary:
    """Collect the run's figures from the stages' outcomes and the audit trail."""
    pages = {r.study: str(r.html) for r in study_reports}
    return RefreshSummary(
        run_id=ctx.run_id,
        sites=site_summaries(ctx),
        ecgs_scored=scored.scored_now,
        model_version=scored.model_version,
        scoring_engine=scored.engine if scored.scored_now else "",
        scoring_ecgs_per_second=round(scored.ecgs_per_second, 1),
        release_id=release.release_id,
        release_is_new=release.is_new,
        studies=[StudyRunSummary(study.name, study.title,
                                 analysed[study.name].headline if study.name in analysed
                                 else (), pages.get(study.name, ""))
                 for study in all_studies()],
        held_back_sites={s: list(c) for s, c in harmonized.held_back_sites.items()},
        results_file=str(release.results_file),
        dq_report=str(report.html) if report else "",
        dq_checks_failed=report.checks_failed if report else 0,
        dq_blocking_failed=report.blocking_failed if report else 0,
    )
