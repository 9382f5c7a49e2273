"""HL7 v3 annotated ECG (aECG, the FDA's XML format): reader and a minimal writer.

The reader takes the first RHYTHM series (never the REPRESENTATIVE_BEAT median beats): its
TIME_ABSOLUTE/TIME_RELATIVE sequence gives the sample interval and each MDC_ECG_LEAD_* sequence
is an SLIST_PQ, value = origin + scale * digit. The writer emits the same layout with
origin 0 uV and scale 1 uV, so integer microvolts round-trip exactly.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement

import numpy as np

from imnm.ecg.contract import LEADS
from imnm.ecg.formats import (
    EcgFileError,
    EcgRecord,
    check_contract_signal,
    fixed_offset,
    format_utc_offset,
    select_standard_leads,
    stack_leads,
    write_utf8_xml,
)
from imnm.ecg.safe_xml import read_xml_file

SOURCE_FORMAT = "hl7-aecg"
NS = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_H = f"{{{NS}}}"
MDC_CODE_SYSTEM = "2.16.840.1.113883.6.24"
ACT_CODE_SYSTEM = "2.16.840.1.113883.5.4"

_TO_UV: dict[str, float] = {"uv": 1.0, "µv": 1.0, "μv": 1.0, "mv": 1000.0, "v": 1e6, "nv": 1e-3}
_TO_S: dict[str, float] = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
_TS = re.compile(
    r"^(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})"
    r"(?:(?P<h>\d{2})(?:(?P<mi>\d{2})(?:(?P<s>\d{2})(?:\.(?P<f>\d+))?)?)?)?"
    r"(?P<tz>[+-]\d{4})?$"
)
_SUBJECT_ID = (
    f"{_H}componentOf/{_H}timepointEvent/{_H}componentOf/{_H}subjectAssignment/"
    f"{_H}subject/{_H}trialSubject/{_H}id"
)
_TIME_CODES = ("TIME_ABSOLUTE", "TIME_RELATIVE")


def parse_hl7_timestamp(value: str | None) -> datetime | None:
    """Parse an HL7 TS ('YYYYMMDDHHMMSS.fff+ZZZZ', any trailing precision); None if unparseable."""
    if not value:
        return None
    match = _TS.match(value.strip())
    if match is None:
        return None
    fraction = (match["f"] or "0")[:6].ljust(6, "0")
    try:
        stamp = datetime(
            int(match["y"]), int(match["mo"]), int(match["d"]),
            int(match["h"] or 0), int(match["mi"] or 0), int(match["s"] or 0), int(fraction),
        )
    except ValueError:
        return None
    if match["tz"]:
        zone = match["tz"]
        stamp = stamp.replace(tzinfo=fixed_offset(zone[0], zone[1:3], zone[3:5]))
    return stamp


def _format_timestamp(stamp: datetime) -> str:
    text = stamp.strftime("%Y%m%d%H%M%S")
    if stamp.microsecond % 1000:
        text += f".{stamp.microsecond:06d}"
    elif stamp.microsecond:
        text += f".{stamp.microsecond // 1000:03d}"
    offset = stamp.utcoffset()
    if offset is not None:
        text += format_utc_offset(offset)
    return text


def _quantity(element: Element | None, table: dict[str, float], what: str, source: Path) -> float:
    if element is None:
        raise EcgFileError(f"{source}: {what} is missing")
    unit = (element.get("unit") or "").strip().lower()
    factor = table.get(unit)
    if factor is None:
        raise EcgFileError(f"{source}: {what} has unsupported unit {element.get('unit')!r}")
    try:
        return float(element.get("value", "")) * factor
    except ValueError:
        bad = element.get("value")
        raise EcgFileError(f"{source}: {what} value {bad!r} is not a number") from None


def _rhythm_series(root: Element, source: Path) -> Element:
    for series in root.iterfind(f"{_H}component/{_H}series"):
        code = series.find(f"{_H}code")
        if code is not None and code.get("code") == "RHYTHM":
            return series
    raise EcgFileError(f"{source}: no RHYTHM series in aECG")


def _sampling_hz(sequences: list[tuple[str, Element]], source: Path) -> float:
    for code, value in sequences:
        if code in _TIME_CODES:
            interval = _quantity(value.find(f"{_H}increment"), _TO_S, "time increment", source)
            if interval <= 0:
                raise EcgFileError(f"{source}: time increment {interval} s is not positive")
            rate = 1.0 / interval
            # Increments are written in decimal, so 1/increment lands a hair off integer rates.
            nearest = round(rate)
            return float(nearest) if abs(rate - nearest) < 1e-6 * rate else rate
    raise EcgFileError(f"{source}: RHYTHM series has no TIME_ABSOLUTE/TIME_RELATIVE sequence")


def _lead_values(value: Element, name: str, source: Path) -> np.ndarray:
    origin = _quantity(value.find(f"{_H}origin"), _TO_UV, f"lead {name} origin", source)
    scale = _quantity(value.find(f"{_H}scale"), _TO_UV, f"lead {name} scale", source)
    digits = value.find(f"{_H}digits")
    if digits is None or not (digits.text or "").strip():
        raise EcgFileError(f"{source}: lead {name} has no digits")
    try:
        raw = np.array(digits.text.split(), dtype=np.float64)
    except ValueError:
        raise EcgFileError(f"{source}: lead {name} digits are not numbers") from None
    if not np.all(np.isfinite(raw)):
        raise EcgFileError(f"{source}: lead {name} digits contain non-finite values")
    return origin + scale * raw


def _acquired_at(root: Element, series: Element, time_values: list[Element]) -> datetime | None:
    candidates = [
        root.find(f"{_H}effectiveTime/{_H}low"),
        root.find(f"{_H}effectiveTime/{_H}center"),
        series.find(f"{_H}effectiveTime/{_H}low"),
        *[value.find(f"{_H}head") for value in time_values],
    ]
    for element in candidates:
        if element is not None:
            stamp = parse_hl7_timestamp(element.get("value"))
            if stamp is not None:
                return stamp
    return None


def read_hl7_aecg(path: Path) -> EcgRecord:
    """Read the RHYTHM waveforms of an HL7 aECG file as microvolts, with subject id and time."""
    path = Path(path)
    root = read_xml_file(path)
    if root.tag != f"{_H}AnnotatedECG":
        raise EcgFileError(f"{path}: root element is {root.tag}, not HL7 v3 AnnotatedECG")
    series = _rhythm_series(root, path)
    sequences: list[tuple[str, Element]] = []
    for sequence in series.iterfind(f"{_H}component/{_H}sequenceSet/{_H}component/{_H}sequence"):
        code = sequence.find(f"{_H}code")
        value = sequence.find(f"{_H}value")
        if code is not None and value is not None:
            sequences.append((code.get("code") or "", value))
    rate = _sampling_hz(sequences, path)
    lead_codes = [code for code, _ in sequences]
    selected = select_standard_leads(lead_codes, path)
    if not selected:
        raise EcgFileError(f"{path}: RHYTHM series has no standard lead sequences")
    signals = [_lead_values(sequences[index][1], name, path) for index, name in selected]
    signal = stack_leads(selected, signals, path)
    subject = root.find(_SUBJECT_ID)
    patient_id = subject.get("extension") if subject is not None else None
    time_values = [value for code, value in sequences if code in _TIME_CODES]
    return EcgRecord(
        signal_uv=signal,
        leads=tuple(name for _, name in selected),
        sampling_hz=rate,
        patient_id=patient_id or None,
        acquired_at=_acquired_at(root, series, time_values),
        source_format=SOURCE_FORMAT,
    )


def _code(parent: Element, code: str, system: str, system_name: str) -> Element:
    return SubElement(
        parent, "code", {"code": code, "codeSystem": system, "codeSystemName": system_name}
    )


def _effective_time(parent: Element, start: datetime, end: datetime) -> None:
    effective = SubElement(parent, "effectiveTime")
    SubElement(effective, "low", {"value": _format_timestamp(start), "inclusive": "true"})
    SubElement(effective, "high", {"value": _format_timestamp(end), "inclusive": "false"})


def _content_id(
    role: str, signal: np.ndarray, patient_id: str | None, acquired_at: datetime | None
) -> str:
    """A deterministic UUID from the content, so the same ECG always gets the same ids."""
    digest = hashlib.sha256(signal.tobytes())
    digest.update(repr((role, patient_id, acquired_at)).encode())
    return str(uuid.UUID(bytes=digest.digest()[:16], version=4))


def write_hl7_aecg(
    path: Path,
    signal_uv: np.ndarray,
    sampling_hz: float,
    patient_id: str | None,
    acquired_at: datetime | None,
) -> Path:
    """Write a contract-ordered (12, n) microvolt signal as a minimal HL7 aECG RHYTHM series.

    Values are stored as whole microvolts (scale 1 uV); the layout follows the HL7 sample file.
    """
    digits = np.rint(check_contract_signal(signal_uv, allow_empty=True)).astype(np.int64)
    if not sampling_hz > 0:
        raise ValueError(f"sampling rate must be positive, got {sampling_hz}")
    # Plain tags with the namespace declarations written as attributes: ElementTree cannot
    # serialize a default namespace next to unqualified attributes such as code="...".
    root = Element(
        "AnnotatedECG",
        {"xmlns": NS, "xmlns:xsi": XSI, "type": "Observation", "classCode": "OBS"},
    )
    SubElement(root, "id", {"root": _content_id("document", digits, patient_id, acquired_at)})
    _code(root, "93000", "2.16.840.1.113883.6.12", "CPT-4").set("displayName", "Electrocardiogram")
    end = None
    if acquired_at is not None:
        end = acquired_at + timedelta(seconds=digits.shape[1] / sampling_hz)
        _effective_time(root, acquired_at, end)
    event = SubElement(SubElement(root, "componentOf"), "timepointEvent")
    SubElement(event, "code", {"code": "UNSCHEDULED"})
    assignment = SubElement(SubElement(event, "componentOf"), "subjectAssignment")
    subject = SubElement(SubElement(assignment, "subject"), "trialSubject")
    subject_id = {"extension": patient_id} if patient_id is not None else {"nullFlavor": "NI"}
    SubElement(subject, "id", subject_id)
    trial = SubElement(SubElement(assignment, "componentOf"), "clinicalTrial")
    SubElement(trial, "id", {"nullFlavor": "NI"})

    series = SubElement(SubElement(root, "component"), "series")
    SubElement(series, "id", {"root": _content_id("series", digits, patient_id, acquired_at)})
    _code(series, "RHYTHM", ACT_CODE_SYSTEM, "ActCode").set("displayName", "Rhythm Waveforms")
    if acquired_at is not None and end is not None:
        _effective_time(series, acquired_at, end)
    sequence_set = SubElement(SubElement(series, "component"), "sequenceSet")

    time_sequence = SubElement(SubElement(sequence_set, "component"), "sequence")
    increment = {"value": repr(1.0 / float(sampling_hz)), "unit": "s"}
    if acquired_at is not None:
        _code(time_sequence, "TIME_ABSOLUTE", ACT_CODE_SYSTEM, "ActCode")
        value = SubElement(time_sequence, "value", {"xsi:type": "GLIST_TS"})
        SubElement(value, "head", {"value": _format_timestamp(acquired_at)})
    else:
        _code(time_sequence, "TIME_RELATIVE", ACT_CODE_SYSTEM, "ActCode")
        value = SubElement(time_sequence, "value", {"xsi:type": "GLIST_PQ"})
        SubElement(value, "head", {"value": "0", "unit": "s"})
    SubElement(value, "increment", increment)

    for name, lead in zip(LEADS, digits, strict=True):
        sequence = SubElement(SubElement(sequence_set, "component"), "sequence")
        _code(sequence, f"MDC_ECG_LEAD_{name.upper()}", MDC_CODE_SYSTEM, "MDC")
        value = SubElement(sequence, "value", {"xsi:type": "SLIST_PQ"})
        SubElement(value, "origin", {"value": "0", "unit": "uV"})
        SubElement(value, "scale", {"value": "1", "unit": "uV"})
        SubElement(value, "digits").text = " ".join(map(str, lead.tolist()))

    return write_utf8_xml(path, root)
