"""Philips Sierra ECG XML (PageWriter, TraceMasterVue, HeartStart): reader and writer.

The rhythm waveform is `<waveforms><parsedwaveforms>`: base64 text, normally XLI-compressed.
XLI stores one chunk per channel: an 8-byte header (int32 LE size of the compressed data,
int16 LE always 1, int16 LE first delta code) and then LZW data with 10-bit codes, packed
MSB-first, whose dictionary holds codes 0..1022 (256 single bytes first) and where code 1023
ends the chunk. The LZW output is [all high bytes..., all low bytes...] of int16 values: the
first two are samples, the rest are second-difference residuals biased by 64, each one sample
late (the header holds the one for sample 2):
``x[i] = 2 x[i-1] - x[i-2] - r[i]`` with ``r[2] = header``, ``r[i] = code[i-1] - 64``.
The Philips stream has more chunks than leads (16 for 12 leads: the extra ones hold only the
calibration pulse); chunks past `numberofleads` are ignored.

III, aVR, aVL and aVF are stored as residuals from their Einthoven/Goldberger values, in all
three schema versions (1.03, 1.04, 1.04.01). The reader reconstructs them in integer counts as
the reference tools (sixlettervariables/sierra-ecg-tools) do:
``III = II - I - s``, ``aVR = -s - floor((I + II) / 2)``, ``aVL = floor((I - III) / 2) - s``,
``aVF = floor((II + III) / 2) - s``. The real files' stored III and aVR residuals are exactly
zero, and the reconstructed leads match the HL7 aECG conversion of the same recording.

Why not the `sierraecg` package: every vendor XML on this platform goes through one guarded
parser (`imnm.ecg.safe_xml`, size limit, no entities, our error type), whereas `sierraecg`
parses the whole file into a minidom DOM itself; it is a small single-maintainer package,
decodes sample by sample in Python, returns the counts as int16 without the resolution, and
has no writer. XLI is about a hundred lines, so we keep the codec here, vectorised with numpy
except for the inherently sequential LZW loop.

Sampling rate, resolution and lead labels live on `parsedwaveforms` in 1.04/1.04.01
(`samplespersecond`, `resolution`, `leadlabels`, `numberofleads`) and only under
`dataacquisition/signalcharacteristics` in 1.03 (`samplingrate`, `signalresolution`,
`numberchannelsvalid`, lead set STD-12); the reader takes the former and falls back to the
latter. Each real file ends with a 1 mV calibration pulse at 10.7-10.9 s and 0.1 s of zeros.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement

import numpy as np

from imnm.ecg.contract import LEADS
from imnm.ecg.formats import (
    EcgFileError,
    EcgRecord,
    check_contract_signal,
    combine_date_time,
    element_text,
    select_standard_leads,
    write_utf8_xml,
    writer_counts,
)
from imnm.ecg.safe_xml import read_xml_file

SOURCE_FORMAT = "philips-sierra"
NS = "http://www3.medical.philips.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SIERRA_UV_PER_COUNT = 5.0
SCHEMA_VERSION = "1.04"

LZW_CODE_BITS = 10
LZW_STOP_CODE = (1 << LZW_CODE_BITS) - 1  # 1023 ends a chunk
LZW_MAX_CODE = LZW_STOP_CODE - 1  # the dictionary's last entry, 1022
XLI_HEADER = struct.Struct("<ihh")  # compressed size, unknown (always 1), first delta code
XLI_DELTA_BIAS = 64
_XLI_UNKNOWN = 1
_INT16_MIN, _INT16_MAX = -32768, 32767
_CODE_WEIGHTS = 1 << np.arange(LZW_CODE_BITS - 1, -1, -1, dtype=np.int64)
_CODE_SHIFTS = np.arange(LZW_CODE_BITS - 1, -1, -1, dtype=np.int64)

# Lead sets whose channels come in contract order; 1.03 files name no leads otherwise.
_STANDARD_LEAD_SETS = {"STD-12", "10-WIRE"}
_RESIDUAL_LEADS = ("III", "aVR", "aVL", "aVF")
_UNCOMPRESSED = {"", "none", "uncompressed"}


# ---------------------------------------------------------------- XLI codec


def _lzw_decompress(chunk: bytes, max_bytes: int, what: str) -> bytes:
    """Decode one LZW chunk (10-bit MSB-first codes); stop at code 1023 or the last whole code."""
    bits = np.unpackbits(np.frombuffer(chunk, dtype=np.uint8))
    n_codes = bits.size // LZW_CODE_BITS
    codes = bits[: n_codes * LZW_CODE_BITS].reshape(n_codes, LZW_CODE_BITS) @ _CODE_WEIGHTS
    stops = np.flatnonzero(codes == LZW_STOP_CODE)
    if stops.size:
        codes = codes[: stops[0]]
    table = [bytes((value,)) for value in range(256)]
    out = bytearray()
    previous = b""
    for code in codes.tolist():
        if code < len(table):
            entry = table[code]
        elif code == len(table) and previous:  # the code being defined right now (KwKwK)
            entry = previous + previous[:1]
        else:
            raise EcgFileError(f"{what}: LZW code {code} is not defined yet (corrupted data)")
        out += entry
        if previous and len(table) <= LZW_MAX_CODE:
            table.append(previous + entry[:1])
        previous = entry
        if len(out) > max_bytes:
            raise EcgFileError(f"{what}: decompresses to more than {max_bytes} bytes")
    return bytes(out)


def _lzw_compress(data: bytes) -> bytes:
    """Encode bytes as LZW with 10-bit MSB-first codes, end with code 1023, pad to a byte."""
    codes: list[int] = []
    if data:
        table: dict[int, int] = {}  # (prefix code << 8 | next byte) -> code
        next_code = 256
        prefix = data[0]
        for byte in data[1:]:
            key = (prefix << 8) | byte
            code = table.get(key)
            if code is not None:
                prefix = code
                continue
            codes.append(prefix)
            if next_code <= LZW_MAX_CODE:
                table[key] = next_code
                next_code += 1
            prefix = byte
        codes.append(prefix)
    codes.append(LZW_STOP_CODE)
    bits = (np.array(codes, dtype=np.int64)[:, None] >> _CODE_SHIFTS) & 1
    return np.packbits(bits.astype(np.uint8).ravel()).tobytes()


def _undelta(codes: np.ndarray, first: int) -> np.ndarray:
    """Invert XLI's second-difference coding: x[i] = 2 x[i-1] - x[i-2] - r[i], vectorised."""
    out = codes.astype(np.int64)
    if out.size < 3:
        return out
    residual = np.empty(out.size - 2, dtype=np.int64)
    residual[0] = first
    residual[1:] = out[2:-1] - XLI_DELTA_BIAS
    step = (out[1] - out[0]) - np.cumsum(residual)  # first differences x[i] - x[i-1], i >= 2
    out[2:] = out[1] + np.cumsum(step)
    return out


def _delta(counts: np.ndarray) -> tuple[np.ndarray, int]:
    """XLI's second-difference coding of one lead: (codes, first delta code for the header)."""
    samples = counts.astype(np.int64)
    codes = samples.copy()
    first = 0
    if samples.size >= 3:
        residual = 2 * samples[1:-1] - samples[:-2] - samples[2:]  # r[2..n-1]
        first = int(residual[0])
        codes[2:-1] = residual[1:] + XLI_DELTA_BIAS
        codes[-1] = 0  # unused by the decoder; Philips writes 0
    return codes, first


def decode_xli(data: bytes, samples_per_lead: int, source: str | Path) -> list[np.ndarray]:
    """Decode every XLI chunk in `data` into int64 counts; damaged data raises `EcgFileError`.

    `samples_per_lead` bounds the LZW output, so a hostile chunk cannot expand without limit.
    """
    leads: list[np.ndarray] = []
    offset = 0
    max_bytes = 2 * samples_per_lead
    while offset < len(data):
        what = f"{source}: XLI chunk {len(leads) + 1}"
        if len(data) - offset < XLI_HEADER.size:
            raise EcgFileError(f"{what} header is cut off after {len(data) - offset} bytes")
        size, _, first = XLI_HEADER.unpack_from(data, offset)
        offset += XLI_HEADER.size
        if size < 0 or size > len(data) - offset:
            raise EcgFileError(
                f"{what} claims {size} bytes but {len(data) - offset} remain (truncated?)"
            )
        raw = _lzw_decompress(data[offset : offset + size], max_bytes, what)
        offset += size
        if len(raw) % 2:
            raise EcgFileError(f"{what} decodes to an odd number of bytes (corrupted data)")
        half = len(raw) // 2
        octets = np.frombuffer(raw, dtype=np.uint8).astype(np.uint16)
        codes = ((octets[:half] << 8) | octets[half:]).view(np.int16)
        leads.append(_undelta(codes, first))
    return leads


def encode_xli(leads: Iterable[np.ndarray]) -> bytes:
    """Encode integer counts as an XLI stream, one chunk per lead (rows of a 2-D array work).

    Raises `ValueError` when a lead's second differences do not fit XLI's int16 codes.
    """
    stream = bytearray()
    for index, lead in enumerate(leads):
        codes, first = _delta(np.asarray(lead))
        if not _INT16_MIN <= first <= _INT16_MAX or (
            codes.size and (codes.min() < _INT16_MIN or codes.max() > _INT16_MAX)
        ):
            raise ValueError(f"lead {index} changes too steeply for XLI's 16-bit differences")
        words = codes.astype("<i2").view(np.uint16)
        raw = np.concatenate([(words >> 8).astype(np.uint8), (words & 0xFF).astype(np.uint8)])
        packed = _lzw_compress(raw.tobytes())
        stream += XLI_HEADER.pack(len(packed), _XLI_UNKNOWN, first) + packed
    return bytes(stream)


def reconstruct_limb_leads(by_name: dict[str, np.ndarray], source: str | Path) -> None:
    """Replace the stored III/aVR/aVL/aVF residuals in `by_name` (integer counts) in place."""
    stored = [name for name in _RESIDUAL_LEADS if name in by_name]
    if stored and not {"I", "II"} <= by_name.keys():
        raise EcgFileError(f"{source}: {stored} are stored as residuals but I or II is missing")
    lead_i, lead_ii = by_name.get("I"), by_name.get("II")
    if lead_i is None or lead_ii is None:
        return
    if "III" in by_name:
        by_name["III"] = lead_ii - lead_i - by_name["III"]
    if "aVR" in by_name:
        by_name["aVR"] = -by_name["aVR"] - (lead_i + lead_ii) // 2
    if ("aVL" in by_name or "aVF" in by_name) and "III" not in by_name:
        raise EcgFileError(f"{source}: aVL/aVF are stored as residuals of III, which is missing")
    if "aVL" in by_name:
        by_name["aVL"] = (lead_i - by_name["III"]) // 2 - by_name["aVL"]
    if "aVF" in by_name:
        by_name["aVF"] = (lead_ii + by_name["III"]) // 2 - by_name["aVF"]


def _residual_limb_leads(by_name: dict[str, np.ndarray]) -> None:
    """Inverse of `reconstruct_limb_leads`: turn true III/aVR/aVL/aVF counts into residuals."""
    lead_i, lead_ii, lead_iii = by_name["I"], by_name["II"], by_name["III"]
    by_name["aVR"] = -by_name["aVR"] - (lead_i + lead_ii) // 2
    by_name["aVL"] = (lead_i - lead_iii) // 2 - by_name["aVL"]
    by_name["aVF"] = (lead_ii + lead_iii) // 2 - by_name["aVF"]
    by_name["III"] = lead_ii - lead_i - lead_iii


# ---------------------------------------------------------------- reader


def _first_value(
    waveform: Element, attributes: tuple[str, ...], signal: Element | None, tags: tuple[str, ...]
) -> str | None:
    """The first non-empty of the parsedwaveforms attributes, then signalcharacteristics tags."""
    for name in attributes:
        value = (waveform.get(name) or "").strip()
        if value:
            return value
    for tag in tags:
        value = element_text(signal, tag)
        if value:
            return value
    return None


def _positive(value: str | None, what: str, source: Path) -> float:
    if value is None:
        raise EcgFileError(f"{source}: no {what} in parsedwaveforms or signalcharacteristics")
    try:
        number = float(value)
    except ValueError:
        raise EcgFileError(f"{source}: {what} {value!r} is not a number") from None
    if not (math.isfinite(number) and number > 0):
        raise EcgFileError(f"{source}: {what} {value!r} is not a positive number")
    return number


def _lead_labels(
    waveform: Element, signal: Element | None, ns: str, source: Path
) -> tuple[str, ...]:
    """Lead labels in stream order: `leadlabels` (1.04) or the declared standard set (1.03)."""
    channel_tags = (f"{ns}numberchannelsvalid", f"{ns}numberchannelsallocated")
    count_text = _first_value(waveform, ("numberofleads",), signal, channel_tags)
    try:
        count = int(count_text) if count_text is not None else None
    except ValueError:
        raise EcgFileError(f"{source}: number of leads {count_text!r} is not an integer") from None
    labels_text = (waveform.get("leadlabels") or "").strip()
    if labels_text:
        labels = tuple(labels_text.split())
        if count is not None and count != len(labels):
            raise EcgFileError(
                f"{source}: numberofleads is {count} but leadlabels names {len(labels)} leads"
            )
        return labels
    lead_set = {element_text(signal, f"{ns}leadset"), element_text(signal, f"{ns}acquisitiontype")}
    if not lead_set & _STANDARD_LEAD_SETS:
        raise EcgFileError(f"{source}: no leadlabels and no standard 12-lead set declared")
    if count is None:
        raise EcgFileError(f"{source}: no leadlabels and no number of channels")
    if not 1 <= count <= len(LEADS):
        raise EcgFileError(f"{source}: {count} channels in a standard 12-lead set")
    return LEADS[:count]


def _stream_bytes(waveform: Element, source: Path) -> bytes:
    encoding = (waveform.get("dataencoding") or "").strip()
    if encoding.lower() != "base64":
        raise EcgFileError(f"{source}: parsedwaveforms dataencoding {encoding!r} is unsupported")
    text = "".join((waveform.text or "").split())
    if not text:
        raise EcgFileError(f"{source}: parsedwaveforms holds no data")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise EcgFileError(f"{source}: parsedwaveforms is not valid base64 (truncated?)") from None


def _is_xli(waveform: Element, source: Path) -> bool:
    method = (waveform.get("compression") or waveform.get("compressmethod") or "").strip()
    if (waveform.get("compressflag") or "").strip().lower() == "false":
        return False
    if method.lower() == "xli":
        return True
    if method.lower() in _UNCOMPRESSED:
        return False
    raise EcgFileError(f"{source}: parsedwaveforms compression {method!r} is unsupported")


def _channels(
    waveform: Element, n_leads: int, n_samples: int, source: Path
) -> list[np.ndarray]:
    data = _stream_bytes(waveform, source)
    if _is_xli(waveform, source):
        channels = decode_xli(data, n_samples, source)
    else:
        per_lead = 2 * n_samples
        if per_lead == 0 or len(data) % per_lead:
            raise EcgFileError(
                f"{source}: {len(data)} bytes of uncompressed data are not whole leads of "
                f"{n_samples} samples (truncated?)"
            )
        counts = np.frombuffer(data, dtype="<i2").astype(np.int64)
        channels = list(counts.reshape(-1, n_samples))
    if len(channels) < n_leads:
        raise EcgFileError(
            f"{source}: parsedwaveforms holds {len(channels)} channels for {n_leads} leads"
        )
    channels = channels[:n_leads]  # Philips appends calibration-only channels
    lengths = {len(channel) for channel in channels}
    if len(lengths) != 1:
        raise EcgFileError(
            f"{source}: leads differ in length (truncated?): {[len(c) for c in channels]}"
        )
    if lengths != {n_samples}:
        raise EcgFileError(
            f"{source}: leads hold {lengths.pop()} samples, durationperchannel says {n_samples}"
        )
    return channels


def _acquired_at(acquisition: Element | None) -> datetime | None:
    if acquisition is None:
        return None
    day = (acquisition.get("date") or "").strip()
    clock = (acquisition.get("time") or "").strip()
    return combine_date_time(day, clock, "%Y-%m-%d", "%H:%M:%S")


def read_philips_sierra(path: Path) -> EcgRecord:
    """Read the rhythm waveform of a Philips Sierra ECG XML file as microvolts (12 leads)."""
    path = Path(path)
    root = read_xml_file(path)
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    if root.tag[len(ns) :] != "restingecgdata":
        raise EcgFileError(f"{path}: root element is {root.tag}, not Philips restingecgdata")
    waveform = root.find(f"{ns}waveforms/{ns}parsedwaveforms")
    if waveform is None:
        raise EcgFileError(f"{path}: no waveforms/parsedwaveforms element")
    acquisition = root.find(f"{ns}dataacquisition")
    signal = acquisition.find(f"{ns}signalcharacteristics") if acquisition is not None else None

    rate = _positive(
        _first_value(waveform, ("samplespersecond",), signal, (f"{ns}samplingrate",)),
        "sampling rate", path,
    )
    resolution = _positive(
        _first_value(waveform, ("resolution",), signal,
                     (f"{ns}resolution", f"{ns}signalresolution")),
        "resolution", path,
    )
    bits = _first_value(waveform, ("bitspersample", "nbitspersample"), signal,
                        (f"{ns}bitspersample",))
    if bits is not None and bits != "16":
        raise EcgFileError(f"{path}: {bits} bits per sample; only 16 is supported")
    offset = _first_value(waveform, ("signaloffset",), signal, (f"{ns}signaloffset",))
    if offset is not None and offset != "0":
        raise EcgFileError(f"{path}: signal offset {offset!r} is unsupported")
    duration_ms = _positive(waveform.get("durationperchannel"), "durationperchannel", path)
    n_samples = round(duration_ms * rate / 1000.0)

    labels = _lead_labels(waveform, signal, ns, path)
    selected = select_standard_leads(labels, path)
    if not selected:
        raise EcgFileError(f"{path}: parsedwaveforms has no standard leads")
    channels = _channels(waveform, len(labels), n_samples, path)
    by_name = {name: channels[index] for index, name in selected}
    reconstruct_limb_leads(by_name, path)
    names = tuple(name for _, name in selected)
    return EcgRecord(
        signal_uv=np.vstack([by_name[name] for name in names]) * resolution,
        leads=names,
        sampling_hz=rate,
        patient_id=element_text(root, f"{ns}patient/{ns}generalpatientdata/{ns}patientid"),
        acquired_at=_acquired_at(acquisition),
        source_format=SOURCE_FORMAT,
    )


# ---------------------------------------------------------------- writer


def _child(parent: Element, tag: str, text: str | None = None, **attributes: str) -> Element:
    element = SubElement(parent, tag, attributes)
    element.text = text
    return element


def write_philips_sierra(
    path: Path,
    signal_uv: np.ndarray,
    sampling_hz: float,
    patient_id: str | None,
    acquired_at: datetime | None,
) -> Path:
    """Write a contract-ordered (12, n) microvolt signal as Sierra XML 1.04, XLI at 5 uV/count.

    All 12 leads are stored (III, aVR, aVL, aVF as residuals, like Philips); time zones are
    dropped because the format has none.
    """
    counts = writer_counts(
        check_contract_signal(signal_uv), SIERRA_UV_PER_COUNT,
        f"{SIERRA_UV_PER_COUNT:g} uV per count", lowest=_INT16_MIN,
    )
    if float(sampling_hz) != int(sampling_hz) or sampling_hz <= 0:
        raise ValueError(f"Sierra XML stores whole-number sampling rates, got {sampling_hz}")
    rate = int(sampling_hz)
    n_samples = counts.shape[1]
    duration_ms = round(n_samples * 1000 / rate)
    if round(duration_ms * rate / 1000) != n_samples:
        raise ValueError(f"{n_samples} samples at {rate} Hz are not a whole number of ms")
    by_name = dict(zip(LEADS, counts, strict=True))
    _residual_limb_leads(by_name)
    stored = np.vstack([by_name[name] for name in LEADS])
    if stored.min() < _INT16_MIN or stored.max() > _INT16_MAX:
        raise ValueError("limb-lead residuals exceed the int16 range (leads are not consistent)")
    stream = encode_xli(stored)

    root = Element(
        "restingecgdata",
        {
            "xmlns": NS,
            "xmlns:xsi": XSI,
            "xsi:schemaLocation": f"{NS} PhilipsECG.xsd",
            "status": "New",
            "lang": "en",
        },
    )
    info = _child(root, "documentinfo")
    _child(info, "documenttype", "PhilipsECG")
    _child(info, "documentversion", SCHEMA_VERSION)
    _child(info, "comments", "Written by imnm.ecg.formats.philips_sierra")
    stamp = (
        {"date": acquired_at.strftime("%Y-%m-%d"), "time": acquired_at.strftime("%H:%M:%S")}
        if acquired_at is not None
        else {}
    )
    report = _child(root, "reportinfo", **stamp)
    _child(report, "reportdescription", "Standard 12 Lead Report")
    acquisition = _child(root, "dataacquisition", **stamp, statflag="False")
    signal = _child(acquisition, "signalcharacteristics")
    for tag, text in (
        ("samplingrate", str(rate)),
        ("resolution", f"{SIERRA_UV_PER_COUNT:g}"),
        ("acquisitiontype", "10-WIRE"),
        ("bitspersample", "16"),
        ("signaloffset", "0"),
        ("signalsigned", "True"),
        ("numberchannelsallocated", str(len(LEADS))),
        ("numberchannelsvalid", str(len(LEADS))),
        ("electrodeplacement", "STD"),
    ):
        _child(signal, tag, text)
    patient = _child(_child(root, "patient"), "generalpatientdata")
    _child(patient, "patientid", patient_id)
    waveforms = _child(root, "waveforms")
    _child(
        waveforms,
        "parsedwaveforms",
        "\n" + base64.encodebytes(stream).decode("ascii"),
        dataencoding="Base64",
        compression="XLI",
        numberofleads=str(len(LEADS)),
        leadlabels=" ".join(LEADS),
        durationperchannel=str(duration_ms),
        samplespersecond=str(rate),
        resolution=f"{SIERRA_UV_PER_COUNT:g}",
        signaloffset="0",
        signalsigned="True",
        bitspersample="16",
    )

    return write_utf8_xml(path, root)


__all__ = [
    "SIERRA_UV_PER_COUNT",
    "SOURCE_FORMAT",
    "decode_xli",
    "encode_xli",
    "read_philips_sierra",
    "reconstruct_limb_leads",
    "write_philips_sierra",
]
