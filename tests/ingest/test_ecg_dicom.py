"""DICOM ECG Waveform Storage reader and writer, checked against the real Mortara sample file.

The facts asserted for the real file come from shared/real-ecg/SOURCES.md (DICOM section).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from imnm.ecg.contract import LEADS, N_SAMPLES, SAMPLING_HZ, check_waveform
from imnm.ecg.formats import EcgFileError, read_ecg
from imnm.ecg.formats.dicom_waveform import (
    DICOM_UV_PER_BIT,
    TWELVE_LEAD_ECG_STORAGE,
    write_dicom_waveform,
)
from imnm.ecg.normalize import normalize_to_contract
from tests.ingest.ecg_helpers import (
    REAL,
    ROUNDING_UV,
    band_ptp,
    check_stored_facts,
    count_beats,
    read_round_trip,
    synthetic_contract_ecg,
)
from tests.support.real_ecg import real_ecg

REAL_DICOM = REAL / "dicom" / "waveform_ecg.dcm"
LI, LII, LIII = (LEADS.index(name) for name in ("I", "II", "III"))
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"



@dataclass(frozen=True)
class Facts:
    """What SOURCES.md states about the real DICOM file."""

    leads: tuple[str, ...]
    sampling_hz: float
    n_samples: int
    median_beat_samples: int
    resolution_uv: float  # every stored value is a multiple of this
    study_date: datetime
    acquired_at: datetime  # the file's AcquisitionDateTime (SOURCES.md gives the date)
    patient_id: str  # the file's PatientID (SOURCES.md only names the patient "Anonymous")
    rr_ms: float


FACTS = Facts(
    leads=LEADS,
    sampling_hz=1000,
    n_samples=10_000,
    median_beat_samples=1200,
    resolution_uv=1.25,
    study_date=datetime(2013, 1, 25),
    acquired_at=datetime(2013, 1, 25, 10, 59, 19),
    patient_id="642341",
    rr_ms=982,
)


# ---------------------------------------------------------------- the real file


@real_ecg
def test_real_file_reads_and_normalizes() -> None:
    record = read_ecg(REAL_DICOM, "dicom")
    check_stored_facts(record, "dicom", FACTS, exact_steps=True)
    assert record.duration_s == 10.0
    assert record.acquired_at.date() == FACTS.study_date.date()
    signal = record.signal_uv
    assert np.array_equal(signal[LIII], signal[LII] - signal[LI])  # exact, as SOURCES.md says

    contract = normalize_to_contract(record)
    check_waveform(contract)
    assert contract.shape == (12, N_SAMPLES) and contract.dtype == np.int16
    resampled = contract.astype(np.float64)
    assert np.abs(resampled[LIII] - (resampled[LII] - resampled[LI])).max() <= ROUNDING_UV
    qrs_ptp = band_ptp(contract)
    assert 150 <= np.median(qrs_ptp) <= 5000, qrs_ptp  # microvolts, not millivolts or counts
    assert abs(count_beats(contract) - 10_000 / FACTS.rr_ms) <= 1.5


@real_ecg
def test_real_file_matches_pydicom_scaling() -> None:
    record = read_ecg(REAL_DICOM, "dicom")
    ds = pydicom.dcmread(REAL_DICOM)
    raw = ds.waveform_array(0)  # pydicom applies sensitivity x correction + baseline once
    assert np.array_equal(record.signal_uv, raw.T)
    counts = np.frombuffer(ds.WaveformSequence[0].WaveformData, dtype="<i2").reshape(-1, 12)
    assert np.array_equal(record.signal_uv, counts.T * FACTS.resolution_uv)


@real_ecg
def test_median_beat_is_never_read(tmp_path: Path) -> None:
    ds = pydicom.dcmread(REAL_DICOM)
    labels = [group.MultiplexGroupLabel for group in ds.WaveformSequence]
    assert labels == ["RHYTHM", "MEDIAN BEAT"]
    assert ds.WaveformSequence[1].NumberOfWaveformSamples == FACTS.median_beat_samples
    assert read_ecg(REAL_DICOM, "dicom").n_samples == FACTS.n_samples

    ds.WaveformSequence = Sequence(list(reversed(ds.WaveformSequence)))  # median beat first
    ds.save_as(tmp_path / "reversed.dcm")
    assert read_ecg(tmp_path / "reversed.dcm", "dicom").n_samples == FACTS.n_samples

    ds.WaveformSequence[1].MultiplexGroupLabel = ""  # no label: ORIGINAL beats DERIVED median
    ds.save_as(tmp_path / "unlabelled.dcm")
    assert read_ecg(tmp_path / "unlabelled.dcm", "dicom").n_samples == FACTS.n_samples

    del ds.WaveformSequence[1]  # only the median beat left
    ds.save_as(tmp_path / "median-only.dcm")
    with pytest.raises(EcgFileError, match="no RHYTHM multiplex group"):
        read_ecg(tmp_path / "median-only.dcm", "dicom")


@real_ecg
def test_truncated_real_file_is_refused(tmp_path: Path) -> None:
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(REAL_DICOM.read_bytes()[:-1000])  # inside the median beat's data
    with pytest.raises(EcgFileError, match=r"cut\.dcm: truncated or corrupt"):
        read_ecg(cut, "dicom")


# ---------------------------------------------------------------- round trips


@pytest.fixture(scope="module")
def contract_ecg() -> np.ndarray:
    return synthetic_contract_ecg()


ACQUIRED = datetime(2023, 3, 14, 15, 9, 26, tzinfo=timezone(timedelta(hours=1)))


def test_round_trip_is_exact_for_contract_data(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    path = write_dicom_waveform(tmp_path / "ecg.dcm", contract_ecg, SAMPLING_HZ, "Zoë-7", ACQUIRED)
    record = read_round_trip(path, "dicom", LEADS, "Zoë-7", ACQUIRED)
    assert np.array_equal(normalize_to_contract(record), contract_ecg)

    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == TWELVE_LEAD_ECG_STORAGE == ds.file_meta.MediaStorageSOPClassUID
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert ds.Modality == "ECG"
    assert ds.WaveformSequence[0].MultiplexGroupLabel == "RHYTHM"
    assert np.array_equal(ds.waveform_array(0).T, record.signal_uv)  # pydicom reads it too
    codes = [ch.ChannelSourceSequence[0] for ch in ds.WaveformSequence[0].ChannelDefinitionSequence]
    assert {code.CodingSchemeDesignator for code in codes} == {"SCPECG"}
    assert codes[0].CodeValue == "5.6.3-9-1" and codes[2].CodeValue == "5.6.3-9-61"


def test_round_trip_of_float_microvolts_is_within_half_a_step(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    signal = rng.normal(0.0, 800.0, size=(12, 2000))
    path = write_dicom_waveform(tmp_path / "f.dcm", signal, 1000, None, None)
    record = read_ecg(path, "dicom")
    assert record.sampling_hz == 1000 and record.patient_id is None and record.acquired_at is None
    assert np.abs(record.signal_uv - signal).max() <= DICOM_UV_PER_BIT / 2


def test_writer_is_deterministic(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    first = write_dicom_waveform(tmp_path / "a.dcm", contract_ecg, SAMPLING_HZ, "PT-1", ACQUIRED)
    second = write_dicom_waveform(tmp_path / "b.dcm", contract_ecg, SAMPLING_HZ, "PT-1", ACQUIRED)
    assert first.read_bytes() == second.read_bytes()
    changed = contract_ecg.copy()
    changed[0, 0] += 1
    other = write_dicom_waveform(tmp_path / "c.dcm", changed, SAMPLING_HZ, "PT-1", ACQUIRED)
    uids = {pydicom.dcmread(path).SOPInstanceUID for path in (first, other)}
    assert len(uids) == 2


def test_writer_refuses_what_a_12_lead_ecg_cannot_hold(
    tmp_path: Path, contract_ecg: np.ndarray
) -> None:
    out = tmp_path / "bad.dcm"
    with pytest.raises(ValueError, match="12, n"):
        write_dicom_waveform(out, contract_ecg[:8], SAMPLING_HZ, None, None)
    with pytest.raises(ValueError, match="200-1000 Hz"):
        write_dicom_waveform(out, contract_ecg, 2000, None, None)
    too_large = np.zeros((12, N_SAMPLES))
    too_large[3, 7] = 40_000.0
    with pytest.raises(ValueError, match="int16"):
        write_dicom_waveform(out, too_large, SAMPLING_HZ, None, None)
    with pytest.raises(ValueError, match="LO"):
        write_dicom_waveform(out, contract_ecg, SAMPLING_HZ, "a\\b", None)
    assert not out.exists()


# ---------------------------------------------------------------- lead codes and units


MDC_MEANINGS = {
    "I": "Lead I", "II": "Lead II", "III": "Lead III", "aVR": "aVR, augmented voltage, right",
    "aVL": "aVL, augmented voltage, left", "aVF": "aVF, augmented voltage, foot",
    **{f"V{k}": f"Lead V{k}" for k in range(1, 7)},
}
MDC_CODES = {"I": 1, "II": 2, "III": 61, "aVR": 62, "aVL": 63, "aVF": 64}
MDC_CODES.update({f"V{k}": k + 2 for k in range(1, 7)})


@pytest.mark.parametrize("coding", ["MDC", "meaning-only"])
def test_leads_are_found_by_code_not_position(
    tmp_path: Path, contract_ecg: np.ndarray, coding: str
) -> None:
    path = write_dicom_waveform(tmp_path / "ecg.dcm", contract_ecg, SAMPLING_HZ, None, None)
    ds = pydicom.dcmread(path)
    group = ds.WaveformSequence[0]
    order = [LEADS.index(name) for name in reversed(LEADS)]
    channels = [group.ChannelDefinitionSequence[index] for index in order]
    for channel, index in zip(channels, order, strict=True):
        lead = LEADS[index]
        code = channel.ChannelSourceSequence[0]
        del channel.ChannelLabel
        code.CodeMeaning = MDC_MEANINGS[lead]
        code.CodeValue = f"2:{MDC_CODES[lead]}" if coding == "MDC" else f"LOCAL-{index}"
        code.CodingSchemeDesignator = "MDC" if coding == "MDC" else "99LOCAL"
    group.ChannelDefinitionSequence = Sequence(channels)
    counts = np.frombuffer(group.WaveformData, dtype="<i2").reshape(-1, 12)
    group.WaveformData = np.ascontiguousarray(counts[:, order]).tobytes()
    ds.save_as(path)

    record = read_ecg(path, "dicom")
    assert record.leads == tuple(reversed(LEADS))
    assert np.array_equal(normalize_to_contract(record), contract_ecg)


def test_millivolt_units_correction_and_baseline(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    path = write_dicom_waveform(tmp_path / "ecg.dcm", contract_ecg, SAMPLING_HZ, None, None)
    ds = pydicom.dcmread(path)
    channel = ds.WaveformSequence[0].ChannelDefinitionSequence[LI]
    channel.ChannelSensitivity = "0.0005"
    channel.ChannelSensitivityCorrectionFactor = "2"
    channel.ChannelBaseline = "0.01"  # in the sensitivity units (PS3.3 C.10.9.1): 10 uV
    channel.ChannelSensitivityUnitsSequence[0].CodeValue = "mV"
    channel.ChannelSensitivityUnitsSequence[0].CodeMeaning = "millivolt"
    ds.save_as(path)

    record = read_ecg(path, "dicom")
    assert np.allclose(record.signal_uv[LI], contract_ecg[LI] + 10.0, atol=1e-9)
    assert np.array_equal(record.signal_uv[LII:], contract_ecg[LII:])


# ---------------------------------------------------------------- damaged and foreign files


def test_truncated_waveform_data_is_refused(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    path = write_dicom_waveform(tmp_path / "short.dcm", contract_ecg, SAMPLING_HZ, None, None)
    data = path.read_bytes()
    for cut in (2, 5000):
        path.write_bytes(data[:-cut])
        assert pydicom.dcmread(path).WaveformSequence  # pydicom itself does not complain
        with pytest.raises(EcgFileError, match=r"short\.dcm: truncated"):
            read_ecg(path, "dicom")


def test_non_dicom_and_missing_files_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.dcm"
    text.write_text("this is not a DICOM file\n" * 20)
    with pytest.raises(EcgFileError, match=r"notes\.dcm"):
        read_ecg(text, "dicom")
    empty = tmp_path / "empty.dcm"
    empty.write_bytes(b"")
    with pytest.raises(EcgFileError, match=r"empty\.dcm"):
        read_ecg(empty, "dicom")
    with pytest.raises(EcgFileError, match="nothing-here"):
        read_ecg(tmp_path / "nothing-here.dcm", "dicom")


def test_dicom_that_is_not_an_ecg_is_refused(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    path = write_dicom_waveform(tmp_path / "ct.dcm", contract_ecg, SAMPLING_HZ, None, None)
    ds = pydicom.dcmread(path)
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.file_meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    ds.save_as(path)
    with pytest.raises(EcgFileError, match=r"ct\.dcm: SOP class .* not an ECG"):
        read_ecg(path, "dicom")


@pytest.mark.parametrize(
    "damage",
    ["no NumberOfWaveformSamples", "no ChannelSensitivity", "unknown units", "no waveforms"],
)
def test_missing_elements_are_refused(
    tmp_path: Path, contract_ecg: np.ndarray, damage: str
) -> None:
    path = write_dicom_waveform(tmp_path / "damaged.dcm", contract_ecg, SAMPLING_HZ, None, None)
    ds = pydicom.dcmread(path)
    group: Dataset = ds.WaveformSequence[0]
    channel = group.ChannelDefinitionSequence[0]
    if damage == "no NumberOfWaveformSamples":
        del group.NumberOfWaveformSamples
    elif damage == "no ChannelSensitivity":
        del channel.ChannelSensitivity
    elif damage == "unknown units":
        channel.ChannelSensitivityUnitsSequence[0].CodeValue = "mm"
        channel.ChannelSensitivityUnitsSequence[0].CodeMeaning = "millimeter"
    else:
        del ds.WaveformSequence
    ds.save_as(path)
    with pytest.raises(EcgFileError, match=r"damaged\.dcm"):
        read_ecg(path, "dicom")
