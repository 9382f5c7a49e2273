"""The AI-ECG network matches its layer plan; a failure means the architecture drifted."""

from __future__ import annotations

import ast
from pathlib import Path

import keras
import numpy as np
import pytest

from imnm.ecg.contract import N_LEADS, N_SAMPLES
from models import network
from models.network import (
    LAYER_PLAN,
    DenseBlock,
    SpatialBlock,
    TemporalBlock,
    build_ai_ecg_cnn,
    temporal_length_after_plan,
)

# Every test here builds, loads or scores the real CNN: TensorFlow (conftest.py: a module
# marked slow as a whole is not even imported when slow tests are deselected).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return build_ai_ecg_cnn(seed=0)


def test_output_is_one_probability_per_ecg(model: keras.Model) -> None:
    x = np.random.default_rng(0).normal(scale=2.0, size=(3, N_SAMPLES, N_LEADS))
    probabilities = keras.ops.convert_to_numpy(model(x.astype(np.float32), training=False))
    assert probabilities.shape == (3, 1)
    assert np.all((probabilities >= 0.0) & (probabilities <= 1.0))
    assert model.layers[-1].get_config()["activation"] == "sigmoid"


def test_plan_is_the_published_temporal_stack() -> None:
    temporal = [block for block in LAYER_PLAN if isinstance(block, TemporalBlock)]
    assert [b.filters for b in temporal] == [16, 16, 32, 32, 64, 64]
    assert [b.kernel for b in temporal] == [5, 5, 5, 3, 3, 3]
    assert [b.pool for b in temporal] == [2, 2, 4, 2, 2, 4]
    assert [type(b) for b in LAYER_PLAN[len(temporal) :]] == [SpatialBlock, DenseBlock, DenseBlock]
    assert [b.units for b in LAYER_PLAN if isinstance(b, DenseBlock)] == [64, 32]


def test_temporal_kernels_run_along_time_only(model: keras.Model) -> None:
    convs = [layer for layer in model.layers if layer.name.startswith("temporal_")]
    kernels = [layer.kernel.shape for layer in convs if isinstance(layer, keras.layers.Conv2D)]
    assert [shape[:2] for shape in kernels] == [(b.kernel, 1) for b in LAYER_PLAN[:6]]


def test_spatial_convolution_spans_all_twelve_leads(model: keras.Model) -> None:
    spatial = [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D) and layer.name.startswith("spatial_")
    ]
    assert len(spatial) == 1
    assert spatial[0].kernel.shape[:2] == (1, N_LEADS)
    assert spatial[0].output.shape[1:3] == (temporal_length_after_plan(N_SAMPLES), 1)


def test_parameter_count_follows_from_the_plan(model: keras.Model) -> None:
    expected, channels = 0, 1
    for block in LAYER_PLAN:
        if isinstance(block, TemporalBlock):
            expected += block.kernel * channels * block.filters + 4 * block.filters
            channels = block.filters
        elif isinstance(block, SpatialBlock):
            expected += N_LEADS * channels * block.filters + 4 * block.filters
            channels = temporal_length_after_plan(N_SAMPLES) * block.filters
        else:
            expected += channels * block.units + 4 * block.units
            channels = block.units
    expected += channels + 1
    assert model.count_params() == expected
    assert 50_000 < model.count_params() < 1_000_000


def test_same_seed_same_initial_weights() -> None:
    first, again, other = (build_ai_ecg_cnn(seed=s) for s in (3, 3, 4))
    assert all(
        np.array_equal(a, b) for a, b in zip(first.get_weights(), again.get_weights(), strict=True)
    )
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])


def test_input_too_short_for_the_pooling_is_refused() -> None:
    with pytest.raises(ValueError, match="too short"):
        build_ai_ecg_cnn(n_samples=200)


def test_network_source_is_backend_neutral() -> None:
    tree = ast.parse(Path(network.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported.isdisjoint({"tensorflow", "torch", "jax"})
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert "tf" not in names
