"""Synthetic 12-lead ECGs: contract shape, determinism, lead algebra and a learnable LV signal."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, find_peaks, sosfiltfilt
from scipy.stats import rankdata

from imnm.ecg.contract import LEADS, N_LEADS, N_SAMPLES, SAMPLING_HZ, check_waveform
from imnm.ecg.synth import (
    DEFAULT_BATCH_SIZE,
    synthesize_ecg_batches,
    synthesize_ecgs,
    synthesize_float_ecgs,
)

LI, LII, LIII, LAVR, LAVL, LAVF = (
    LEADS.index(name) for name in ("I", "II", "III", "aVR", "aVL", "aVF")
)
LATERAL = [LEADS.index(name) for name in ("I", "aVL", "V5", "V6")]
BAND = butter(2, [0.5, 40.0], btype="band", fs=SAMPLING_HZ, output="sos")


def _ms(milliseconds: float) -> int:
    return round(milliseconds * SAMPLING_HZ / 1000)


def r_peaks(filtered: np.ndarray) -> np.ndarray:
    """R peaks of one filtered ECG (leads, samples) from the summed absolute slope."""
    energy = np.abs(np.diff(filtered, axis=1)).sum(axis=0)
    peaks, _ = find_peaks(
        energy, height=0.5 * np.percentile(energy, 99.5), distance=_ms(300)
    )
    return peaks


def lateral_t_over_qrs(ecg: np.ndarray) -> float:
    """Handcrafted feature: mean lateral T amplitude / mean lateral QRS peak-to-peak."""
    x = sosfiltfilt(BAND, ecg[LATERAL + [LII]].astype(np.float64), axis=1)
    peaks = r_peaks(x)
    peaks = peaks[(peaks > _ms(120)) & (peaks < x.shape[1] - _ms(400))]
    lateral = x[: len(LATERAL)]
    t_amp, qrs = [], []
    for r in peaks:
        baseline = np.median(lateral[:, r - _ms(100) : r - _ms(70)], axis=1)
        qrs.append(np.ptp(lateral[:, r - _ms(60) : r + _ms(80)], axis=1))
        t_amp.append(lateral[:, r + _ms(180) : r + _ms(320)].mean(axis=1) - baseline)
    return float(np.median(t_amp, axis=0).mean() / np.median(qrs, axis=0).mean())


def rank_auc(positives: np.ndarray, negatives: np.ndarray) -> float:
    """Mann-Whitney AUC: probability that a positive scores above a negative (ties count half)."""
    ranks = rankdata(np.concatenate([positives, negatives]))
    n_pos, n_neg = len(positives), len(negatives)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def test_shape_dtype_and_contract() -> None:
    ecgs = synthesize_ecgs(np.linspace(0.0, 1.0, 7), np.random.default_rng(0))
    assert ecgs.shape == (7, N_LEADS, N_SAMPLES)
    assert ecgs.dtype == np.int16
    for ecg in ecgs:
        check_waveform(ecg)
    assert synthesize_ecgs(np.zeros(0), np.random.default_rng(0)).shape == (0, N_LEADS, N_SAMPLES)


def test_same_seed_same_output_and_different_seed_differs() -> None:
    lv = np.random.default_rng(5).uniform(0.0, 1.0, 40)
    first = synthesize_ecgs(lv, np.random.default_rng(123))
    again = synthesize_ecgs(lv, np.random.default_rng(123))
    other = synthesize_ecgs(lv, np.random.default_rng(124))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_batches_match_whole_and_prefix_is_stable() -> None:
    lv = np.random.default_rng(6).uniform(0.0, 1.0, DEFAULT_BATCH_SIZE + 9)
    whole = synthesize_ecgs(lv, np.random.default_rng(9))
    batches = list(synthesize_ecg_batches(lv, np.random.default_rng(9), DEFAULT_BATCH_SIZE))
    assert [len(b) for b in batches] == [DEFAULT_BATCH_SIZE, 9]
    assert np.array_equal(np.concatenate(batches), whole)
    prefix = synthesize_ecgs(lv[:DEFAULT_BATCH_SIZE], np.random.default_rng(9))
    assert np.array_equal(prefix, whole[:DEFAULT_BATCH_SIZE])


def test_limb_leads_obey_einthoven_and_goldberger() -> None:
    lv = np.array([0.0, 0.3, 0.7, 1.0])
    exact = synthesize_float_ecgs(lv, np.random.default_rng(1))
    assert np.array_equal(exact[:, LIII], exact[:, LII] - exact[:, LI])
    assert np.array_equal(exact[:, LAVR], -(exact[:, LI] + exact[:, LII]) / 2)
    assert np.array_equal(exact[:, LAVL], exact[:, LI] - exact[:, LII] / 2)
    assert np.array_equal(exact[:, LAVF], exact[:, LII] - exact[:, LI] / 2)

    ecgs = synthesize_ecgs(lv, np.random.default_rng(1)).astype(np.float64)
    lead_i, lead_ii = ecgs[:, LI], ecgs[:, LII]
    assert np.abs(ecgs[:, LIII] - (lead_ii - lead_i)).max() <= 1
    assert np.abs(ecgs[:, LAVR] + (lead_i + lead_ii) / 2).max() <= 1
    assert np.abs(ecgs[:, LAVL] - (lead_i - lead_ii / 2)).max() <= 1
    assert np.abs(ecgs[:, LAVF] - (lead_ii - lead_i / 2)).max() <= 1


def test_physiological_amplitudes_and_rates() -> None:
    lv = np.random.default_rng(2).uniform(0.0, 1.0, 60)
    ecgs = synthesize_ecgs(lv, np.random.default_rng(2))
    for ecg in ecgs:
        filtered = sosfiltfilt(BAND, ecg.astype(np.float64), axis=1)
        beats = len(r_peaks(filtered))
        assert 50 * 10 / 60 - 1 <= beats <= 110 * 10 / 60 + 1  # 50-110 bpm over 10 s
        largest_qrs = np.ptp(filtered, axis=1).max()
        assert 300 <= largest_qrs <= 6000  # microvolts: a few hundred to a few thousand


def test_rejects_scores_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match="lv_impairment"):
        synthesize_ecgs(np.array([0.2, 1.5]), np.random.default_rng(0))


def test_lv_impairment_is_learnable_but_not_trivial() -> None:
    rng = np.random.default_rng(2024)
    lv = rng.uniform(0.0, 1.0, 2000)
    ecgs = synthesize_ecgs(lv, rng)
    feature = np.array([lateral_t_over_qrs(ecg) for ecg in ecgs])
    impaired, normal = lv > 0.5, lv < 0.2
    # Impairment flattens/inverts lateral T waves, so a low ratio should flag it.
    auc = rank_auc(-feature[impaired], -feature[normal])
    assert 0.7 <= auc <= 0.97, auc
