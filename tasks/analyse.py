"""Analyse: build the studies' analysis sets from core and scores and run their models."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.context import RunContext
from tasks.study_a import StudyAParameters, StudyAResults, run_study_a
from warehouse.db import open_warehouse, sql


@task(name="run study analyses", cache_policy=NO_CACHE)
def run_study_analyses(ctx: RunContext, model_version: str, params: StudyAParameters
                       ) -> StudyAResults:
    """Study A's headline analyses on the current core and the current model's scores."""
    logger = get_run_logger()
    with open_warehouse(ctx.paths.warehouse) as con:
        cohort = con.execute(sql("select_study_a_cohort"), {
            "model_version": model_version,
            "ecg_window_days": params.ecg_window_days,
            "echo_window_days": params.echo_window_days,
        }).df()
    results = run_study_a(cohort, params, model_version)
    for note in results.notes:
        logger.warning(note)
    if results.accuracy:
        a = results.accuracy
        logger.info("study A: n=%d (LVD %d), AUC %.3f (%.3f-%.3f)", a["n_patients"], a["n_lvd"],
                    a["auc"], a["auc_ci_low"], a["auc_ci_high"])
    return results
