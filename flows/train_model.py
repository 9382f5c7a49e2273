"""Train the demo AI-ECG model on the synthetic training centre and register it as current."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from imnm.settings import resolve_data_paths
from tasks.model_evaluation import evaluate_on_test_split
from tasks.training_set import ensure_training_centre, load_training_pairs, patient_split

LABEL = "ef_le_35"
LABEL_DEFINITION = ("LVEF <= 35% on an echocardiogram paired with the ECG (synthetic training "
                    "centre; the published low-EF definition)")
INTENDED_USE = ("Demonstration of the platform's scoring, release and analysis pipeline on "
                "synthetic data only.")
CLINICAL_VALIDITY = ("NOT clinically valid: trained and evaluated on synthetic ECGs from a "
                     "simulator; must not inform any clinical decision.")


@task(name="prepare training pairs", cache_policy=NO_CACHE)
def prepare_training_pairs(directory: Path, n_ecgs: int, seed: int) -> Path:
    """The synthetic training centre's ECG/echo pairs on disk."""
    return ensure_training_centre(directory, n_ecgs, seed)


@task(name="train and register", cache_policy=NO_CACHE)
def train_and_register(pairs_path: Path, models_dir: Path, epochs: int, seed: int) -> str:
    """Train on the train split with early stopping on validation; card the test metrics."""
    from imnm.version import code_version
    from models.registry import ModelCard, ModelRegistry, summarize_training_data
    from models.training import train_lvd_model

    pairs = load_training_pairs(pairs_path, LABEL)
    split = patient_split(pairs.patient_ids, seed)
    train, validation, test = (pairs.subset(split == name)
                               for name in ("train", "validation", "test"))
    outcome = train_lvd_model(train.waveforms_uv, train.labels, seed=seed, epochs=epochs,
                              batch_size=64, validation=(validation.waveforms_uv,
                                                         validation.labels))
    metrics = evaluate_on_test_split(outcome.model, test.waveforms_uv, test.labels)
    metrics.update({"epochs_run": float(outcome.epochs_run),
                    "training_seconds": round(outcome.seconds, 1)})
    card = ModelCard(
        code_version=code_version(),
        label_definition=LABEL_DEFINITION,
        training_data=summarize_training_data(train.waveforms_uv, train.labels,
                                              train.patient_ids, synthetic=True),
        metrics=metrics,
        intended_use=INTENDED_USE,
        clinical_validity=CLINICAL_VALIDITY,
    )
    registry = ModelRegistry(models_dir)
    registered = registry.register(outcome.model, card)
    registry.set_current(registered.version)
    return registered.version


@flow(name="train-demo-model", log_prints=True)
def train_demo_model(data_dir: str | None = None, n_ecgs: int = 3000, epochs: int = 10,
                     seed: int = 7) -> str:
    """Generate (once) the training centre, train the demo CNN, register it as current."""
    paths = resolve_data_paths(data_dir)
    pairs_path = prepare_training_pairs(paths.training_centre, n_ecgs, seed)
    return train_and_register(pairs_path, paths.models, epochs, seed)
