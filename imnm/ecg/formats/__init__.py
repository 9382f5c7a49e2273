"""Vendor ECG file formats: one record type, one error type and a reader registry.

Every reader turns one file into an `EcgRecord` (the leads as stored, in microvolts, at the
file's own rate); `imnm.ecg.normalize` then turns that into the platform's waveform contract.
Readers are imported lazily so that importing this package does not pull in `wfdb` & co.
The helpers below are the parts that several format modules share (input checks of the
writers, date/time and UTC-offset text, XML text and output).
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.etree.ElementTree import Element, indent, tostring

import numpy as np

from imnm.ecg.contract import LEADS


class EcgFileError(ValueError):
    """An ECG file cannot be turned into a record: unreadable, truncated, missing leads, hostile."""


class UnknownEcgFormatError(KeyError, ValueError):
    """`read_ecg` was asked for a format that has no registered reader."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True, eq=False)
class EcgRecord:
    """One ECG as stored in its file: leads in file order, microvolts, the file's sampling rate."""

    signal_uv: np.ndarray
    leads: tuple[str, ...]
    sampling_hz: float
    patient_id: str | None
    acquired_at: datetime | None
    source_format: str

    def __post_init__(self) -> None:
        signal = np.array(self.signal_uv, dtype=np.float64)
        if signal.ndim != 2 or signal.shape[0] != len(self.leads):
            raise ValueError(
                f"signal shape {signal.shape} does not match {len(self.leads)} leads {self.leads}"
            )
        unknown = [name for name in self.leads if name not in LEADS]
        if unknown:
            raise ValueError(f"lead names {unknown} are not canonical contract leads")
        if len(set(self.leads)) != len(self.leads):
            raise ValueError(f"duplicate leads in {self.leads}")
        if not (math.isfinite(self.sampling_hz) and self.sampling_hz > 0):
            raise ValueError(f"sampling rate must be a positive number, got {self.sampling_hz}")
        signal.setflags(write=False)
        object.__setattr__(self, "signal_uv", signal)
        object.__setattr__(self, "sampling_hz", float(self.sampling_hz))

    @property
    def n_samples(self) -> int:
        """Samples per lead."""
        return int(self.signal_uv.shape[1])

    @property
    def duration_s(self) -> float:
        """Recording length in seconds."""
        return self.n_samples / self.sampling_hz


# Lower-cased spellings seen in vendor files, after removing a "lead"/"MDC_ECG_LEAD_" prefix.
_LEAD_ALIASES: dict[str, str] = {name.lower(): name for name in LEADS}
_LEAD_PREFIX = re.compile(r"^(?:mdc_ecg_lead_|lead[\s_-]*)", re.IGNORECASE)


def canonical_lead_name(name: str) -> str | None:
    """Map a vendor lead label ('i', 'Lead I', 'MDC_ECG_LEAD_AVR', 'v1') to its contract name.

    Returns None for labels that are not one of the 12 standard leads (Frank leads, rhythm strips).
    """
    key = _LEAD_PREFIX.sub("", name.strip()).strip().lower()
    return _LEAD_ALIASES.get(key)


def select_standard_leads(
    names: Iterable[str], source: str | Path
) -> list[tuple[int, str]]:
    """Return (channel index, canonical name) for each standard lead among `names`, in file order.

    Raises `EcgFileError` when a standard lead appears twice, since the record would be ambiguous.
    """
    selected: list[tuple[int, str]] = []
    seen: dict[str, str] = {}
    for index, raw in enumerate(names):
        canonical = canonical_lead_name(raw)
        if canonical is None:
            continue
        if canonical in seen:
            raise EcgFileError(
                f"{source}: lead {canonical} appears twice (as {seen[canonical]!r} and {raw!r})"
            )
        seen[canonical] = raw
        selected.append((index, canonical))
    return selected


# SCP-ECG lead codes (section 3, "5.6.3-9-N" in DICOM) of the 12 standard leads; ISO/IEEE 11073
# MDC codes ("2:N") share the numbering.
SCP_LEAD_CODES: dict[int, str] = {
    1: "I", 2: "II", 3: "V1", 4: "V2", 5: "V3", 6: "V4", 7: "V5", 8: "V6",
    61: "III", 62: "aVR", 63: "aVL", 64: "aVF",
}


def stack_leads(
    selected: list[tuple[int, str]], signals: list[np.ndarray], source: str | Path
) -> np.ndarray:
    """Stack one signal per selected lead; `EcgFileError` when their lengths differ (truncated)."""
    lengths = {name: len(signal) for (_, name), signal in zip(selected, signals, strict=True)}
    if len(set(lengths.values())) != 1:
        raise EcgFileError(f"{source}: leads differ in length (truncated?): {lengths}")
    return np.vstack(signals)


def element_text(parent: Element | None, path: str) -> str | None:
    """The stripped text of the element at `path` under `parent`; None when absent or empty."""
    element = parent.find(path) if parent is not None else None
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def combine_date_time(
    day: str | None, clock: str | None, day_format: str, clock_format: str
) -> datetime | None:
    """Parse a date and a time of day: None without a valid date, midnight for a malformed time."""
    if not day:
        return None
    try:
        when = datetime.strptime(day, day_format)
    except ValueError:  # redacted or malformed dates ("XX-XX-XXXX") carry no time
        return None
    if clock:
        try:
            parsed = datetime.strptime(clock, clock_format)
        except ValueError:
            return when
        when = when.replace(hour=parsed.hour, minute=parsed.minute, second=parsed.second)
    return when


def fixed_offset(sign: str, hours: str, minutes: str) -> timezone:
    """The time zone of a UTC offset given as its sign ("+" or "-"), hours and minutes."""
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-offset if sign == "-" else offset)


def format_utc_offset(offset: timedelta, separator: str = "") -> str:
    """A UTC offset as "+HHMM" (HL7, DICOM), or "+HH:MM" with `separator` ":"."""
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}{separator}{minutes % 60:02d}"


_INT16_MAX = int(np.iinfo(np.int16).max)


def check_contract_signal(signal_uv: np.ndarray, *, allow_empty: bool = False) -> np.ndarray:
    """A writer's input as float64; `ValueError` unless finite, (12, n), contract lead order."""
    signal = np.asarray(signal_uv, dtype=np.float64)
    if signal.ndim != 2 or signal.shape[0] != len(LEADS):
        raise ValueError(f"signal must be (12, n) in contract lead order, got {signal.shape}")
    if signal.shape[1] == 0 and not allow_empty:
        raise ValueError("signal has no samples")
    if not np.all(np.isfinite(signal)):
        raise ValueError("signal contains non-finite values")
    return signal


def writer_counts(
    signal_uv: np.ndarray, uv_per_count: float, what: str, *, lowest: int = -_INT16_MAX
) -> np.ndarray:
    """Finite microvolts as int64 counts; `ValueError` naming scale `what` outside lowest..32767."""
    counts = np.rint(np.asarray(signal_uv, dtype=np.float64) / uv_per_count)
    if counts.min(initial=0) < lowest or counts.max(initial=0) > _INT16_MAX:
        raise ValueError(f"signal exceeds the int16 range at {what}")
    return counts.astype(np.int64)


def write_utf8_xml(path: Path, root: Element) -> Path:
    """Write `root` indented by two spaces as a UTF-8 XML document with a declaration."""
    indent(root, space="  ")
    body = tostring(root, encoding="unicode")
    path = Path(path)
    path.write_bytes(('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8"))
    return path


def _lazy_reader(module: str, function: str) -> Callable[[Path], EcgRecord]:
    def read(path: Path) -> EcgRecord:
        reader = getattr(importlib.import_module(module), function)
        return reader(Path(path))

    read.__name__ = function
    read.__qualname__ = function
    read.__doc__ = f"Read one file with `{module}.{function}`."
    return read


READERS: dict[str, Callable[[Path], EcgRecord]] = {
    "wfdb": _lazy_reader("imnm.ecg.formats.wfdb_format", "read_wfdb"),
    "hl7-aecg": _lazy_reader("imnm.ecg.formats.hl7_aecg", "read_hl7_aecg"),
    "ge-muse": _lazy_reader("imnm.ecg.formats.ge_muse", "read_ge_muse"),
    "philips-sierra": _lazy_reader("imnm.ecg.formats.philips_sierra", "read_philips_sierra"),
    "dicom": _lazy_reader("imnm.ecg.formats.dicom_waveform", "read_dicom_waveform"),
    "scp-ecg": _lazy_reader("imnm.ecg.formats.scp_ecg", "read_scp_ecg"),
}


def read_ecg(path: Path, fmt: str) -> EcgRecord:
    """Read one ECG file with the reader registered for `fmt`; there is no guessing or fallback.

    Raises `UnknownEcgFormatError` for an unregistered format and `EcgFileError` for a bad file.
    """
    try:
        reader = READERS[fmt]
    except KeyError:
        known = ", ".join(sorted(READERS))
        raise UnknownEcgFormatError(
            f"unknown ECG format {fmt!r}; known formats: {known}"
        ) from None
    try:
        return reader(Path(path))
    except OSError as exc:
        raise EcgFileError(f"{path}: cannot read file ({exc.strerror or exc})") from exc


__all__ = [
    "READERS",
    "SCP_LEAD_CODES",
    "EcgFileError",
    "EcgRecord",
    "UnknownEcgFormatError",
    "canonical_lead_name",
    "check_contract_signal",
    "combine_date_time",
    "element_text",
    "fixed_offset",
    "format_utc_offset",
    "read_ecg",
    "select_standard_leads",
    "stack_leads",
    "write_utf8_xml",
    "writer_counts",
]
