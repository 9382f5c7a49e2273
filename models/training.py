"""Train the AI-ECG LVD network on contract waveforms, and score waveforms with a trained model.

Both directions go through `models.preprocess.preprocess_batch`, so training and scoring see
identically prepared input. Training is reproducible for a given seed, data and machine: the
global seeds are set and, on the TensorFlow backend, op determinism is switched on. TensorFlow's
multi-threaded CPU convolution gradients still add partial sums in a thread-dependent order, so
reruns agree to float32 round-off; for bit-identical reruns start the process with
TF_NUM_INTRAOP_THREADS=1 and TF_NUM_INTEROP_THREADS=1 (slower).

Class imbalance: by default the loss is unweighted, so P(LVD) is calibrated to the training
prevalence, as the published low-EF network's outputs are (small probabilities; the published 1 %
P(LVD) cutoff is read on that scale). With `balance_classes=True` each class gets weight
n_train / (2 * n_class), computed from the training labels only; the probabilities then
correspond to a 50 % prevalence and must be recalibrated before being read as risks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

import keras
import numpy as np

from imnm.ecg.contract import N_LEADS, N_SAMPLES
from models.network import build_ai_ecg_cnn
from models.preprocess import MODEL_INPUT_DTYPE, preprocess_batch

LEARNING_RATE: Final[float] = 1e-3
LR_PLATEAU_FACTOR: Final[float] = 0.5
LR_PLATEAU_PATIENCE: Final[int] = 3
MIN_LEARNING_RATE: Final[float] = 1e-5
EARLY_STOPPING_PATIENCE: Final[int] = 8
PREPROCESS_CHUNK: Final[int] = 256
MONITORED_LOSS: Final[str] = "val_loss"


@dataclass(frozen=True)
class TrainingOutcome:
    """A trained model with its per-epoch history (metric name -> values) and wall time."""

    model: keras.Model
    history: dict[str, list[float]]
    epochs_run: int
    seconds: float


def train_lvd_model(
    waveforms_uv: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int,
    epochs: int,
    batch_size: int,
    validation_fraction: float | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    progress: bool = True,
    balance_classes: bool = False,
) -> TrainingOutcome:
    """Train a fresh LVD network on (n, 12, 5000) int16 uV waveforms and 0/1 labels.

    Validation comes from `validation` (use this for patient-level splits) or a seeded,
    label-stratified ECG-level split of `validation_fraction`; with neither, every epoch runs
    and nothing is monitored. The returned model holds the weights of the best validation epoch.
    """
    if validation is not None and validation_fraction is not None:
        raise ValueError("give validation or validation_fraction, not both")
    labels = _check_labels(labels, len(waveforms_uv))
    if validation_fraction is not None:
        train_idx, val_idx = _stratified_split(labels, validation_fraction, seed)
        validation = (waveforms_uv[val_idx], labels[val_idx])
        waveforms_uv, labels = waveforms_uv[train_idx], labels[train_idx]
    class_weight = balanced_class_weight(labels) if balance_classes else None

    started = time.perf_counter()
    _make_deterministic(seed)
    x_train = _preprocess_in_chunks(waveforms_uv)
    validation_data = None
    if validation is not None:
        val_labels = _check_labels(validation[1], len(validation[0]))
        validation_data = (_preprocess_in_chunks(validation[0]), val_labels.astype(np.float32))

    model = build_ai_ecg_cnn(seed=seed)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.AUC(name="auc")],
    )
    callbacks = _validation_callbacks() if validation_data is not None else []
    fitted = model.fit(
        x_train,
        labels.astype(np.float32),
        batch_size=batch_size,
        epochs=epochs,
        validation_data=validation_data,
        class_weight=class_weight,
        shuffle=True,
        callbacks=callbacks,
        verbose=2 if progress else 0,
    )
    history = {name: [float(v) for v in values] for name, values in fitted.history.items()}
    return TrainingOutcome(
        model=model,
        history=history,
        epochs_run=len(history["loss"]),
        seconds=time.perf_counter() - started,
    )


def predict_lvd_probability(
    model: keras.Model, waveforms_uv: np.ndarray, batch_size: int = 256
) -> np.ndarray:
    """Return P(LVD) in 0..1 as float32, one per (12, 5000) int16 uV waveform.

    The same path as scoring (`models.batch_scoring.score_waveforms`): `batch_size` ECGs per
    network call, preprocessing overlapped with the network, memory bounded.
    """
    from models.batch_scoring import ScoringOptions, score_waveforms

    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    return score_waveforms(model, waveforms_uv, ScoringOptions(batch_size=batch_size))


def balanced_class_weight(labels: np.ndarray) -> dict[int, float]:
    """Weights n / (2 * n_class) for classes 0 and 1, so each class carries half the loss."""
    counts = np.bincount(labels.astype(np.int64), minlength=2)
    if counts.min() == 0:
        raise ValueError(f"training labels need both classes, got counts {counts.tolist()}")
    return {label: float(len(labels) / (2 * count)) for label, count in enumerate(counts)}


def _validation_callbacks() -> list[keras.callbacks.Callback]:
    """Lower the learning rate on a plateau; stop early and keep the best epoch's weights."""
    return [
        keras.callbacks.ReduceLROnPlateau(
            monitor=MONITORED_LOSS,
            factor=LR_PLATEAU_FACTOR,
            patience=LR_PLATEAU_PATIENCE,
            min_lr=MIN_LEARNING_RATE,
        ),
        keras.callbacks.EarlyStopping(
            monitor=MONITORED_LOSS,
            patience=EARLY_STOPPING_PATIENCE,
            restore_best_weights=True,
        ),
    ]


def _make_deterministic(seed: int) -> None:
    """Seed Python, NumPy and the backend; on TensorFlow also force deterministic kernels.

    Op determinism is process-wide and stays on once enabled.
    """
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def _preprocess_in_chunks(waveforms_uv: np.ndarray) -> np.ndarray:
    """Preprocess a whole data set a chunk at a time, so filtering scratch memory stays small."""
    model_input = np.empty((len(waveforms_uv), N_SAMPLES, N_LEADS), dtype=MODEL_INPUT_DTYPE)
    for start in range(0, len(waveforms_uv), PREPROCESS_CHUNK):
        stop = start + PREPROCESS_CHUNK
        model_input[start:stop] = preprocess_batch(waveforms_uv[start:stop])
    return model_input


def _check_labels(labels: np.ndarray, n_ecgs: int) -> np.ndarray:
    """Return labels as int64 0/1 after checking there is one per ECG."""
    labels = np.asarray(labels)
    if labels.shape != (n_ecgs,):
        raise ValueError(f"labels shape {labels.shape} != ({n_ecgs},)")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 (no LVD) or 1 (LVD)")
    return labels.astype(np.int64)


def _stratified_split(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split keeping each class's share; returns sorted (train, validation) indices."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation_fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    validation = []
    for label in (0, 1):
        members = rng.permutation(np.flatnonzero(labels == label))
        validation.append(members[: int(round(fraction * len(members)))])
    val_idx = np.sort(np.concatenate(validation))
    if len(val_idx) == 0:
        raise ValueError(f"validation_fraction={fraction} leaves no validation ECGs")
    train_idx = np.setdiff1d(np.arange(len(labels)), val_idx)
    return train_idx, val_idx
