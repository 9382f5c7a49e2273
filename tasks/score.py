"""Score: run the current AI-ECG model over every core ECG it has not scored yet.

Incremental by content: an ECG already scored by this model version is never scored again, so
switching the current model rescores everything once. Work is planned per waveform shard; the
waveforms stream from Parquet through `models.batch_scoring` and scores go back in bulk (one
Arrow insert per batch, committed as it lands, so an interrupted run keeps what it finished).

Two engines: in the refresh's own process, or fanned out over shards on Dask workers
(`flows/score_ecgs.py`); both use the same reader and the same scoring stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from logging import Logger, LoggerAdapter
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pyarrow as pa
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from imnm.progress import Progress
from imnm.refresh.context import RunContext
from imnm.scoring_config import ScoringSettings
from imnm.settings import DataPaths
from imnm.waveform_store import iter_shard_rows
from warehouse.db import open_warehouse, sql

if TYPE_CHECKING:
    import keras

    from models.batch_scoring import ScoringOptions

SCORES_VIEW = "new_lvd_scores"


class ShardContentError(RuntimeError):
    """A waveform shard does not hold the ECGs the warehouse says it holds."""


@dataclass(frozen=True)
class ScoreSummary:
    """How many ECGs the model version scored in this run, and how many it had already."""

    model_version: str
    scored_now: int
    already_scored: int
    engine: str = "in-process"
    ecgs_per_second: float = 0.0


@dataclass(frozen=True)
class ShardWork:
    """The unscored ECGs of one shard: the shard's path (relative to the data directory), and
    the rows and ids the warehouse records for them, in row order."""

    shard: str
    rows: tuple[int, ...]
    ecg_ids: tuple[str, ...]


@dataclass(frozen=True)
class ShardScores:
    """P(LVD) for the ECGs of one `ShardWork`, in the same order."""

    ecg_ids: tuple[str, ...]
    p_lvd: np.ndarray


def unscored_shards(con: duckdb.DuckDBPyConnection, model_version: str) -> list[tuple[str, int]]:
    """(shard, number of unscored ECGs) for every shard with work for this model version."""
    return con.execute(sql("select_unscored_shards"), {"model_version": model_version}).fetchall()


def plan_shard(con: duckdb.DuckDBPyConnection, model_version: str, shard: str) -> ShardWork:
    """The unscored ECGs of one shard."""
    found = con.execute(sql("select_unscored_ecgs"),
                        {"model_version": model_version, "shard": shard}).fetchnumpy()
    return ShardWork(shard, tuple(int(r) for r in found["waveform_row"]),
                     tuple(str(i) for i in found["ecg_id"]))


def read_shard_work(data_root: Path, work: ShardWork, batch_size: int
                    ) -> Iterator[tuple[list[str], np.ndarray]]:
    """(ecg_ids, waveforms) batches of one shard's work, each id checked against the shard."""
    position = 0
    for ids, waveforms in iter_shard_rows(data_root / work.shard, work.rows, batch_size):
        expected = work.ecg_ids[position:position + len(ids)]
        if tuple(ids) != expected:
            raise ShardContentError(f"{work.shard}: rows hold {ids[:3]}..., the warehouse "
                                    f"expects {list(expected[:3])}...")
        position += len(ids)
        yield ids, waveforms


def write_scores(con: duckdb.DuckDBPyConnection, ecg_ids: Iterable[str], p_lvd: np.ndarray,
                 model_version: str, run_id: str) -> None:
    """Insert one batch of scores in bulk and commit it."""
    table = pa.table({"ecg_id": pa.array(list(ecg_ids), pa.string()),
                      "p_lvd": pa.array(np.asarray(p_lvd, dtype=np.float64))})
    con.register(SCORES_VIEW, table)
    try:
        con.execute(sql("insert_ecg_lvd_scores"), {
            "model_version": model_version, "run_id": run_id,
            "scored_at": datetime.now(UTC).replace(tzinfo=None)})
    finally:
        con.unregister(SCORES_VIEW)


def model_for(registry_root: str, model_version: str, settings: ScoringSettings,
              first_batch: Callable[[], np.ndarray]) -> keras.Model:
    """The registered model at the configured precision. A reduced precision is first checked
    on `first_batch()`, the ECGs about to be scored; float32 reads nothing extra."""
    from models.batch_scoring import registered_model_at_precision

    probe = (first_batch() if settings.precision != "float32"
             else np.empty((0,), dtype=np.int16))
    return registered_model_at_precision(registry_root, model_version,
                                         settings.precision, probe)  # type: ignore[arg-type]


def scoring_options(settings: ScoringSettings) -> ScoringOptions:
    """The scoring stream's options from the settings (imports the model package lazily)."""
    from models.batch_scoring import ScoringOptions

    return ScoringOptions(batch_size=settings.batch_size,
                          prefetch_batches=max(settings.prefetch_batches,
                                               settings.preprocess_threads),
                          preprocess_threads=settings.preprocess_threads,
                          precision=settings.precision)  # type: ignore[arg-type]


@task(name="score one shard", cache_policy=NO_CACHE, retries=1)
def score_shard(data_root: str, work: ShardWork, registry_root: str, model_version: str,
                settings: ScoringSettings) -> ShardScores:
    """Score one shard's unscored ECGs where this task runs (a Dask worker); the worker keeps
    the loaded model for its next shard."""
    from models.batch_scoring import limit_backend_threads, score_stream

    limit_backend_threads(settings.dask_threads_per_worker)
    model = model_for(registry_root, model_version, settings,
                      lambda: next(read_shard_work(Path(data_root), work, settings.batch_size))[1])
    batches = read_shard_work(Path(data_root), work, settings.batch_size)
    scored = list(score_stream(model, batches, scoring_options(settings)))
    p_lvd = (np.concatenate([p for _, p in scored]) if scored
             else np.empty(0, dtype=np.float32))
    return ShardScores(work.ecg_ids, p_lvd)


def score_unscored(con: duckdb.DuckDBPyConnection, paths: DataPaths, model_version: str,
                   settings: ScoringSettings, run_id: str, logger: Logger | LoggerAdapter
                   ) -> ScoreSummary:
    """Score every ECG the model has not scored, in this process, streaming over all shards;
    plain function (no Prefect run needed), so benchmarks time exactly what a refresh runs."""
    from models.batch_scoring import score_stream

    already = con.execute(sql("count_scored_ecgs"), [model_version]).fetchone()[0]
    shards = unscored_shards(con, model_version)
    total = sum(n for _, n in shards)
    if not total:
        logger.info("no ECG left to score for model %s", model_version)
        return ScoreSummary(model_version, 0, already)
    def first_batch() -> np.ndarray:
        work = plan_shard(con, model_version, shards[0][0])
        return next(read_shard_work(paths.root, work, settings.batch_size))[1]

    model = model_for(str(paths.models), model_version, settings, first_batch)
    planner = con.cursor()  # the reading thread plans each shard on its own cursor
    batches = (batch for shard, _ in shards
               for batch in read_shard_work(paths.root, plan_shard(planner, model_version, shard),
                                            settings.batch_size))
    with Progress(f"scoring with {model_version}", total, logger) as progress:
        for ecg_ids, p_lvd in score_stream(model, batches, scoring_options(settings)):
            write_scores(con, ecg_ids, p_lvd, model_version, run_id)
            progress.advance(len(ecg_ids))
    return ScoreSummary(model_version, total, already, "in-process", progress.rate)


@task(name="score new ECGs", cache_policy=NO_CACHE)
def score_in_process(ctx: RunContext, model_version: str, settings: ScoringSettings
                     ) -> ScoreSummary:
    """Score every ECG the model has not scored, in the refresh's own process."""
    with open_warehouse(ctx.paths.warehouse) as con:
        return score_unscored(con, ctx.paths, model_version, settings, ctx.run_id,
                              get_run_logger())


def count_unscored(ctx: RunContext, model_version: str) -> int:
    """ECGs in core the model has not scored yet."""
    with open_warehouse(ctx.paths.warehouse) as con:
        return sum(n for _, n in unscored_shards(con, model_version))


def scoring_warehouse(ctx: RunContext) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    """The run's warehouse connection the scoring loop writes scores through (one writer)."""
    return open_warehouse(ctx.paths.warehouse)


def count_scored(con: duckdb.DuckDBPyConnection, model_version: str) -> int:
    """ECGs the model has already scored."""
    return int(con.execute(sql("count_scored_ecgs"), [model_version]).fetchone()[0])
