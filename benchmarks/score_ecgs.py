"""Score N generated ECGs with the AI-ECG model: the platform's scoring against the plain loops.

N ECGs are generated (not timed) into Parquet waveform shards of 1,000 ECGs, with a DuckDB
warehouse whose `core.ecgs` rows point at them, and one model is registered. Then, side by side
in one run and each phase in a freshly spawned interpreter (so its peak memory is its own):

* platform: `tasks.score.score_unscored`, the function a refresh runs in-process (plan per
  shard in DuckDB, stream rows from Parquet, preprocess on a thread pool while the network runs
  on fixed-size batches, bulk Arrow inserts), at N and again at the `--also-n` sizes;
* plain, one at a time (`benchmarks.plain_scoring`): per ECG, pyarrow read + take, preprocess,
  `model.predict` on one ECG, one DuckDB insert; on `--per-ecg-n` ECGs spread over the N;
* plain, pandas batches: per shard, `pd.read_parquet`, `np.stack`, preprocess,
  `model.predict`, DataFrame insert; at N;
* Dask: `flows.score_ecgs.score_on_dask` on a local cluster of `--dask-workers` single-threaded
  workers, inside a temporary Prefect API (`prefect_test_harness`); at N;
* components: Parquet reading, preprocessing, the network at several batch sizes, each of its
  layer blocks, and the score insert, each alone; and the CPU's arithmetic ceiling (a large
  float32 matmul in numpy and TensorFlow) and clock.

Scores are compared between the platform and every other phase (largest |difference|).

    python -m benchmarks.score_ecgs --n 10000 --also-n 100000 --out benchmarks/results
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import (
    ProcessTreePeak,
    cpu_details,
    cpu_snapshot,
    cpu_usage_since,
    current_rss_mib,
    machine_facts,
    markdown_table,
    measure_core_clock_ghz,
    peak_rss_mib,
    reset_peak_rss,
    run_in_fresh_parent_process,
    run_in_fresh_process,
)

DEFAULT_N = 10_000
DEFAULT_OUT = Path("benchmarks/results")
DEFAULT_PER_ECG_N = 500
DEFAULT_ROUNDS = 2  # the machine may be shared: best of two, each round's others' CPU shown
DEFAULT_ALSO_BATCH = 32  # a smaller batch than the configured one: memory against throughput
ROWS_PER_SHARD = 1_000
POOL_SIZE = 500  # distinct synthetic ECGs; every ECG is one of them, varied
NOISE_BANK = 61  # per-ECG noise patterns (prime, so pool x noise pairs repeat rarely)
NOISE_UV = 3  # +/- microvolts of added noise
ROLL_STEP = 7  # samples of circular shift per pass over the pool
SITE = "bench"
SHARD_DIR = "waveforms/bench"
MODEL_VERSION = "ai-ecg-lvd-bench"
DEMO_MODEL_GLOB = "models/demo_artifact/*/model.keras"
SHARD_KIB_PER_ECG_ESTIMATE = 100  # zstd shards of synthetic ECGs: about 85 KiB per ECG
NETWORK_BATCH_SIZES = (1, 8, 16, 32, 64, 128, 256)
SMALL_BATCH = 16  # activations of the first block fit in L2 + L3 here (3.8 MB per ECG)
MATMUL_SIZE = 4096
TIMED_REPEATS = 5
NETWORK_ROUNDS = 7
PLATFORM_RUN_ID = "bench-platform"
DASK_RUN_ID = "bench-dask"
PACKAGES = ("tensorflow-cpu", "tensorflow", "keras", "numpy", "scipy", "pyarrow", "duckdb",
            "pandas", "prefect", "prefect-dask", "dask", "distributed")
PROGRESS_LINE = re.compile(r"on Dask: (\d+)/\d+ ECGs")
COUNT_SCORES = "SELECT count(*) FROM scores.ecg_lvd_scores WHERE model_version = ?"
COMPARE_SCORES = """
SELECT count(*), max(abs(a.p_lvd - b.p_lvd))
FROM a.scores.ecg_lvd_scores AS a JOIN b.scores.ecg_lvd_scores AS b USING (ecg_id, model_version)
"""


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- generating the fixture


@functools.cache
def _signal_pool(seed: int, size: int) -> np.ndarray:
    """`size` distinct synthetic contract ECGs, (size, 12, 5000) int16 uV (same for a seed)."""
    from imnm.ecg.synth import synthesize_ecgs

    rng = np.random.default_rng(seed)
    pool = synthesize_ecgs(rng.uniform(0.0, 1.0, size), rng)
    if np.abs(pool.astype(np.int32)).max() > 32_000:
        raise RuntimeError("synthetic pool too close to the int16 limit for the added noise")
    return pool


@functools.cache
def _noise_bank(seed: int) -> np.ndarray:
    """`NOISE_BANK` small int16 noise patterns, (NOISE_BANK, 12, 5000)."""
    rng = np.random.default_rng([seed, 1])
    return rng.integers(-NOISE_UV, NOISE_UV + 1, size=(NOISE_BANK, 12, 5000), dtype=np.int16)


def bench_signal(index: int, seed: int, pool_size: int) -> np.ndarray:
    """ECG number `index`: a pool signal, shifted once per pass over the pool, plus noise."""
    pool = _signal_pool(seed, pool_size)
    shifted = np.roll(pool[index % pool_size], (index // pool_size) * ROLL_STEP, axis=1)
    return shifted + _noise_bank(seed)[index % NOISE_BANK]


def ecg_id(index: int) -> str:
    """The id of ECG number `index` (zero-padded: id order is index order)."""
    return f"bench-{index:07d}"


def shard_name(shard: int) -> str:
    """File name of shard number `shard`."""
    return f"shard-{shard:05d}.parquet"


def _write_shard(args: tuple[str, int, int, int, int]) -> int:
    """Write shard `shard` (ECGs shard*1000 .. min(+1000, n) - 1); runs in a generator worker."""
    from imnm.waveform_store import WaveformShardWriter

    directory, shard, n, seed, pool_size = args
    folder = Path(directory)
    prefix = f"tmp-{shard:05d}"
    start, stop = shard * ROWS_PER_SHARD, min((shard + 1) * ROWS_PER_SHARD, n)
    with WaveformShardWriter(folder, prefix, rows_per_shard=ROWS_PER_SHARD) as writer:
        for index in range(start, stop):
            writer.append(ecg_id(index), bench_signal(index, seed, pool_size))
    (folder / f"{prefix}-00000.parquet").replace(folder / shard_name(shard))
    return stop - start


def generate_shards(n: int, directory: Path, seed: int, pool_size: int) -> dict[str, Any]:
    """Write N ECGs as shards of 1,000 on every core; refuses to start without the disk."""
    directory.mkdir(parents=True, exist_ok=True)
    need = n * SHARD_KIB_PER_ECG_ESTIMATE * 1024 * 1.2
    free = shutil.disk_usage(directory).free
    if need > free:
        raise RuntimeError(f"{directory}: about {need / 2**30:.1f} GiB needed for {n} ECGs, "
                           f"{free / 2**30:.1f} GiB free (use --work-dir)")
    started = time.perf_counter()
    jobs = [(str(directory), s, n, seed, pool_size) for s in range(math.ceil(n / ROWS_PER_SHARD))]
    with get_context("spawn").Pool(processes=len(os.sched_getaffinity(0))) as pool:
        written = sum(pool.imap_unordered(_write_shard, jobs))
    if written != n:
        raise RuntimeError(f"wrote {written} of {n} ECGs")
    size = sum(p.stat().st_size for p in directory.glob("*.parquet"))
    return {"n": n, "shards": len(jobs), "generate_s": round(time.perf_counter() - started, 1),
            "shard_mib": round(size / 2**20, 1), "kib_per_ecg": round(size / n / 1024, 1),
            "raw_int16_gib": round(n * 12 * 5000 * 2 / 2**30, 2),
            "free_disk_gib_before": round(free / 2**30, 1)}


def prepare_data_root(root: Path, shards: Path, n: int, registry: Path) -> Path:
    """A fresh data directory: hard links to the shards holding the first N ECGs, a migrated
    warehouse whose `core.ecgs` has those N rows, and a copy of the model registry."""
    import pyarrow as pa

    from warehouse.db import open_warehouse

    if root.exists():
        shutil.rmtree(root)
    waveforms = root / SHARD_DIR
    waveforms.mkdir(parents=True)
    for shard in range(math.ceil(n / ROWS_PER_SHARD)):
        os.link(shards / shard_name(shard), waveforms / shard_name(shard))
    shutil.copytree(registry, root / "models")
    index = np.arange(n)
    table = pa.table({
        "ecg_id": pa.array([ecg_id(i) for i in index], pa.string()),
        "patient_key": pa.array([f"P{i:07d}" for i in index], pa.string()),
        "site": pa.array([SITE] * n, pa.string()),
        "acquired_at": pa.array((np.datetime64("2020-01-01T08:00") + index.astype("timedelta64[m]"))
                                .astype("datetime64[us]"),
                                pa.timestamp("us")),
        "source_format": pa.array(["synthetic"] * n, pa.string()),
        "waveform_shard": pa.array([f"{SHARD_DIR}/{shard_name(i // ROWS_PER_SHARD)}"
                                    for i in index], pa.string()),
        "waveform_row": pa.array(index % ROWS_PER_SHARD, pa.int32()),
        "file_id": pa.array(np.zeros(n, dtype=np.int64)),
        "source_row": pa.array(index + 1, pa.int32()),
    })
    with open_warehouse(root / "warehouse.duckdb") as con:
        con.register("bench_ecgs", table)
        con.execute("INSERT INTO core.ecgs BY NAME SELECT * FROM bench_ecgs")
        con.unregister("bench_ecgs")
    return root


# ---------------------------------------------------------------- the model and its arithmetic


def model_arithmetic(model: Any) -> dict[str, Any]:
    """FLOPs per ECG of every Conv2D and Dense layer (a multiply-add is 2 FLOPs), and the
    element-wise work that is not counted (batch norm, ReLU, pooling, sigmoid)."""
    layers: list[dict[str, Any]] = []
    counted = ignored = 0
    for layer in model.layers:
        kind = type(layer).__name__
        out_shape = tuple(int(d) for d in layer.output.shape[1:])
        n_out = math.prod(out_shape)
        flops = 0
        if kind == "Conv2D":
            kh, kw = layer.kernel_size
            c_in = int(layer.input.shape[-1])
            flops = 2 * kh * kw * c_in * layer.filters * math.prod(out_shape[:-1])
            flops += n_out if layer.use_bias else 0
        elif kind == "Dense":
            flops = 2 * int(layer.input.shape[-1]) * layer.units
            flops += layer.units if layer.use_bias else 0
        elif kind == "BatchNormalization":
            ignored += 2 * n_out  # x * scale + shift per element at inference
        elif kind == "ReLU":
            ignored += n_out
        elif kind == "MaxPooling2D":
            ignored += (math.prod(layer.pool_size) - 1) * n_out
        if flops:
            layers.append({"layer": layer.name, "kind": kind, "output": list(out_shape),
                           "mflops": round(flops / 1e6, 3)})
            counted += flops
    return {"flops_per_ecg": counted, "gflops_per_ecg": round(counted / 1e9, 4),
            "ignored_elementwise_ops_per_ecg": ignored,
            "ignored_share": round(ignored / counted, 4), "layers": layers,
            "params": int(model.count_params())}


def register_bench_model(registry_root: str, repo_root: str) -> dict[str, Any]:
    """Register the model the benchmark scores with and make it current: the committed demo
    model's weights when they load with the contract's input shape, else `build_ai_ecg_cnn`."""
    import keras

    from imnm.ecg.contract import N_LEADS, N_SAMPLES
    from models.network import build_ai_ecg_cnn
    from models.registry import (
        DEMO_CLINICAL_VALIDITY,
        ModelCard,
        ModelRegistry,
        summarize_training_data,
    )

    source = "models.network.build_ai_ecg_cnn(seed=0) (untrained)"
    model = None
    for candidate in sorted(Path(repo_root).glob(DEMO_MODEL_GLOB)):
        try:
            loaded = keras.saving.load_model(candidate, compile=False)
        except (OSError, ValueError) as error:
            _log(f"demo model {candidate} not used: {error}")
            continue
        if tuple(loaded.inputs[0].shape[1:]) == (N_SAMPLES, N_LEADS):
            model, source = loaded, f"{candidate.relative_to(repo_root)} (weights only)"
    if model is None:
        model = build_ai_ecg_cnn(seed=0)
    probe = np.zeros((2, N_LEADS, N_SAMPLES), dtype=np.int16)
    card = ModelCard(
        version=MODEL_VERSION, code_version="benchmark", label_definition="benchmark only",
        training_data=summarize_training_data(probe, np.array([0, 1]), np.array(["a", "b"]),
                                              synthetic=True),
        metrics={}, intended_use="Scoring benchmark (throughput only).",
        clinical_validity=DEMO_CLINICAL_VALIDITY)
    registry = ModelRegistry(Path(registry_root))
    registry.register(model, card)
    registry.set_current(MODEL_VERSION)
    result = {"version": MODEL_VERSION, "source": source, **model_arithmetic(model)}
    try:  # the form the platform scores with, where the code base has one
        from models.inference import inference_model
    except ImportError:
        return result
    scored = model_arithmetic(inference_model(model))
    result["scored_form"] = {"what": "models.inference.inference_model", **{
        key: scored[key] for key in ("flops_per_ecg", "ignored_elementwise_ops_per_ecg",
                                     "ignored_share", "params")}}
    return result


# ---------------------------------------------------------------- the phases


def _finish(started: float, baseline_mib: float, n: int, cpu_start: dict[str, float],
            **extra: Any) -> dict[str, Any]:
    """A phase's result: time, throughput, peak memory, the cores it used and the cores other
    processes on the machine used meanwhile."""
    seconds = time.perf_counter() - started
    peak = peak_rss_mib()
    return {"n": n, "seconds": round(seconds, 3), "ecgs_per_s": round(n / seconds, 2),
            "rss_after_imports_mib": round(baseline_mib, 1), "peak_rss_mib": round(peak, 1),
            "peak_increase_mib": round(peak - baseline_mib, 1),
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            "cpu": cpu_usage_since(cpu_start), **extra}


def _phase_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True,  # over Prefect's
                        format="[%(asctime)s] %(name)s: %(message)s", datefmt="%H:%M:%S")


def platform_phase(data_root: str, model_version: str, n: int, batch_size: int = 0
                   ) -> dict[str, Any]:
    """The platform's in-process scoring, as a refresh runs it, with the configured settings
    (config/scoring.toml; `batch_size` overrides its batch size when not 0) and engine
    "in-process", on a warehouse with nothing scored."""
    import dataclasses

    import duckdb
    import keras  # noqa: F401  (imports are not timed)
    import pyarrow.parquet  # noqa: F401

    import models.batch_scoring  # noqa: F401
    from imnm.scoring_config import load_scoring_settings
    from imnm.settings import DataPaths
    from tasks.score import score_unscored
    from warehouse.db import open_warehouse

    _phase_logging()
    settings = dataclasses.replace(load_scoring_settings(environ={}), engine="in-process")
    if batch_size:
        settings = dataclasses.replace(settings, batch_size=batch_size)
    paths = DataPaths(Path(data_root))
    reset_peak_rss()
    baseline = current_rss_mib()
    started = time.perf_counter()
    cpu_start = cpu_snapshot()
    with open_warehouse(paths.warehouse) as con:
        summary = score_unscored(con, paths, model_version, settings, PLATFORM_RUN_ID,
                                 logging.getLogger("platform"))
    result = _finish(started, baseline, n, cpu_start, settings=dataclasses.asdict(settings),
                     scored_now=summary.scored_now,
                     progress_rate_ecgs_per_s=round(summary.ecgs_per_second, 2))
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        written = con.execute(COUNT_SCORES, [model_version]).fetchone()[0]
    if written != n or summary.scored_now != n:
        raise RuntimeError(f"platform scored {summary.scored_now}, wrote {written} of {n}")
    return result


class _ProgressRecorder(logging.Handler):
    """Keeps (time, ECGs done) from the scoring flow's progress log lines."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.points: list[tuple[float, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = PROGRESS_LINE.search(record.getMessage())
        if found:
            self.points.append((time.perf_counter(), int(found.group(1))))


def _steady_rate(points: Sequence[tuple[float, int]], started: float) -> dict[str, Any]:
    """Seconds until the first shards were done (cluster, worker imports, model loads, first
    batches) and ECGs per second from then to the last progress line."""
    if len(points) < 2:
        return {}
    (t0, done0), (t1, done1) = points[0], points[-1]
    return {"first_progress_s": round(t0 - started, 2), "first_progress_ecgs": done0,
            "after_first_progress_ecgs_per_s": round((done1 - done0) / (t1 - t0), 2)
            if t1 > t0 else None}


def dask_phase(data_root: str, model_version: str, n: int, workers: int) -> dict[str, Any]:
    """The Dask engine on a local cluster of single-threaded worker processes, run as the
    `score-ecgs-on-dask` Prefect flow against a temporary Prefect API (not timed)."""
    import dataclasses

    import duckdb
    from prefect.testing.utilities import prefect_test_harness

    from flows.score_ecgs import score_on_dask
    from imnm.refresh.context import RunContext
    from imnm.scoring_config import load_scoring_settings
    from imnm.settings import DataPaths

    settings = dataclasses.replace(load_scoring_settings(environ={}), engine="dask",
                                   dask_address="", dask_local_workers=workers,
                                   dask_threads_per_worker=1, dask_min_ecgs=1)
    paths = DataPaths(Path(data_root))
    ctx = RunContext(run_id=DASK_RUN_ID, run_date=date.today(), paths=paths, sites=(),
                     vocabularies={})
    with prefect_test_harness(server_startup_timeout=180):
        tree = ProcessTreePeak()  # created after the API server started: it is not counted
        reset_peak_rss()
        baseline = current_rss_mib()
        started = time.perf_counter()
        cpu_start = cpu_snapshot()
        recorder = _ProgressRecorder()
        logging.getLogger("prefect.flow_runs").addHandler(recorder)
        try:
            with tree:
                summary = score_on_dask(ctx, model_version, settings)
        finally:
            logging.getLogger("prefect.flow_runs").removeHandler(recorder)
        result = _finish(started, baseline, n, cpu_start, settings=dataclasses.asdict(settings))
        result["progress"] = _steady_rate(recorder.points, started)
    steady = summary.scored_now / summary.ecgs_per_second if summary.ecgs_per_second else 0.0
    workers_mib = sorted(round(v, 1) for v in tree.peaks_mib.values())
    result.update({
        "scored_now": summary.scored_now,
        "flow_body_ecgs_per_s": round(summary.ecgs_per_second, 2),
        "flow_body_s": round(steady, 2),
        "outside_flow_body_s": round(result["seconds"] - steady, 2),
        "child_process_peak_rss_mib": workers_mib,
        "children_peak_rss_sum_mib": round(sum(workers_mib), 1),
    })
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        written = con.execute(COUNT_SCORES, [model_version]).fetchone()[0]
    if written != n:
        raise RuntimeError(f"Dask wrote {written} of {n} scores")
    return result


def _median_seconds(call: Callable[[], object], repeats: int = TIMED_REPEATS) -> float:
    """Median wall time of `repeats` calls, after one untimed warm-up call."""
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def components_phase(data_root: str, model_version: str, batch_size: int) -> dict[str, Any]:
    """Each step of scoring alone, in ms per ECG: Parquet read (platform reader, and the
    whole-shard read the per-ECG loop does), preprocessing (one thread), the network at several
    batch sizes and per layer block, `model.predict` on one ECG, and the bulk score insert."""
    import keras
    import pyarrow.parquet as pq

    from imnm.settings import DataPaths
    from imnm.waveform_store import iter_shard_rows
    from models.batch_scoring import load_registered_model
    from models.preprocess import preprocess_batch
    from models.registry import ModelRegistry
    from tasks.score import write_scores
    from warehouse.db import open_warehouse

    paths = DataPaths(Path(data_root))
    shards = sorted((paths.root / SHARD_DIR).glob("*.parquet"))[:2]
    out: dict[str, Any] = {"batch_size": batch_size}

    started, count = time.perf_counter(), 0
    for shard in shards:
        for ids, _ in iter_shard_rows(shard, range(pq.ParquetFile(shard).metadata.num_rows),
                                      batch_size):
            count += len(ids)
    out["read_ms_per_ecg"] = round((time.perf_counter() - started) / count * 1e3, 3)
    whole = _median_seconds(lambda: pq.read_table(shards[0]), 3)
    out["whole_shard_read_ms"] = round(whole * 1e3, 1)

    waveforms = next(iter_shard_rows(shards[0], range(batch_size), batch_size))[1]
    preprocess_s = _median_seconds(lambda: preprocess_batch(waveforms))
    out["preprocess_ms_per_ecg"] = round(preprocess_s / len(waveforms) * 1e3, 3)

    model = load_registered_model(str(paths.models), model_version)
    saved = ModelRegistry(paths.models).load(model_version)  # as saved: what a user loads
    prepared = preprocess_batch(waveforms)
    out.update(_network_timings(model, saved, prepared, batch_size))
    one = prepared[:1]
    out["predict_one_ecg_ms"] = round(_median_seconds(lambda: model.predict(one, verbose=0), 10)
                                      * 1e3, 2)
    out["network_blocks"] = {str(size): _block_times(keras, model, prepared[:size])
                             for size in sorted({SMALL_BATCH, batch_size})}

    with tempfile.TemporaryDirectory(prefix="imnm-write-") as scratch, \
            open_warehouse(Path(scratch) / "w.duckdb") as con:
        ids = [f"w{i}" for i in range(batch_size)]
        p = np.linspace(0, 1, batch_size)
        rounds = iter(range(10_000))

        def write() -> None:
            version = f"v{next(rounds)}"
            write_scores(con, ids, p, version, "bench")

        out["write_ms_per_ecg"] = round(_median_seconds(write, 10) / batch_size * 1e3, 4)
    return out


def _network_timings(model: Any, saved: Any, prepared: np.ndarray, batch_size: int
                     ) -> dict[str, Any]:
    """The network the platform scores with (`model`) at each of `NETWORK_BATCH_SIZES`
    (`predict_on_batch`) and compiled by XLA (`jit_compile=True`, fusing bias, pooling and ReLU
    into the convolutions) at the small and the configured batch size; and the model as saved
    (`saved`, the training form a user loads) at the configured batch size, through
    `predict_on_batch` and through Keras' `predict` loop; in ms per ECG. The variants take
    turns, round after round (median of `NETWORK_ROUNDS`), so a change in the machine's load
    hits them all alike."""
    import tensorflow as tf

    variants: dict[str, tuple[Callable[[], object], int]] = {}
    for size in sorted({*NETWORK_BATCH_SIZES, batch_size}):
        x = np.resize(prepared, (size, *prepared.shape[1:]))
        variants[f"default {size}"] = (lambda x=x: model.predict_on_batch(x), size)
    x = np.resize(prepared, (batch_size, *prepared.shape[1:]))
    variants["saved predict_on_batch"] = (lambda: saved.predict_on_batch(x), batch_size)
    variants["saved keras_predict"] = (lambda: saved.predict(x, verbose=0), batch_size)
    xla: dict[str, Any] = {}
    try:
        compiled = tf.function(lambda t: model(t, training=False), jit_compile=True)
        for size in sorted({SMALL_BATCH, batch_size}):
            x = tf.constant(np.resize(prepared, (size, *prepared.shape[1:])))
            variants[f"xla {size}"] = (lambda x=x: compiled(x).numpy(), size)
        x = np.resize(prepared, (batch_size, *prepared.shape[1:]))
        difference = np.abs(compiled(tf.constant(x)).numpy() - model.predict_on_batch(x)).max()
        xla["max_abs_diff_vs_default"] = float(difference)
    except Exception as error:  # XLA unavailable: reported, not fatal
        xla["error"] = f"{type(error).__name__}: {error}"[:300]
    for call, _ in variants.values():
        call()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(NETWORK_ROUNDS):
        for name, (call, _) in variants.items():
            started = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - started)
    ms = {name: round(statistics.median(times[name]) / size * 1e3, 3)
          for name, (_, size) in variants.items()}
    default = {name.split()[1]: v for name, v in ms.items() if name.startswith("default")}
    xla.update({name.split()[1]: v for name, v in ms.items() if name.startswith("xla")})
    saved_form = {name.split()[1]: v for name, v in ms.items() if name.startswith("saved")}
    return {"network_ms_per_ecg_by_batch": default, "network_xla_ms_per_ecg_by_batch": xla,
            "network_saved_form_ms_per_ecg": saved_form, "network_rounds": NETWORK_ROUNDS}


def _block_times(keras: Any, model: Any, prepared: np.ndarray) -> list[dict[str, Any]]:
    """Each layer block (a Conv2D or Dense layer up to the next one) alone, in ms per ECG at
    the batch of `prepared`: a model from the block's input to its output, fed the real
    activations of the blocks before it."""
    layers = model.layers
    starts = [i for i, layer in enumerate(layers)
              if type(layer).__name__ in ("Conv2D", "Dense")]
    ends = [s - 1 for s in starts[1:]] + [len(layers) - 1]
    activations = keras.Model(model.inputs, layers[starts[0] - 1].output).predict_on_batch(
        prepared)
    blocks: list[dict[str, Any]] = []
    for start, end in zip(starts, ends, strict=True):
        block = keras.Model(layers[start].input, layers[end].output)
        seconds = _median_seconds(lambda b=block, a=activations: b.predict_on_batch(a))
        blocks.append({"first": layers[start].name, "last": layers[end].name,
                       "input": list(activations.shape[1:]),
                       "ms_per_ecg": round(seconds / len(prepared) * 1e3, 3)})
        activations = block.predict_on_batch(activations)
    return blocks


def network_threads_phase(data_root: str, model_version: str, batch_size: int, threads: int
                          ) -> dict[str, Any]:
    """The network alone with TensorFlow limited to `threads` threads, as a Dask worker runs
    it (`limit_backend_threads`), ms per ECG at the batch size; input from the first shard."""
    from imnm.settings import DataPaths
    from imnm.waveform_store import iter_shard_rows
    from models.batch_scoring import limit_backend_threads, load_registered_model
    from models.preprocess import preprocess_batch

    limit_backend_threads(threads)
    paths = DataPaths(Path(data_root))
    shard = sorted((paths.root / SHARD_DIR).glob("*.parquet"))[0]
    prepared = preprocess_batch(next(iter_shard_rows(shard, range(batch_size), batch_size))[1])
    model = load_registered_model(str(paths.models), model_version)
    cpu_start = cpu_snapshot()
    seconds = _median_seconds(lambda: model.predict_on_batch(prepared))
    return {"threads": threads, "batch_size": batch_size,
            "network_ms_per_ecg": round(seconds / batch_size * 1e3, 3),
            "cpu": cpu_usage_since(cpu_start)}


def ceiling_phase(size: int = MATMUL_SIZE) -> dict[str, Any]:
    """The CPU's measured float32 ceiling: a size x size matmul in numpy (its BLAS) and in
    TensorFlow (oneDNN/Eigen), best of `TIMED_REPEATS` on all usable cores; and the clock."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    flops = 2 * size**3

    def best(call: Callable[[], object]) -> float:
        call()
        times = []
        for _ in range(TIMED_REPEATS):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        return min(times)

    ta, tb = tf.constant(a), tf.constant(b)
    numpy_s = best(lambda: a @ b)
    tf_s = best(lambda: tf.linalg.matmul(ta, tb).numpy())
    return {"matmul_size": size, "numpy_gflops": round(flops / numpy_s / 1e9, 1),
            "tensorflow_gflops": round(flops / tf_s / 1e9, 1),
            "clock": measure_core_clock_ghz()}


# ---------------------------------------------------------------- comparing and deriving


def compare_scores(reference: Path, other: Path) -> dict[str, Any]:
    """ECGs scored in both warehouses and the largest |P(LVD) difference| between them."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{reference}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{other}' AS b (READ_ONLY)")
        n, worst = con.execute(COMPARE_SCORES).fetchone()
    finally:
        con.close()
    return {"ecgs_compared": int(n), "max_abs_diff": None if worst is None else float(worst)}


def fp32_flops_per_cycle(cpu: dict[str, Any]) -> tuple[int, str]:
    """Peak float32 FLOPs per cycle per core for this CPU, and the assumption behind it."""
    flags = set(cpu["simd_flags"])
    if cpu["vendor"] == "AuthenticAMD" and cpu["family"] == 25 and "avx512f" in flags:
        return 32, ("Zen 4 (family 25 with AVX-512): two 256-bit FMA pipes per core; AVX-512 "
                    "is executed as two 256-bit halves, so 2 FMA x 8 float32 lanes x 2 FLOPs")
    if "avx512f" in flags:
        return 64, "assumed two 512-bit FMA units per core (2 x 16 lanes x 2 FLOPs)"
    if "fma" in flags:
        return 32, "assumed two 256-bit FMA units per core (2 x 8 lanes x 2 FLOPs)"
    return 8, "no FMA: assumed one 128-bit add and one multiply per cycle"


def derive(report: dict[str, Any]) -> dict[str, Any]:
    """Ratios, achieved GFLOP/s and fractions of the arithmetic limits, from measured phases."""
    phases = report["phases"]
    n = report["n"]
    platform = phases.get(f"platform-{n}", {})
    derived: dict[str, Any] = {}
    rate = platform.get("ecgs_per_s")
    for name in ("per-ecg", "pandas", "dask"):
        other = phases.get(name, {}).get("ecgs_per_s")
        if rate and other:
            derived[f"platform_over_{name.replace('-', '_')}"] = round(rate / other, 2)
    model = report.get("model", {})
    ceiling = phases.get("ceiling", {})
    clocks = [c["ghz_max"] for c in (ceiling.get("clock"), report.get("clock_at_end")) if c]
    if not model or not ceiling:
        return derived
    cores = report["machine"]["cpus_usable"]
    per_cycle, assumption = fp32_flops_per_cycle(report["cpu"])
    clock = max(clocks) if clocks else report["cpu"]["cpuinfo_mhz"] / 1000
    theoretical = cores * clock * per_cycle
    measured = max(ceiling["numpy_gflops"], ceiling["tensorflow_gflops"])
    derived["peak"] = {"cores": cores, "clock_ghz": clock, "fp32_flops_per_cycle": per_cycle,
                       "assumption": assumption,
                       "clock_source": "highest measured" if clocks else "/proc/cpuinfo",
                       "theoretical_gflops": round(theoretical, 1),
                       "measured_matmul_gflops": measured}
    gflops = model["flops_per_ecg"] / 1e9
    achieved = {}
    for key, value in phases.items():
        if key.startswith("platform-") or key in ("pandas", "per-ecg", "dask"):
            achieved[key] = value.get("ecgs_per_s")
    components = phases.get("components", {})
    batch = str(components.get("batch_size"))
    network_ms = components.get("network_ms_per_ecg_by_batch", {}).get(batch)
    if network_ms:
        achieved[f"network alone, batch {batch}"] = round(1e3 / network_ms, 2)
    derived["arithmetic"] = [
        {"what": key, "ecgs_per_s": eps, "gflops": round(gflops * eps, 2),
         "of_theoretical": round(gflops * eps / theoretical, 4),
         "of_measured_matmul": round(gflops * eps / measured, 4)}
        for key, eps in achieved.items() if eps]
    return derived


# ---------------------------------------------------------------- the tables


def _fmt(value: Any, digits: int = 1) -> Any:
    if value is None:
        return None
    if isinstance(value, float):
        return round(value, digits)
    return value


def report_text(report: dict[str, Any]) -> str:
    """The run's Markdown: machine, side-by-side table, memory against N, arithmetic, split."""
    facts, phases, derived = report["machine"], report["phases"], report.get("derived", {})
    n = report["n"]
    lines = [
        f"Command: `{report['command']}` ({facts.get('total_wall_s', 0) / 60:.1f} min in all)",
        f"Machine: {facts['cpus_usable']} CPUs ({report['cpu']['model_name']}, family "
        f"{report['cpu']['family']} model {report['cpu']['model']}), {facts['mem_total_gib']} "
        f"GiB RAM, Python {facts['python']}; load average {facts['load_average_at_start']} at "
        f"start, {facts.get('load_average_at_end')} at end",
    ]
    data = report.get("data")
    if data:
        lines.append(f"Data: {data['n']} ECGs in {data['shards']} shards, {data['shard_mib']} "
                     f"MiB ({data['kib_per_ecg']} KiB per ECG; {data['raw_int16_gib']} GiB as "
                     f"raw int16), generated in {data['generate_s']} s")
    model = report.get("model")
    if model:
        scored_form = model.get("scored_form")
        lines.append(f"Model: {model['source']}, {model['params']} parameters, "
                     f"{model['flops_per_ecg'] / 1e6:.1f} MFLOP per ECG"
                     + (f"; the platform scores its inference form ({scored_form['what']})"
                        if scored_form else ""))
    code = report.get("code")
    if code:
        lines.append(f"Code: {code['head']}, {len(code['changed_since_head'])} files changed "
                     "since in models/ tasks/ flows/ imnm/ warehouse/ config/ benchmarks/")
    rows = []
    platform_key = f"platform-{n}"
    for key in (platform_key, "per-ecg", "pandas", "dask"):
        phase = phases.get(key)
        if not phase:
            continue
        agreement = report.get("agreement", {}).get(key, {})
        ratio = derived.get(f"platform_over_{key.replace('-', '_')}")
        worst = agreement.get("max_abs_diff")
        rows.append([key, phase["n"], _fmt(phase["seconds"]), _fmt(phase["ecgs_per_s"]),
                     ratio if key != platform_key else 1.0,
                     _fmt(phase["peak_increase_mib"], 0),
                     f"{worst:.1e}" if worst is not None else None,
                     phase.get("cpu", {}).get("own_cores"),
                     phase.get("cpu", {}).get("others_cores")])
    lines += ["", f"Side by side at N = {n} (per-ECG loop on a spread-out subset):", "",
              markdown_table(["phase", "ECGs", "seconds", "ECG/s", "platform / this",
                              "peak +MiB", "max |Δp| vs platform", "cores used",
                              "others' cores"], rows)]
    round_rows = [[key, i, r["ecgs_per_s"], _fmt(r["seconds"]),
                   (r.get("cpu") or {}).get("others_cores"),
                   "reported" if i == phases[key].get("round") else None]
                  for key in (platform_key, "pandas", "dask") if key in phases
                  for i, r in enumerate(phases[key].get("rounds", []), start=1)]
    if round_rows:
        lines += ["", "Rounds (the phases above take turns; the fastest round is reported):",
                  "", markdown_table(["phase", "round", "ECG/s", "seconds", "others' cores",
                                      ""], round_rows)]
    agreement_rows = [[key, a["ecgs_compared"],
                       None if a["max_abs_diff"] is None else f"{a['max_abs_diff']:.1e}"]
                      for key, a in report.get("agreement", {}).items()]
    if agreement_rows:
        lines += ["", f"Scores against {platform_key} (same ECG ids):", "",
                  markdown_table(["phase", "ECGs compared", "max |Δp|"], agreement_rows)]
    platform_runs = sorted((v["n"], v["settings"]["batch_size"], k) for k, v in phases.items()
                           if k.startswith("platform-"))
    rows = []
    for size, batch, key in platform_runs:
        phase = phases[key]
        rows.append([size, batch, _fmt(phase["seconds"]), _fmt(phase["ecgs_per_s"]),
                     _fmt(phase["rss_after_imports_mib"], 0), _fmt(phase["peak_increase_mib"], 0),
                     phase.get("cpu", {}).get("own_cores"),
                     phase.get("cpu", {}).get("others_cores")])
    lines += ["", "Platform against N and batch size:", "",
              markdown_table(["N", "batch", "seconds", "ECG/s", "RSS after imports MiB",
                              "peak +MiB", "cores used", "others' cores"], rows)]
    peak = derived.get("peak")
    if peak:
        lines += ["", f"Arithmetic limit: {peak['cores']} cores x {peak['clock_ghz']} GHz "
                      f"({peak['clock_source']}) x {peak['fp32_flops_per_cycle']} FLOP/cycle = "
                      f"{peak['theoretical_gflops']} GFLOP/s theoretical; measured float32 "
                      f"matmul {peak['measured_matmul_gflops']} GFLOP/s "
                      f"({peak['assumption']})", "",
                  markdown_table(["what", "ECG/s", "GFLOP/s", "of theoretical",
                                  "of measured matmul"],
                                 [[a["what"], a["ecgs_per_s"], a["gflops"],
                                   f"{a['of_theoretical']:.1%}", f"{a['of_measured_matmul']:.1%}"]
                                  for a in derived.get("arithmetic", [])])]
    components = phases.get("components")
    if components:
        batch = components["batch_size"]
        steps = [["Parquet read (platform reader)", components["read_ms_per_ecg"]],
                 ["preprocess (1 thread)", components["preprocess_ms_per_ecg"]],
                 *[[f"network, batch {b}", v]
                   for b, v in components["network_ms_per_ecg_by_batch"].items()],
                 *[[f"network compiled with XLA, batch {b}", v]
                   for b, v in components["network_xla_ms_per_ecg_by_batch"].items()
                   if b.isdigit()]]
        saved_form = components.get("network_saved_form_ms_per_ecg", {})
        if saved_form:
            steps += [[f"network as saved (training form), predict_on_batch, batch {batch}",
                       saved_form["predict_on_batch"]],
                      [f"network as saved, Keras predict() on {batch} ECGs (batches of 32)",
                       saved_form["keras_predict"]]]
        single = phases.get("network-1-thread")
        if single:
            steps.append([f"network, 1 TensorFlow thread, batch {single['batch_size']}",
                          single["network_ms_per_ecg"]])
        steps += [["model.predict, one ECG per call", components["predict_one_ecg_ms"]],
                  ["score insert (Arrow, per batch)", components["write_ms_per_ecg"]],
                  ["whole-shard pq.read_table (per call)", components["whole_shard_read_ms"]]]
        lines += ["", f"Where the time goes (each step alone, ms per ECG; the platform runs "
                      f"batches of {batch}):", "", markdown_table(["step", "ms per ECG"], steps)]
        xla = components["network_xla_ms_per_ecg_by_batch"]
        if "max_abs_diff_vs_default" in xla:
            lines += ["", f"XLA-compiled scores differ from the default path's by at most "
                          f"{xla['max_abs_diff_vs_default']:.1e}."]
        for size, blocks in components["network_blocks"].items():
            lines += ["", f"Network blocks alone, batch {size}:", "",
                      markdown_table(["block", "input", "ms per ECG", "MFLOP", "GFLOP/s"],
                                     _block_rows(blocks, model))]
    for key in ("per-ecg", "pandas"):
        if key in phases:
            split = phases[key]["split_ms_per_ecg"]
            lines += ["", f"Plain {key} loop, ms per ECG: "
                      + ", ".join(f"{k} {v}" for k, v in split.items())]
    if "dask" in phases:
        d = phases["dask"]
        lines += ["", f"Dask ({d['settings']['dask_local_workers']} workers x 1 thread): "
                      f"{d['seconds']} s wall, of which {d['outside_flow_body_s']} s outside "
                      f"the flow body (cluster start and stop); flow body "
                      f"{d['flow_body_ecgs_per_s']} ECG/s; first shards done after "
                      f"{d.get('progress', {}).get('first_progress_s')} s, then "
                      f"{d.get('progress', {}).get('after_first_progress_ecgs_per_s')} ECG/s; "
                      f"workers' peak RSS "
                      f"{d['child_process_peak_rss_mib']} MiB; cores used "
                      f"{d.get('cpu', {}).get('own_cores')}, others' "
                      f"{d.get('cpu', {}).get('others_cores')}"]
    return "\n".join(lines)


def _block_rows(blocks: Sequence[dict[str, Any]], model: dict[str, Any] | None
                ) -> list[list[object]]:
    mflops = {layer["layer"]: layer["mflops"] for layer in (model or {}).get("layers", [])}
    rows: list[list[object]] = []
    for block in blocks:
        mf = mflops.get(block["first"])
        ms = block["ms_per_ecg"]
        rows.append([f"{block['first']} .. {block['last']}",
                     " x ".join(str(d) for d in block["input"]), ms, mf,
                     round(mf / ms, 1) if mf and ms > 0 else None])
    return rows


def write_report(out: Path, report: dict[str, Any]) -> None:
    """`<out>/score_ecgs-<N>.json` and `.md`; rewritten after every phase."""
    report["derived"] = derive(report)
    n = report["n"]
    (out / f"score_ecgs-{n}.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (out / f"score_ecgs-{n}.md").write_text(report_text(report) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- the run


def _side_by_side_phases(args: argparse.Namespace, model_file: str
                         ) -> dict[str, tuple[str, Callable[[str], dict[str, Any]]]]:
    """The phases compared at N, by name: a label and a runner taking the data directory."""
    from benchmarks.plain_scoring import score_with_pandas

    n, version = args.n, MODEL_VERSION
    phases: dict[str, tuple[str, Callable[[str], dict[str, Any]]]] = {
        f"platform-{n}": (f"platform N={n}", lambda root: run_in_fresh_process(
            platform_phase, root, version, n)),
    }
    if not args.no_pandas:
        phases["pandas"] = (f"plain pandas batch loop N={n}", lambda root: run_in_fresh_process(
            score_with_pandas, root, model_file, version))
    if not args.no_dask:
        phases["dask"] = (f"Dask N={n}, {args.dask_workers} workers",
                          lambda root: run_in_fresh_parent_process(dask_phase, root, version, n,
                                                                   args.dask_workers))
    return phases


def fastest_round(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of a phase's rounds (the one least slowed by other work on the machine),
    with every round's throughput and the cores others used meanwhile."""
    best = max(runs, key=lambda run: run["ecgs_per_s"])
    return {**best, "round": runs.index(best) + 1,
            "rounds": [{key: run.get(key) for key in ("seconds", "ecgs_per_s",
                                                      "peak_increase_mib", "cpu")}
                       for run in runs]}


def code_version(repo_root: Path) -> dict[str, Any]:
    """The commit measured and the files changed since it that scoring runs (the tree may be
    edited while a long run goes on; the figures belong to this state)."""
    import subprocess

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=repo_root, capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    changed = git("status", "--short", "--", "models", "tasks", "flows", "imnm", "warehouse",
                  "config", "benchmarks")
    return {"head": git("rev-parse", "--short", "HEAD"),
            "changed_since_head": changed.splitlines()}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options; the defaults measure N = 10,000 side by side."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=DEFAULT_N,
                        help="ECGs scored side by side (platform, pandas, Dask)")
    parser.add_argument("--also-n", type=int, nargs="*", default=[],
                        help="further Ns for the platform alone (peak memory against N)")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS,
                        help="times the platform, pandas and Dask phases at N run, in turn; "
                             "the fastest round of each is reported")
    parser.add_argument("--per-ecg-n", type=int, default=DEFAULT_PER_ECG_N,
                        help="ECGs for the one-at-a-time loop (0: skip)")
    parser.add_argument("--also-batch-size", type=int, nargs="*", default=[DEFAULT_ALSO_BATCH],
                        help="batch sizes the platform also runs with at N (none: skip)")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas batch loop")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask engine")
    parser.add_argument("--dask-workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for JSON + tables")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where shards and warehouses go (default: system temp)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--pool-size", type=int, default=POOL_SIZE,
                        help="distinct synthetic signals to vary")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    args = parser.parse_args(argv)
    args.sizes = sorted({args.n, *(m for m in args.also_n if m > 0)})
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Generate, run every phase, compare scores, write JSON + Markdown to `--out`."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    repo_root = Path(__file__).resolve().parent.parent
    command = "python -m benchmarks.score_ecgs " + " ".join(sys.argv[1:] if argv is None
                                                            else argv)
    report: dict[str, Any] = {"command": command, "n": args.n, "machine": machine_facts(PACKAGES),
                              "cpu": cpu_details(), "code": code_version(repo_root),
                              "phases": {}, "agreement": {}}
    phases = report["phases"]
    base = Path(tempfile.mkdtemp(prefix="imnm-score-bench-", dir=args.work_dir))
    started = time.perf_counter()

    def record(name: str, result: dict[str, Any]) -> None:
        phases[name] = result
        report["machine"]["total_wall_s"] = round(time.perf_counter() - started, 1)
        report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        write_report(args.out, report)
        _log(f"{name}: " + json.dumps({k: v for k, v in result.items()
                                        if not isinstance(v, dict | list)}))

    try:
        _log("arithmetic ceiling and clock")
        record("ceiling", run_in_fresh_process(ceiling_phase))
        registry = base / "registry"
        report["model"] = run_in_fresh_process(register_bench_model, str(registry),
                                               str(repo_root))
        _log(f"generating {max(args.sizes)} ECGs into {base}")
        report["data"] = generate_shards(max(args.sizes), base / "shards", args.seed,
                                         args.pool_size)
        _log(f"data: {report['data']}")
        roots: dict[str, Path] = {}

        def fresh(name: str, n: int) -> Path:
            roots[name] = prepare_data_root(base / name, base / "shards", n, registry)
            return roots[name]

        reference = f"platform-{args.n}"
        model_file = str(registry / MODEL_VERSION / "model.keras")
        side_by_side = _side_by_side_phases(args, model_file)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in side_by_side}
        for round_number in range(1, args.rounds + 1):
            for name, (label, runner) in side_by_side.items():
                _log(f"round {round_number} of {args.rounds}: {label}")
                runs[name].append(runner(str(fresh(name, args.n))))
                record(name, fastest_round(runs[name]))
            if round_number == 1 and args.per_ecg_n:
                from benchmarks.plain_scoring import score_one_at_a_time

                _log(f"plain one-at-a-time loop, {args.per_ecg_n} of {args.n} ECGs")
                record("per-ecg", run_in_fresh_process(
                    score_one_at_a_time, str(fresh("per-ecg", args.n)), model_file,
                    MODEL_VERSION, args.per_ecg_n))
        _log("components")
        record("components", run_in_fresh_process(components_phase, str(roots[reference]),
                                                  MODEL_VERSION, phases[reference]["settings"]
                                                  ["batch_size"]))
        for batch in args.also_batch_size:
            name = f"platform-{args.n}-batch-{batch}"
            _log(f"platform N={args.n}, batch size {batch}")
            record(name, run_in_fresh_process(platform_phase, str(fresh(name, args.n)),
                                              MODEL_VERSION, args.n, batch))
            shutil.rmtree(roots[name] / "waveforms", ignore_errors=True)
        _log("network with one TensorFlow thread (as on a Dask worker)")
        record("network-1-thread", run_in_fresh_process(
            network_threads_phase, str(roots[reference]), MODEL_VERSION,
            phases[reference]["settings"]["batch_size"], 1))
        for size in args.sizes:
            if size == args.n:
                continue
            name = f"platform-{size}"
            _log(f"platform N={size}")
            record(name, run_in_fresh_process(platform_phase, str(fresh(name, size)),
                                              MODEL_VERSION, size))
            shutil.rmtree(roots[name] / "waveforms", ignore_errors=True)  # keep its scores
        for name, root in roots.items():
            if name != reference:
                report["agreement"][name] = compare_scores(
                    roots[reference] / "warehouse.duckdb", root / "warehouse.duckdb")
        report["clock_at_end"] = measure_core_clock_ghz()
        report["machine"]["total_wall_s"] = round(time.perf_counter() - started, 1)
        report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        write_report(args.out, report)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(report_text(report))
    return report


if __name__ == "__main__":
    main()
