"""Vendor ECG file formats: one record type, one error type and a reader registry.

Every reader turns one file into an `EcgRecord` (the leads as stored, in microvolts, at the
file's own rate); `imnm.ecg.normalize` then turns that into the platform's waveform contract.
Readers are imported lazily so that importing this package does not pull in `wfdb` & co.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

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
    "EcgFileError",
    "EcgRecord",
    "UnknownEcgFormatError",
    "canonical_lead_name",
    "read_ecg",
    "select_standard_leads",
]
