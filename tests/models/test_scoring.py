"""Streaming batch scoring, model switches and the Dask engine: real Parquet, DuckDB, Prefect,
Keras and a real local Dask cluster."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import numpy as np
import pytest

from imnm.ecg.contract import N_LEADS, N_SAMPLES
from imnm.scoring_config import ScoringSettings, load_scoring_settings
from imnm.settings import ConfigurationError, DataPaths
from imnm.waveform_store import WaveformShardWriter, iter_shard_rows, read_shard_rows, rebatch
from models.batch_scoring import ScoringOptions, score_stream, score_waveforms
from models.registry import (
    DEMO_CLINICAL_VALIDITY,
    ModelCard,
    ModelRegistry,
    summarize_training_data,
)

N_PATIENTS = 24


def random_waveforms(n: int, seed: int) -> np.ndarray:
    """Contract-shaped int16 waveforms: a beat-like spike train plus noise, varied per ECG."""
    rng = np.random.default_rng(seed)
    t = np.arange(N_SAMPLES) / 500.0
    beats = (np.sin(2 * np.pi * 1.2 * t) > 0.98).astype(np.float64) * 1000.0
    gains = rng.uniform(0.2, 1.5, size=(n, N_LEADS, 1))
    noise = rng.normal(0.0, 40.0, size=(n, N_LEADS, N_SAMPLES))
    return np.clip(gains * beats + noise, -32768, 32767).astype(np.int16)


def register_untrained(registry: ModelRegistry, version: str, seed: int) -> str:
    """A freshly initialised network under a demo card: enough to test scoring mechanics."""
    probe = random_waveforms(2, seed)
    card = ModelCard(
        version=version, code_version="test", label_definition="LVEF <= 35%",
        training_data=summarize_training_data(probe, np.array([0, 1]), np.array(["a", "b"]),
                                              synthetic=True),
        metrics={}, intended_use="tests", clinical_validity=DEMO_CLINICAL_VALIDITY)
    from models.network import build_ai_ecg_cnn

    return registry.register(build_ai_ecg_cnn(seed=seed), card).version


@pytest.fixture(scope="module")
def model():  # noqa: ANN201 - keras is imported lazily
    from models.network import build_ai_ecg_cnn

    return build_ai_ecg_cnn(seed=5)


def test_shard_rows_stream_only_the_rows_asked_for_in_batches(tmp_path: Path) -> None:
    waves = random_waveforms(23, seed=1)
    with WaveformShardWriter(tmp_path, "s", rows_per_shard=100, rows_per_group=5) as writer:
        for i, wave in enumerate(waves):
            writer.append(f"ecg{i}", wave)
    shard = next(tmp_path.glob("*.parquet"))
    rows = [0, 3, 4, 5, 11, 12, 22]
    batches = list(iter_shard_rows(shard, rows, batch_size=3))
    assert [len(ids) for ids, _ in batches] == [3, 3, 1]
    assert [i for ids, _ in batches for i in ids] == [f"ecg{r}" for r in rows]
    assert np.array_equal(np.concatenate([w for _, w in batches]), waves[rows])
    with pytest.raises(IndexError):
        list(iter_shard_rows(shard, [23], batch_size=3))
    # Rows in the order asked, repeats included, from only the row groups that hold them.
    assert np.array_equal(read_shard_rows(shard, [22, 3, 3, 0]), waves[[22, 3, 3, 0]])
    assert read_shard_rows(shard, []).shape == (0, N_LEADS, N_SAMPLES)
    with pytest.raises(IndexError):
        read_shard_rows(shard, [-1])


def test_rebatch_keeps_order_and_fills_batches_across_sources() -> None:
    waves = random_waveforms(10, seed=2)
    sources = [([f"a{i}" for i in range(4)], waves[:4]), ([f"b{i}" for i in range(6)], waves[4:])]
    out = list(rebatch(sources, 3))
    assert [len(ids) for ids, _ in out] == [3, 3, 3, 1]
    assert np.array_equal(np.concatenate([w for _, w in out]), waves)


@pytest.mark.slow
def test_streamed_scores_equal_direct_prediction_for_any_batch_size(model) -> None:  # noqa: ANN001
    from models.training import predict_lvd_probability

    waves = random_waveforms(37, seed=3)
    direct = predict_lvd_probability(model, waves, batch_size=37)
    for options in (ScoringOptions(batch_size=8), ScoringOptions(batch_size=16, prefetch_batches=3,
                                                                   preprocess_threads=2)):
        streamed = score_waveforms(model, waves, options)
        assert streamed.shape == (37,) and streamed.dtype == np.float32
        np.testing.assert_allclose(streamed, direct, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_a_reading_error_reaches_the_caller(model) -> None:  # noqa: ANN001
    def failing_batches():  # noqa: ANN202
        yield ["x"], random_waveforms(1, seed=4)
        raise OSError("shard vanished")

    with pytest.raises(OSError, match="shard vanished"):
        list(score_stream(model, failing_batches(), ScoringOptions(batch_size=1)))


def test_scoring_settings_come_from_the_file_with_environment_overrides(tmp_path: Path) -> None:
    config = tmp_path / "scoring.toml"
    config.write_text('[scoring]\nbatch_size = 512\n[scoring.dask]\nlocal_workers = 3\n',
                      encoding="utf-8")
    settings = load_scoring_settings(config, environ={"IMNM_DASK_ADDRESS": "tcp://h:8786"})
    assert (settings.batch_size, settings.dask_local_workers) == (512, 3)
    assert settings.dask_address == "tcp://h:8786" and settings.engine == "dask"
    assert load_scoring_settings(config, {"IMNM_SCORING_ENGINE": "in-process"}).engine == \
        "in-process"
    config.write_text('[scoring]\nbatch_sise = 512\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="batch_sise"):
        load_scoring_settings(config, environ={})
    config.write_text('[scoring]\nengine = "spark"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="engine"):
        load_scoring_settings(config, environ={})
    assert load_scoring_settings(environ={}).engine in ("dask", "in-process")


@dataclass(frozen=True)
class Network:
    paths: DataPaths
    first_model: str
    second_model: str


@pytest.fixture(scope="module")
def network(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Network:
    from imnm.demo import generate_demo

    paths = DataPaths(tmp_path_factory.mktemp("scoring-network"))
    generate_demo(paths.root, n_patients=N_PATIENTS, seed=23)
    registry = ModelRegistry(paths.models)
    first = register_untrained(registry, "ai-ecg-lvd-demo-first", seed=1)
    second = register_untrained(registry, "ai-ecg-lvd-demo-second", seed=2)
    registry.set_current(first)
    return Network(paths, first, second)


def _scores(paths: DataPaths, version: str) -> dict[str, float]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        rows = con.execute("SELECT ecg_id, p_lvd FROM scores.ecg_lvd_scores "
                           "WHERE model_version = ?", [version]).fetchall()
    return dict(rows)


def test_switching_the_model_rescores_everything_once(network: Network) -> None:
    from flows.refresh import refresh

    first = refresh(data_dir=str(network.paths.root))
    with duckdb.connect(str(network.paths.warehouse), read_only=True) as con:
        n_ecgs = con.execute("SELECT count(*) FROM core.ecgs").fetchone()[0]
    assert n_ecgs > 0 and first.ecgs_scored == n_ecgs
    assert first.model_version == network.first_model

    ModelRegistry(network.paths.models).set_current(network.second_model)
    switched = refresh(data_dir=str(network.paths.root))
    assert (switched.model_version, switched.ecgs_scored) == (network.second_model, n_ecgs)
    again = refresh(data_dir=str(network.paths.root))
    assert again.ecgs_scored == 0

    first_scores = _scores(network.paths, network.first_model)
    second_scores = _scores(network.paths, network.second_model)
    assert set(first_scores) == set(second_scores) and len(second_scores) == n_ecgs
    # Two different networks: the rows really are the second model's own scores.
    assert any(abs(first_scores[e] - second_scores[e]) > 1e-6 for e in first_scores)


def test_dask_scores_equal_single_process_scores(network: Network) -> None:
    from prefect import flow

    from flows.score_ecgs import score_on_dask
    from imnm.refresh.runs import start_run
    from tasks.score import score_unscored
    from warehouse.db import open_warehouse

    single_version = network.first_model
    reference = _scores(network.paths, single_version)
    if not reference:  # scored by the refresh test when run together; score here otherwise
        with open_warehouse(network.paths.warehouse) as con:
            score_unscored(con, network.paths, single_version,
                           replace(ScoringSettings(), engine="in-process"), "test",
                           logging.getLogger("test"))
        reference = _scores(network.paths, single_version)

    # The same model under a second version name, so nothing of it is scored yet.
    registry = ModelRegistry(network.paths.models)
    twin = registry.get(single_version)
    card = replace(ModelCard.from_json(twin.card_path.read_text(encoding="utf-8")),
                   version="ai-ecg-lvd-demo-twin", sha256=None)
    twin_version = registry.register(registry.load(single_version), card).version
    settings = replace(ScoringSettings(), engine="dask", dask_local_workers=2,
                       dask_threads_per_worker=1, dask_min_ecgs=1, batch_size=32)

    @flow(name="dask-scoring-test")
    def run_on_dask():  # noqa: ANN202
        ctx = start_run(network.paths, "dask-test", {}, None)
        return score_on_dask(ctx, twin_version, settings)

    summary = run_on_dask()
    assert summary.engine == "dask" and summary.scored_now == len(reference)
    on_dask = _scores(network.paths, twin_version)
    assert set(on_dask) == set(reference)
    ids = sorted(reference)
    difference = np.max(np.abs(np.array([on_dask[i] for i in ids]) -
                               np.array([reference[i] for i in ids])))
    # One TensorFlow thread per worker against two in this process: float32 round-off only.
    assert difference <= 1e-6


@pytest.mark.slow
def test_mixed_precision_is_checked_against_float32_before_use(model) -> None:  # noqa: ANN001
    from models.batch_scoring import check_precision, with_precision

    probe = random_waveforms(8, seed=6)
    reduced = with_precision(model, "mixed_float16")
    assert reduced.layers[-1].dtype_policy.compute_dtype == "float32"
    assert reduced.layers[1].dtype_policy.compute_dtype == "float16"
    moved = check_precision(model, "mixed_float16", probe, tolerance=1.0)
    assert 0.0 < moved < 0.01
    with pytest.raises(ValueError, match="mixed_float16 moves scores"):
        check_precision(model, "mixed_float16", probe, tolerance=moved / 2)
