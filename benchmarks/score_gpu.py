"""Scoring throughput on an accelerator with a non-TensorFlow Keras backend (JAX by default).

Runs the platform's own scoring path (`models.batch_scoring.score_stream` over Parquet shards
read by `imnm.waveform_store.iter_shard_rows`) on generated ECGs, in float32 and in mixed
precision, and reports ECGs/s, the network alone, and how far mixed precision moves scores.

    KERAS_BACKEND=jax python -m benchmarks.score_gpu --n 50000 --out results/

It needs keras, jax (with its GPU plugin), numpy, scipy and pyarrow; not TensorFlow, DuckDB or
Prefect. Without a GPU it runs on the CPU, which only checks that it works.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from imnm.ecg.contract import N_LEADS, N_SAMPLES, SAMPLING_HZ

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
PROBE_ECGS = 2048


def generated_waveforms(n: int, seed: int) -> np.ndarray:
    """(n, 12, 5000) int16 uV: a beat train with per-ECG rate, gain and noise (fast to make)."""
    rng = np.random.default_rng(seed)
    t = np.arange(N_SAMPLES) / SAMPLING_HZ
    out = np.empty((n, N_LEADS, N_SAMPLES), dtype=np.int16)
    for start in range(0, n, 1024):
        m = min(1024, n - start)
        rate = rng.uniform(0.8, 1.8, size=(m, 1, 1))
        beats = (np.sin(2 * np.pi * rate * t) > 0.97) * 1000.0
        gains = rng.uniform(0.2, 1.5, size=(m, N_LEADS, 1))
        noise = rng.normal(0.0, 30.0, size=(m, N_LEADS, N_SAMPLES))
        out[start:start + m] = np.clip(gains * beats + noise, -32768, 32767)
    return out


def write_shards(directory: Path, waveforms: np.ndarray) -> list[Path]:
    """The waveforms as platform shards of 1000 ECGs."""
    from imnm.waveform_store import WaveformShardWriter

    with WaveformShardWriter(directory, "bench", rows_per_shard=1000) as writer:
        for i, waveform in enumerate(waveforms):
            writer.append(f"ecg{i:07d}", waveform)
    return sorted(directory.glob("*.parquet"))


def load_model() -> tuple[Any, str]:
    """The committed demo model when present (any backend loads a .keras file), else a freshly
    built network of the same plan: throughput does not depend on the weights."""
    import keras

    from models.network import build_ai_ecg_cnn

    artifacts = sorted(Path("models/demo_artifact").glob("*/model.keras"))
    if artifacts:
        return keras.saving.load_model(artifacts[-1], compile=False), artifacts[-1].parent.name
    return build_ai_ecg_cnn(seed=0), "untrained-network"


def time_network(model: Any, batch: np.ndarray, repeats: int) -> float:
    """ECGs/s of the network alone on one prepared batch (after one warm-up call)."""
    np.asarray(model.predict_on_batch(batch))
    started = time.perf_counter()
    for _ in range(repeats):
        np.asarray(model.predict_on_batch(batch))
    return repeats * len(batch) / (time.perf_counter() - started)


def time_platform(model: Any, shards: list[Path], options: Any) -> tuple[float, np.ndarray]:
    """ECGs/s through the platform path: shard reader -> preprocessing threads -> network."""
    from imnm.waveform_store import iter_shard_rows
    from models.batch_scoring import score_stream

    def batches():  # noqa: ANN202
        for shard in shards:
            yield from iter_shard_rows(shard, range(1000), options.batch_size)

    started = time.perf_counter()
    scores = [p for _, p in score_stream(model, batches(), options)]
    elapsed = time.perf_counter() - started
    p_lvd = np.concatenate(scores)
    return len(p_lvd) / elapsed, p_lvd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="ECGs to score (multiple of 1000)")
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--preprocess-threads", type=int, default=max(1, (os.cpu_count() or 2) - 2))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    import keras

    from models.batch_scoring import ScoringOptions, check_precision, with_precision
    from models.preprocess import preprocess_batch

    facts: dict[str, Any] = {"backend": keras.backend.backend(), "keras": keras.__version__,
                             "cpu_count": os.cpu_count(), "python": platform.python_version()}
    if facts["backend"] == "jax":
        import jax

        facts["jax"] = jax.__version__
        facts["devices"] = [str(d) for d in jax.devices()]
        facts["device_kind"] = jax.devices()[0].device_kind
    model, version = load_model()
    facts["model"] = version

    n = args.n - args.n % 1000 or 1000
    made = time.perf_counter()
    waveforms = generated_waveforms(n, seed=0)
    with tempfile.TemporaryDirectory() as scratch:
        shards = write_shards(Path(scratch), waveforms)
        facts["generate_and_write_seconds"] = round(time.perf_counter() - made, 1)
        probe = waveforms[:PROBE_ECGS]
        started = time.perf_counter()
        prepared = preprocess_batch(waveforms[:args.batch_size])
        facts["preprocess_ms_per_ecg_one_thread"] = round(
            (time.perf_counter() - started) * 1000 / args.batch_size, 3)

        rows = []
        reference = None
        for precision in PRECISIONS:
            difference = 0.0 if precision == "float32" else check_precision(model, precision,
                                                                            probe, tolerance=1.0)
            scoring_model = with_precision(model, precision)
            options = ScoringOptions(batch_size=args.batch_size,
                                     prefetch_batches=args.preprocess_threads + 2,
                                     preprocess_threads=args.preprocess_threads,
                                     precision=precision)
            network_rate = time_network(scoring_model, prepared, repeats=20)
            time_platform(scoring_model, shards[:2], options)  # warm-up: compile, threads
            platform_rate, p_lvd = time_platform(scoring_model, shards, options)
            if reference is None:
                reference = p_lvd
            rows.append({
                "precision": precision, "n_ecgs": len(p_lvd), "batch_size": args.batch_size,
                "platform_ecgs_per_s": round(platform_rate, 1),
                "network_only_ecgs_per_s": round(network_rate, 1),
                "max_abs_diff_vs_float32_probe": difference,
                "max_abs_diff_vs_float32_all": float(np.max(np.abs(p_lvd - reference))),
            })
            print(json.dumps(rows[-1]), flush=True)
    result = {"facts": facts, "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"score_gpu-{facts['backend']}-{n}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(facts, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
