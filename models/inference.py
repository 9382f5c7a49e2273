"""An inference-only form of the LVD network: the same function, less work per ECG.

At scoring time BatchNorm is a fixed affine map, so it folds into the convolution or dense
layer before it (one pass over each activation map instead of two), dropout is the identity,
and ReLU commutes with max-pooling (both are monotone), so pooling first applies ReLU to 2 to
4 times fewer values. Scores equal the trained model's to float32 round-off
(tests/test_model_inference.py). Models of another architecture (a centre's imported
weights) are scored as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from models.network import LAYER_PLAN, OUTPUT_NAME, DenseBlock, SpatialBlock, TemporalBlock

if TYPE_CHECKING:
    import keras


def inference_model(model: keras.Model) -> keras.Model:
    """The folded equivalent of a network built by `build_ai_ecg_cnn`; any other model as is."""
    if not _built_from_plan(model):
        return model
    import keras

    n_samples, n_leads = (int(d) for d in model.inputs[0].shape[1:])
    inputs = keras.Input(shape=(n_samples, n_leads), name="ecg")
    x = keras.layers.Reshape((n_samples, n_leads, 1), name="time_by_lead_image")(inputs)
    folded: dict[str, list[np.ndarray]] = {}
    for index, block in enumerate(LAYER_PLAN, start=1):
        if isinstance(block, TemporalBlock):
            name = f"temporal_{index}"
            x = keras.layers.Conv2D(block.filters, (block.kernel, 1), name=f"{name}_conv")(x)
            x = keras.layers.MaxPooling2D((block.pool, 1), name=f"{name}_pool")(x)
            x = keras.layers.ReLU(name=f"{name}_relu")(x)
            folded[f"{name}_conv"] = _fold(model, f"{name}_conv", f"{name}_bn")
        elif isinstance(block, SpatialBlock):
            name = f"spatial_{index}"
            x = keras.layers.Conv2D(block.filters, (1, n_leads), name=f"{name}_conv")(x)
            x = keras.layers.ReLU(name=f"{name}_relu")(x)
            x = keras.layers.Flatten(name="flatten")(x)
            folded[f"{name}_conv"] = _fold(model, f"{name}_conv", f"{name}_bn")
        elif isinstance(block, DenseBlock):
            name = f"dense_{index}"
            x = keras.layers.Dense(block.units, name=f"{name}_dense")(x)
            x = keras.layers.ReLU(name=f"{name}_relu")(x)
            folded[f"{name}_dense"] = _fold(model, f"{name}_dense", f"{name}_bn")
    output = model.get_layer(OUTPUT_NAME)
    outputs = keras.layers.Dense(1, activation="sigmoid", name=OUTPUT_NAME)(x)
    folded_model = keras.Model(inputs=inputs, outputs=outputs, name=f"{model.name}_inference")
    for layer_name, weights in folded.items():
        folded_model.get_layer(layer_name).set_weights(weights)
    folded_model.get_layer(OUTPUT_NAME).set_weights(output.get_weights())
    return folded_model


def _fold(model: keras.Model, linear_name: str, norm_name: str) -> list[np.ndarray]:
    """[kernel, bias] of a bias-free linear layer followed by BatchNorm, as one affine layer:
    y = gamma * (Wx - mean) / sqrt(var + eps) + beta."""
    kernel = np.asarray(model.get_layer(linear_name).get_weights()[0], dtype=np.float64)
    norm = model.get_layer(norm_name)
    gamma, beta, mean, variance = (np.asarray(w, dtype=np.float64) for w in norm.get_weights())
    scale = gamma / np.sqrt(variance + norm.epsilon)
    return [(kernel * scale).astype(np.float32), (beta - mean * scale).astype(np.float32)]


def _built_from_plan(model: keras.Model) -> bool:
    """True when the model has exactly the layers `build_ai_ecg_cnn` makes, with the
    BatchNorm settings folding assumes (scale and centre, last axis)."""
    from models.network import build_ai_ecg_cnn

    try:
        n_samples, n_leads = (int(d) for d in model.inputs[0].shape[1:])
        reference = build_ai_ecg_cnn(n_samples=n_samples, n_leads=n_leads)
    except (TypeError, ValueError, IndexError):
        return False
    if [layer.name for layer in model.layers] != [layer.name for layer in reference.layers]:
        return False
    for layer, expected in zip(model.layers, reference.layers, strict=True):
        if type(layer) is not type(expected):
            return False
        if [tuple(w.shape) for w in layer.weights] != [tuple(w.shape) for w in expected.weights]:
            return False
        if layer.name.endswith("_bn") and not (layer.center and layer.scale
                                               and layer.axis in (-1, len(layer.input.shape) - 1)):
            return False
        if hasattr(layer, "use_bias") and layer.name != OUTPUT_NAME and layer.use_bias:
            return False
    return True
