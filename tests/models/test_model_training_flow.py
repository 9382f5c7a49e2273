"""Training from a warehouse: a failure means pairs could join the wrong echo, a patient could
sit in two splits, a model could be registered without its intervals and calibration, a rerun
could train on other data, or the model CLI could register a model that cannot score here."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from imnm.ecg.contract import N_LEADS, N_SAMPLES
from imnm.settings import DataPaths
from imnm.waveform_store import WaveformShardWriter
from models.registry import ModelCard, ModelRegistry, RegisteredModel
from tasks.training_set import (
    TrainingDataError,
    TrainingPairs,
    TrainingSplits,
    WarehouseBusyError,
    check_patients_disjoint,
    describe_source,
    load_training_pairs,
    patient_split,
    select_pair_rows,
    split_by_patient,
    summarize_training_set,
)
from tests.support.frames import scored
from warehouse.db import open_warehouse

# 200 archive ECGs with seed 8 leave every split both classes (the test split 44 ECGs, 6 with
# EF <= 35%); a seed whose small split lacks a positive is refused, as it should be.
DEMO_ECGS, DEMO_SEED = 200, 8


# --- a hand-made warehouse ---------------------------------------------------------------------

ECGS = [  # ecg_id, patient, acquired_at
    ("e1", "p1", "2020-01-10 08:00:00"),
    ("e6", "p1", "2020-01-29 23:30:00"),
    ("e2", "p2", "2020-03-10 12:00:00"),
    ("e3", "p3", "2020-05-01 09:00:00"),
    ("e4", "p4", "2020-07-01 09:00:00"),
    ("e5", "p5", "2020-09-01 09:00:00"),
    ("e7", "p6", "2020-11-01 09:00:00"),
]
ECHOS = [  # patient, echo_date, lvef, ef_le_35, broad LVD (any echo finding)
    ("p1", "2020-01-01", 60.0, False, False),  # 9 days before e1
    ("p1", "2020-01-15", 30.0, True, True),  # 5 days after e1: e1's pair
    ("p1", "2020-01-30", 55.0, False, True),  # 1 day after e6: e6's pair
    ("p2", "2020-03-13", 30.0, True, True),  # 3 days after e2
    ("p2", "2020-03-07", 62.0, False, False),  # 3 days before e2: the tie goes to this one
    ("p3", "2020-05-16", 28.0, True, True),  # 15 days after e3: outside a 14-day window
    ("p4", "2020-07-03", None, None, True),  # EF not reported: EF label unknown
    ("p6", "2020-09-01", 25.0, True, True),  # another patient on e5's day: never e5's pair
    ("p6", "2020-11-15", 58.0, False, False),  # exactly 14 days after e7: inside
]


def build_warehouse(root: Path, ecgs: list[tuple[str, str, str]],
                    echos: list[tuple[str, str, float | None, bool | None, bool]],
                    rng: np.random.Generator) -> Path:
    """A migrated warehouse with the given core ECGs (waveforms in one shard) and echos."""
    path = root / "warehouse.duckdb"
    rows = []
    with WaveformShardWriter(root / "waveforms", prefix="hand", rows_per_shard=4) as writer:
        for ecg_id, patient, acquired_at in ecgs:
            waveform = rng.integers(-800, 800, (N_LEADS, N_SAMPLES)).astype(np.int16)
            shard, row = writer.append(ecg_id, waveform)
            rows.append((ecg_id, patient, "hand", acquired_at, shard.relative_to(root).as_posix(),
                         row))
    with open_warehouse(path) as con:
        con.executemany("INSERT INTO core.ecgs (ecg_id, patient_key, site, acquired_at, "
                        "waveform_shard, waveform_row, file_id, source_row) "
                        "VALUES (?, ?, ?, ?, ?, ?, 0, 1)", rows)
        con.executemany("INSERT INTO core.echos (patient_key, site, echo_date, lvef_percent, "
                        "ef_le_35, echo_findings, file_id, source_row) "
                        "VALUES (?, 'hand', ?, ?, ?, ?, 0, ?)",
                        [(*echo[:4], "hypokinesis" if echo[4] else None, i)
                         for i, echo in enumerate(echos, start=1)])
    return path


@pytest.fixture(scope="module")
def hand_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("hand"), ECGS, ECHOS,
                           np.random.default_rng(0))


def test_pairs_take_the_closest_echo_within_the_window(hand_warehouse: Path) -> None:
    pairs = {row["ecg_id"]: row for row in select_pair_rows(hand_warehouse, 14)}
    assert sorted(pairs) == ["e1", "e2", "e4", "e6", "e7"]  # e3: 15 days; e5: no echo
    assert (pairs["e1"]["days_apart"], pairs["e1"]["ef_le_35"]) == (5, True)
    assert (pairs["e6"]["days_apart"], pairs["e6"]["ef_le_35"]) == (1, False)
    assert (pairs["e2"]["days_apart"], pairs["e2"]["ef_le_35"]) == (3, False)  # earlier echo
    assert pairs["e7"]["days_apart"] == 14
    assert pairs["e4"]["ef_le_35"] is None and pairs["e4"]["echo_lvd_flag"] is True
    assert pairs["e1"]["patient_key"] == "p1" and pairs["e1"]["waveform_shard"].startswith(
        "waveforms/")
    wider = {row["ecg_id"]: row for row in select_pair_rows(hand_warehouse, 15)}
    assert wider["e3"]["days_apart"] == 15 and "e5" not in wider
    assert [row["ecg_id"] for row in select_pair_rows(hand_warehouse, 14)] == [
        "e1", "e6", "e2", "e4", "e7"]  # by patient, then ECG: the same order every run


def test_unknown_labels_are_dropped_and_counted(hand_warehouse: Path) -> None:
    by_ef = load_training_pairs(hand_warehouse, "ef_le_35", 14)
    assert list(by_ef.pairs.ecg_ids) == ["e1", "e6", "e2", "e7"] and by_ef.n_unknown_label == 1
    assert list(by_ef.pairs.labels) == [1, 0, 0, 0]
    broad = load_training_pairs(hand_warehouse, "lvd_broad", 14)
    assert list(broad.pairs.ecg_ids) == ["e1", "e6", "e2", "e4", "e7"]
    assert list(broad.pairs.labels) == [1, 1, 0, 1, 0] and broad.n_unknown_label == 0
    with pytest.raises(ValueError, match="unknown label"):
        load_training_pairs(hand_warehouse, "lvef", 14)


def test_waveforms_come_from_their_shard_rows(hand_warehouse: Path) -> None:
    from imnm.waveform_store import iter_shard_batches

    stored = {}
    for shard in sorted((hand_warehouse.parent / "waveforms").glob("*.parquet")):
        for ids, waves in iter_shard_batches(shard, 16):
            stored.update(zip(ids, waves, strict=True))
    selection = load_training_pairs(hand_warehouse, "lvd_broad", 14)
    for ecg_id, waveform in zip(selection.pairs.ecg_ids, selection.pairs.waveforms_uv,
                                strict=True):
        np.testing.assert_array_equal(waveform, stored[ecg_id])


def test_a_writing_process_gives_a_clear_error(tmp_path: Path, hand_warehouse: Path) -> None:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(hand_warehouse, copy)
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, time
        con = duckdb.connect({str(copy)!r})
        print("writing", flush=True)
        time.sleep(20)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        with pytest.raises(WarehouseBusyError, match="being written by another process"):
            select_pair_rows(copy, 14)
    finally:
        writer.kill()
        writer.wait()


# --- the patient-level split -------------------------------------------------------------------


def synthetic_pairs(n_patients: int, ecgs_per_patient: int, seed: int) -> TrainingPairs:
    """Pairs of several ECGs per patient (tiny waveforms: the split never looks at them)."""
    rng = np.random.default_rng(seed)
    patients = np.repeat([f"p{k:04d}" for k in range(n_patients)], ecgs_per_patient)
    n = patients.size
    return TrainingPairs(
        ecg_ids=np.asarray([f"e{k:05d}" for k in range(n)], dtype=object),
        patient_keys=patients.astype(object), days_apart=np.zeros(n, dtype=np.int64),
        labels=(rng.random(n) < 0.3).astype(np.int8),
        waveforms_uv=np.zeros((n, 1, 1), dtype=np.int16))


def test_no_patient_is_in_two_splits() -> None:
    pairs = synthetic_pairs(400, 3, seed=1)
    splits = split_by_patient(pairs, seed=5)
    patients = [set(part.patient_keys) for part in splits.by_name().values()]
    assert not (patients[0] & patients[1] or patients[0] & patients[2]
                or patients[1] & patients[2])
    assert sum(len(part) for part in splits.by_name().values()) == len(pairs)
    shares = np.array([len(s) for s in patients]) / 400
    np.testing.assert_allclose(shares, [0.70, 0.15, 0.15], atol=0.06)
    names = patient_split(pairs.patient_keys, seed=5)
    np.testing.assert_array_equal(names, patient_split(pairs.patient_keys, seed=5))
    assert (names != patient_split(pairs.patient_keys, seed=6)).any()
    leaky = TrainingSplits(splits.train, splits.validation, splits.train.subset(
        np.arange(len(splits.train)) < 2), seed=5)
    with pytest.raises(RuntimeError, match="splits"):
        check_patients_disjoint(leaky)


def test_too_few_pairs_or_a_missing_class_is_a_clear_error() -> None:
    with pytest.raises(TrainingDataError, match="only 60 ECG/echo pairs"):
        split_by_patient(synthetic_pairs(60, 1, seed=1), seed=1)
    one_class = synthetic_pairs(300, 1, seed=1)
    one_class = TrainingPairs(one_class.ecg_ids, one_class.patient_keys, one_class.days_apart,
                              np.zeros(300, dtype=np.int8), one_class.waveforms_uv)
    with pytest.raises(TrainingDataError, match="split .* has no positive label"):
        split_by_patient(one_class, seed=1)


# --- test-split evaluation ---------------------------------------------------------------------


def test_calibration_recovers_a_known_miscalibration() -> None:
    """Labels drawn with logit P(y) = -0.4 + 0.6 logit(p): the recalibration fit finds the
    slope 0.6 (its 95% CI covers it), and its estimates equal a direct maximum-likelihood fit."""
    from scipy.optimize import minimize

    from models.evaluation import evaluate_probabilities

    rng = np.random.default_rng(3)
    p = rng.beta(1.2, 10.0, 20000)
    logit = np.log(p / (1 - p))
    y = rng.random(p.size) < 1 / (1 + np.exp(-(-0.4 + 0.6 * logit)))
    metrics = evaluate_probabilities(y, p).metrics
    assert metrics["test_calibration_slope_ci_low"] < 0.6 < metrics[
        "test_calibration_slope_ci_high"]

    def loss(coef: np.ndarray) -> float:
        eta = coef[0] + coef[1] * logit
        return float(np.sum(np.logaddexp(0, eta) - y * eta))

    direct = minimize(loss, np.array([0.0, 1.0]), method="BFGS").x
    assert metrics["test_calibration_slope"] == pytest.approx(direct[1], abs=1e-4)
    assert metrics["test_brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert metrics["test_calibration_in_the_large"] == pytest.approx(p.mean() - y.mean())


def test_evaluation_intervals_and_reliability_table() -> None:
    from imnm.stats.diagnostic import roc_auc_delong, wilson_interval
    from models.evaluation import evaluate_probabilities

    rng = np.random.default_rng(4)
    p = rng.beta(1.0, 12.0, 503)
    y = rng.random(p.size) < p
    evaluation = evaluate_probabilities(y, p, cutoff=0.01)
    metrics = evaluation.metrics
    auc = roc_auc_delong(scored(y, p), "lvd", "score")
    assert (metrics["test_auc"], metrics["test_auc_ci_low"], metrics["test_auc_ci_high"]) == (
        auc.auc, auc.ci_low, auc.ci_high)
    tp, fn = int(np.sum((p > 0.01) & y)), int(np.sum((p <= 0.01) & y))
    assert (metrics["test_sensitivity"], metrics["test_sensitivity_ci_low"],
            metrics["test_sensitivity_ci_high"]) == wilson_interval(tp, tp + fn)
    bins = evaluation.reliability.bins
    assert len(bins) == 10 and sum(b.n for b in bins) == 503
    assert sum(b.n_positive for b in bins) == int(y.sum())
    assert all(a.predicted_max <= b.predicted_min for a, b in zip(bins, bins[1:], strict=False))
    assert "Wilson" in evaluation.methods["test_sensitivity_ci"]
    assert "DeLong" in evaluation.methods["test_auc_ci"]
    with pytest.raises(ValueError, match="both classes"):
        evaluate_probabilities(np.zeros(10, bool), p[:10])


# --- the flow on a small demo archive ----------------------------------------------------------


@dataclass(frozen=True)
class TrainedDemo:
    paths: DataPaths
    registered: RegisteredModel


@pytest.fixture(scope="module")
def trained_demo(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
                 ) -> TrainedDemo:
    from flows.train_model import train_demo_model

    paths = DataPaths(tmp_path_factory.mktemp("training"))
    version = train_demo_model(data_dir=str(paths.root), n_ecgs=DEMO_ECGS, epochs=1,
                               seed=DEMO_SEED)
    return TrainedDemo(paths, ModelRegistry(paths.models).get(version))


@pytest.mark.slow
def test_flow_registers_a_model_with_intervals_and_calibration(trained_demo: TrainedDemo
                                                               ) -> None:
    card = trained_demo.registered.card
    registry = ModelRegistry(trained_demo.paths.models)
    assert registry.current().version == trained_demo.registered.version
    assert trained_demo.registered.version.startswith("ai-ecg-lvd-demo-")
    metrics = card.metrics
    for name in ("test_auc", "test_sensitivity", "test_specificity",
                 "test_calibration_slope", "test_calibration_intercept"):
        low, estimate, high = (metrics[f"{name}_ci_low"], metrics[name],
                               metrics[f"{name}_ci_high"])
        assert all(math.isfinite(v) for v in (low, estimate, high)) and low <= estimate <= high
    assert 0 <= metrics["test_brier"] <= 1 and metrics["test_cutoff"] == 0.01
    assert metrics["test_calibration_in_the_large"] == pytest.approx(
        metrics["test_mean_p_lvd"] - metrics["test_observed_rate"])
    assert card.reliability is not None
    assert sum(b.n for b in card.reliability.bins) == metrics["test_n_ecgs"]
    assert metrics["epochs_run"] == 1 and metrics["training_seconds"] > 0
    data = card.training_data
    assert data.synthetic and "NOT clinically valid" in card.clinical_validity
    assert (data.label, data.pair_window_days, data.split_seed) == ("ef_le_35", 14, DEMO_SEED)
    assert data.splits is not None and data.splits["train"].n_ecgs == data.n_ecgs
    assert data.splits["test"].n_ecgs == metrics["test_n_ecgs"]
    assert data.splits["test"].n_positive == metrics["test_n_positive"]
    assert "within 14 days" in card.label_definition
    assert ModelCard.from_json(trained_demo.registered.card_path.read_text("utf-8")) == card


@pytest.mark.slow
def test_same_seed_gives_the_same_split_and_fingerprint(trained_demo: TrainedDemo) -> None:
    archive = trained_demo.paths.training_archive / "warehouse.duckdb"
    source = describe_source(archive)
    selection = load_training_pairs(archive, "ef_le_35", 14)
    again = summarize_training_set(selection, split_by_patient(selection.pairs, DEMO_SEED),
                                   source, synthetic=True)
    assert again == trained_demo.registered.card.training_data
    reseeded = patient_split(selection.pairs.patient_keys, DEMO_SEED + 1)
    assert (reseeded != patient_split(selection.pairs.patient_keys, DEMO_SEED)).any()
    broad = load_training_pairs(archive, "lvd_broad", 14)
    relabelled = summarize_training_set(broad, split_by_patient(broad.pairs, DEMO_SEED),
                                        source, synthetic=True)
    assert relabelled.fingerprint != again.fingerprint


@pytest.mark.slow
def test_too_few_pairs_stops_the_flow_with_a_clear_error(
        prefect_harness: None, hand_warehouse: Path, tmp_path: Path) -> None:
    from flows.train_model import train_model

    with pytest.raises(TrainingDataError, match="only 4 ECG/echo pairs"):
        train_model(data_dir=str(tmp_path), warehouse=str(hand_warehouse), epochs=1)
    assert not (tmp_path / "models").exists()


def test_demo_data_cannot_be_declared_real(tmp_path: Path) -> None:
    from imnm.demo import ensure_training_archive
    from tasks.training_set import decide_synthetic

    archive = ensure_training_archive(tmp_path / "training_archive", 20, seed=1)
    source = describe_source(archive.warehouse)
    assert decide_synthetic(source, None) is True
    with pytest.raises(TrainingDataError, match="synthetic"):
        decide_synthetic(source, False)
    network = tmp_path / "network"
    (network / "demo_manifest").mkdir(parents=True)
    assert decide_synthetic(describe_source(network / "warehouse.duckdb"), None) is True
    assert decide_synthetic(describe_source(tmp_path / "real" / "warehouse.duckdb"), None) is False


# --- the model CLI -----------------------------------------------------------------------------


def copy_registry(trained: TrainedDemo, data_dir: Path) -> ModelRegistry:
    """The trained demo's registry copied under another data directory, to change freely."""
    shutil.copytree(trained.paths.models, data_dir / "models")
    return ModelRegistry(data_dir / "models")


@pytest.mark.slow
def test_list_shows_each_card(trained_demo: TrainedDemo, capsys: pytest.CaptureFixture[str]
                              ) -> None:
    from imnm.cli import main

    assert main(["model", "list", "--data-dir", str(trained_demo.paths.root)]) == 0
    shown = capsys.readouterr().out
    card = trained_demo.registered.card
    auc = card.metrics
    assert f"* {card.version}  (current)" in shown
    assert (f"AUC {auc['test_auc']:.3f} ({auc['test_auc_ci_low']:.3f} to "
            f"{auc['test_auc_ci_high']:.3f}) [DeLong]") in shown
    assert "sensitivity" in shown and "[Wilson]" in shown and "P(LVD) > 1%" in shown
    assert f"slope {auc['test_calibration_slope']:.2f}" in shown and "Brier" in shown
    assert f"train {card.training_data.n_ecgs} ECGs" in shown and "SYNTHETIC" in shown
    assert card.input_contract.preprocessing_version in shown
    assert "NOT clinically valid" in shown


@pytest.mark.slow
def test_use_switches_the_current_model(trained_demo: TrainedDemo, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from dataclasses import replace

    from imnm.cli import main
    from models.network import build_ai_ecg_cnn

    registry = copy_registry(trained_demo, tmp_path)
    second = registry.register(build_ai_ecg_cnn(seed=1),
                               replace(trained_demo.registered.card, version="second-v1",
                                       sha256=None))
    assert registry.current().version == trained_demo.registered.version
    assert main(["model", "use", "second-v1", "--data-dir", str(tmp_path)]) == 0
    assert registry.current().version == second.version
    capsys.readouterr()
    assert main(["model", "list", "--data-dir", str(tmp_path)]) == 0
    listed = capsys.readouterr().out
    assert "* second-v1  (current)" in listed and f"  {trained_demo.registered.version}" in listed
    assert main(["model", "use", "never-registered", "--data-dir", str(tmp_path)]) == 2
    assert "no model version 'never-registered'" in capsys.readouterr().err
    assert registry.current().version == second.version
    assert main(["model", "show", "second-v1", "--data-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == "second-v1"


@pytest.mark.slow
def test_import_refuses_a_contract_mismatch_and_a_tampered_file(
        trained_demo: TrainedDemo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from imnm.cli import main

    made = trained_demo.registered
    card = json.loads(made.card_path.read_text(encoding="utf-8"))
    card["input_contract"]["preprocessing_version"] = "hp0.5hz_lp40hz_v0"
    other_contract = tmp_path / "other_contract.json"
    other_contract.write_text(json.dumps(card), encoding="utf-8")
    platform = tmp_path / "platform"
    assert main(["model", "import", str(made.model_path), "--card", str(other_contract),
                 "--data-dir", str(platform)]) == 2
    error = capsys.readouterr().err
    assert "preprocessing_version" in error and "hp0.5hz_lp40hz_v0" in error
    assert "sampling_hz" not in error  # only the fields that differ are named
    assert ModelRegistry(platform / "models").list() == []

    tampered = tmp_path / "model.keras"
    content = bytearray(made.model_path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    tampered.write_bytes(bytes(content))
    assert main(["model", "import", str(tampered), "--card", str(made.card_path),
                 "--data-dir", str(platform)]) == 2
    assert "sha256" in capsys.readouterr().err
    assert ModelRegistry(platform / "models").list() == []

    assert main(["model", "import", str(made.model_path), "--card", str(made.card_path),
                 "--set-current", "--data-dir", str(platform)]) == 0
    assert ModelRegistry(platform / "models").current().card == made.card


@pytest.mark.slow
def test_import_if_missing_replaces_a_current_model_for_other_input(
        trained_demo: TrainedDemo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`make run` imports the committed model unless a usable one is current; a model made
    for an older preprocessing is not usable, so it is replaced."""
    from imnm.cli import main

    made = trained_demo.registered
    registry = copy_registry(trained_demo, tmp_path)
    old_dir = registry.root / "old-v1"
    shutil.copytree(made.directory, old_dir)
    card = json.loads((old_dir / "card.json").read_text(encoding="utf-8"))
    card["version"] = "old-v1"
    card["input_contract"]["preprocessing_version"] = "old_v1"
    (old_dir / "card.json").write_text(json.dumps(card), encoding="utf-8")
    (registry.root / "CURRENT").write_text("old-v1\n", encoding="utf-8")
    registry.root.joinpath(made.version).rename(registry.root / ".moved")  # import it afresh
    assert main(["model", "import", str(registry.root / ".moved" / "model.keras"), "--card",
                 str(registry.root / ".moved" / "card.json"), "--if-missing",
                 "--data-dir", str(tmp_path)]) == 0
    assert registry.current().version == made.version
    assert main(["model", "import", str(made.model_path), "--card", str(made.card_path),
                 "--if-missing", "--data-dir", str(tmp_path)]) == 0
    assert "nothing imported" in capsys.readouterr().out
