"""Train an AI-ECG model on a warehouse's ECG/echo pairs, evaluate it and register it.

`train_model` reads pairs from a warehouse, splits them by patient, trains with early stopping
on the validation split, measures the test split (AUC, sensitivity and specificity with 95%
CIs, calibration) and registers the model with its card. `train_demo_model` first builds the
synthetic demo training archive and trains on that. One seed fixes the split, the initial
weights and the batch order (see docs/model-training.md).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from imnm.settings import resolve_data_paths
from tasks.model_training import (
    build_demo_archive,
    evaluate_model,
    register_model,
    train_network,
    write_model_card,
)
from tasks.training_set import (
    decide_synthetic,
    describe_source,
    read_training_pairs,
    split_training_pairs,
)


@flow(name="train-model", log_prints=True)
def train_model(data_dir: str | None = None, warehouse: str | None = None,
                label: str = "ef_le_35", pair_window_days: int = 14, epochs: int = 10,
                seed: int = 7, set_current: bool = True, synthetic: bool | None = None) -> str:
    """Pairs -> patient split -> train -> test metrics -> registered version (returned).

    `warehouse` defaults to the data directory's; `synthetic=None` decides from the source
    (the demo archive and the demo network are synthetic), and True marks any source so.
    """
    paths = resolve_data_paths(data_dir)
    source = describe_source(Path(warehouse) if warehouse else paths.warehouse)
    is_synthetic = decide_synthetic(source, synthetic)
    # Extract
    selection = read_training_pairs(source.warehouse, label, pair_window_days)
    splits = split_training_pairs(selection, seed)
    # Train and evaluate
    outcome = train_network(splits, epochs, seed)
    evaluation = evaluate_model(outcome.model, splits.test.waveforms_uv, splits.test.labels)
    # Register
    card = write_model_card(selection, splits, source, is_synthetic, outcome, evaluation)
    return register_model(outcome.model, card, paths.models, set_current)


@flow(name="train-demo-model", log_prints=True)
def train_demo_model(data_dir: str | None = None, n_ecgs: int = 3000, epochs: int = 10,
                     seed: int = 7, label: str = "ef_le_35", pair_window_days: int = 14,
                     set_current: bool = True) -> str:
    """Build (once per size and seed) the synthetic demo training archive and train on it."""
    paths = resolve_data_paths(data_dir)
    archive = build_demo_archive(paths.training_archive, n_ecgs, seed)
    return train_model(data_dir=str(paths.root), warehouse=str(archive), label=label,
                       pair_window_days=pair_window_days, epochs=epochs, seed=seed,
                       set_current=set_current, synthetic=True)
