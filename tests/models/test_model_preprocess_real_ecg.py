"""The preprocessing contract on the real vendor files in ../shared/real-ecg: every file, read by
the platform's reader and normalized, becomes finite model input with baseline wander and mains
removed, ECG deflections kept in millivolts, and the same input from two encodings of one ECG."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from imnm.ecg.contract import LEADS, N_LEADS, N_SAMPLES, SAMPLING_HZ
from imnm.ecg.formats import read_ecg
from imnm.ecg.normalize import normalize_to_contract
from models.preprocess import CLIP_MV, FILTER_SOS, preprocess_batch
from tests.ingest.ecg_helpers import REAL
from tests.support.real_ecg import real_ecg

pytestmark = real_ecg

FOLDER_FORMATS = {"wfdb": ("*.hea", "wfdb"), "hl7-aecg": ("*.xml", "hl7-aecg"),
                  "ge-muse-xml": ("*.xml", "ge-muse"),
                  "philips-sierra-xml": ("*.[xX][mM][lL]", "philips-sierra"),
                  "dicom": ("*.dcm", "dicom"), "scp-ecg": ("*.scp", "scp-ecg")}
REAL_FILES = sorted((f"{folder}/{path.name}", fmt) for folder, (pattern, fmt)
                    in FOLDER_FORMATS.items() for path in (REAL / folder).glob(pattern))
# Without the folder one placeholder keeps each test collected, so it skips (or fails under CI).
REAL_FILES = REAL_FILES or [("real-ecg folder missing", "none")]
EDGE = SAMPLING_HZ  # the first and last second, where any zero-phase filter has edge effects


def model_input(relative: str, fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """(contract waveform (12, 5000) int16 uV, model input (5000, 12) float32 mV) of one file."""
    contract = normalize_to_contract(read_ecg(REAL / relative, fmt))
    return contract, preprocess_batch(contract[np.newaxis])[0]


def amplitude_at(signal: np.ndarray, frequency_hz: float) -> float:
    """Spectral magnitude near one frequency (Hann window, +/- 0.5 Hz), per sample."""
    windowed = (signal - signal.mean()) * np.hanning(len(signal))
    spectrum = np.abs(np.fft.rfft(windowed)) / len(signal)
    freqs = np.fft.rfftfreq(len(signal), 1 / SAMPLING_HZ)
    return float(spectrum[np.abs(freqs - frequency_hz) <= 0.5].max())


def test_all_real_files_are_covered() -> None:
    # 16 records in 18 files: the WFDB record is a header with two signal files.
    assert len(REAL_FILES) == 16
    assert {fmt for _, fmt in REAL_FILES} == {f for _, f in FOLDER_FORMATS.values()}


@pytest.mark.parametrize(("relative", "fmt"), REAL_FILES, ids=[r for r, _ in REAL_FILES])
def test_real_file_becomes_clean_model_input(relative: str, fmt: str) -> None:
    contract, prepared = model_input(relative, fmt)
    assert prepared.shape == (N_SAMPLES, N_LEADS) and prepared.dtype == np.float32
    assert np.isfinite(prepared).all() and np.abs(prepared).max() <= CLIP_MV

    raw_mv = contract.astype(np.float64) / 1000.0
    inner = slice(EDGE, N_SAMPLES - EDGE)
    for lead in range(N_LEADS):
        lead_in = prepared[inner, lead].astype(np.float64)
        # Baseline wander and DC offset removed: the lead centres on zero.
        assert abs(np.median(lead_in)) < 0.1, LEADS[lead]
        # Deflections keep their size in millivolts: peak-to-peak within 15% of a reference
        # 0.5-40 Hz band-pass of the same lead (or both flat).
        reference = sosfiltfilt(butter(2, [0.5, 40.0], btype="band", fs=SAMPLING_HZ,
                                       output="sos"), raw_mv[lead])[inner]
        ptp_in, ptp_ref = np.ptp(lead_in), np.ptp(reference)
        assert ptp_in == pytest.approx(ptp_ref, rel=0.15, abs=0.02), LEADS[lead]
        # Mains at 50 and 60 Hz is at least 20 dB down on what the raw lead carried.
        for mains in (50.0, 60.0):
            assert amplitude_at(lead_in, mains) <= max(0.1 * amplitude_at(raw_mv[lead][inner],
                                                                          mains), 1e-4)


@pytest.mark.parametrize(("relative", "fmt"), REAL_FILES[:6], ids=[r for r, _ in REAL_FILES[:6]])
def test_float32_filtering_is_within_a_microvolt_of_float64(relative: str, fmt: str) -> None:
    contract, prepared = model_input(relative, fmt)
    reference = sosfiltfilt(FILTER_SOS.astype(np.float64), contract.astype(np.float64) / 1000.0,
                            axis=-1, padlen=SAMPLING_HZ)
    reference = np.clip(reference, -CLIP_MV, CLIP_MV).T
    assert np.abs(prepared - reference).max() < 0.001


def test_two_encodings_of_one_ecg_give_the_same_model_input() -> None:
    _, scp = model_input("scp-ecg/Example.scp", "scp-ecg")
    _, aecg = model_input("hl7-aecg/Example_aECG.xml", "hl7-aecg")
    assert np.array_equal(scp, aecg)
    _, philips = model_input("philips-sierra-xml/ad4d3d80-d165_1-04_orig.xml", "philips-sierra")
    _, converted = model_input("hl7-aecg/ad4d3d80-d165_1-04_converted.xml", "hl7-aecg")
    inner = slice(EDGE, N_SAMPLES - EDGE)
    for lead in range(N_LEADS):
        r = np.corrcoef(philips[inner, lead], converted[inner, lead])[0, 1]
        assert r >= 0.999, LEADS[lead]
    assert np.abs(philips[inner] - converted[inner]).max() < 0.05


def test_reading_a_file_twice_gives_bit_identical_input() -> None:
    relative, fmt = REAL_FILES[0]
    assert np.array_equal(model_input(relative, fmt)[1], model_input(relative, fmt)[1])
