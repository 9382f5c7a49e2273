"""SCP-ECG reader and writer, checked against the two real SCP files and the aECG twin of one.

The facts asserted for each real file come from shared/real-ecg/SOURCES.md, except where a
test says it measured them (the demo.scp sample count, the SCP/aECG agreement).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from imnm.ecg.contract import LEADS, N_SAMPLES, SAMPLING_HZ, check_waveform
from imnm.ecg.formats import EcgFileError, EcgRecord, read_ecg
from imnm.ecg.formats.scp_ecg import (
    DEFAULT_HUFFMAN_TABLE,
    SCP_STORED_LEADS,
    SCP_WRITER_NV_PER_COUNT,
    HuffmanCode,
    HuffmanDecodeError,
    _assemble,
    _crc,
    _read_sections,
    encode_default_huffman,
    huffman_decode,
    second_differences,
    undo_differences,
    write_scp_ecg,
)
from imnm.ecg.normalize import normalize_to_contract, normalize_with_report
from tests.ingest.ecg_helpers import (
    ACQUIRED,
    AECG_EXAMPLE_ORDER,
    REAL,
    ROUNDING_UV,
    band_ptp,
    check_stored_facts,
    read_round_trip,
    synthetic_contract_ecg,
)
from tests.support.real_ecg import real_ecg

SCP_DIR = REAL / "scp-ecg"
LI, LII, LIII, LAVR, LAVL, LAVF = (
    LEADS.index(name) for name in ("I", "II", "III", "aVR", "aVL", "aVF")
)
EIGHT = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
DERIVED = ("III", "aVR", "aVL", "aVF")
UV_PER_COUNT = SCP_WRITER_NV_PER_COUNT / 1000.0



@dataclass(frozen=True)
class Facts:
    """What SOURCES.md states (or this test measured) about one real SCP file."""

    leads: tuple[str, ...]
    sampling_hz: float
    n_samples: int
    resolution_uv: float  # every stored value is a multiple of this
    patient_id: str
    acquired_at: datetime
    derived: tuple[str, ...]  # leads that normalization has to derive


FACTS: dict[str, Facts] = {
    "Example.scp": Facts(
        AECG_EXAMPLE_ORDER, 500, 5000, 2.5, "SBJ-123", datetime(2002, 11, 22, 9, 10, 0), ()
    ),
    # SOURCES.md says 10 001 samples: section 3 declares samples 0..10000, but sample numbers
    # are 1-based and section 6 holds 20 000 bytes (10 000 int16 samples) per lead.
    "demo.scp": Facts(
        EIGHT, 1000, 10_000, 0.183, "12-678-QW", datetime(2004, 6, 24, 16, 52, 16), DERIVED
    ),
}


@real_ecg
def test_every_real_scp_file_has_facts() -> None:
    assert {path.name for path in SCP_DIR.glob("*.scp")} == set(FACTS)


@real_ecg
@pytest.mark.parametrize("name", sorted(FACTS))
def test_real_scp_file_reads_and_normalizes(name: str) -> None:
    facts = FACTS[name]
    record = read_ecg(SCP_DIR / name, "scp-ecg")
    check_stored_facts(record, "scp-ecg", facts)

    report = normalize_with_report(record)
    contract = check_waveform(report.signal_uv)
    assert contract.shape == (12, N_SAMPLES) and contract.dtype == np.int16
    assert report.derived_leads == facts.derived
    assert report.n_clipped == 0
    qrs_ptp = band_ptp(contract)
    assert 150 <= np.median(qrs_ptp) <= 5000, qrs_ptp
    signal = contract.astype(np.float64)
    assert np.abs(signal[LIII] - (signal[LII] - signal[LI])).max() <= ROUNDING_UV


@real_ecg
def test_demo_declares_a_zero_based_first_sample() -> None:
    sections = _read_sections((SCP_DIR / "demo.scp").read_bytes(), SCP_DIR / "demo.scp")
    n_leads, _flags = struct.unpack_from("<BB", sections[3].body)
    first, last, code = struct.unpack_from("<IIB", sections[3].body, 2)
    lengths = struct.unpack_from(f"<{n_leads}H", sections[6].body, 6)
    assert (n_leads, first, last, code) == (8, 0, 10_000, 1)
    assert set(lengths) == {20_000}  # 10 000 int16 samples, read from "sample 1" to 10 000
    assert 2 not in sections  # no Huffman tables: the samples are plain int16


@real_ecg
def test_example_scp_equals_its_aecg_twin_sample_for_sample() -> None:
    scp = read_ecg(SCP_DIR / "Example.scp", "scp-ecg")
    aecg = read_ecg(REAL / "hl7-aecg" / "Example_aECG.xml", "hl7-aecg")
    assert scp.leads == aecg.leads
    assert scp.sampling_hz == aecg.sampling_hz
    assert scp.signal_uv.shape == aecg.signal_uv.shape
    # Measured: no time offset and not a single sample differs (ECGConversion kept the counts).
    assert np.array_equal(scp.signal_uv, aecg.signal_uv)
    lead_ii = scp.leads.index("II")
    a, b = scp.signal_uv[lead_ii], aecg.signal_uv[lead_ii]
    lags = range(-25, 26)
    errors = [np.abs(a[25 + lag : 4975 + lag] - b[25:4975]).max() for lag in lags]
    assert lags[int(np.argmin(errors))] == 0 and min(errors) == 0
    for index in range(len(scp.leads)):
        assert np.corrcoef(scp.signal_uv[index], aecg.signal_uv[index])[0, 1] >= 0.999


@real_ecg
def test_example_scp_limb_leads_obey_einthoven_and_goldberger() -> None:
    record = read_ecg(SCP_DIR / "Example.scp", "scp-ecg")
    lead = dict(zip(record.leads, record.signal_uv, strict=True))
    assert np.array_equal(lead["III"], lead["II"] - lead["I"])
    half_count = 1.25  # the device rounded the augmented leads to whole 2.5 uV counts
    assert np.abs(lead["aVR"] + (lead["I"] + lead["II"]) / 2).max() <= half_count
    assert np.abs(lead["aVL"] - (lead["I"] - lead["II"] / 2)).max() <= half_count
    assert np.abs(lead["aVF"] - (lead["II"] - lead["I"] / 2)).max() <= half_count


# ---------------------------------------------------------------- Huffman and differences


def test_decoder_reproduces_the_standards_worked_example() -> None:
    # The worked example of the SCP-ECG standard (prEN 1064:2002), with the byte corrections
    # noted by the PixelMed decoder: default table, second differences, multiplier 1.
    stream = bytes.fromhex("ff837fe0e6f1536559b65b964b9600")
    expected = [13, 14, 15, 14, 16, 18, 19, 20, 22, 22, 23, 23, 23, 22, 22, 20, 17, 15, 12, 8,
                6, 3, 1, 0, -2, -2, -3, -3]
    values = huffman_decode([stream], [DEFAULT_HUFFMAN_TABLE], len(expected))
    assert undo_differences(values, 2)[0].tolist() == expected


@pytest.mark.parametrize("order", [0, 1, 2])
def test_default_huffman_round_trips_every_code_length(order: int) -> None:
    rng = np.random.default_rng(order)
    samples = np.concatenate([
        rng.integers(-9, 10, 300),  # 1- to 10-bit codes
        rng.integers(-200, 200, 300),  # 8-bit escapes
        np.array([32767, -32768, 32767, 0, -32768, -32768, 1000, -30000]),  # 16-bit, wrapping
    ]).astype(np.int64)
    if order == 0:
        values = samples
    elif order == 1:
        values = (np.diff(samples, prepend=0) + 32768) % 65536 - 32768
    else:
        values = second_differences(samples)
    streams = [encode_default_huffman(values), encode_default_huffman(values[::-1])]
    decoded = huffman_decode(streams, [DEFAULT_HUFFMAN_TABLE], samples.size)
    assert np.array_equal(decoded[0], values) and np.array_equal(decoded[1], values[::-1])
    assert np.array_equal(undo_differences(decoded[0], order), samples)


def _bits_to_bytes(bits: str) -> bytes:
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


# Two tables: table 0 codes small values and switches to table 1 (which codes +-100 runs).
SWITCHING_TABLES = [
    (
        HuffmanCode(1, 1, False, 0, 0b0),
        HuffmanCode(2, 2, False, 1, 0b10),
        HuffmanCode(3, 3, True, 1, 0b110),  # switch to table 1
        HuffmanCode(3, 11, False, 0, 0b111),  # an 8-bit original value follows
    ),
    (
        HuffmanCode(1, 1, False, 100, 0b0),
        HuffmanCode(2, 2, False, -100, 0b10),
        HuffmanCode(2, 2, True, 0, 0b11),  # back to table 0
    ),
]
SWITCHING_BITS = "10" + "110" + "0" + "10" + "0" + "11" + "0" + "111" + "11111110" + "10"
SWITCHING_VALUES = [1, 100, -100, 100, 0, -2, 1]


def test_custom_tables_with_table_switches_decode() -> None:
    stream = _bits_to_bytes(SWITCHING_BITS)
    decoded = huffman_decode([stream, stream], SWITCHING_TABLES, len(SWITCHING_VALUES))
    assert decoded.tolist() == [SWITCHING_VALUES, SWITCHING_VALUES]


def test_huffman_decoder_names_the_bad_stream() -> None:
    long_enough = encode_default_huffman(np.arange(60))
    too_short = encode_default_huffman(np.arange(-20, 20))  # 40 values + up to 7 padding zeros
    with pytest.raises(HuffmanDecodeError, match=r"data ends after 4\d of 60") as caught:
        huffman_decode([long_enough, too_short], [DEFAULT_HUFFMAN_TABLE], 60)
    assert caught.value.stream == 1
    table = (HuffmanCode(1, 1, False, 0, 0b0), HuffmanCode(2, 2, False, 1, 0b10))
    with pytest.raises(HuffmanDecodeError, match="invalid Huffman code after 2 of 4"):
        huffman_decode([_bits_to_bytes("0" + "10" + "11")], [table], 4)
    overlapping = (HuffmanCode(1, 1, False, 0, 0b0), HuffmanCode(2, 2, False, 1, 0b00))
    with pytest.raises(HuffmanDecodeError, match="not a prefix code"):
        huffman_decode([b"\0"], [overlapping], 1)


# ---------------------------------------------------------------- writer round trips


@pytest.fixture(scope="module")
def contract_ecg() -> np.ndarray:
    return synthetic_contract_ecg()


@pytest.mark.parametrize("huffman", [True, False])
def test_round_trip_within_one_count(
    tmp_path: Path, contract_ecg: np.ndarray, huffman: bool
) -> None:
    path = write_scp_ecg(
        tmp_path / "ecg.scp", contract_ecg, SAMPLING_HZ, "Zoë-7", ACQUIRED, huffman=huffman
    )
    record = read_round_trip(path, "scp-ecg", SCP_STORED_LEADS, "Zoë-7", ACQUIRED)
    stored = [LEADS.index(name) for name in SCP_STORED_LEADS]
    expected_counts = np.rint(contract_ecg[stored] / UV_PER_COUNT)
    assert np.array_equal(record.signal_uv / UV_PER_COUNT, expected_counts)  # counts are exact
    assert np.abs(record.signal_uv - contract_ecg[stored]).max() <= UV_PER_COUNT / 2

    report = normalize_with_report(record)
    assert report.derived_leads == DERIVED
    error = np.abs(report.signal_uv.astype(np.float64) - contract_ecg)
    derived = [LIII, LAVR, LAVL, LAVF]
    assert error[stored].max() <= UV_PER_COUNT / 2 + 0.5  # quantization + rounding
    assert error[derived].max() <= UV_PER_COUNT + ROUNDING_UV


def test_huffman_file_is_smaller_and_decodes_like_raw(
    tmp_path: Path, contract_ecg: np.ndarray
) -> None:
    coded = write_scp_ecg(tmp_path / "h.scp", contract_ecg, SAMPLING_HZ, None, None)
    raw = write_scp_ecg(tmp_path / "r.scp", contract_ecg, SAMPLING_HZ, None, None, huffman=False)
    assert coded.stat().st_size < 0.6 * raw.stat().st_size
    a, b = read_ecg(coded, "scp-ecg"), read_ecg(raw, "scp-ecg")
    assert np.array_equal(a.signal_uv, b.signal_uv)
    assert a.patient_id is None and a.acquired_at is None
    sections = _read_sections(coded.read_bytes(), coded)
    assert sorted(sections) == [0, 1, 2, 3, 6]
    assert sections[2].body == struct.pack("<H", 19999)
    assert sections[3].body[:2] == bytes([8, 0x44])  # 8 leads, all simultaneous, no subtraction
    assert coded.read_bytes()[16:22] == b"SCPECG"  # section 0 reserved bytes


def test_writer_keeps_wall_clock_time_and_accepts_other_rates(
    tmp_path: Path, contract_ecg: np.ndarray
) -> None:
    aware = ACQUIRED.replace(tzinfo=timezone(timedelta(hours=2)))
    signal = np.repeat(contract_ecg, 2, axis=1)  # 1000 Hz
    path = write_scp_ecg(tmp_path / "k.scp", signal, 1000, "PT-1", aware)
    record = read_ecg(path, "scp-ecg")
    assert record.sampling_hz == 1000 and record.n_samples == 2 * N_SAMPLES
    assert record.acquired_at == ACQUIRED  # the UTC offset is not stored
    assert normalize_to_contract(record).shape == (12, N_SAMPLES)


def test_writer_refuses_what_scp_cannot_hold(tmp_path: Path, contract_ecg: np.ndarray) -> None:
    with pytest.raises(ValueError, match="whole microseconds"):
        write_scp_ecg(tmp_path / "a.scp", contract_ecg, 1024, None, None)
    with pytest.raises(ValueError, match="contract lead order"):
        write_scp_ecg(tmp_path / "b.scp", contract_ecg[:8], SAMPLING_HZ, None, None)
    with pytest.raises(ValueError, match="int16 range"):
        write_scp_ecg(tmp_path / "c.scp", contract_ecg * 1000.0, SAMPLING_HZ, None, None)
    with pytest.raises(ValueError, match="Latin-1"):
        write_scp_ecg(tmp_path / "d.scp", contract_ecg, SAMPLING_HZ, "患者", None)


# ---------------------------------------------------------------- damaged and unsupported files


@pytest.fixture()
def scp_file(tmp_path: Path, contract_ecg: np.ndarray) -> Path:
    return write_scp_ecg(tmp_path / "good.scp", contract_ecg, SAMPLING_HZ, "PT-9", ACQUIRED)


def _bodies(path: Path) -> dict[int, bytes]:
    return {
        number: section.body
        for number, section in _read_sections(path.read_bytes(), path).items()
        if number != 0
    }


def _with_file_crc(data: bytes) -> bytes:
    return struct.pack("<H", _crc(data[2:])) + data[2:]


def test_truncated_files_are_refused(scp_file: Path) -> None:
    data = scp_file.read_bytes()
    scp_file.write_bytes(data[: len(data) - 1000])
    with pytest.raises(EcgFileError, match=r"good\.scp: .*truncated"):
        read_ecg(scp_file, "scp-ecg")
    # The same cut with a consistent file header: section 6 now points past the end.
    cut = bytearray(data[: len(data) - 1000])
    struct.pack_into("<I", cut, 2, len(cut))
    scp_file.write_bytes(_with_file_crc(bytes(cut)))
    with pytest.raises(EcgFileError, match=r"section 6 .* beyond the end .*truncated"):
        read_ecg(scp_file, "scp-ecg")


def test_flipped_bytes_fail_the_crc_checks(scp_file: Path) -> None:
    data = bytearray(scp_file.read_bytes())
    data[len(data) // 2] ^= 0x10
    scp_file.write_bytes(bytes(data))
    with pytest.raises(EcgFileError, match=r"good\.scp: file CRC"):
        read_ecg(scp_file, "scp-ecg")
    scp_file.write_bytes(_with_file_crc(bytes(data)))  # file CRC fixed, section CRC still wrong
    with pytest.raises(EcgFileError, match=r"good\.scp: section 6 CRC"):
        read_ecg(scp_file, "scp-ecg")


@real_ecg
def test_not_an_scp_file_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.scp"
    text.write_text("This is not an ECG, just a text file that is long enough to parse.\n" * 3)
    empty = tmp_path / "empty.scp"
    empty.write_bytes(b"")
    for path in (text, empty, REAL / "hl7-aecg" / "Example_aECG.xml"):
        with pytest.raises(EcgFileError, match=path.name):
            read_ecg(path, "scp-ecg")
    with pytest.raises(EcgFileError, match="missing.scp"):
        read_ecg(tmp_path / "missing.scp", "scp-ecg")


@pytest.mark.parametrize(
    ("section", "offset", "value", "message"),
    [
        (6, 5, 1, "bimodal compression"),
        (3, 1, 0x45, "reference-beat subtraction"),
        (3, 2 + 9 + 4, 4999, "different sample ranges"),  # lead II ends one sample early
        (6, 4, 3, "unknown difference encoding 3"),
    ],
)
def test_unsupported_features_are_refused_by_name(
    scp_file: Path, section: int, offset: int, value: int, message: str
) -> None:
    bodies = _bodies(scp_file)
    body = bytearray(bodies[section])
    if value > 255:
        struct.pack_into("<I", body, offset, value)
    else:
        body[offset] = value
    bodies[section] = bytes(body)
    scp_file.write_bytes(_assemble(bodies))  # valid CRCs: only the feature is wrong
    with pytest.raises(EcgFileError, match=rf"good\.scp: .*{message}"):
        read_ecg(scp_file, "scp-ecg")


def test_file_with_custom_huffman_tables_reads(tmp_path: Path) -> None:
    table_bytes = b"".join(
        struct.pack("<H", len(table))
        + b"".join(
            struct.pack(
                "<BBBhI", code.prefix_bits, code.total_bits, 0 if code.switch else 1,
                code.base_value, int(f"{code.code:0{code.prefix_bits}b}"[::-1], 2),
            )
            for code in table
        )
        for table in SWITCHING_TABLES
    )
    stream = _bits_to_bytes(SWITCHING_BITS)
    n = len(SWITCHING_VALUES)
    bodies = {
        2: struct.pack("<H", len(SWITCHING_TABLES)) + table_bytes,
        3: struct.pack("<BBIIBIIB", 2, 0x14, 1, n, 1, 1, n, 2),  # leads I and II
        6: struct.pack("<HHBB2H", 1000, 4000, 0, 0, len(stream), len(stream)) + stream * 2,
    }
    path = tmp_path / "custom.scp"
    path.write_bytes(_assemble(bodies))
    record = read_ecg(path, "scp-ecg")
    assert record.leads == ("I", "II") and record.sampling_hz == 250
    assert record.patient_id is None and record.acquired_at is None
    assert record.signal_uv.tolist() == [SWITCHING_VALUES, SWITCHING_VALUES]  # 1000 nV = 1 uV


@real_ecg
def test_random_damage_with_valid_crcs_is_read_or_refused_cleanly(scp_file: Path) -> None:
    sources = [_bodies(scp_file), _bodies(SCP_DIR / "Example.scp")]
    rng = np.random.default_rng(5)
    refused = 0
    for trial in range(100):
        bodies = dict(sources[trial % 2])
        number = sorted(bodies)[int(rng.integers(len(bodies)))]
        body = bytearray(bodies[number])
        for _ in range(int(rng.integers(1, 4))):  # damage the fields at the start of a section
            body[int(rng.integers(min(len(body), 64)))] = int(rng.integers(256))
        bodies[number] = bytes(body)
        scp_file.write_bytes(_assemble(bodies))  # CRCs recomputed: the parsers see the damage
        try:
            record = read_ecg(scp_file, "scp-ecg")
        except EcgFileError:
            refused += 1
        else:
            assert isinstance(record, EcgRecord)
    assert refused > 0
