"""Streaming batch scoring: waveform batches in, P(LVD) out, with reading and preprocessing
overlapped with the network's arithmetic.

A background thread pulls raw batches from the caller's iterator (Parquet reads, which release
the GIL) and hands each to a small thread pool for `preprocess_batch` (scipy's filters release
the GIL too); the calling thread only runs the network. At most `prefetch_batches` prepared
batches wait in the queue, so memory is bounded by the batch size, not by the number of ECGs.

Every batch given to the network has exactly `batch_size` rows (the last one is padded with zero
waveforms whose outputs are dropped), so a compiled backend (XLA, JAX) traces the model once.

Nothing here reads the warehouse or the environment; callers bring the batches and the model.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import numpy as np

from imnm.scoring_config import PRECISIONS
from imnm.waveform_store import rebatch
from models.preprocess import MODEL_INPUT_DTYPE, preprocess_batch

if TYPE_CHECKING:
    import keras

Precision = Literal["float32", "mixed_bfloat16", "mixed_float16"]
DEFAULT_BATCH_SIZE: Final[int] = 256
DEFAULT_PREFETCH_BATCHES: Final[int] = 2
# Mixed precision is used only if it keeps every score of a probe batch within this of the
# float32 score: a tenth of the published 1% P(LVD) cutoff (`check_precision`; docs/ai-ecg.md).
MIXED_PRECISION_TOLERANCE: Final[float] = 0.001

IdsAndWaveforms = tuple[Sequence[str], np.ndarray]


@dataclass(frozen=True)
class ScoringOptions:
    """How to run the network: rows per model call, prepared batches in flight, threads that
    preprocess, and the arithmetic precision."""

    batch_size: int = DEFAULT_BATCH_SIZE
    prefetch_batches: int = DEFAULT_PREFETCH_BATCHES
    preprocess_threads: int = 1
    precision: Precision = "float32"

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.prefetch_batches < 1 or self.preprocess_threads < 1:
            raise ValueError("batch_size, prefetch_batches and preprocess_threads must be >= 1")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")


DEFAULT_OPTIONS: Final[ScoringOptions] = ScoringOptions()


def score_stream(model: keras.Model, batches: Iterable[IdsAndWaveforms],
                 options: ScoringOptions = DEFAULT_OPTIONS
                 ) -> Iterator[tuple[list[str], np.ndarray]]:
    """Yield (ecg_ids, P(LVD) float32) per batch of `options.batch_size` ECGs, in input order."""
    padded = np.zeros((options.batch_size, *_input_shape(model)), dtype=MODEL_INPUT_DTYPE)
    for ids, model_input in _prepared_batches(rebatch(batches, options.batch_size), options):
        n = len(ids)
        if n < options.batch_size:
            padded[:n] = model_input
            padded[n:] = 0.0
            model_input = padded
        predicted = np.asarray(model.predict_on_batch(model_input), dtype=np.float32)
        yield list(ids), predicted.reshape(-1)[:n].copy()


def score_waveforms(model: keras.Model, waveforms_uv: np.ndarray,
                    options: ScoringOptions = DEFAULT_OPTIONS) -> np.ndarray:
    """P(LVD) for an in-memory (n, 12, 5000) int16 array, through the same streaming path."""
    ids = [str(i) for i in range(len(waveforms_uv))]
    chunks = (
        (ids[start:start + options.batch_size], waveforms_uv[start:start + options.batch_size])
        for start in range(0, len(waveforms_uv), options.batch_size)
    )
    scored = [p for _, p in score_stream(model, chunks, options)]
    return np.concatenate(scored) if scored else np.empty(0, dtype=np.float32)


def with_precision(model: keras.Model, precision: Precision) -> keras.Model:
    """The model itself for float32; otherwise a copy computing in bfloat16/float16 with float32
    variables, whose output layer stays float32 so probabilities keep their resolution."""
    if precision == "float32":
        return model
    import keras

    output_name = model.layers[-1].name

    def clone_layer(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = layer.get_config()
        config["dtype"] = "float32" if layer.name == output_name else precision
        return layer.__class__.from_config(config)

    clone = keras.models.clone_model(model, clone_function=clone_layer)
    clone.set_weights(model.get_weights())
    return clone


def check_precision(model: keras.Model, precision: Precision, probe_uv: np.ndarray,
                    tolerance: float = MIXED_PRECISION_TOLERANCE) -> float:
    """Largest |P(LVD) at `precision` - P(LVD) in float32| on a probe batch; raises if it
    exceeds `tolerance`, so a precision that changes scores is never used silently."""
    options = ScoringOptions(batch_size=max(1, len(probe_uv)))
    reference = score_waveforms(model, probe_uv, options)
    reduced = score_waveforms(with_precision(model, precision), probe_uv, options)
    difference = float(np.max(np.abs(reduced - reference))) if len(reference) else 0.0
    if difference > tolerance:
        raise ValueError(f"{precision} moves scores by up to {difference:.4f} > {tolerance}")
    return difference


@lru_cache(maxsize=2)
def load_registered_model(registry_root: str, version: str) -> keras.Model:
    """A registered model, loaded (sha256 checked) once per process in its inference form
    (`models.inference`); Dask workers keep it between the shards they score."""
    from models.inference import inference_model
    from models.registry import ModelRegistry

    return inference_model(ModelRegistry(Path(registry_root)).load(version))


_AT_PRECISION: dict[tuple[str, str, str], keras.Model] = {}


def registered_model_at_precision(registry_root: str, version: str, precision: Precision,
                                  probe_uv: np.ndarray) -> keras.Model:
    """The registered model computing at `precision`; a reduced precision is first checked
    against float32 on `probe_uv` (real waveforms about to be scored) and refused if it moves
    any score by more than `MIXED_PRECISION_TOLERANCE`. Kept per process once checked."""
    key = (registry_root, version, precision)
    if key not in _AT_PRECISION:
        model = load_registered_model(registry_root, version)
        if precision != "float32":
            check_precision(model, precision, probe_uv)
        _AT_PRECISION[key] = with_precision(model, precision)
    return _AT_PRECISION[key]


def limit_backend_threads(threads: int) -> None:
    """Cap the backend's intra-op threads (one process per core under Dask). Only possible
    before TensorFlow starts its runtime; later calls change nothing."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # the runtime already started in this process


def _input_shape(model: keras.Model) -> tuple[int, int]:
    """(n_samples, n_leads) the model expects."""
    shape = tuple(model.inputs[0].shape[1:])
    return int(shape[0]), int(shape[1])


def _prepared_batches(batches: Iterable[IdsAndWaveforms], options: ScoringOptions
                      ) -> Iterator[tuple[Sequence[str], np.ndarray]]:
    """(ids, model input) in input order, read and preprocessed ahead on other threads."""
    ready: queue.Queue[tuple[Sequence[str], Future[np.ndarray]] | BaseException | None] = (
        queue.Queue(maxsize=options.prefetch_batches))
    stop = threading.Event()

    def put(item: tuple[Sequence[str], Future[np.ndarray]] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce(pool: ThreadPoolExecutor) -> None:
        try:
            for ids, waveforms in batches:
                if not put((ids, pool.submit(preprocess_batch, waveforms))):
                    return
            put(None)
        except BaseException as error:  # handed to the consumer, raised there
            put(error)

    with ThreadPoolExecutor(options.preprocess_threads, "imnm-preprocess") as pool:
        reader = threading.Thread(target=produce, args=(pool,), name="imnm-read", daemon=True)
        reader.start()
        try:
            while True:
                item = ready.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                ids, future = item
                yield ids, future.result()
        finally:
            stop.set()
            reader.join()
