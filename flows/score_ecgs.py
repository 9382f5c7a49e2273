"""Scoring the ECGs a model has not scored: in this process, or fanned out over waveform shards
on Dask (one task per shard, scores written back by this process as each shard finishes: the
warehouse has one writer)."""

from __future__ import annotations

import time

from prefect import flow, get_run_logger
from prefect.futures import as_completed
from prefect_dask import DaskTaskRunner

from imnm.progress import Progress
from imnm.refresh.context import RunContext
from imnm.scoring_config import ScoringSettings
from tasks.score import (
    ScoreSummary,
    count_scored,
    count_unscored,
    plan_shard,
    score_in_process,
    score_shard,
    scoring_warehouse,
    unscored_shards,
    write_scores,
)

# Shards submitted ahead per worker: enough to keep workers busy, few enough that the plans and
# scores held here stay small whatever the archive's size.
SHARDS_IN_FLIGHT_PER_WORKER = 4


def dask_task_runner(settings: ScoringSettings) -> DaskTaskRunner:
    """The configured cluster's address, or a local cluster of worker processes for this run."""
    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs={
        "n_workers": settings.dask_local_workers,
        "threads_per_worker": settings.dask_threads_per_worker,
        "processes": True,
        "dashboard_address": None,
    })


@flow(name="score-ecgs-on-dask")
def score_shards_on_dask(ctx: RunContext, model_version: str, settings: ScoringSettings
                         ) -> ScoreSummary:
    """Plan shards -> score each on a worker -> write each shard's scores as it completes."""
    logger = get_run_logger()
    started = time.perf_counter()
    with scoring_warehouse(ctx) as con:
        already = count_scored(con, model_version)
        shards = unscored_shards(con, model_version)
        total = sum(n for _, n in shards)
        window = SHARDS_IN_FLIGHT_PER_WORKER * settings.dask_local_workers
        with Progress(f"scoring with {model_version} on Dask", total, logger) as progress:
            for start in range(0, len(shards), window):
                futures = [score_shard.submit(str(ctx.paths.root),
                                              plan_shard(con, model_version, shard),
                                              str(ctx.paths.models), model_version, settings)
                           for shard, _ in shards[start:start + window]]
                for future in as_completed(futures):
                    scores = future.result()
                    write_scores(con, scores.ecg_ids, scores.p_lvd, model_version, ctx.run_id)
                    progress.advance(len(scores.ecg_ids))
    rate = total / (time.perf_counter() - started)
    logger.info("scored %d ECGs on %d shards with Dask", total, len(shards))
    return ScoreSummary(model_version, total, already, "dask", rate)


def score_on_dask(ctx: RunContext, model_version: str, settings: ScoringSettings
                  ) -> ScoreSummary:
    """Run the Dask scoring subflow with the runner the settings describe."""
    runner = dask_task_runner(settings)
    return score_shards_on_dask.with_options(task_runner=runner)(ctx, model_version, settings)


def score_new_ecgs(ctx: RunContext, model_version: str, settings: ScoringSettings
                   ) -> ScoreSummary:
    """Score what the model has not scored: on Dask when configured and there is enough work
    to repay starting workers, otherwise in this process."""
    if settings.engine == "dask" and count_unscored(ctx, model_version) >= settings.dask_min_ecgs:
        return score_on_dask(ctx, model_version, settings)
    return score_in_process(ctx, model_version, settings)
