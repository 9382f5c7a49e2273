"""GE MUSE RestingECG XML: reader and writer for the rhythm waveform.

MUSE stores 8 independent leads (I, II, V1-V6) as base64 little-endian int16 at a fixed
microvolts-per-bit; III, aVR, aVL and aVF are not stored. The reader returns exactly what is
stored; `imnm.ecg.normalize` derives the other four leads.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from datetime import datetime
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement, indent, tostring

import numpy as np

from imnm.ecg.contract import LEADS
from imnm.ecg.formats import (
    EcgFileError,
    EcgRecord,
    check_contract_signal,
    combine_date_time,
    element_text,
    select_standard_leads,
    stack_leads,
    writer_counts,
)
from imnm.ecg.safe_xml import read_xml_file

SOURCE_FORMAT = "ge-muse"
MUSE_UV_PER_BIT = 4.88
MUSE_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
_UNITS_TO_UV: dict[str, float] = {"MICROVOLTS": 1.0, "MILLIVOLTS": 1000.0}


def _number(
    parent: Element, tag: str, source: Path, what: str, default: float | None = None
) -> float:
    text = element_text(parent, tag)
    if text is None:
        if default is not None:
            return default
        raise EcgFileError(f"{source}: {what} has no {tag}")
    try:
        return float(text)
    except ValueError:
        raise EcgFileError(f"{source}: {what} {tag} {text!r} is not a number") from None


def _rhythm_waveform(root: Element, source: Path) -> Element:
    for waveform in root.iterfind("Waveform"):
        if (element_text(waveform, "WaveformType") or "").lower() == "rhythm":
            return waveform
    raise EcgFileError(f"{source}: no Waveform with WaveformType Rhythm")


def _decode_lead(lead: Element, name: str, source: Path) -> np.ndarray:
    what = f"lead {name}"
    sample_size = int(_number(lead, "LeadSampleSize", source, what, default=2))
    if sample_size != 2:
        raise EcgFileError(f"{source}: {what} uses {sample_size}-byte samples; only 2 supported")
    encoded = element_text(lead, "WaveFormData")
    if encoded is None:
        raise EcgFileError(f"{source}: {what} has no WaveFormData")
    try:
        raw = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        raise EcgFileError(f"{source}: {what} WaveFormData is not valid base64") from None
    expected_samples = int(_number(lead, "LeadSampleCountTotal", source, what))
    if len(raw) != 2 * expected_samples:
        raise EcgFileError(
            f"{source}: {what} truncated, {len(raw)} bytes for {expected_samples} samples"
        )
    crc_text = element_text(lead, "LeadDataCRC32")
    if crc_text is not None and crc_text.isdigit() and zlib.crc32(raw) != int(crc_text):
        raise EcgFileError(f"{source}: {what} fails its LeadDataCRC32 check (corrupted data)")
    units = (element_text(lead, "LeadAmplitudeUnits") or "MICROVOLTS").upper()
    factor = _UNITS_TO_UV.get(units)
    if factor is None:
        raise EcgFileError(f"{source}: {what} has unsupported LeadAmplitudeUnits {units!r}")
    per_bit = _number(lead, "LeadAmplitudeUnitsPerBit", source, what)
    return np.frombuffer(raw, dtype="<i2").astype(np.float64) * (per_bit * factor)


def _acquired_at(root: Element) -> datetime | None:
    day = element_text(root, "TestDemographics/AcquisitionDate")
    clock = element_text(root, "TestDemographics/AcquisitionTime")
    return combine_date_time(day, clock, "%m-%d-%Y", "%H:%M:%S")


def read_ge_muse(path: Path) -> EcgRecord:
    """Read the Rhythm waveform of a GE MUSE XML file as microvolts (the 8 stored leads)."""
    path = Path(path)
    root = read_xml_file(path)
    if root.tag != "RestingECG":
        raise EcgFileError(f"{path}: root element is {root.tag}, not GE MUSE RestingECG")
    waveform = _rhythm_waveform(root, path)
    base = _number(waveform, "SampleBase", path, "Rhythm waveform")
    exponent = _number(waveform, "SampleExponent", path, "Rhythm waveform", default=0.0)
    rate = base * 10.0**exponent
    lead_data = list(waveform.iterfind("LeadData"))
    lead_ids = (element_text(lead, "LeadID") or "" for lead in lead_data)
    selected = select_standard_leads(lead_ids, path)
    if not selected:
        raise EcgFileError(f"{path}: Rhythm waveform has no standard leads")
    signals = [_decode_lead(lead_data[index], name, path) for index, name in selected]
    return EcgRecord(
        signal_uv=stack_leads(selected, signals, path),
        leads=tuple(name for _, name in selected),
        sampling_hz=rate,
        patient_id=element_text(root, "PatientDemographics/PatientID"),
        acquired_at=_acquired_at(root),
        source_format=SOURCE_FORMAT,
    )


def _child(parent: Element, tag: str, text: str) -> Element:
    element = SubElement(parent, tag)
    element.text = text
    return element


def write_ge_muse(
    path: Path,
    signal_uv: np.ndarray,
    sampling_hz: float,
    patient_id: str | None,
    acquired_at: datetime | None,
) -> Path:
    """Write a contract-ordered (12, n) microvolt signal as MUSE XML: 8 leads at 4.88 uV/bit.

    Like MUSE itself, only I, II and V1-V6 are stored; time zones are dropped (MUSE has none).
    """
    signal = check_contract_signal(signal_uv, allow_empty=True)
    if float(sampling_hz) != int(sampling_hz) or sampling_hz <= 0:
        raise ValueError(f"MUSE stores whole-number sampling rates, got {sampling_hz}")
    counts = writer_counts(signal, MUSE_UV_PER_BIT, f"{MUSE_UV_PER_BIT} uV per bit")

    root = Element("RestingECG")
    demographics = SubElement(root, "PatientDemographics")
    if patient_id is not None:
        _child(demographics, "PatientID", patient_id)
    test = SubElement(root, "TestDemographics")
    _child(test, "DataType", "RESTING")
    if acquired_at is not None:
        _child(test, "AcquisitionTime", acquired_at.strftime("%H:%M:%S"))
        _child(test, "AcquisitionDate", acquired_at.strftime("%m-%d-%Y"))

    waveform = SubElement(root, "Waveform")
    _child(waveform, "WaveformType", "Rhythm")
    _child(waveform, "WaveformStartTime", "0")
    _child(waveform, "NumberofLeads", str(len(MUSE_LEADS)))
    _child(waveform, "SampleType", "CONTINUOUS_SAMPLES")
    _child(waveform, "SampleBase", str(int(sampling_hz)))
    _child(waveform, "SampleExponent", "0")
    for name in MUSE_LEADS:
        raw = counts[LEADS.index(name)].astype("<i2").tobytes()
        lead = SubElement(waveform, "LeadData")
        _child(lead, "LeadByteCountTotal", str(len(raw)))
        _child(lead, "LeadTimeOffset", "0")
        _child(lead, "LeadSampleCountTotal", str(len(raw) // 2))
        _child(lead, "LeadAmplitudeUnitsPerBit", f"{MUSE_UV_PER_BIT:.2f}")
        _child(lead, "LeadAmplitudeUnits", "MICROVOLTS")
        _child(lead, "LeadHighLimit", "32767")
        _child(lead, "LeadLowLimit", "-32768")
        _child(lead, "LeadID", name)
        _child(lead, "LeadOffsetFirstSample", "0")
        _child(lead, "FirstSampleBaseline", "0")
        _child(lead, "LeadSampleSize", "2")
        _child(lead, "LeadOff", "FALSE")
        _child(lead, "BaselineSway", "FALSE")
        _child(lead, "LeadDataCRC32", str(zlib.crc32(raw)))
        _child(lead, "WaveFormData", "\n" + base64.encodebytes(raw).decode("ascii"))

    indent(root, space="   ")
    body = tostring(root, encoding="unicode")
    text = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        '<!DOCTYPE RestingECG SYSTEM "restecg.dtd">\n' + body + "\n"
    )
    path = Path(path)
    path.write_bytes(text.encode("iso-8859-1", errors="xmlcharrefreplace"))
    return path
