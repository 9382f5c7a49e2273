"""The model registry: a failure means a model could be overwritten, altered unnoticed, scored
under the wrong version, or that listing models drags in TensorFlow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from imnm.ecg.contract import LEADS, N_LEADS, N_SAMPLES
from models.network import build_ai_ecg_cnn
from models.preprocess import PREPROCESSING_VERSION
from models.registry import (
    DEMO_CLINICAL_VALIDITY,
    ModelCard,
    ModelIntegrityError,
    ModelNotFoundError,
    ModelRegistry,
    ModelVersionExistsError,
    NoCurrentModelError,
    RegistryError,
    summarize_training_data,
)
from models.training import predict_lvd_probability

# Every test here builds, loads or scores the real CNN: TensorFlow (conftest.py: a module
# marked slow as a whole is not even imported when slow tests are deselected).
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return build_ai_ecg_cnn(seed=5)


@pytest.fixture(scope="module")
def probe() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(-1500, 1500, size=(4, N_LEADS, N_SAMPLES)).astype(np.int16)


def demo_card(version: str | None = None) -> ModelCard:
    waveforms = np.zeros((3, N_LEADS, N_SAMPLES), dtype=np.int16)
    return ModelCard(
        version=version,
        code_version="test",
        label_definition="LVEF <= 35 % on an echocardiogram within 30 days of the ECG",
        training_data=summarize_training_data(
            waveforms, np.array([0, 1, 1]), np.array(["p1", "p2", "p2"]), synthetic=True
        ),
        metrics={"validation_auc": 0.5},
        intended_use="Pipeline demonstration only.",
        clinical_validity=DEMO_CLINICAL_VALIDITY,
    )


def test_round_trip_gives_identical_predictions(
    tmp_path: Path, model: keras.Model, probe: np.ndarray
) -> None:
    registry = ModelRegistry(tmp_path)
    registered = registry.register(model, demo_card())
    registry.set_current(registered.version)

    assert [m.version for m in registry.list()] == [registered.version]
    assert registry.current() == registered
    assert registered.version.startswith("ai-ecg-lvd-demo-")
    assert registered.version.endswith(registered.card.sha256[:8])
    loaded = registry.load(registry.current().version)
    assert np.array_equal(
        predict_lvd_probability(loaded, probe), predict_lvd_probability(model, probe)
    )


def test_card_records_contract_training_data_and_validity(tmp_path: Path, model) -> None:
    registered = ModelRegistry(tmp_path).register(model, demo_card("named-v1"))
    stored = json.loads(registered.card_path.read_text(encoding="utf-8"))
    assert stored["version"] == "named-v1"
    assert stored["sha256"] == registered.card.sha256 and len(stored["sha256"]) == 64
    assert stored["input_contract"]["leads"] == list(LEADS)
    assert stored["input_contract"]["preprocessing_version"] == PREPROCESSING_VERSION
    assert stored["training_data"]["n_ecgs"] == 3
    assert stored["training_data"]["n_patients"] == 2
    assert stored["training_data"]["n_positive"] == 2
    assert "NOT clinically valid" in stored["clinical_validity"]
    assert ModelCard.from_json(registered.card_path.read_text(encoding="utf-8")) == registered.card


def test_synthetic_data_model_cannot_claim_clinical_validity() -> None:
    card = demo_card()
    with pytest.raises(ValueError, match="NOT clinically valid"):
        ModelCard(
            code_version=card.code_version,
            label_definition=card.label_definition,
            training_data=card.training_data,
            metrics=card.metrics,
            intended_use=card.intended_use,
            clinical_validity="Validated for clinical use.",
        )


def test_tampered_model_file_is_refused(tmp_path: Path, model: keras.Model) -> None:
    registry = ModelRegistry(tmp_path)
    registered = registry.register(model, demo_card())
    content = bytearray(registered.model_path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    registered.model_path.write_bytes(bytes(content))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        registry.load(registered.version)


def test_existing_version_is_never_overwritten(tmp_path: Path, model: keras.Model) -> None:
    registry = ModelRegistry(tmp_path)
    first = registry.register(model, demo_card("v1"))
    before = first.model_path.read_bytes()
    with pytest.raises(ModelVersionExistsError):
        registry.register(build_ai_ecg_cnn(seed=6), demo_card("v1"))
    assert first.model_path.read_bytes() == before
    assert [m.version for m in registry.list()] == ["v1"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_current_needs_a_registered_version(tmp_path: Path, model: keras.Model) -> None:
    registry = ModelRegistry(tmp_path)
    with pytest.raises(NoCurrentModelError, match="set_current"):
        registry.current()
    with pytest.raises(ModelNotFoundError):
        registry.set_current("never-registered")
    with pytest.raises(ValueError, match="invalid model version"):
        registry.register(model, demo_card("../escape"))


def test_listing_does_not_import_tensorflow(tmp_path: Path, model: keras.Model) -> None:
    ModelRegistry(tmp_path).register(model, demo_card("listed-v1"))
    script = (
        "import sys; from pathlib import Path; from models.registry import ModelRegistry; "
        f"found = ModelRegistry(Path({str(tmp_path)!r})).list(); "
        "print([m.version for m in found], 'tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "['listed-v1'] False False"


def test_import_checks_hash_and_contract_and_is_idempotent(
    tmp_path: Path, model: keras.Model, probe: np.ndarray
) -> None:
    from dataclasses import replace

    from models.registry import ContractMismatchError, InputContract

    made_elsewhere = ModelRegistry(tmp_path / "centre").register(model, demo_card())
    target = ModelRegistry(tmp_path / "platform")
    imported = target.import_artifact(made_elsewhere.model_path, made_elsewhere.card_path)
    assert imported.version == made_elsewhere.version
    assert target.import_artifact(made_elsewhere.model_path, made_elsewhere.card_path) == imported
    np.testing.assert_array_equal(
        predict_lvd_probability(target.load(imported.version), probe),
        predict_lvd_probability(model, probe),
    )

    tampered = tmp_path / "tampered.keras"
    tampered.write_bytes(made_elsewhere.model_path.read_bytes() + b"\0")
    with pytest.raises(ModelIntegrityError):
        ModelRegistry(tmp_path / "other").import_artifact(tampered, made_elsewhere.card_path)

    other_rate = replace(made_elsewhere.card,
                         input_contract=replace(InputContract.current(), sampling_hz=250))
    card_250 = tmp_path / "card_250.json"
    card_250.write_text(other_rate.to_json(), encoding="utf-8")
    with pytest.raises(ContractMismatchError, match="input contract"):
        ModelRegistry(tmp_path / "third").import_artifact(made_elsewhere.model_path, card_250)


def test_cards_written_before_the_optional_fields_still_read(tmp_path: Path, model) -> None:
    """A card without reliability, metric methods or the pairing details (an older card)."""
    registered = ModelRegistry(tmp_path).register(model, demo_card("old-v1"))
    stored = json.loads(registered.card_path.read_text(encoding="utf-8"))
    for name in ("reliability", "metric_methods"):
        stored.pop(name)
    for name in ("source", "label", "pair_window_days", "split_seed", "splits",
                 "n_pairs_unknown_label"):
        stored["training_data"].pop(name)
    registered.card_path.write_text(json.dumps(stored), encoding="utf-8")
    card = ModelRegistry(tmp_path).get("old-v1").card
    assert card.reliability is None and card.metric_methods == {}
    assert card.training_data.splits is None and card.training_data.n_ecgs == 3


def test_reliability_and_splits_round_trip(tmp_path: Path, model) -> None:
    from dataclasses import replace

    from models.registry import ReliabilityBin, ReliabilityTable, SplitCounts

    card = replace(
        demo_card("full-v1"),
        training_data=replace(demo_card().training_data, label="ef_le_35", pair_window_days=14,
                              split_seed=7, splits={"test": SplitCounts(10, 9, 2)},
                              n_pairs_unknown_label=1),
        reliability=ReliabilityTable("2 groups", (
            ReliabilityBin(5, 0, 0.01, 0.02, 0.015, 0.0, 0.0, 0.43),
            ReliabilityBin(5, 2, 0.03, 0.5, 0.2, 0.4, 0.12, 0.77))),
        metric_methods={"test_auc_ci": "DeLong"})
    registered = ModelRegistry(tmp_path).register(model, card)
    assert ModelRegistry(tmp_path).get("full-v1").card == registered.card
    assert registered.card.training_data.splits == {"test": SplitCounts(10, 9, 2)}


def test_contract_mismatch_names_the_fields_that_differ(tmp_path: Path, model) -> None:
    from dataclasses import replace

    from models.registry import ContractMismatchError, InputContract

    made = ModelRegistry(tmp_path / "centre").register(model, demo_card())
    older = replace(made.card, input_contract=replace(
        InputContract.current(), preprocessing_version="old_v1", unit="mV"))
    card_file = tmp_path / "older.json"
    card_file.write_text(older.to_json(), encoding="utf-8")
    with pytest.raises(ContractMismatchError) as refused:
        ModelRegistry(tmp_path / "platform").import_artifact(made.model_path, card_file)
    message = str(refused.value)
    assert "preprocessing_version: model 'old_v1'" in message and "unit: model 'mV'" in message
    assert "leads" not in message and "sampling_hz" not in message
    assert not (tmp_path / "platform" / made.version).exists()
    not_a_card = tmp_path / "not_a_card.json"
    not_a_card.write_text('{"version": "x"}', encoding="utf-8")
    with pytest.raises(RegistryError, match="not a readable model card"):
        ModelRegistry(tmp_path / "platform").import_artifact(made.model_path, not_a_card)
