"""Tasks of the training flow: build the demo archive, train, write the card, register."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from prefect import task
from prefect.cache_policies import NO_CACHE

from models.evaluation import CARD_CUTOFF, TestSplitEvaluation, evaluate_on_test_split
from models.registry import ModelCard
from tasks.training_set import PairSelection, TrainingSource, TrainingSplits, summarize_training_set

if TYPE_CHECKING:
    import keras

    from models.training import TrainingOutcome

BATCH_SIZE = 64


@task(name="build demo training archive", cache_policy=NO_CACHE)
def build_demo_archive(root: Path, n_ecgs: int, seed: int) -> Path:
    """The demo archive's warehouse for (n_ecgs, seed), generated if it is not there yet."""
    from imnm.demo import ensure_training_archive

    archive = ensure_training_archive(root, n_ecgs, seed)
    print(f"demo training archive: {archive.n_ecgs} ECGs, {archive.n_echos} echos, seed "
          f"{archive.seed} at {archive.root}")
    return archive.warehouse


@task(name="train network", cache_policy=NO_CACHE)
def train_network(splits: TrainingSplits, epochs: int, seed: int) -> TrainingOutcome:
    """Fit a fresh network on the train split, early stopping on the validation split."""
    from models.training import train_lvd_model

    return train_lvd_model(splits.train.waveforms_uv, splits.train.labels, seed=seed,
                           epochs=epochs, batch_size=BATCH_SIZE,
                           validation=(splits.validation.waveforms_uv, splits.validation.labels))


@task(name="write model card", cache_policy=NO_CACHE)
def write_model_card(selection: PairSelection, splits: TrainingSplits, source: TrainingSource,
                     synthetic: bool, outcome: TrainingOutcome, evaluation: TestSplitEvaluation
                     ) -> ModelCard:
    """The card: label, training data (train split fingerprint, splits, source), test
    metrics with methods, reliability table, intended use and clinical validity."""
    from imnm.version import code_version
    from models.registry import (
        DEMO_CLINICAL_VALIDITY,
        DEMO_INTENDED_USE,
        PLATFORM_TRAINED_CLINICAL_VALIDITY,
        PLATFORM_TRAINED_INTENDED_USE,
    )

    val_loss = outcome.history.get("val_loss", [])
    best_epoch = (int(np.argmin(val_loss)) + 1) if val_loss else outcome.epochs_run
    training = {"epochs_run": float(outcome.epochs_run), "best_epoch": float(best_epoch),
                "training_seconds": round(outcome.seconds, 1)}
    return ModelCard(
        code_version=code_version(),
        label_definition=selection.label.described(selection.pair_window_days),
        training_data=summarize_training_set(selection, splits, source, synthetic),
        metrics={**evaluation.metrics, **training},
        intended_use=DEMO_INTENDED_USE if synthetic else PLATFORM_TRAINED_INTENDED_USE,
        clinical_validity=(DEMO_CLINICAL_VALIDITY if synthetic
                           else PLATFORM_TRAINED_CLINICAL_VALIDITY),
        reliability=evaluation.reliability,
        metric_methods=evaluation.methods,
    )


@task(name="register model", cache_policy=NO_CACHE)
def register_model(model: keras.Model, card: ModelCard, models_dir: Path, set_current: bool
                   ) -> str:
    """Save the model with its card as a new version; optionally make it current."""
    from models.registry import ModelRegistry

    registry = ModelRegistry(models_dir)
    registered = registry.register(model, card)
    if set_current:
        registry.set_current(registered.version)
    print(f"registered {registered.version}{' and set it current' if set_current else ''}")
    return registered.version


@task(name="evaluate on test split", cache_policy=NO_CACHE)
def evaluate_model(model: object, waveforms_uv: np.ndarray, labels: np.ndarray,
                   cutoff: float = CARD_CUTOFF) -> TestSplitEvaluation:
    """The card's test-split metrics for a trained model."""
    evaluation = evaluate_on_test_split(model, waveforms_uv, labels, cutoff)
    metrics = evaluation.metrics
    print(f"test AUC {metrics['test_auc']:.3f} ({metrics.get('test_auc_ci_low', math.nan):.3f}"
          f"-{metrics.get('test_auc_ci_high', math.nan):.3f}); at P(LVD) > {cutoff:g}: "
          f"sensitivity {metrics['test_sensitivity']:.3f}, specificity "
          f"{metrics['test_specificity']:.3f}; Brier {metrics['test_brier']:.4f}, calibration "
          f"slope {metrics.get('test_calibration_slope', math.nan):.2f}")
    return evaluation
