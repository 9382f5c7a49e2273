"""The plain scoring loops a user writes without the platform: the benchmark's baselines.

Both read the same warehouse (`core.ecgs`: shard and row of every ECG) and Parquet shards as the
platform, call the same `preprocess_batch` and the same Keras model, and write to the same
`scores.ecg_lvd_scores` table, so only the way the work is organised differs:

* `score_one_at_a_time`: for each ECG, read its shard with pyarrow and take its row, preprocess
  it, `model.predict` on that one ECG, insert one row into DuckDB.
* `score_with_pandas`: for each shard, `pandas.read_parquet`, `np.stack` the waveform column,
  preprocess the shard, `model.predict` on the shard (Keras' default batches of 32), insert a
  pandas DataFrame of scores into DuckDB.

Each function is one benchmark phase, run in a freshly spawned interpreter by
`benchmarks.score_ecgs`; the time runs from after the imports to the last insert, model load
included (the platform's time includes its model load too).
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import (
    cpu_snapshot,
    cpu_usage_since,
    current_rss_mib,
    peak_rss_mib,
    reset_peak_rss,
)

PER_ECG_RUN_ID = "plain-per-ecg"
PANDAS_RUN_ID = "plain-pandas"
SELECT_ECGS = "SELECT ecg_id, waveform_shard, waveform_row FROM core.ecgs ORDER BY ecg_id"
SELECT_SHARDS = "SELECT DISTINCT waveform_shard FROM core.ecgs ORDER BY waveform_shard"
INSERT_ONE = "INSERT INTO scores.ecg_lvd_scores VALUES (?, ?, ?, ?, ?)"
INSERT_FRAME = "INSERT INTO scores.ecg_lvd_scores SELECT * FROM scored"


def evenly_spaced(items: list[Any], n: int) -> list[Any]:
    """`n` items spread over the whole list (every k-th), so every shard is visited."""
    step = max(1, len(items) // max(n, 1))
    return items[::step][:n]


def _finish(started: float, baseline_mib: float, n: int, split_s: dict[str, float],
            cpu_start: dict[str, float], **extra: Any) -> dict[str, Any]:
    """A phase's result: time, throughput, peak memory and where the time went (ms per ECG)."""
    import os

    seconds = time.perf_counter() - started
    peak = peak_rss_mib()
    return {"n": n, "seconds": round(seconds, 3), "ecgs_per_s": round(n / seconds, 2),
            "rss_after_imports_mib": round(baseline_mib, 1), "peak_rss_mib": round(peak, 1),
            "peak_increase_mib": round(peak - baseline_mib, 1),
            "split_ms_per_ecg": {k: round(v / n * 1e3, 3) for k, v in split_s.items()},
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            "cpu": cpu_usage_since(cpu_start), **extra}


def score_one_at_a_time(data_root: str, model_file: str, model_version: str, n: int
                        ) -> dict[str, Any]:
    """Score `n` ECGs (spread over the warehouse) one by one, as a notebook loop would."""
    import duckdb
    import keras
    import pyarrow.parquet as pq

    from models.preprocess import preprocess_batch

    root = Path(data_root)
    reset_peak_rss()
    baseline = current_rss_mib()
    started = time.perf_counter()
    cpu_start = cpu_snapshot()
    model = keras.saving.load_model(model_file, compile=False)
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    chosen = evenly_spaced(con.execute(SELECT_ECGS).fetchall(), n)
    split = {"load_model_and_list": time.perf_counter() - started, "read": 0.0,
             "preprocess": 0.0, "predict": 0.0, "insert": 0.0}
    for ecg_id, shard, row in chosen:
        t0 = time.perf_counter()
        table = pq.read_table(root / shard).take([row])
        waveform = np.asarray(table.column("waveform")[0].as_py(), dtype=np.int16)
        waveform = waveform.reshape(12, 5000)
        t1 = time.perf_counter()
        model_input = preprocess_batch(waveform[np.newaxis])
        t2 = time.perf_counter()
        p_lvd = float(model.predict(model_input, verbose=0)[0, 0])
        t3 = time.perf_counter()
        con.execute(INSERT_ONE, [ecg_id, model_version, p_lvd, datetime.now(), PER_ECG_RUN_ID])
        t4 = time.perf_counter()
        split["read"] += t1 - t0
        split["preprocess"] += t2 - t1
        split["predict"] += t3 - t2
        split["insert"] += t4 - t3
    con.close()
    return _finish(started, baseline, len(chosen), split, cpu_start)


def score_with_pandas(data_root: str, model_file: str, model_version: str) -> dict[str, Any]:
    """Score every ECG of the warehouse shard by shard with pandas, as a batch script would."""
    import duckdb
    import keras
    import pandas as pd

    from models.preprocess import preprocess_batch

    root = Path(data_root)
    reset_peak_rss()
    baseline = current_rss_mib()
    started = time.perf_counter()
    cpu_start = cpu_snapshot()
    model = keras.saving.load_model(model_file, compile=False)
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    shards = [row[0] for row in con.execute(SELECT_SHARDS).fetchall()]
    split = {"load_model_and_list": time.perf_counter() - started, "read_and_stack": 0.0,
             "preprocess": 0.0, "predict": 0.0, "insert": 0.0}
    n = 0
    for shard in shards:
        t0 = time.perf_counter()
        frame = pd.read_parquet(root / shard)
        waveforms = np.stack(frame["waveform"].to_numpy()).astype(np.int16).reshape(-1, 12, 5000)
        t1 = time.perf_counter()
        model_input = preprocess_batch(waveforms)
        t2 = time.perf_counter()
        p_lvd = model.predict(model_input, verbose=0).reshape(-1)
        t3 = time.perf_counter()
        scored = pd.DataFrame({"ecg_id": frame["ecg_id"], "model_version": model_version,
                               "p_lvd": p_lvd.astype(np.float64), "scored_at": datetime.now(),
                               "run_id": PANDAS_RUN_ID})
        con.register("scored", scored)
        con.execute(INSERT_FRAME)
        con.unregister("scored")
        t4 = time.perf_counter()
        n += len(frame)
        split["read_and_stack"] += t1 - t0
        split["preprocess"] += t2 - t1
        split["predict"] += t3 - t2
        split["insert"] += t4 - t3
    con.close()
    return _finish(started, baseline, n, split, cpu_start, shards=len(shards))
