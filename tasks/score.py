"""Score: run the current AI-ECG model over every ECG it has not scored yet.

Incremental by content: an ECG already scored by this model version is never scored again.
Waveforms are read shard by shard from Parquet, in batches, and scores are committed per batch
so an interrupted run keeps what it finished.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby

import duckdb
import numpy as np
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from imnm.waveform_store import read_shard_rows
from tasks.context import RunContext
from warehouse.db import open_warehouse, sql

SCORE_BATCH = 256


@dataclass(frozen=True)
class ScoreSummary:
    """How many ECGs the model version scored in this run, and how many it had already."""

    model_version: str
    scored_now: int
    already_scored: int


def unscored_ecgs(con: duckdb.DuckDBPyConnection, model_version: str
                  ) -> list[tuple[str, str, int]]:
    """(ecg_id, shard, row) of every core ECG this model version has not scored, shard-ordered."""
    return con.execute(sql("select_unscored_ecgs"), [model_version]).fetchall()


def score_batches(todo: list[tuple[str, str, int]], batch_size: int
                  ) -> Iterator[tuple[list[str], str, list[int]]]:
    """Batches of (ecg_ids, shard, rows), never mixing shards, so each read is one file."""
    for shard, group in groupby(todo, key=lambda item: item[1]):
        items = list(group)
        for start in range(0, len(items), batch_size):
            chunk = items[start:start + batch_size]
            yield [i[0] for i in chunk], shard, [i[2] for i in chunk]


@task(name="score new ECGs", cache_policy=NO_CACHE)
def score_new_ecgs(ctx: RunContext, model_version: str) -> ScoreSummary:
    """Score every ECG the current model has not scored and store P(LVD) per ECG and version."""
    from models.registry import ModelRegistry
    from models.training import predict_lvd_probability

    logger = get_run_logger()
    with open_warehouse(ctx.paths.warehouse) as con:
        todo = unscored_ecgs(con, model_version)
        already = con.execute(sql("count_scored_ecgs"), [model_version]).fetchone()[0]
        if not todo:
            logger.info("no ECG left to score for model %s", model_version)
            return ScoreSummary(model_version, 0, already)
        model = ModelRegistry(ctx.paths.models).load(model_version)
        done = 0
        for ecg_ids, shard, rows in score_batches(todo, SCORE_BATCH):
            waveforms = read_shard_rows(ctx.paths.root / shard, rows)
            probabilities = np.asarray(predict_lvd_probability(model, waveforms), dtype=float)
            now = datetime.now(UTC).replace(tzinfo=None)
            con.executemany(sql("insert_ecg_lvd_score"), [
                (ecg_id, model_version, float(p), now, ctx.run_id)
                for ecg_id, p in zip(ecg_ids, probabilities, strict=True)])
            done += len(ecg_ids)
            logger.info("scored %d/%d ECGs with %s", done, len(todo), model_version)
    return ScoreSummary(model_version, done, already)
