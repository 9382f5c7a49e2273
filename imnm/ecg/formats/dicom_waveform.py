"""DICOM ECG Waveform Storage (PS3.3 A.34): reader and writer for the rhythm multiplex group.

A DICOM ECG holds one or more multiplex groups; resting ECG carts store a 10 s "RHYTHM" group
and often a derived "MEDIAN BEAT" group. The reader takes the RHYTHM group (or, without that
label, the first ORIGINAL group carrying at least 8 standard leads) and never a median beat.

Amplitudes follow PS3.3 C.10.9.1: value = raw * ChannelSensitivity * CorrectionFactor +
ChannelBaseline, in the units of ChannelSensitivityUnitsSequence (baseline is in those units,
as pydicom's `waveform_array` applies it), then scaled to microvolts. Leads are identified by
their ChannelSourceSequence code (SCPECG "5.6.3-9-N" or MDC "2:N"), else by its code meaning.

The acquisition time is the first present of AcquisitionDateTime, ContentDate + ContentTime,
StudyDate + StudyTime; a naive result takes TimezoneOffsetFromUTC when the file has one.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pydicom.valuerep import DA, DT, TM

from imnm.ecg.contract import LEADS
from imnm.ecg.formats import (
    SCP_LEAD_CODES,
    EcgFileError,
    EcgRecord,
    canonical_lead_name,
    check_contract_signal,
    fixed_offset,
    format_utc_offset,
    select_standard_leads,
    writer_counts,
)

SOURCE_FORMAT = "dicom"
TWELVE_LEAD_ECG_STORAGE = "1.2.840.10008.5.1.4.1.1.9.1.1"
GENERAL_ECG_STORAGE = "1.2.840.10008.5.1.4.1.1.9.1.2"
AMBULATORY_ECG_STORAGE = "1.2.840.10008.5.1.4.1.1.9.1.3"
ECG_SOP_CLASSES: frozenset[str] = frozenset(
    {TWELVE_LEAD_ECG_STORAGE, GENERAL_ECG_STORAGE, AMBULATORY_ECG_STORAGE}
)
# The writer stores whole microvolts: int16 contract waveforms round-trip exactly, and the
# +-32767 uV range is the contract's own range.
DICOM_UV_PER_BIT = 1.0
RHYTHM_LABEL = "RHYTHM"
MIN_FALLBACK_LEADS = 8

# SCP-ECG lead codes ("5.6.3-9-N") and ISO/IEEE 11073 MDC codes ("2:N") share the numbering.
_LEAD_CODE = re.compile(r"^(?:5\.6\.3-9-|2:)(?P<number>\d+)$")
_SCPECG_MEANINGS: dict[str, str] = {
    "I": "Lead I (Einthoven)", "II": "Lead II", "III": "Lead III",
    "aVR": "Lead aVR", "aVL": "Lead aVL", "aVF": "Lead aVF",
    **{f"V{k}": f"Lead V{k}" for k in range(1, 7)},
}
_SCPECG_NUMBERS: dict[str, int] = {name: number for number, name in SCP_LEAD_CODES.items()}
# UCUM codes are case-sensitive ("mV" is not "MV"); code meanings are matched lower-cased.
_UNIT_CODES_TO_UV: dict[str, float] = {"uV": 1.0, "mV": 1000.0, "V": 1_000_000.0, "nV": 0.001}
_UNIT_MEANINGS_TO_UV: dict[str, float] = {
    "microvolt": 1.0, "millivolt": 1000.0, "volt": 1_000_000.0, "nanovolt": 0.001,
}
_SAMPLE_DTYPES: dict[tuple[int, str], str] = {
    (8, "SB"): "i1", (8, "UB"): "u1", (16, "SS"): "i2", (16, "US"): "u2",
    (32, "SL"): "i4", (32, "UL"): "u4",
}
# PS3.3 A.34.3.4: the 12-lead ECG IOD's limits for the one multiplex group this module writes.
_TWELVE_LEAD_MIN_HZ, _TWELVE_LEAD_MAX_HZ, _TWELVE_LEAD_MAX_SAMPLES = 200.0, 1000.0, 16384
# Fixed rather than pydicom's own, so that the written bytes do not change with pydicom's version.
IMPLEMENTATION_CLASS_UID = generate_uid(entropy_srcs=["imnm.ecg.formats.dicom_waveform"])
IMPLEMENTATION_VERSION_NAME = "IMNM_ECG_1"


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _lead_of_channel(channel: Dataset) -> str | None:
    """Return the contract name of one channel, from its source code or else its code meaning."""
    sources = channel.get("ChannelSourceSequence") or []
    for source in sources[:1]:
        match = _LEAD_CODE.match(_text(source.get("CodeValue")))
        if match:
            return SCP_LEAD_CODES.get(int(match.group("number")))
        meaning = _text(source.get("CodeMeaning"))
        # "Lead I (Einthoven)", "aVR, augmented voltage, right" -> "Lead I", "aVR"
        name = canonical_lead_name(re.split(r"[(,]", meaning, maxsplit=1)[0])
        if name is not None:
            return name
    return canonical_lead_name(_text(channel.get("ChannelLabel")))


def _channel_leads(group: Dataset, source: Path, index: int) -> list[tuple[int, str]]:
    channels = group.get("ChannelDefinitionSequence") or []
    if len(channels) != int(group.NumberOfWaveformChannels):
        raise EcgFileError(
            f"{source}: multiplex group {index} declares {group.NumberOfWaveformChannels} "
            f"channels but defines {len(channels)}"
        )
    return select_standard_leads((_lead_of_channel(ch) or "" for ch in channels), source)


def _label(group: Dataset) -> str:
    return _text(group.get("MultiplexGroupLabel")).upper()


def _rhythm_group(ds: Dataset, source: Path) -> tuple[Dataset, list[tuple[int, str]]]:
    """Pick the RHYTHM multiplex group, else the first ORIGINAL non-median one with >= 8 leads."""
    groups = list(ds.get("WaveformSequence") or [])
    if not groups:
        raise EcgFileError(f"{source}: DICOM file has no WaveformSequence")
    for index, group in enumerate(groups):
        if _label(group) == RHYTHM_LABEL:
            return group, _channel_leads(group, source, index)
    for index, group in enumerate(groups):
        originality = _text(group.get("WaveformOriginality")).upper()
        if originality != "ORIGINAL" or "MEDIAN" in _label(group):
            continue
        leads = _channel_leads(group, source, index)
        if len(leads) >= MIN_FALLBACK_LEADS:
            return group, leads
    labels = [_label(group) or "(no label)" for group in groups]
    raise EcgFileError(
        f"{source}: no RHYTHM multiplex group and no ORIGINAL group with "
        f">= {MIN_FALLBACK_LEADS} standard leads (groups: {labels})"
    )


def _check_waveform_lengths(ds: Dataset, source: Path) -> None:
    """Refuse a file whose WaveformData is shorter or longer than channels x samples x width."""
    for index, group in enumerate(ds.get("WaveformSequence") or []):
        width = int(group.WaveformBitsAllocated) // 8
        expected = int(group.NumberOfWaveformChannels) * int(group.NumberOfWaveformSamples) * width
        present = len(group.WaveformData)
        padded = expected + (expected % 2)  # OB data of odd length carries one pad byte
        if present not in (expected, padded):
            raise EcgFileError(
                f"{source}: truncated or corrupt, multiplex group {index} has {present} bytes "
                f"of WaveformData where its header needs {expected}"
            )


def _unit_factor(channel: Dataset, source: Path, lead: str) -> float:
    units = channel.get("ChannelSensitivityUnitsSequence") or []
    if not units:
        raise EcgFileError(f"{source}: lead {lead} has no ChannelSensitivityUnitsSequence")
    code = _text(units[0].get("CodeValue"))
    meaning = _text(units[0].get("CodeMeaning")).lower()
    factor = _UNIT_CODES_TO_UV.get(code, _UNIT_MEANINGS_TO_UV.get(meaning))
    if factor is None:
        raise EcgFileError(f"{source}: lead {lead} has unsupported units {code!r} ({meaning!r})")
    return factor


def _decode(
    ds: Dataset, group: Dataset, leads: list[tuple[int, str]], source: Path
) -> np.ndarray:
    bits = int(group.WaveformBitsAllocated)
    interpretation = _text(group.WaveformSampleInterpretation).upper()
    kind = _SAMPLE_DTYPES.get((bits, interpretation))
    if kind is None:
        raise EcgFileError(
            f"{source}: unsupported waveform samples ({bits} bits, {interpretation!r})"
        )
    _, little_endian = ds.original_encoding
    dtype = np.dtype(("<" if little_endian is not False else ">") + kind)
    n_channels = int(group.NumberOfWaveformChannels)
    n_samples = int(group.NumberOfWaveformSamples)
    if n_samples <= 0:
        raise EcgFileError(f"{source}: rhythm multiplex group has no samples")
    raw = np.frombuffer(group.WaveformData, dtype=dtype, count=n_channels * n_samples)
    raw = raw.reshape(n_samples, n_channels)  # interleaved: sample-major, channel-minor
    channels = group.ChannelDefinitionSequence
    rows: list[np.ndarray] = []
    for index, lead in leads:
        channel = channels[index]
        if "ChannelSensitivity" not in channel:
            raise EcgFileError(f"{source}: lead {lead} has no ChannelSensitivity (uncalibrated)")
        sensitivity = float(channel.ChannelSensitivity)
        correction = float(channel.get("ChannelSensitivityCorrectionFactor") or 1.0)
        baseline = float(channel.get("ChannelBaseline") or 0.0)
        factor = _unit_factor(channel, source, lead)
        rows.append((raw[:, index] * (sensitivity * correction) + baseline) * factor)
    return np.vstack(rows)


def _timezone(ds: Dataset) -> timezone | None:
    text = _text(ds.get("TimezoneOffsetFromUTC"))
    match = re.fullmatch(r"([+-])(\d{2})(\d{2})", text)
    if not match:
        return None
    return fixed_offset(match.group(1), match.group(2), match.group(3))


def _date_and_time(ds: Dataset, date_keyword: str, time_keyword: str) -> datetime | None:
    day_text, clock_text = _text(ds.get(date_keyword)), _text(ds.get(time_keyword))
    if not day_text:
        return None
    day: date | None = DA(day_text)
    if day is None:
        return None
    clock: time | None = TM(clock_text) if clock_text else None
    return datetime.combine(day, clock or time())


def _acquired_at(ds: Dataset) -> datetime | None:
    """AcquisitionDateTime, else ContentDate+ContentTime, else StudyDate+StudyTime (see module)."""
    stamp: datetime | None = None
    try:
        text = _text(ds.get("AcquisitionDateTime"))
        if text:
            parsed = DT(text)
            if parsed is not None:
                stamp = datetime(
                    parsed.year, parsed.month, parsed.day, parsed.hour, parsed.minute,
                    parsed.second, parsed.microsecond, tzinfo=parsed.tzinfo,
                )
        if stamp is None:
            stamp = _date_and_time(ds, "ContentDate", "ContentTime")
        if stamp is None:
            stamp = _date_and_time(ds, "StudyDate", "StudyTime")
    except ValueError:  # malformed or redacted dates carry no usable time
        return None
    if stamp is not None and stamp.tzinfo is None:
        zone = _timezone(ds)
        if zone is not None:
            stamp = stamp.replace(tzinfo=zone)
    return stamp


def _read_dataset(path: Path) -> Dataset:
    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError as exc:  # no "DICM" marker after the 128-byte preamble
        raise EcgFileError(f"{path}: not a DICOM file ({exc})") from exc
    except FileNotFoundError as exc:
        raise EcgFileError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    except Exception as exc:  # EOFError, struct.error, "No tag to read" OSError, ...
        reason = f"{type(exc).__name__}: {exc}"
        raise EcgFileError(f"{path}: truncated or corrupt DICOM file ({reason})") from exc
    try:
        sop_class = _text(ds.get("SOPClassUID")) or _text(
            getattr(ds, "file_meta", Dataset()).get("MediaStorageSOPClassUID")
        )
    except Exception as exc:  # a damaged element is only decoded when first accessed
        raise EcgFileError(f"{path}: unreadable SOP Class UID ({exc})") from exc
    if sop_class not in ECG_SOP_CLASSES:
        raise EcgFileError(
            f"{path}: SOP class {sop_class or '(none)'} is not an ECG Waveform Storage class"
        )
    return ds


def read_dicom_waveform(path: Path) -> EcgRecord:
    """Read the rhythm multiplex group of a DICOM ECG file as microvolts, standard leads only."""
    path = Path(path)
    ds = _read_dataset(path)
    try:
        _check_waveform_lengths(ds, path)
        group, leads = _rhythm_group(ds, path)
        if not leads:
            raise EcgFileError(f"{path}: rhythm multiplex group has no standard ECG leads")
        signal = _decode(ds, group, leads, path)
        rate = float(group.SamplingFrequency)
        patient_id = _text(ds.get("PatientID")) or None
        acquired_at = _acquired_at(ds)
    except EcgFileError:
        raise
    except Exception as exc:  # missing elements (AttributeError), bad numbers, damaged items
        raise EcgFileError(f"{path}: unreadable DICOM ECG ({type(exc).__name__}: {exc})") from exc
    if not np.all(np.isfinite(signal)):
        raise EcgFileError(f"{path}: DICOM ECG has non-finite sample values")
    try:
        return EcgRecord(
            signal_uv=signal,
            leads=tuple(name for _, name in leads),
            sampling_hz=rate,
            patient_id=patient_id,
            acquired_at=acquired_at,
            source_format=SOURCE_FORMAT,
        )
    except ValueError as exc:  # e.g. a zero or negative SamplingFrequency
        raise EcgFileError(f"{path}: {exc}") from exc


# ---------------------------------------------------------------- writer


def _code(value: str, scheme: str, meaning: str, version: str | None = None) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    if version is not None:
        item.CodingSchemeVersion = version
    item.CodeMeaning = meaning
    return item


def _number_string(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.10g}"


def _dicom_datetime(stamp: datetime) -> tuple[str, str, str, str | None]:
    """Return (DA, TM, DT, offset) strings; DICOM times are local with an optional UTC offset."""
    day = stamp.strftime("%Y%m%d")
    clock = stamp.strftime("%H%M%S") + (f".{stamp.microsecond:06d}" if stamp.microsecond else "")
    offset = stamp.utcoffset()
    if offset is None:
        return day, clock, day + clock, None
    zone = format_utc_offset(offset)
    return day, clock, day + clock + zone, zone


def _channel(lead: str) -> Dataset:
    channel = Dataset()
    channel.ChannelSourceSequence = Sequence(
        [_code(f"5.6.3-9-{_SCPECG_NUMBERS[lead]}", "SCPECG", _SCPECG_MEANINGS[lead], "1.3")]
    )
    channel.ChannelLabel = lead
    channel.ChannelSensitivity = _number_string(DICOM_UV_PER_BIT)
    channel.ChannelSensitivityUnitsSequence = Sequence([_code("uV", "UCUM", "microvolt", "1.4")])
    channel.ChannelSensitivityCorrectionFactor = "1"
    channel.ChannelBaseline = "0"
    channel.ChannelSampleSkew = "0"
    channel.WaveformBitsStored = 16
    return channel


def _uids(counts: np.ndarray, rate: str, patient_id: str, stamp: str) -> dict[str, str]:
    digest = hashlib.sha256(counts.tobytes()).hexdigest()
    content = [digest, str(counts.shape), rate, patient_id, stamp]
    roles = ("study", "series", "sop")
    return {role: generate_uid(entropy_srcs=[role, *content]) for role in roles}


def write_dicom_waveform(
    path: Path,
    signal_uv: np.ndarray,
    sampling_hz: float,
    patient_id: str | None,
    acquired_at: datetime | None,
) -> Path:
    """Write a contract-ordered (12, n) microvolt signal as a 12-lead ECG Waveform Storage file.

    One RHYTHM multiplex group, int16 at 1 uV per bit with SCPECG lead codes, Explicit VR Little
    Endian. UIDs are derived from the content, so the same input always gives the same bytes.
    """
    signal = check_contract_signal(signal_uv, allow_empty=True)  # no samples: the IOD check
    n_samples = signal.shape[1]
    rate = float(sampling_hz)
    if not _TWELVE_LEAD_MIN_HZ <= rate <= _TWELVE_LEAD_MAX_HZ:
        raise ValueError(f"the 12-lead ECG IOD allows 200-1000 Hz, got {sampling_hz}")
    if not 0 < n_samples <= _TWELVE_LEAD_MAX_SAMPLES:
        raise ValueError(f"the 12-lead ECG IOD allows 1-16384 samples, got {n_samples}")
    counts = writer_counts(signal, DICOM_UV_PER_BIT, f"{DICOM_UV_PER_BIT} uV per bit").astype("<i2")
    if patient_id is not None and (
        len(patient_id) > 64 or "\\" in patient_id or not patient_id.isprintable()
    ):
        raise ValueError(f"patient_id {patient_id!r} is not a valid DICOM LO value")

    rate_text = _number_string(rate)
    day = clock = stamp = ""
    zone: str | None = None
    if acquired_at is not None:
        day, clock, stamp, zone = _dicom_datetime(acquired_at)
    uids = _uids(counts, rate_text, patient_id or "", stamp)

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = TWELVE_LEAD_ECG_STORAGE
    meta.MediaStorageSOPInstanceUID = uids["sop"]
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8
    ds.SOPClassUID = TWELVE_LEAD_ECG_STORAGE
    ds.SOPInstanceUID = uids["sop"]
    ds.StudyDate, ds.StudyTime = day, clock
    ds.ContentDate, ds.ContentTime = day, clock
    ds.AcquisitionDateTime = stamp
    if zone is not None:
        ds.TimezoneOffsetFromUTC = zone
    ds.AccessionNumber = ""
    ds.Modality = "ECG"
    ds.Manufacturer = ""
    ds.ReferringPhysicianName = ""
    ds.PatientName = ""
    ds.PatientID = patient_id or ""
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.StudyInstanceUID = uids["study"]
    ds.SeriesInstanceUID = uids["series"]
    ds.StudyID = ""
    ds.SeriesNumber = None
    ds.InstanceNumber = 1
    ds.AcquisitionContextSequence = Sequence()

    group = Dataset()
    group.MultiplexGroupTimeOffset = "0"
    group.TriggerTimeOffset = "0"
    group.WaveformOriginality = "ORIGINAL"
    group.NumberOfWaveformChannels = len(LEADS)
    group.NumberOfWaveformSamples = n_samples
    group.SamplingFrequency = rate_text
    group.MultiplexGroupLabel = RHYTHM_LABEL
    group.ChannelDefinitionSequence = Sequence([_channel(lead) for lead in LEADS])
    group.WaveformBitsAllocated = 16
    group.WaveformSampleInterpretation = "SS"
    group.WaveformData = np.ascontiguousarray(counts.T).tobytes()  # sample-major interleave
    ds.WaveformSequence = Sequence([group])

    path = Path(path)
    ds.save_as(path, enforce_file_format=True)
    return path
