"""The folded inference network scores exactly as the trained one, to float32 round-off."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from models.batch_scoring import ScoringOptions, score_waveforms
from models.inference import inference_model
from models.network import build_ai_ecg_cnn
from tests.models.test_scoring import random_waveforms

# Every test here builds, loads or scores the real CNN: TensorFlow (conftest.py: a module
# marked slow as a whole is not even imported when slow tests are deselected).
pytestmark = pytest.mark.slow


def trained_like(seed: int) -> keras.Model:
    """A network whose BatchNorm statistics and affine weights are far from the identity, as
    after training, so that folding has something to get wrong."""
    model = build_ai_ecg_cnn(seed=seed)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.name.endswith("_bn"):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 2.0, gamma.shape).astype(np.float32),
                               rng.normal(0.0, 0.3, beta.shape).astype(np.float32),
                               rng.normal(0.0, 0.5, mean.shape).astype(np.float32),
                               rng.uniform(0.2, 3.0, variance.shape).astype(np.float32)])
    output = model.layers[-1]
    kernel, bias = output.get_weights()
    output.set_weights([kernel * 0.05, bias])  # keep the sigmoid off its flat ends
    return model


def test_folded_network_gives_the_same_scores() -> None:
    model = trained_like(seed=4)
    folded = inference_model(model)
    assert folded is not model
    assert not any(layer.name.endswith(("_bn", "_dropout")) for layer in folded.layers)
    waves = random_waveforms(24, seed=8)
    options = ScoringOptions(batch_size=8)
    original, fast = score_waveforms(model, waves, options), score_waveforms(folded, waves, options)
    assert np.ptp(original) > 1e-3  # the scores vary, so equality means something
    np.testing.assert_allclose(fast, original, rtol=0, atol=2e-6)


def test_a_model_of_another_architecture_is_scored_as_it_is() -> None:
    inputs = keras.Input(shape=(5000, 12), name="ecg")
    x = keras.layers.GlobalAveragePooling1D()(inputs)
    other = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    assert inference_model(other) is other
