"""Philips Sierra ECG XML reader/writer and its XLI codec, checked against real device files.

The facts asserted for each real file come from shared/real-ecg/SOURCES.md (Philips section and
"Cross-format pairs"); the files are read in place, never copied.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from imnm.ecg.contract import LEADS, N_SAMPLES, SAMPLING_HZ, check_waveform
from imnm.ecg.formats import EcgFileError, read_ecg
from imnm.ecg.formats.philips_sierra import (
    SIERRA_UV_PER_COUNT,
    decode_xli,
    encode_xli,
    write_philips_sierra,
)
from imnm.ecg.normalize import normalize_to_contract
from imnm.ecg.safe_xml import read_xml_file
from tests.ingest.ecg_helpers import (
    ACQUIRED,
    REAL,
    SECRET,
    billion_laughs,
    check_hostile_xml_refused,
    check_stored_facts,
    external_entity,
    read_round_trip,
    synthetic_contract_ecg,
)
from tests.support.real_ecg import real_ecg

SIERRA = REAL / "philips-sierra-xml"
PAIR_SIERRA = SIERRA / "ad4d3d80-d165_1-04_orig.xml"
PAIR_AECG = REAL / "hl7-aecg" / "ad4d3d80-d165_1-04_converted.xml"
NS = "{http://www3.medical.philips.com}"
FMT = "philips-sierra"
LI, LII, LIII, LAVR, LAVL, LAVF = (
    LEADS.index(name) for name in ("I", "II", "III", "aVR", "aVL", "aVF")
)
# Every real file ends with a flat line, a 1 mV calibration pulse in all 12 leads at
# samples 5350-5449 (10.7-10.9 s) and 0.1 s of zeros; the ECG itself fills the first ~10.6 s.
CALIBRATION = slice(5350, 5450)
CALIBRATION_UV = 1000.0
# Limb-lead residuals that the device stores are at most 2 counts off the Einthoven/Goldberger
# values in the ECG part (0 in two of the files); see test_limb_leads_obey_einthoven.
EINTHOVEN_TOL_UV = 2 * SIERRA_UV_PER_COUNT



@dataclass(frozen=True)
class Facts:
    """What SOURCES.md (and the file itself, for the patient id) states about one real file."""

    schema: str
    utf16: bool
    acquired_at: datetime
    patient_id: str | None
    sampling_hz: float = 500.0
    n_samples: int = 5500
    resolution_uv: float = 5.0
    leads: tuple[str, ...] = LEADS


FACTS: dict[str, Facts] = {
    "129DYPRG.XML": Facts(
        "1.03", False, datetime(2011, 12, 1, 7, 27, 34),
        patient_id="1112010721168bdc",  # the incident id; name and age are empty
    ),
    "3191723_ZZDEMOPTONLY_1-04_orig.xml": Facts(
        "1.04", True, datetime(2010, 1, 19, 15, 19, 22), patient_id="9999"
    ),
    "ad4d3d80-d165_1-04_orig.xml": Facts(
        "1.04", True, datetime(2008, 12, 23, 19, 44, 46), patient_id="9999"
    ),
    "2020-5-18_15-48-11.xml": Facts(
        "1.04.01", True, datetime(2020, 5, 18, 15, 48, 11), patient_id="xxxxxx"
    ),
}


@real_ecg
def test_every_real_sierra_file_has_facts() -> None:
    assert {path.name for path in SIERRA.iterdir()} == set(FACTS)


@real_ecg
@pytest.mark.parametrize("name", sorted(FACTS))
def test_real_file_reads_and_normalizes(name: str) -> None:
    facts = FACTS[name]
    path = SIERRA / name
    assert (path.read_bytes()[:2] == b"\xff\xfe") == facts.utf16
    root = read_xml_file(path)
    assert root.tag == f"{NS}restingecgdata"
    assert root.findtext(f"{NS}documentinfo/{NS}documentversion") == facts.schema

    record = read_ecg(path, FMT)
    check_stored_facts(record, FMT, facts, exact_steps=True)
    assert record.duration_s == pytest.approx(11.0)
    assert np.all(record.signal_uv[:, CALIBRATION] == CALIBRATION_UV)

    contract = normalize_to_contract(record)
    check_waveform(contract)
    assert contract.shape == (12, N_SAMPLES) and contract.dtype == np.int16
    assert np.array_equal(contract, record.signal_uv[:, :N_SAMPLES].astype(np.int16))
    ptp = np.ptp(contract.astype(np.float64), axis=1)
    assert 150 <= np.median(ptp) <= 5000, ptp  # a real ECG: a few hundred to a few thousand uV


@real_ecg
@pytest.mark.parametrize("name", sorted(FACTS))
def test_limb_leads_obey_einthoven(name: str) -> None:
    signal = read_ecg(SIERRA / name, FMT).signal_uv
    ecg = slice(0, CALIBRATION.start)
    lead_i, lead_ii = signal[LI, ecg], signal[LII, ecg]
    assert np.abs(signal[LIII, ecg] - (lead_ii - lead_i)).max() <= EINTHOVEN_TOL_UV
    assert np.abs(signal[LAVR, ecg] + (lead_i + lead_ii) / 2).max() <= EINTHOVEN_TOL_UV
    assert np.abs(signal[LAVL, ecg] - (lead_i - lead_ii / 2)).max() <= EINTHOVEN_TOL_UV
    assert np.abs(signal[LAVF, ecg] - (lead_ii - lead_i / 2)).max() <= EINTHOVEN_TOL_UV


def _stored_counts(path: Path) -> list[np.ndarray]:
    waveform = read_xml_file(path).find(f"{NS}waveforms/{NS}parsedwaveforms")
    assert waveform is not None and waveform.text is not None
    return decode_xli(base64.b64decode("".join(waveform.text.split())), 5500, path)


@real_ecg
@pytest.mark.parametrize("name", sorted(FACTS))
def test_limb_leads_are_stored_as_residuals(name: str) -> None:
    stored = _stored_counts(SIERRA / name)
    assert len(stored) == 16  # 12 leads plus 4 channels that hold only the calibration pulse
    for extra in stored[12:]:
        assert np.count_nonzero(extra) == CALIBRATION.stop - CALIBRATION.start
    ecg = slice(0, CALIBRATION.start)
    lead_i, lead_ii = stored[0][ecg], stored[1][ecg]
    assert np.ptp(lead_ii - lead_i) > 50  # the true lead III: hundreds of microvolts
    for residual in stored[2:6]:  # III, aVR, aVL, aVF as stored: a count or two at most
        assert np.abs(residual[ecg]).max() <= 2


@real_ecg
def test_matches_the_hl7_aecg_conversion_of_the_same_recording() -> None:
    sierra = read_ecg(PAIR_SIERRA, FMT)
    aecg = read_ecg(PAIR_AECG, "hl7-aecg")
    assert sierra.leads == aecg.leads == LEADS
    assert sierra.signal_uv.shape == aecg.signal_uv.shape == (12, 5500)
    assert sierra.acquired_at == aecg.acquired_at
    assert np.abs(sierra.signal_uv - aecg.signal_uv).max() <= 4 * SIERRA_UV_PER_COUNT
    for ours, theirs in zip(sierra.signal_uv, aecg.signal_uv, strict=True):
        assert np.corrcoef(ours, theirs)[0, 1] >= 0.9996


# ---------------------------------------------------------------- XLI codec and round trips


@pytest.fixture(scope="module")
def contract_ecg() -> np.ndarray:
    return synthetic_contract_ecg()


@pytest.mark.parametrize(
    "lead",
    [
        np.zeros(0, dtype=np.int64),
        np.array([7]),
        np.array([7, -3]),
        np.full(3000, 123),  # long runs: the LZW "code defined right now" case
        np.random.default_rng(1).integers(-3000, 3000, 2000),  # noise: fills the dictionary
        np.cumsum(np.random.default_rng(2).integers(-40, 41, 6000)),
    ],
    ids=["empty", "one", "two", "constant", "noise", "walk"],
)
def test_xli_codec_round_trips_exactly(lead: np.ndarray) -> None:
    stream = encode_xli([lead, -lead])
    decoded = decode_xli(stream, max(len(lead), 1), "synthetic")
    assert len(decoded) == 2
    assert np.array_equal(decoded[0], lead) and np.array_equal(decoded[1], -lead)


def test_round_trip_within_one_count(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    path = write_philips_sierra(tmp_path / "ecg.xml", contract_ecg, SAMPLING_HZ, "PT-7", ACQUIRED)
    record = read_round_trip(path, FMT, LEADS, "PT-7", ACQUIRED)
    quantized = np.rint(contract_ecg / SIERRA_UV_PER_COUNT) * SIERRA_UV_PER_COUNT
    assert np.array_equal(record.signal_uv, quantized)  # all 12 leads stored, none derived
    back = normalize_to_contract(record)
    assert np.abs(back.astype(np.float64) - contract_ecg).max() <= SIERRA_UV_PER_COUNT / 2


@real_ecg
def test_writer_mirrors_the_real_layout(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    ours = read_xml_file(
        write_philips_sierra(tmp_path / "ecg.xml", contract_ecg, SAMPLING_HZ, None, None)
    )
    real = read_xml_file(PAIR_SIERRA)
    rate = f"{NS}dataacquisition/{NS}signalcharacteristics/{NS}samplingrate"
    waveforms = []
    for root in (ours, real):
        assert root.tag == f"{NS}restingecgdata"
        assert root.findtext(f"{NS}documentinfo/{NS}documentversion") == "1.04"
        assert root.findtext(rate) == "500"
        waveform = root.find(f"{NS}waveforms/{NS}parsedwaveforms")
        assert waveform is not None
        waveforms.append(waveform)
    ours_waveform, real_waveform = waveforms
    for attribute in (
        "dataencoding", "compression", "numberofleads", "leadlabels", "samplespersecond",
        "resolution", "signaloffset", "signalsigned", "bitspersample",
    ):
        assert ours_waveform.get(attribute) == real_waveform.get(attribute), attribute
    assert ours_waveform.get("durationperchannel") == "10000"


def test_without_time_or_patient(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    path = write_philips_sierra(tmp_path / "anon.xml", contract_ecg, SAMPLING_HZ, None, None)
    record = read_ecg(path, FMT)
    assert record.patient_id is None and record.acquired_at is None


def test_time_zone_is_dropped(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    aware = ACQUIRED.replace(tzinfo=timezone(timedelta(hours=2)))
    path = write_philips_sierra(tmp_path / "tz.xml", contract_ecg, SAMPLING_HZ, None, aware)
    assert read_ecg(path, FMT).acquired_at == ACQUIRED


def test_utf16_variant_reads_the_same(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    utf8 = write_philips_sierra(tmp_path / "u8.xml", contract_ecg, SAMPLING_HZ, "PT-ü", ACQUIRED)
    text = utf8.read_text(encoding="utf-8").replace('encoding="UTF-8"', 'encoding="utf-16"')
    utf16 = tmp_path / "u16.xml"
    utf16.write_bytes(text.replace("\n", "\r\n").encode("utf-16"))  # BOM + CRLF, like Philips
    assert utf16.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    first, second = read_ecg(utf8, FMT), read_ecg(utf16, FMT)
    assert second.patient_id == first.patient_id == "PT-ü"
    assert second.acquired_at == first.acquired_at
    assert np.array_equal(second.signal_uv, first.signal_uv)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s[:6], r"\(12, n\)"),
        (lambda s: np.where(np.arange(s.shape[1]) == 9, np.nan, s), "non-finite"),
        (lambda s: s + 200_000.0, "int16"),  # 200 mV: 40 000 counts at 5 uV
    ],
    ids=["shape", "nan", "range"],
)
def test_writer_refuses_bad_signals(
    tmp_path: Path,
    contract_ecg: np.ndarray,
    change: Callable[[np.ndarray], np.ndarray],
    message: str,
) -> None:
    signal = change(contract_ecg.astype(np.float64))
    with pytest.raises(ValueError, match=message):
        write_philips_sierra(tmp_path / "bad.xml", signal, SAMPLING_HZ, None, None)
    assert not (tmp_path / "bad.xml").exists()


def test_writer_refuses_steps_xli_cannot_code(tmp_path: Path) -> None:
    signal = np.zeros((12, 1000))
    signal[6, 500::2] = 150_000.0  # V1 toggling by 30 000 counts: second differences overflow
    with pytest.raises(ValueError, match="steeply"):
        write_philips_sierra(tmp_path / "steep.xml", signal, SAMPLING_HZ, None, None)


# ---------------------------------------------------------------- damaged and hostile files


def _written(tmp_path: Path, contract_ecg: np.ndarray, name: str = "ecg.xml") -> Path:
    return write_philips_sierra(tmp_path / name, contract_ecg, SAMPLING_HZ, "PT-1", ACQUIRED)


def _with_stream(path: Path, stream: bytes, **attributes: str) -> Path:
    """Replace the parsedwaveforms payload (and some attributes) of a written file."""
    text = path.read_text(encoding="utf-8")
    payload = base64.encodebytes(stream).decode("ascii")
    text = re.sub(r"(<parsedwaveforms[^>]*>).*?(</parsedwaveforms>)",
                  lambda m: m[1] + "\n" + payload + m[2], text, flags=re.DOTALL)
    for name, value in attributes.items():
        text, count = re.subn(rf'{name}="[^"]*"', f'{name}="{value}"', text)
        assert count >= 1, name
    path.write_text(text, encoding="utf-8")
    return path


def _stream(path: Path) -> bytes:
    waveform = read_xml_file(path).find(f"{NS}waveforms/{NS}parsedwaveforms")
    assert waveform is not None and waveform.text is not None
    return base64.b64decode("".join(waveform.text.split()))


def test_truncated_file_is_refused(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    path = _written(tmp_path, contract_ecg, "cut.xml")
    data = path.read_bytes()
    middle = (data.index(b"<parsedwaveforms") + data.index(b"</parsedwaveforms>")) // 2
    path.write_bytes(data[:middle])
    with pytest.raises(EcgFileError, match=r"cut\.xml"):
        read_ecg(path, FMT)


def test_truncated_waveform_is_refused(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    path = _written(tmp_path, contract_ecg, "short.xml")
    stream = _stream(path)
    first_size = struct.unpack_from("<i", stream)[0]
    _with_stream(path, stream[: 8 + first_size // 2])  # ends inside the first chunk
    with pytest.raises(EcgFileError, match=r"short\.xml: XLI chunk 1 claims .* \(truncated\?\)"):
        read_ecg(path, FMT)


@real_ecg
def test_truncated_real_waveform_is_refused(tmp_path: Path) -> None:
    text = PAIR_SIERRA.read_bytes().decode("utf-16")
    start = text.index("<parsedwaveforms")
    end = text.index("</parsedwaveforms>")
    payload_start = text.index(">", start) + 1
    keep = payload_start + (end - payload_start) // 2
    path = tmp_path / "real-cut.xml"
    path.write_bytes((text[:keep] + text[end:]).encode("utf-16"))  # still well-formed XML
    with pytest.raises(EcgFileError, match=r"real-cut\.xml: .*(truncated|base64)"):
        read_ecg(path, FMT)


@pytest.mark.parametrize("size", [2**31 - 1, -5])
def test_corrupted_chunk_size_is_refused(
    tmp_path: Path, contract_ecg: np.ndarray, size: int
) -> None:
    path = _written(tmp_path, contract_ecg, "size.xml")
    stream = bytearray(_stream(path))
    struct.pack_into("<i", stream, 0, size)
    _with_stream(path, bytes(stream))
    with pytest.raises(EcgFileError, match=rf"size\.xml: XLI chunk 1 claims {size} bytes"):
        read_ecg(path, FMT)


def _pack_codes(codes: list[int]) -> bytes:
    bits = "".join(f"{code:010b}" for code in codes)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def test_undefined_lzw_code_is_refused() -> None:
    chunk = _pack_codes([65, 900, 1023])
    stream = struct.pack("<ihh", len(chunk), 1, 0) + chunk
    with pytest.raises(EcgFileError, match="LZW code 900 is not defined"):
        decode_xli(stream, 10, "forged.xml")


def test_lzw_expansion_is_bounded() -> None:
    codes = [0, *range(256, 1023), 1023]  # each code repeats the last string plus one byte
    chunk = _pack_codes(codes)
    stream = struct.pack("<ihh", len(chunk), 1, 0) + chunk
    with pytest.raises(EcgFileError, match="more than 11000 bytes"):
        decode_xli(stream, 5500, "bomb.xml")


def test_leads_of_different_length_are_refused(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    path = _written(tmp_path, contract_ecg, "ragged.xml")
    counts = np.rint(contract_ecg / SIERRA_UV_PER_COUNT).astype(np.int64)
    leads = [lead if index != 7 else lead[:-10] for index, lead in enumerate(counts)]
    _with_stream(path, encode_xli(leads))
    with pytest.raises(EcgFileError, match=r"ragged\.xml: leads differ in length"):
        read_ecg(path, FMT)


def test_lead_count_mismatches_are_refused(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    path = _written(tmp_path, contract_ecg, "eleven.xml")
    stream = _stream(path)
    sizes, offset = [], 0
    while offset < len(stream):
        sizes.append(struct.unpack_from("<i", stream, offset)[0])
        offset += 8 + sizes[-1]
    assert len(sizes) == 12
    _with_stream(path, stream[: offset - 8 - sizes[-1]])  # drop the last chunk (V6)
    with pytest.raises(EcgFileError, match=r"eleven\.xml: .*11 channels for 12 leads"):
        read_ecg(path, FMT)

    labels = _written(tmp_path, contract_ecg, "labels.xml")
    _with_stream(labels, _stream(labels), numberofleads="13")
    with pytest.raises(EcgFileError, match="numberofleads is 13 but leadlabels names 12"):
        read_ecg(labels, FMT)


def test_durationperchannel_must_match_the_data(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    path = _written(tmp_path, contract_ecg, "long.xml")
    _with_stream(path, _stream(path), durationperchannel="11000")
    with pytest.raises(EcgFileError, match="5000 samples, durationperchannel says 5500"):
        read_ecg(path, FMT)


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"dataencoding": "Hex"}, "dataencoding 'Hex' is unsupported"),
        ({"compression": "ZIP"}, "compression 'ZIP' is unsupported"),
    ],
)
def test_unsupported_encodings_are_refused(
    tmp_path: Path, contract_ecg: np.ndarray, attributes: dict[str, str], message: str
) -> None:
    path = _written(tmp_path, contract_ecg)
    _with_stream(path, _stream(path), **attributes)
    with pytest.raises(EcgFileError, match=message):
        read_ecg(path, FMT)


def test_uncompressed_base64_is_read(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    path = _written(tmp_path, contract_ecg, "plain.xml")
    eight = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")  # no residual limb leads
    counts = np.rint(contract_ecg / SIERRA_UV_PER_COUNT).astype("<i2")
    rows = counts[[LEADS.index(name) for name in eight]]
    _with_stream(path, rows.tobytes(), compression="None", numberofleads="8",
                 leadlabels=" ".join(eight))
    record = read_ecg(path, FMT)
    assert record.leads == eight
    assert np.array_equal(record.signal_uv, rows * SIERRA_UV_PER_COUNT)


def test_not_a_sierra_document_is_refused(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    other = tmp_path / "other.xml"
    other.write_text('<restingecg xmlns="http://www3.medical.philips.com"/>')
    with pytest.raises(EcgFileError, match=r"other\.xml: root element .* not Philips"):
        read_ecg(other, FMT)
    bare = tmp_path / "bare.xml"
    bare.write_text('<restingecgdata xmlns="http://www3.medical.philips.com"><waveforms/>'
                    "</restingecgdata>")
    with pytest.raises(EcgFileError, match=r"bare\.xml: no waveforms/parsedwaveforms"):
        read_ecg(bare, FMT)


def _sierra_patient_id(value: str) -> str:
    """A minimal Sierra document whose patient id is `value` (an entity reference, here)."""
    return (
        '<restingecgdata xmlns="http://www3.medical.philips.com"><patient><generalpatientdata>'
        f"<patientid>{value}</patientid></generalpatientdata></patient></restingecgdata>"
    )


@pytest.mark.parametrize("attack", ["laughs", "passwd", "secret"])
def test_hostile_xml_is_refused(tmp_path: Path, attack: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    root = "restingecgdata"
    documents = {
        "laughs": billion_laughs(root, _sierra_patient_id("&lol9;")),
        "passwd": external_entity(root, "file:///etc/passwd", _sierra_patient_id("&xxe;")),
        "secret": external_entity(root, secret.as_uri(), _sierra_patient_id("&xxe;")),
    }
    path = tmp_path / f"{attack}.xml"
    path.write_text(documents[attack])
    check_hostile_xml_refused(path, FMT, (SECRET, "root:"))
