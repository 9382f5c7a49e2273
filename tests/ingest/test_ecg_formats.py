"""Vendor ECG readers/writers and contract normalization, checked against real device files.

The facts asserted for each real file come from shared/real-ecg/SOURCES.md.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from imnm.ecg.contract import LEADS, N_SAMPLES, SAMPLING_HZ, check_waveform
from imnm.ecg.formats import (
    READERS,
    EcgFileError,
    EcgRecord,
    UnknownEcgFormatError,
    canonical_lead_name,
    read_ecg,
)
from imnm.ecg.formats.ge_muse import MUSE_UV_PER_BIT, write_ge_muse
from imnm.ecg.formats.hl7_aecg import write_hl7_aecg
from imnm.ecg.formats.wfdb_format import write_wfdb
from imnm.ecg.normalize import ClippingWarning, normalize_to_contract, normalize_with_report
from tests.ingest.ecg_helpers import (
    ACQUIRED,
    AECG_EXAMPLE_ORDER,
    REAL,
    ROUNDING_UV,
    SECRET,
    band_ptp,
    billion_laughs,
    check_hostile_xml_refused,
    check_stored_facts,
    count_beats,
    external_entity,
    read_round_trip,
    synthetic_contract_ecg,
)
from tests.support.real_ecg import real_ecg

LI, LII, LIII, LAVR, LAVL, LAVF = (
    LEADS.index(name) for name in ("I", "II", "III", "aVR", "aVL", "aVF")
)
MUSE_STORED = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")



@dataclass(frozen=True)
class Facts:
    """What SOURCES.md states about one real file."""

    fmt: str
    leads: tuple[str, ...]
    sampling_hz: float
    n_samples: int
    resolution_uv: float  # every stored value is a multiple of this
    einthoven_tol_uv: float  # |III - (II - I)| after normalization, outside the allowed outliers
    einthoven_outliers: int = 0
    patient_id: str | None = None
    acquired_at: datetime | None = None
    ventricular_rate: int | None = None


STANDARD = LEADS

FACTS: dict[str, Facts] = {
    "wfdb/s0010_re.hea": Facts(
        "wfdb", STANDARD, 1000, 38_400, 0.5, 1.0 + ROUNDING_UV,
        acquired_at=datetime(1990, 10, 1),
    ),
    "hl7-aecg/Example_aECG.xml": Facts(
        "hl7-aecg", AECG_EXAMPLE_ORDER, 500, 5000, 2.5, ROUNDING_UV,
        patient_id="SBJ-123", acquired_at=datetime(2002, 11, 22, 9, 10, 0),
    ),
    "hl7-aecg/hl7aecg-Example2.xml": Facts(
        "hl7-aecg", STANDARD, 1000, 10_000, 2.5, ROUNDING_UV,
        patient_id="106_ABC", acquired_at=datetime(2004, 1, 15, 11, 20, 4),
    ),
    "hl7-aecg/ad4d3d80-d165_1-04_converted.xml": Facts(
        "hl7-aecg", STANDARD, 500, 5500, 5.0, 3 * 5.0 + ROUNDING_UV, einthoven_outliers=108,
        patient_id="20044",  # the file's trialSubject id (SOURCES.md only says "de-identified")
        acquired_at=datetime(2008, 12, 23, 19, 44, 46),
    ),
    "ge-muse-xml/MUSE_example.xml": Facts(
        "ge-muse", MUSE_STORED, 500, 5000, MUSE_UV_PER_BIT, ROUNDING_UV,
        patient_id="FAKE12345", acquired_at=None, ventricular_rate=56,
    ),
    "ge-muse-xml/braveheart_example1.xml": Facts(
        "ge-muse", MUSE_STORED, 500, 5000, MUSE_UV_PER_BIT, ROUNDING_UV, ventricular_rate=48
    ),
    "ge-muse-xml/braveheart_example2.xml": Facts(
        "ge-muse", MUSE_STORED, 500, 5000, MUSE_UV_PER_BIT, ROUNDING_UV, ventricular_rate=65
    ),
    "ge-muse-xml/braveheart_example3.xml": Facts(
        "ge-muse", MUSE_STORED, 500, 5000, MUSE_UV_PER_BIT, ROUNDING_UV, ventricular_rate=59
    ),
    "ge-muse-xml/braveheart_example4.xml": Facts(
        "ge-muse", MUSE_STORED, 500, 5000, MUSE_UV_PER_BIT, ROUNDING_UV, ventricular_rate=61
    ),
}


@real_ecg
def test_every_real_file_in_the_three_formats_has_facts() -> None:
    on_disk = {
        str(path.relative_to(REAL))
        for folder, pattern in (("wfdb", "*.hea"), ("hl7-aecg", "*.xml"), ("ge-muse-xml", "*.xml"))
        for path in (REAL / folder).glob(pattern)
    }
    assert on_disk == set(FACTS)


@real_ecg
@pytest.mark.parametrize("name", sorted(FACTS))
def test_real_file_reads_and_normalizes(name: str) -> None:
    facts = FACTS[name]
    record = read_ecg(REAL / name, facts.fmt)
    check_stored_facts(record, facts.fmt, facts)

    contract = normalize_to_contract(record)
    check_waveform(contract)
    qrs_ptp = band_ptp(contract)
    assert 150 <= np.median(qrs_ptp) <= 5000, qrs_ptp  # a few hundred to a few thousand uV
    assert qrs_ptp.max() <= 10_000, qrs_ptp

    signal = contract.astype(np.float64)
    einthoven = np.abs(signal[LIII] - (signal[LII] - signal[LI]))
    assert np.count_nonzero(einthoven > facts.einthoven_tol_uv) <= facts.einthoven_outliers
    if facts.ventricular_rate is not None:
        expected = facts.ventricular_rate * 10 / 60
        assert abs(count_beats(contract) - expected) <= 1.5


@real_ecg
def test_wfdb_keeps_only_the_standard_leads_of_fifteen() -> None:
    header = (REAL / "wfdb" / "s0010_re.hea").read_text().splitlines()[0].split()
    assert header[1] == "15"  # 12 leads in .dat plus the Frank leads vx, vy, vz in .xyz
    by_record_name = read_ecg(REAL / "wfdb" / "s0010_re", "wfdb")
    assert by_record_name.leads == LEADS


@real_ecg
def test_muse_normalization_derives_the_four_missing_limb_leads() -> None:
    report = normalize_with_report(read_ecg(REAL / "ge-muse-xml" / "MUSE_example.xml", "ge-muse"))
    assert report.derived_leads == ("III", "aVR", "aVL", "aVF")
    signal = report.signal_uv.astype(np.float64)
    assert np.abs(signal[LAVR] + (signal[LI] + signal[LII]) / 2).max() <= ROUNDING_UV
    assert np.abs(signal[LAVL] - (signal[LI] - signal[LII] / 2)).max() <= ROUNDING_UV
    assert np.abs(signal[LAVF] - (signal[LII] - signal[LI] / 2)).max() <= ROUNDING_UV


@real_ecg
@pytest.mark.parametrize("name", ["hl7-aecg/Example_aECG.xml", "hl7-aecg/hl7aecg-Example2.xml"])
def test_derivation_formulas_reproduce_stored_limb_leads(name: str) -> None:
    record = read_ecg(REAL / name, "hl7-aecg")
    keep = [i for i, lead in enumerate(record.leads) if lead in MUSE_STORED]
    eight = EcgRecord(
        signal_uv=record.signal_uv[keep],
        leads=tuple(record.leads[i] for i in keep),
        sampling_hz=record.sampling_hz,
        patient_id=None,
        acquired_at=None,
        source_format="hl7-aecg",
    )
    stored = normalize_to_contract(record).astype(np.float64)
    derived = normalize_to_contract(eight).astype(np.float64)
    assert np.abs(stored - derived).max() <= 2 * 2.5  # two 2.5 uV steps of the file's scale


@real_ecg
def test_resolution_of_the_wfdb_record_is_half_a_microvolt() -> None:
    record = read_ecg(REAL / "wfdb" / "s0010_re.hea", "wfdb")
    assert np.any(record.signal_uv % 1 == 0.5)  # gain 2000 adu/mV: 0.5 uV steps actually occur


# ---------------------------------------------------------------- round trips


@pytest.fixture(scope="module")
def contract_ecg() -> np.ndarray:
    return synthetic_contract_ecg()


def test_wfdb_round_trip_is_exact(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    aware = ACQUIRED.replace(tzinfo=timezone(timedelta(hours=1)))
    files = write_wfdb(tmp_path, "imnm_0001", contract_ecg, SAMPLING_HZ, "PT-0001", aware)
    assert all(path.is_file() for path in files)
    record = read_round_trip(files[0], "wfdb", LEADS, "PT-0001", aware)
    back = normalize_to_contract(record)
    assert back.dtype == np.int16
    assert np.array_equal(back, contract_ecg)


def test_wfdb_writer_refuses_the_missing_sample_code(tmp_path: Path) -> None:
    signal = np.zeros((12, N_SAMPLES), dtype=np.int16)
    signal[0, 0] = -32768
    with pytest.raises(ValueError, match="-32768"):
        write_wfdb(tmp_path, "bad", signal, SAMPLING_HZ, None, None)


def test_hl7_aecg_round_trip_is_exact(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    path = write_hl7_aecg(tmp_path / "ecg.xml", contract_ecg, SAMPLING_HZ, "PT-0002", ACQUIRED)
    record = read_round_trip(path, "hl7-aecg", LEADS, "PT-0002", ACQUIRED)
    assert np.array_equal(normalize_to_contract(record), contract_ecg)


@real_ecg
def test_hl7_aecg_writer_mirrors_the_real_layout(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    ours = write_hl7_aecg(tmp_path / "ecg.xml", contract_ecg, SAMPLING_HZ, "PT-0003", ACQUIRED)
    real = REAL / "hl7-aecg" / "Example_aECG.xml"
    structure = (
        "{urn:hl7-org:v3}component/{urn:hl7-org:v3}series/{urn:hl7-org:v3}component/"
        "{urn:hl7-org:v3}sequenceSet/{urn:hl7-org:v3}component/{urn:hl7-org:v3}sequence/"
        "{urn:hl7-org:v3}value/{urn:hl7-org:v3}digits"
    )
    from imnm.ecg.safe_xml import read_xml_file

    for path in (ours, real):
        root = read_xml_file(path)
        assert root.tag == "{urn:hl7-org:v3}AnnotatedECG"
        assert len(root.findall(structure)) == 12


def test_hl7_aecg_without_time_or_subject(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    path = write_hl7_aecg(tmp_path / "anon.xml", contract_ecg, SAMPLING_HZ, None, None)
    record = read_ecg(path, "hl7-aecg")
    assert record.patient_id is None and record.acquired_at is None
    assert np.array_equal(normalize_to_contract(record), contract_ecg)


def test_ge_muse_round_trip_within_one_step(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    path = write_ge_muse(tmp_path / "muse.xml", contract_ecg, SAMPLING_HZ, "Zoë-7", ACQUIRED)
    text = path.read_bytes()
    assert text.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>')
    assert b'<!DOCTYPE RestingECG SYSTEM "restecg.dtd">' in text
    record = read_round_trip(path, "ge-muse", MUSE_STORED, "Zoë-7", ACQUIRED)
    report = normalize_with_report(record)
    assert report.derived_leads == ("III", "aVR", "aVL", "aVF")
    error = np.abs(report.signal_uv.astype(np.float64) - contract_ecg)
    stored = [LEADS.index(name) for name in MUSE_STORED]
    derived = [LIII, LAVR, LAVL, LAVF]
    assert error[stored].max() <= MUSE_UV_PER_BIT / 2 + 0.5  # quantization + rounding
    assert error[derived].max() <= MUSE_UV_PER_BIT + ROUNDING_UV


# ---------------------------------------------------------------- normalization rules


def _record(signal: np.ndarray, rate: float, leads: tuple[str, ...] = LEADS) -> EcgRecord:
    return EcgRecord(signal, leads, rate, None, None, "test")


@pytest.mark.parametrize("rate", [250, 1000, 1024])
def test_resampling_preserves_a_sine(rate: int) -> None:
    seconds = 12.0
    t = np.arange(int(seconds * rate)) / rate
    wave = 1000.0 * np.sin(2 * np.pi * 7.0 * t)
    out = normalize_to_contract(_record(np.tile(wave, (12, 1)), rate)).astype(np.float64)
    expected = 1000.0 * np.sin(2 * np.pi * 7.0 * np.arange(N_SAMPLES) / SAMPLING_HZ)
    interior = slice(100, N_SAMPLES)  # the start has the resampler's unavoidable edge effect
    assert np.abs(out[:, interior] - expected[interior]).max() <= 3.0


def test_longer_records_keep_the_first_ten_seconds() -> None:
    ramp = np.tile(np.arange(6000, dtype=np.float64), (12, 1)) % 3000
    out = normalize_to_contract(_record(ramp, SAMPLING_HZ))
    assert np.array_equal(out, ramp[:, :N_SAMPLES].astype(np.int16))


def test_short_records_are_refused_with_their_duration() -> None:
    with pytest.raises(EcgFileError, match=r"9\.998 s"):
        normalize_to_contract(_record(np.zeros((12, 4999)), SAMPLING_HZ))


def test_missing_precordial_lead_is_refused() -> None:
    leads = tuple(name for name in LEADS if name != "V4")
    with pytest.raises(EcgFileError, match="V4"):
        normalize_to_contract(_record(np.zeros((11, N_SAMPLES)), SAMPLING_HZ, leads))


def test_clipping_is_counted_warned_and_bounded() -> None:
    signal = np.zeros((12, N_SAMPLES))
    signal[0, :10] = 40_000.0
    with pytest.warns(ClippingWarning, match="10 samples"):
        out = normalize_to_contract(_record(signal, SAMPLING_HZ))
    assert out[0, :10].tolist() == [32767] * 10
    assert normalize_with_report(_record(signal, SAMPLING_HZ)).n_clipped == 10
    signal[:, :1000] = -1e6  # 20% of samples: units are wrong, not a few spikes
    with pytest.raises(EcgFileError, match="exceed"):
        normalize_to_contract(_record(signal, SAMPLING_HZ))


@real_ecg
def test_normalization_is_pure() -> None:
    record = read_ecg(REAL / "hl7-aecg" / "hl7aecg-Example2.xml", "hl7-aecg")
    before = record.signal_uv.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = normalize_to_contract(record)
    assert np.array_equal(first, normalize_to_contract(record))
    assert np.array_equal(record.signal_uv, before)


# ---------------------------------------------------------------- registry and lead names


@real_ecg
def test_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(UnknownEcgFormatError) as caught:
        read_ecg(REAL / "dicom" / "waveform_ecg.dcm", "edf")
    assert isinstance(caught.value, KeyError)
    for known in READERS:
        assert known in str(caught.value)
    assert set(READERS) == {"wfdb", "hl7-aecg", "ge-muse", "philips-sierra", "dicom", "scp-ecg"}


@real_ecg
def test_every_real_file_in_every_format_is_checked_by_a_test() -> None:
    """Each vendor file in shared/real-ecg is named by the facts table of some test module."""
    from tests.ingest import test_ecg_dicom, test_ecg_philips_sierra, test_ecg_scp

    checked = set(FACTS)
    checked |= {f"philips-sierra-xml/{name}" for name in test_ecg_philips_sierra.FACTS}
    checked |= {f"scp-ecg/{name}" for name in test_ecg_scp.FACTS}
    checked.add(str(test_ecg_dicom.REAL_DICOM.relative_to(REAL)))
    on_disk = {str(path.relative_to(REAL)) for path in REAL.rglob("*")
               if path.is_file() and path.suffix not in (".md", ".dat", ".xyz")}
    assert on_disk == checked


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("i", "I"), ("I", "I"), ("Lead I", "I"), ("MDC_ECG_LEAD_I", "I"), ("iii", "III"),
        ("avr", "aVR"), ("aVL", "aVL"), ("MDC_ECG_LEAD_AVF", "aVF"), ("v1", "V1"),
        ("Lead V6", "V6"), ("vx", None), ("MDC_ECG_LEAD_V7", None), ("TIME_ABSOLUTE", None),
    ],
)
def test_lead_names_are_canonicalized(raw: str, canonical: str | None) -> None:
    assert canonical_lead_name(raw) == canonical


# ---------------------------------------------------------------- damaged and hostile files


def test_missing_file_is_an_ecg_file_error(tmp_path: Path) -> None:
    for fmt in READERS:
        with pytest.raises(EcgFileError, match="nothing-here"):
            read_ecg(tmp_path / "nothing-here.xml", fmt)


def test_truncated_files_are_refused(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    files = write_wfdb(tmp_path, "short", contract_ecg, SAMPLING_HZ, None, None)
    data = files[1].read_bytes()
    files[1].write_bytes(data[: len(data) // 2])
    with pytest.raises(EcgFileError, match="truncated"):
        read_ecg(files[0], "wfdb")

    muse = write_ge_muse(tmp_path / "m.xml", contract_ecg, SAMPLING_HZ, None, None)
    muse.write_bytes(muse.read_bytes()[:-5000])
    with pytest.raises(EcgFileError, match="m.xml"):
        read_ecg(muse, "ge-muse")


def test_muse_lead_shorter_than_its_sample_count_is_refused(
    tmp_path: Path, contract_ecg: np.ndarray
) -> None:
    muse = write_ge_muse(tmp_path / "cut.xml", contract_ecg, SAMPLING_HZ, None, None)
    text = muse.read_text(encoding="iso-8859-1")
    start = text.index("<WaveFormData>") + len("<WaveFormData>\n")
    line_end = text.index("\n", start) + 1
    muse.write_text(text[:start] + text[line_end:], encoding="iso-8859-1")  # drop 57 bytes
    with pytest.raises(EcgFileError, match=r"cut\.xml: lead I truncated"):
        read_ecg(muse, "ge-muse")


def test_corrupted_muse_lead_fails_its_crc(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    muse = write_ge_muse(tmp_path / "crc.xml", contract_ecg, SAMPLING_HZ, None, None)
    text = muse.read_text(encoding="iso-8859-1")
    start = text.index("<WaveFormData>") + len("<WaveFormData>\n")
    flipped = "B" if text[start + 8] != "B" else "C"
    muse.write_text(text[: start + 8] + flipped + text[start + 9 :], encoding="iso-8859-1")
    with pytest.raises(EcgFileError, match="CRC32"):
        read_ecg(muse, "ge-muse")


def test_utf16_encoded_aecg_reads_like_utf8(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    utf8 = write_hl7_aecg(tmp_path / "u8.xml", contract_ecg, SAMPLING_HZ, "PT-ü", ACQUIRED)
    text = utf8.read_text(encoding="utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    utf16 = tmp_path / "u16.xml"
    utf16.write_bytes(text.encode("utf-16"))  # with BOM
    assert utf16.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    record = read_ecg(utf16, "hl7-aecg")
    assert record.patient_id == "PT-ü"
    assert np.array_equal(normalize_to_contract(record), contract_ecg)


def _muse_patient_id(value: str) -> str:
    """A minimal MUSE document whose patient id is `value` (an entity reference, here)."""
    return (
        "<RestingECG><PatientDemographics><PatientID>"
        f"{value}</PatientID></PatientDemographics></RestingECG>"
    )


def _hostile_files(tmp_path: Path) -> dict[str, Path]:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    laughs = tmp_path / "laughs.xml"
    laughs.write_text(billion_laughs("RestingECG", _muse_patient_id("&lol9;")))
    xxe = tmp_path / "xxe.xml"
    xxe.write_text(external_entity("RestingECG", secret.as_uri(), _muse_patient_id("&xxe;")))
    parameter = tmp_path / "parameter.xml"
    parameter.write_text(
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE AnnotatedECG [<!ENTITY % ext SYSTEM "{secret.as_uri()}"> %ext;]>\n'
        '<AnnotatedECG xmlns="urn:hl7-org:v3"/>\n'
    )
    return {"laughs": laughs, "xxe": xxe, "parameter": parameter}


@pytest.mark.parametrize("fmt", ["ge-muse", "hl7-aecg"])
@pytest.mark.parametrize("attack", ["laughs", "xxe", "parameter"])
def test_hostile_xml_is_refused(tmp_path: Path, fmt: str, attack: str) -> None:
    check_hostile_xml_refused(_hostile_files(tmp_path)[attack], fmt)


def test_external_dtd_is_never_loaded(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    secret = tmp_path / "secret.dtd"
    secret.write_text(f'<!ENTITY leak "{SECRET}">')
    muse = write_ge_muse(tmp_path / "dtd.xml", contract_ecg, SAMPLING_HZ, "PT-9", ACQUIRED)
    text = muse.read_text(encoding="iso-8859-1").replace('"restecg.dtd"', f'"{secret.as_uri()}"')
    muse.write_text(text, encoding="iso-8859-1")
    record = read_ecg(muse, "ge-muse")
    assert record.patient_id == "PT-9"


def test_not_an_ecg_document_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text("<html><body>hello</body></html>")
    for fmt in ("ge-muse", "hl7-aecg"):
        with pytest.raises(EcgFileError, match="other.xml"):
            read_ecg(path, fmt)
    broken = tmp_path / "broken.xml"
    broken.write_text("<RestingECG><Waveform>")
    with pytest.raises(EcgFileError, match="not well-formed"):
        read_ecg(broken, "ge-muse")
