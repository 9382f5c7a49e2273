"""The AI-ECG convolutional network for left-ventricular dysfunction (LVD), built from a plan.

Input contract: a float32 tensor (batch, n_samples, n_leads) as produced by
`models.preprocess.preprocess_batch`: time-major, channels-last, leads in
`imnm.ecg.contract.LEADS` order, 500 Hz, amplitudes in millivolts after band-pass filtering.
Output: (batch, 1), P(LVD) from a sigmoid.

The ECG is treated as a one-channel image (time x lead). Temporal blocks convolve and pool along
time only (kernels (k, 1)), with weights shared across leads; one spatial convolution then spans
all leads at once; a small dense head gives the probability. Written with `keras.layers` only so
any Keras 3 backend runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import keras

from imnm.ecg.contract import N_LEADS, N_SAMPLES


@dataclass(frozen=True)
class TemporalBlock:
    """Conv2D (kernel (kernel, 1)) -> BatchNorm -> ReLU -> MaxPool ((pool, 1)) along time."""

    filters: int
    kernel: int
    pool: int


@dataclass(frozen=True)
class SpatialBlock:
    """Conv2D whose kernel spans every lead at one time step -> BatchNorm -> ReLU."""

    filters: int


@dataclass(frozen=True)
class DenseBlock:
    """Dense -> BatchNorm -> ReLU -> Dropout."""

    units: int
    dropout: float


LayerBlock = TemporalBlock | SpatialBlock | DenseBlock

LAYER_PLAN: Final[tuple[LayerBlock, ...]] = (
    TemporalBlock(filters=16, kernel=5, pool=2),
    TemporalBlock(filters=16, kernel=5, pool=2),
    TemporalBlock(filters=32, kernel=5, pool=4),
    TemporalBlock(filters=32, kernel=3, pool=2),
    TemporalBlock(filters=64, kernel=3, pool=2),
    TemporalBlock(filters=64, kernel=3, pool=4),
    SpatialBlock(filters=64),
    DenseBlock(units=64, dropout=0.5),
    DenseBlock(units=32, dropout=0.5),
)
BATCH_NORM_MOMENTUM: Final[float] = 0.9
OUTPUT_NAME: Final[str] = "lvd_probability"


def build_ai_ecg_cnn(
    n_samples: int = N_SAMPLES, n_leads: int = N_LEADS, seed: int = 0
) -> keras.Model:
    """Build the uncompiled LVD network for input (batch, n_samples, n_leads).

    Initial weights and dropout masks derive from `seed` alone, so two builds with the same
    seed start identical whatever the global random state.
    """
    if temporal_length_after_plan(n_samples) < 1:
        raise ValueError(f"n_samples={n_samples} is too short for the temporal blocks")
    inputs = keras.Input(shape=(n_samples, n_leads), name="ecg")
    x = keras.layers.Reshape((n_samples, n_leads, 1), name="time_by_lead_image")(inputs)
    for index, block in enumerate(LAYER_PLAN, start=1):
        layer_seed = seed * 1000 + index
        if isinstance(block, TemporalBlock):
            x = _temporal_block(x, block, f"temporal_{index}", layer_seed)
        elif isinstance(block, SpatialBlock):
            x = _spatial_block(x, block, n_leads, f"spatial_{index}", layer_seed)
            x = keras.layers.Flatten(name="flatten")(x)
        elif isinstance(block, DenseBlock):
            x = _dense_block(x, block, f"dense_{index}", layer_seed)
        else:
            raise TypeError(f"unknown layer block {block!r}")
    outputs = keras.layers.Dense(
        1,
        activation="sigmoid",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 1000),
        name=OUTPUT_NAME,
    )(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="ai_ecg_lvd_cnn")


def temporal_length_after_plan(n_samples: int) -> int:
    """Time steps left after the temporal blocks ('valid' convolutions, floor pooling)."""
    length = n_samples
    for block in LAYER_PLAN:
        if isinstance(block, TemporalBlock):
            length = (length - block.kernel + 1) // block.pool
    return length


def _temporal_block(x: keras.KerasTensor, block: TemporalBlock, name: str, seed: int):
    """Convolve and pool along time only; the same kernel runs over every lead."""
    x = keras.layers.Conv2D(
        block.filters,
        (block.kernel, 1),
        use_bias=False,
        kernel_initializer=keras.initializers.HeNormal(seed=seed),
        name=f"{name}_conv",
    )(x)
    x = keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, name=f"{name}_bn")(x)
    x = keras.layers.ReLU(name=f"{name}_relu")(x)
    return keras.layers.MaxPooling2D((block.pool, 1), name=f"{name}_pool")(x)


def _spatial_block(x: keras.KerasTensor, block: SpatialBlock, n_leads: int, name: str, seed: int):
    """Combine all leads at each remaining time step with one (1, n_leads) convolution."""
    x = keras.layers.Conv2D(
        block.filters,
        (1, n_leads),
        use_bias=False,
        kernel_initializer=keras.initializers.HeNormal(seed=seed),
        name=f"{name}_conv",
    )(x)
    x = keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def _dense_block(x: keras.KerasTensor, block: DenseBlock, name: str, seed: int):
    """Fully connected layer with batch normalization and dropout."""
    x = keras.layers.Dense(
        block.units,
        use_bias=False,
        kernel_initializer=keras.initializers.HeNormal(seed=seed),
        name=f"{name}_dense",
    )(x)
    x = keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, name=f"{name}_bn")(x)
    x = keras.layers.ReLU(name=f"{name}_relu")(x)
    return keras.layers.Dropout(block.dropout, seed=seed, name=f"{name}_dropout")(x)
