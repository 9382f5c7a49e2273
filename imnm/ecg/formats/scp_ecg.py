"""SCP-ECG (EN 1064 / ISO 11073-91064): reader and writer for the rhythm data (section 6).

No SCP-ECG reader is maintained on PyPI, so this is our own parser of the public standard,
written with `struct` and numpy and checked against the real sample files and against the
reference implementations (C# ECG Toolkit "ECGConversion", BioSig, PixelMed) for the details
the standard leaves implicit.

File layout (all integers little-endian):

* File header: CRC-CCITT (polynomial 0x1021, start 0xFFFF) over the rest of the file, then
  the total file length (uint32).
* Every section starts with a 16-byte ID header: CRC-CCITT over the rest of the section,
  section id, section length (header included), section version, protocol version and six
  reserved bytes ("SCPECG" in section 0).
* Section 0 is the pointer table: (id uint16, length uint32, 1-based byte index uint32).
* Section 1 is tagged (tag uint8, length uint16, value): patient id = tag 2, acquisition
  date = tag 25 (year uint16, month, day), time = tag 26 (hour, minute, second), tag 14 byte
  16 = language support code of the text fields; tag 255 ends the list.
* Section 2 holds the Huffman tables; 19999 tables means "the default table of the standard".
  Codes in a table are stored bit-reversed; the data bit stream is read MSB first.
* Section 3 defines the leads: count, flags (bit 0 reference-beat subtraction, bit 2 all leads
  simultaneous), then per lead first sample, last sample (1-based) and lead code
  (1 = I, 2 = II, 3-8 = V1-V6, 61-64 = III, aVR, aVL, aVF; other codes are not standard leads
  and are dropped, including the "derived" codes such as 31-38 and 111-114).
* Section 6 holds the rhythm: amplitude multiplier (nV per count), sample interval (us),
  difference encoding (0 none, 1 first, 2 second difference), bimodal flag, the byte length of
  each lead, then each lead's bytes: Huffman-coded, or int16 when there is no section 2.

The reader returns section 6 (the rhythm) as stored: leads in file order, microvolts, the
file's own rate. Huffman decoding is vectorized (each bit position's code is looked up at once,
then the chain of code starts is followed by pointer doubling), so no Python loop runs per bit
or per sample. Refused with `EcgFileError`, naming the file and the reason: bad CRCs, truncated
files or sections, bimodal compression, reference-beat subtraction (section 3 bit 0: the rhythm
would need the reference beat of sections 4/5 added back; neither real sample uses it), leads
covering different sample ranges, and files without section 6.

One leniency: sample numbers in section 3 are 1-based, but some writers (demo.scp from ECG
Viewer) start at 0; a first sample of 0 is read as 1, which matches the data actually stored.

The writer stores the 8 independent leads (I, II, V1-V6) like most SCP devices, at 5000 nV
(5 uV) per count, second-difference + default-Huffman encoded (or raw int16), SCP-ECG v2.0
headers with correct CRCs. The acquisition time is written as its wall-clock date and time
(tags 25 and 26); the time-zone tag (34) is neither written nor read, so an aware time loses
its UTC offset, as in GE MUSE files.
"""

from __future__ import annotations

import binascii
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from imnm.ecg.contract import LEADS
from imnm.ecg.formats import (
    SCP_LEAD_CODES,
    EcgFileError,
    EcgRecord,
    check_contract_signal,
    select_standard_leads,
    writer_counts,
)

SOURCE_FORMAT = "scp-ecg"
SCP_WRITER_NV_PER_COUNT = 5000
SCP_STORED_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
DEFAULT_HUFFMAN_TABLES = 19999

# SCP-ECG lead codes of the 12 standard leads (section 3, ECG Toolkit `LeadType` numbering).
LEAD_CODES: dict[int, str] = SCP_LEAD_CODES
_CODE_OF_LEAD: dict[str, int] = {name: code for code, name in LEAD_CODES.items()}

_FILE_HEADER = struct.Struct("<HI")
_SECTION_HEADER = struct.Struct("<HHIBB6s")
_POINTER = struct.Struct("<HII")
_LEAD_ENTRY = struct.Struct("<IIB")
_RHYTHM_HEADER = struct.Struct("<HHBB")
_HUFFMAN_ENTRY = struct.Struct("<BBBhI")
_N_POINTERS = 12  # sections 0-11 always have a pointer entry, present or not
_VERSION = 20  # SCP-ECG v2.0 section and protocol version bytes
_INT16_SPAN = 1 << 16
_MAX_CODE_BITS = 32
# Section 1 tag 14 byte 16: language support code -> Python codec of the text fields.
_TEXT_CODECS: dict[int, str] = {
    0x00: "ascii", 0x01: "latin-1", 0x03: "iso8859-2", 0x0B: "iso8859-4", 0x13: "iso8859-5",
    0x1B: "iso8859-6", 0x23: "iso8859-7", 0x2B: "iso8859-8", 0x3B: "iso8859-15", 0x37: "utf-8",
}  # other codes (Asian character sets) are read as Latin-1


@dataclass(frozen=True)
class HuffmanCode:
    """One code of a Huffman table: `code` is MSB-first, `total_bits - prefix_bits` raw bits follow.

    A code with `switch` set produces no value; it selects table number `base_value` (0-based,
    as in the reference implementations) for the codes that follow.
    """

    prefix_bits: int
    total_bits: int
    switch: bool
    base_value: int
    code: int


def _default_table() -> tuple[HuffmanCode, ...]:
    """The standard's default table: 0 -> '0', +-k -> k ones, '0', sign; then 8/16-bit escapes."""
    codes = [HuffmanCode(1, 1, False, 0, 0b0)]
    for k in range(1, 9):
        ones = (1 << k) - 1
        codes.append(HuffmanCode(k + 2, k + 2, False, k, ones << 2))
        codes.append(HuffmanCode(k + 2, k + 2, False, -k, (ones << 2) | 1))
    codes.append(HuffmanCode(10, 18, False, 0, 0b1111111110))  # an 8-bit original value follows
    codes.append(HuffmanCode(10, 26, False, 0, 0b1111111111))  # a 16-bit original value follows
    return tuple(codes)


DEFAULT_HUFFMAN_TABLE: tuple[HuffmanCode, ...] = _default_table()


@dataclass(frozen=True)
class _Section:
    id: int
    body: bytes  # the section without its 16-byte ID header


def _crc(data: bytes) -> int:
    """CRC-CCITT as SCP-ECG uses it (CRC-16/CCITT-FALSE: polynomial 0x1021, start 0xFFFF)."""
    return binascii.crc_hqx(data, 0xFFFF)


def _reverse_bits(value: int, width: int) -> int:
    return int(f"{value & ((1 << width) - 1):0{width}b}"[::-1], 2) if width else 0


# ---------------------------------------------------------------- file and sections


def _read_sections(data: bytes, source: Path) -> dict[int, _Section]:
    """Check the file CRC and length, then return every section named in section 0, CRC-checked."""
    size = len(data)
    if size < _FILE_HEADER.size + _SECTION_HEADER.size:
        raise EcgFileError(f"{source}: {size} bytes is too short for an SCP-ECG file")
    stored_crc, declared = _FILE_HEADER.unpack_from(data)
    if declared != size:
        reason = "truncated" if declared > size else "has trailing bytes"
        raise EcgFileError(
            f"{source}: header declares {declared} bytes but the file has {size} "
            f"({reason}, or not an SCP-ECG file)"
        )
    if _crc(data[2:]) != stored_crc:
        raise EcgFileError(f"{source}: file CRC check failed (corrupted, or not an SCP-ECG file)")
    pointer_section = _section_at(data, _FILE_HEADER.size, None, 0, source)
    body = pointer_section.body
    if len(body) % _POINTER.size:
        raise EcgFileError(f"{source}: section 0 length {len(body)} is not a pointer table")
    sections: dict[int, _Section] = {0: pointer_section}
    for offset in range(0, len(body), _POINTER.size):
        section_id, length, index = _POINTER.unpack_from(body, offset)
        if length == 0 or section_id == 0:
            continue
        if index < 1 or index - 1 + length > size:
            raise EcgFileError(
                f"{source}: section {section_id} ({length} bytes at byte {index}) lies beyond "
                f"the end of the {size}-byte file (truncated)"
            )
        if section_id in sections:
            raise EcgFileError(f"{source}: section {section_id} appears twice in section 0")
        sections[section_id] = _section_at(data, index - 1, length, section_id, source)
    return sections


def _section_at(
    data: bytes, start: int, length: int | None, section_id: int, source: Path
) -> _Section:
    if start + _SECTION_HEADER.size > len(data):
        raise EcgFileError(f"{source}: section {section_id} header lies beyond the end of file")
    crc, found_id, found_length, _version, _protocol, _reserved = _SECTION_HEADER.unpack_from(
        data, start
    )
    if found_id != section_id:
        raise EcgFileError(
            f"{source}: expected section {section_id} at byte {start + 1}, found id {found_id}"
        )
    if length is not None and found_length != length:
        raise EcgFileError(
            f"{source}: section {section_id} is {found_length} bytes but section 0 says {length}"
        )
    if found_length < _SECTION_HEADER.size or start + found_length > len(data):
        raise EcgFileError(
            f"{source}: section {section_id} length {found_length} is invalid or runs past "
            f"the end of the file (truncated)"
        )
    section = data[start : start + found_length]
    if _crc(section[2:]) != crc:
        raise EcgFileError(f"{source}: section {section_id} CRC check failed (corrupted)")
    return _Section(section_id, section[_SECTION_HEADER.size :])


def _unpack(layout: struct.Struct, body: bytes, offset: int, what: str, source: Path) -> tuple:
    if offset + layout.size > len(body):
        raise EcgFileError(f"{source}: {what} is truncated")
    return layout.unpack_from(body, offset)


# ---------------------------------------------------------------- section 1: demographics


def _tags(body: bytes, source: Path) -> dict[int, bytes]:
    """Section 1 tag -> value (first occurrence), up to the 255 terminator."""
    tags: dict[int, bytes] = {}
    offset = 0
    while offset + 3 <= len(body):
        tag, length = struct.unpack_from("<BH", body, offset)
        if tag == 255:
            break
        offset += 3
        if offset + length > len(body):
            raise EcgFileError(f"{source}: section 1 tag {tag} runs past the end of section 1")
        tags.setdefault(tag, body[offset : offset + length])
        offset += length
    return tags


def _text(value: bytes, codec: str) -> str | None:
    text = value.split(b"\0", 1)[0].decode(codec, errors="replace").strip()
    return text or None


def _acquired_at(tags: dict[int, bytes]) -> datetime | None:
    day = tags.get(25)
    if day is None or len(day) < 4:
        return None
    year, month, dom = struct.unpack_from("<HBB", day)
    clock = tags.get(26, b"")
    hour, minute, second = struct.unpack_from("<BBB", clock) if len(clock) >= 3 else (0, 0, 0)
    try:
        return datetime(year, month, dom, hour, minute, second)
    except ValueError:  # zeroed or out-of-range fields mean "not recorded"
        return None


def _demographics(section: _Section | None, source: Path) -> tuple[str | None, datetime | None]:
    if section is None:
        return None, None
    tags = _tags(section.body, source)
    device = tags.get(14, b"")
    codec = _TEXT_CODECS.get(device[16], "latin-1") if len(device) > 16 else "latin-1"
    patient = tags.get(2)
    return (_text(patient, codec) if patient is not None else None), _acquired_at(tags)


# ---------------------------------------------------------------- sections 2, 3 and 6


def _huffman_tables(
    section: _Section | None, source: Path
) -> list[tuple[HuffmanCode, ...]] | None:
    """The file's Huffman tables, or None when the rhythm is stored as plain int16."""
    if section is None:
        return None
    body = section.body
    (count,) = _unpack(struct.Struct("<H"), body, 0, "section 2", source)
    if count == DEFAULT_HUFFMAN_TABLES:
        return [DEFAULT_HUFFMAN_TABLE]
    if count == 0:
        return None
    tables: list[tuple[HuffmanCode, ...]] = []
    offset = 2
    for number in range(count):
        (n_codes,) = _unpack(struct.Struct("<H"), body, offset, "section 2", source)
        offset += 2
        codes: list[HuffmanCode] = []
        for _ in range(n_codes):
            prefix, total, mode, base, reversed_code = _unpack(
                _HUFFMAN_ENTRY, body, offset, "section 2 Huffman table", source
            )
            offset += _HUFFMAN_ENTRY.size
            if not 1 <= prefix <= total <= _MAX_CODE_BITS:
                raise EcgFileError(
                    f"{source}: Huffman table {number} has a code of {prefix}/{total} bits"
                )
            code = _reverse_bits(reversed_code, prefix)
            codes.append(HuffmanCode(prefix, total, mode == 0, base, code))
        tables.append(tuple(codes))
    return tables


@dataclass(frozen=True)
class _LeadLayout:
    codes: tuple[int, ...]
    n_samples: int


def _lead_layout(section: _Section | None, source: Path) -> _LeadLayout:
    if section is None:
        raise EcgFileError(f"{source}: no lead definition (section 3)")
    body = section.body
    n_leads, flags = _unpack(struct.Struct("<BB"), body, 0, "section 3", source)
    if flags & 0x01:
        raise EcgFileError(
            f"{source}: uses reference-beat subtraction (section 3 flag), which this reader "
            f"does not support"
        )
    ranges: list[tuple[int, int]] = []
    codes: list[int] = []
    for lead in range(n_leads):
        start, end, code = _unpack(
            _LEAD_ENTRY, body, 2 + lead * _LEAD_ENTRY.size, "section 3 lead table", source
        )
        ranges.append((max(start, 1), end))  # 0 is an off-by-one of some writers: read as 1
        codes.append(code)
    if not ranges:
        raise EcgFileError(f"{source}: section 3 defines no leads")
    if len(set(ranges)) != 1:
        raise EcgFileError(
            f"{source}: leads cover different sample ranges {sorted(set(ranges))} (not recorded "
            f"simultaneously); this reader needs one common range"
        )
    first, last = ranges[0]
    if last < first:
        raise EcgFileError(f"{source}: section 3 lead range {first}-{last} is empty")
    return _LeadLayout(tuple(codes), last - first + 1)


@dataclass(frozen=True)
class _Rhythm:
    nv_per_count: int
    interval_us: int
    difference: int
    blocks: tuple[bytes, ...]


def _rhythm(section: _Section | None, n_leads: int, source: Path) -> _Rhythm:
    if section is None:
        raise EcgFileError(f"{source}: no rhythm data (section 6)")
    body = section.body
    nv, interval, difference, bimodal = _unpack(_RHYTHM_HEADER, body, 0, "section 6", source)
    if bimodal:
        raise EcgFileError(
            f"{source}: uses bimodal compression (section 6), which this reader does not support"
        )
    if difference not in (0, 1, 2):
        raise EcgFileError(f"{source}: unknown difference encoding {difference} in section 6")
    if nv == 0 or interval == 0:
        raise EcgFileError(
            f"{source}: section 6 amplitude multiplier ({nv} nV) or sample interval "
            f"({interval} us) is zero"
        )
    lengths_layout = struct.Struct(f"<{n_leads}H")
    lengths = _unpack(lengths_layout, body, _RHYTHM_HEADER.size, "section 6 lead lengths", source)
    offset = _RHYTHM_HEADER.size + lengths_layout.size
    if offset + sum(lengths) > len(body):
        raise EcgFileError(
            f"{source}: section 6 lead data ({sum(lengths)} bytes) runs past the end of the "
            f"section (truncated)"
        )
    blocks: list[bytes] = []
    for length in lengths:
        blocks.append(body[offset : offset + length])
        offset += length
    return _Rhythm(nv, interval, difference, tuple(blocks))


# ---------------------------------------------------------------- decoding


def _words(data: bytes) -> np.ndarray:
    """For every byte of `data`, the 8 bytes from there on as one big-endian uint64 (0-padded)."""
    padded = np.concatenate([np.frombuffer(data, dtype=np.uint8), np.zeros(8, dtype=np.uint8)])
    n_bytes = len(data)
    words = np.zeros(n_bytes, dtype=np.uint64)
    for offset in range(8):
        words = (words << np.uint64(8)) | padded[offset : offset + n_bytes]
    return words


def _bit_fields(words: np.ndarray, start: np.ndarray, width: np.ndarray | int) -> np.ndarray:
    """The `width`-bit (at most 56) MSB-first unsigned field at each bit offset `start`."""
    width = np.asarray(width, dtype=np.uint64)
    start = np.asarray(start, dtype=np.int64)
    shift = np.uint64(64) - width - (start & 7).astype(np.uint64)
    return (words[start >> 3] >> shift) & ((np.uint64(1) << width) - np.uint64(1))


_LOOKUP_MAX_BITS = 20  # prefix lookup by table up to 2**20 entries, by binary search beyond


def _match_codes(words: np.ndarray, table: Sequence[HuffmanCode], number: int) -> np.ndarray:
    """Index into `table` of the code starting at every bit, -1 where no code matches."""
    width = max(code.prefix_bits for code in table)
    starts = np.array([code.code << (width - code.prefix_bits) for code in table], dtype=np.uint64)
    spans = np.array([1 << (width - code.prefix_bits) for code in table], dtype=np.uint64)
    order = np.argsort(starts, kind="stable")
    sorted_starts, sorted_ends = starts[order], starts[order] + spans[order]
    if np.any(sorted_starts[1:] < sorted_ends[:-1]) or np.any(sorted_ends > (1 << width)):
        raise HuffmanDecodeError(f"Huffman table {number} is not a prefix code")
    shifts = (64 - width - np.arange(8)).astype(np.uint64)  # the 8 bit offsets in each byte
    window = ((words[:, None] >> shifts) & np.uint64((1 << width) - 1)).ravel()
    if width <= _LOOKUP_MAX_BITS:
        lookup = np.full(1 << width, -1, dtype=np.intp)
        for index, code in enumerate(table):
            first = code.code << (width - code.prefix_bits)
            lookup[first : first + (1 << (width - code.prefix_bits))] = index
        return lookup[window]
    slot = np.searchsorted(sorted_starts, window, side="right") - 1
    found = (slot >= 0) & (window < sorted_ends[np.maximum(slot, 0)])
    return np.where(found, order[np.maximum(slot, 0)], -1)


_MAX_NODES = 1 << 22  # bits x tables decoded at once: bounds memory to a few hundred MB


class HuffmanDecodeError(ValueError):
    """A Huffman bit stream does not decode to the expected number of values."""

    def __init__(self, message: str, stream: int | None = None) -> None:
        super().__init__(message)
        self.stream = stream  # index of the offending stream, when one is to blame


def huffman_decode(
    streams: Sequence[bytes], tables: Sequence[Sequence[HuffmanCode]], n_values: int
) -> np.ndarray:
    """Decode `n_values` values from each byte stream (one per lead); returns (leads, n) int64.

    Every bit position is matched against every table at once; the chain of code starts from
    each stream's first bit is then followed by pointer doubling, so no Python loop runs per
    bit or per value. Decoding starts in table 0. Raises `HuffmanDecodeError` naming the stream.
    """
    if not tables or any(not table for table in tables):
        raise HuffmanDecodeError("no Huffman codes to decode with")
    for number, stream in enumerate(streams):
        if 8 * len(stream) < n_values:  # every code takes at least one bit
            raise HuffmanDecodeError(
                f"{len(stream)} bytes cannot hold {n_values} values (truncated)", number
            )
        if 8 * len(stream) * len(tables) > _MAX_NODES:
            raise HuffmanDecodeError(
                f"{len(stream)} bytes x {len(tables)} Huffman tables is too large to decode",
                number,
            )
    groups: list[list[int]] = []
    group_nodes = _MAX_NODES
    for number, stream in enumerate(streams):  # batch streams, bounded in size
        nodes = 8 * len(stream) * len(tables)
        if group_nodes + nodes > _MAX_NODES:
            groups.append([])
            group_nodes = 0
        groups[-1].append(number)
        group_nodes += nodes
    decoded = [
        _decode_streams([streams[i] for i in group], group[0], tables, n_values)
        for group in groups
    ]
    return np.vstack(decoded) if decoded else np.zeros((0, n_values), dtype=np.int64)


def _decode_streams(
    streams: Sequence[bytes], first_number: int, tables: Sequence[Sequence[HuffmanCode]],
    n_values: int,
) -> np.ndarray:
    n_streams = len(streams)
    if n_values == 0:
        return np.zeros((n_streams, 0), dtype=np.int64)
    data = b"".join(streams)
    n_bits = 8 * len(data)
    n_nodes = len(tables) * n_bits
    sizes = np.array([8 * len(stream) for stream in streams], dtype=np.intp)
    first_bit = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    stream_end = np.repeat(first_bit + sizes, sizes)  # end bit of the stream holding each bit
    words = _words(data)

    flat = [code for table in tables for code in table]
    table_offset = np.cumsum([0] + [len(table) for table in tables])
    prefix_bits = np.array([code.prefix_bits for code in flat], dtype=np.intp)
    total_bits = np.array([code.total_bits for code in flat], dtype=np.intp)
    switches = np.array([code.switch for code in flat], dtype=bool)
    base_values = np.array([code.base_value for code in flat], dtype=np.int64)
    targets = np.array(
        [code.base_value if code.switch else number
         for number, table in enumerate(tables) for code in table],
        dtype=np.intp,
    )
    if np.any(switches & ((targets < 0) | (targets >= len(tables)))):
        raise HuffmanDecodeError("a table-switch code names a Huffman table that does not exist")
    step = np.where(switches, prefix_bits, total_bits)

    # Node t * n_bits + p means "a code of table t starts at bit p"; END and ERROR absorb.
    end_node, error_node = n_nodes, n_nodes + 1
    successor = np.empty(n_nodes + 2, dtype=np.intp)
    successor[end_node], successor[error_node] = end_node, error_node
    entry = np.zeros(n_nodes + 2, dtype=np.intp)
    emits = np.zeros(n_nodes + 2, dtype=bool)
    positions = np.arange(n_bits, dtype=np.intp)
    for number, table in enumerate(tables):
        local = _match_codes(words, table, number)
        matched = local >= 0
        code = np.where(matched, local + table_offset[number], 0).astype(np.intp)
        after = positions + step[code]
        following = targets[code] * n_bits + after
        following[after >= stream_end] = end_node
        following[~matched] = error_node
        nodes = slice(number * n_bits, (number + 1) * n_bits)
        successor[nodes] = following
        entry[nodes] = code
        emits[nodes] = matched & (after <= stream_end) & ~switches[code]

    # Follow each stream's chain; without switch codes every code yields a value.
    path_length = n_values if not switches.any() else int(sizes.max()) + 1
    path = first_bit[:, None]
    jump = successor
    while path.shape[1] < path_length:
        path = np.concatenate([path, jump[path]], axis=1)
        if path.shape[1] < path_length:
            jump = jump[jump]
    emitted = emits[path]
    counts = np.cumsum(emitted, axis=1)
    short = np.flatnonzero(counts[:, -1] < n_values)
    if short.size:
        lead = int(short[0])
        got = int(counts[lead, -1])
        problem = "invalid Huffman code" if np.any(path[lead] == error_node) else "data ends"
        raise HuffmanDecodeError(
            f"{problem} after {got} of {n_values} values (corrupted or truncated)",
            first_number + lead,
        )
    chosen = path[emitted & (counts <= n_values)].reshape(n_streams, n_values)
    code = entry[chosen]
    values = base_values[code]
    raw_bits = total_bits[code] - prefix_bits[code]
    raw = raw_bits > 0
    if raw.any():
        width = raw_bits[raw].astype(np.int64)
        field = _bit_fields(words, chosen[raw] % n_bits + prefix_bits[code[raw]], width)
        field = field.astype(np.int64)
        values[raw] = np.where(field >= (1 << (width - 1)), field - (1 << width), field)
    return values


def undo_differences(values: np.ndarray, order: int) -> np.ndarray:
    """Rebuild samples from first or second differences (the first `order` values are samples).

    Second difference: x[n] = d[n] + 2 x[n-1] - x[n-2]. Results wrap to int16, as the standard's
    16-bit arithmetic does, so encoders that wrapped large differences decode exactly.
    """
    values = np.asarray(values, dtype=np.int64)
    if order == 0 or values.shape[-1] <= order:
        samples = values.copy()
    elif order == 1:
        samples = np.cumsum(values, axis=-1)
    elif order == 2:
        slope = values[..., 1:].copy()
        slope[..., 0] -= values[..., 0]  # x[1] - x[0]; later entries are d[n] = slope changes
        samples = values[..., :1] + np.concatenate(
            [np.zeros_like(values[..., :1]), np.cumsum(np.cumsum(slope, axis=-1), axis=-1)],
            axis=-1,
        )
    else:
        raise ValueError(f"difference order must be 0, 1 or 2, got {order}")
    return (samples + (_INT16_SPAN // 2)) % _INT16_SPAN - (_INT16_SPAN // 2)


def _decode_rhythm(
    rhythm: _Rhythm,
    tables: list[tuple[HuffmanCode, ...]] | None,
    selected: list[tuple[int, str]],
    n_samples: int,
    source: Path,
) -> np.ndarray:
    streams = [rhythm.blocks[index] for index, _ in selected]
    if tables is None:
        for (_, name), stream in zip(selected, streams, strict=True):
            if len(stream) < 2 * n_samples:
                raise EcgFileError(
                    f"{source}: lead {name} has {len(stream)} bytes for {n_samples} int16 "
                    f"samples (truncated)"
                )
        values = np.vstack(
            [np.frombuffer(stream[: 2 * n_samples], dtype="<i2") for stream in streams]
        ).astype(np.int64)
    else:
        try:
            values = huffman_decode(streams, tables, n_samples)
        except HuffmanDecodeError as exc:
            where = "" if exc.stream is None else f" lead {selected[exc.stream][1]}"
            raise EcgFileError(f"{source}: section 6{where}: {exc}") from None
    return undo_differences(values, rhythm.difference)


def read_scp_ecg(path: Path) -> EcgRecord:
    """Read the rhythm (section 6) of an SCP-ECG file in microvolts, standard leads in file order.

    Raises `EcgFileError` for damaged files and for SCP features this reader does not support.
    """
    path = Path(path)
    sections = _read_sections(path.read_bytes(), path)
    layout = _lead_layout(sections.get(3), path)
    rhythm = _rhythm(sections.get(6), len(layout.codes), path)
    tables = _huffman_tables(sections.get(2), path)
    names = [LEAD_CODES.get(code, f"SCP lead code {code}") for code in layout.codes]
    selected = select_standard_leads(names, path)
    if not selected:
        raise EcgFileError(f"{path}: no standard leads among SCP lead codes {list(layout.codes)}")
    counts = _decode_rhythm(rhythm, tables, selected, layout.n_samples, path)
    patient_id, acquired_at = _demographics(sections.get(1), path)
    return EcgRecord(
        signal_uv=counts * (rhythm.nv_per_count / 1000.0),
        leads=tuple(name for _, name in selected),
        sampling_hz=1e6 / rhythm.interval_us,
        patient_id=patient_id,
        acquired_at=acquired_at,
        source_format=SOURCE_FORMAT,
    )


# ---------------------------------------------------------------- encoding


def second_differences(samples: np.ndarray) -> np.ndarray:
    """SCP second differences of int16 samples (first two kept as is), wrapped to int16."""
    x = np.asarray(samples, dtype=np.int64)
    d = x.copy()
    d[2:] = x[2:] - 2 * x[1:-1] + x[:-2]
    return (d + (_INT16_SPAN // 2)) % _INT16_SPAN - (_INT16_SPAN // 2)


def encode_default_huffman(values: np.ndarray) -> bytes:
    """Encode int16-range values with the standard's default Huffman table, MSB first, 0-padded."""
    v = np.asarray(values, dtype=np.int64)
    if v.size and (v.min() < -32768 or v.max() > 32767):
        raise ValueError("the default Huffman table codes only int16 values")
    magnitude = np.abs(v)
    short = magnitude <= 8
    byte_escape = ~short & (v >= -128) & (v <= 127)
    small = (((np.int64(1) << np.minimum(magnitude, 8)) - 1) << 2) | (v < 0)
    escaped = np.where(
        byte_escape, (0b1111111110 << 8) | (v & 0xFF), (0b1111111111 << 16) | (v & 0xFFFF)
    )
    codes = np.where(short, np.where(v == 0, 0, small), escaped)
    lengths = np.where(short, np.where(v == 0, 1, magnitude + 2), np.where(byte_escape, 18, 26))
    total = int(lengths.sum())
    symbol = np.repeat(np.arange(v.size), lengths)
    within = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    bits = (codes[symbol] >> (lengths[symbol] - 1 - within)) & 1
    return np.packbits(bits.astype(np.uint8)).tobytes()


def _section(section_id: int, body: bytes, reserved: bytes = b"\0" * 6) -> bytes:
    """One section: ID header (CRC over the rest) + body, padded to an even length."""
    if len(body) % 2:
        body += b"\0"
    rest = struct.pack(
        "<HIBB6s", section_id, _SECTION_HEADER.size + len(body), _VERSION, _VERSION, reserved
    ) + body
    return struct.pack("<H", _crc(rest)) + rest


def _assemble(bodies: dict[int, bytes]) -> bytes:
    """File header + section 0 pointer table + the given sections, with all CRCs filled in."""
    pointer_size = _SECTION_HEADER.size + _N_POINTERS * _POINTER.size
    encoded = {number: _section(number, body) for number, body in sorted(bodies.items())}
    index = _FILE_HEADER.size + pointer_size + 1
    pointers = [_POINTER.pack(0, pointer_size, _FILE_HEADER.size + 1)]
    for number in range(1, _N_POINTERS):
        if number in encoded:
            pointers.append(_POINTER.pack(number, len(encoded[number]), index))
            index += len(encoded[number])
        else:
            pointers.append(_POINTER.pack(number, 0, 0))
    extra = [number for number in encoded if number >= _N_POINTERS]
    if extra:
        raise ValueError(f"sections {extra} need pointer entries beyond section 11")
    body = _section(0, b"".join(pointers), reserved=b"SCPECG") + b"".join(encoded.values())
    total = _FILE_HEADER.size + len(body)
    rest = struct.pack("<I", total) + body
    return struct.pack("<H", _crc(rest)) + rest


def _text_field(text: str, encoding: str) -> bytes:
    return text.encode(encoding) + b"\0"


def _demographics_body(patient_id: str | None, acquired_at: datetime | None) -> bytes:
    patient = patient_id or ""
    if "\0" in patient:
        raise ValueError(f"patient_id {patient_id!r} contains a NUL character")
    try:
        encoding, language = ("ascii", 0x00) if patient.isascii() else ("latin-1", 0x01)
        patient_bytes = _text_field(patient, encoding)
    except UnicodeEncodeError:
        raise ValueError(f"patient_id {patient_id!r} is not Latin-1 text") from None
    device = struct.pack(
        "<HHHBB6sBBBBB16s", 0, 0, 0, 0, 255, b"IMNM", _VERSION, 0x00, language, 0x08, 0, b""
    )
    device += bytes([1]) + b"\0"  # analysing program revision: empty
    device += b"\0" + b"imnm\0" + b"imnm scp_ecg\0" + b"imnm\0"  # serial, software x2, maker
    fields = [(2, patient_bytes), (14, device)]
    if acquired_at is not None:
        fields.append((25, struct.pack("<HBB", acquired_at.year, acquired_at.month,
                                       acquired_at.day)))
        fields.append((26, struct.pack("<BBB", acquired_at.hour, acquired_at.minute,
                                       acquired_at.second)))
    body = b"".join(struct.pack("<BH", tag, len(value)) + value for tag, value in fields)
    return body + struct.pack("<BH", 255, 0)


def write_scp_ecg(
    path: Path,
    signal_uv: np.ndarray,
    sampling_hz: float,
    patient_id: str | None,
    acquired_at: datetime | None,
    *,
    huffman: bool = True,
) -> Path:
    """Write a contract-ordered (12, n) microvolt signal as SCP-ECG v2.0: 8 leads at 5 uV/count.

    Like SCP devices, only I, II and V1-V6 are stored; with `huffman` the rhythm is second-
    difference + default-Huffman coded (section 2 = 19999), otherwise plain int16.
    """
    signal = check_contract_signal(signal_uv)
    interval = 1e6 / float(sampling_hz) if sampling_hz > 0 else math.inf
    if not (math.isfinite(interval) and interval == round(interval) and 1 <= interval <= 65535):
        raise ValueError(
            f"SCP-ECG stores the sample interval in whole microseconds; {sampling_hz} Hz is not"
        )
    uv_per_count = SCP_WRITER_NV_PER_COUNT / 1000.0
    rows = [LEADS.index(name) for name in SCP_STORED_LEADS]
    counts = writer_counts(signal[rows], uv_per_count, f"{uv_per_count} uV per count")
    if huffman:
        blocks = [encode_default_huffman(second_differences(lead)) for lead in counts]
    else:
        blocks = [lead.astype("<i2").tobytes() for lead in counts]
    too_long = [len(block) for block in blocks if len(block) > 0xFFFF]
    if too_long:
        raise ValueError(
            f"a lead needs {max(too_long)} bytes; SCP-ECG section 6 allows 65535 per lead"
        )
    n_samples = signal.shape[1]
    n_leads = len(SCP_STORED_LEADS)
    leads = struct.pack("<BB", n_leads, 0x04 | (n_leads << 3)) + b"".join(
        _LEAD_ENTRY.pack(1, n_samples, _CODE_OF_LEAD[name]) for name in SCP_STORED_LEADS
    )
    rhythm = (
        _RHYTHM_HEADER.pack(SCP_WRITER_NV_PER_COUNT, int(interval), 2 if huffman else 0, 0)
        + struct.pack(f"<{n_leads}H", *(len(block) for block in blocks))
        + b"".join(blocks)
    )
    bodies = {1: _demographics_body(patient_id, acquired_at), 3: leads, 6: rhythm}
    if huffman:
        bodies[2] = struct.pack("<H", DEFAULT_HUFFMAN_TABLES)
    path = Path(path)
    path.write_bytes(_assemble(bodies))
    return path
