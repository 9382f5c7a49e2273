"""PhysioNet WFDB records (header + signal files), read and written with the `wfdb` package.

Only the 12 standard leads are kept; extra channels (Frank leads, respiration) are dropped.
The patient id travels in a `patient_id: X` header comment; the acquisition time in the
header's base date/time (WFDB has no time zone, so an aware time adds a `utc_offset` comment).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import wfdb

from imnm.ecg.contract import LEADS
from imnm.ecg.formats import (
    EcgFileError,
    EcgRecord,
    check_contract_signal,
    fixed_offset,
    format_utc_offset,
    select_standard_leads,
)

SOURCE_FORMAT = "wfdb"

# Physical units -> microvolts. WFDB's default unit, when a header gives none, is the millivolt.
_UNIT_TO_UV: dict[str, float] = {
    "mv": 1000.0,
    "uv": 1.0,
    "µv": 1.0,
    "μv": 1.0,
    "microvolts": 1.0,
    "v": 1_000_000.0,
    "nv": 0.001,
}
_PATIENT_COMMENT = re.compile(r"^\s*patient[ _]?id\s*[:=]\s*(?P<value>.+?)\s*$", re.IGNORECASE)
_OFFSET_COMMENT = re.compile(r"^\s*utc_offset\s*:\s*(?P<sign>[+-])(?P<h>\d{2}):(?P<m>\d{2})\s*$")
# PTB-style "ECG date: DD/MM/YYYY" comment, used when the header carries no base date.
_ECG_DATE_COMMENT = re.compile(
    r"^\s*ecg date\s*:\s*(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})\s*$", re.IGNORECASE
)
_MISSING_SAMPLE = -32768  # format 16 reserves this code for "no sample"
_BYTES_PER_SAMPLE: dict[str, int] = {"8": 1, "80": 1, "16": 2, "61": 2, "160": 2, "24": 3, "32": 4}


def _record_base(path: Path) -> Path:
    return path.with_suffix("") if path.suffix.lower() == ".hea" else path


def _check_signal_files(header: wfdb.Record, base: Path, source: Path) -> None:
    """Refuse a record whose uncompressed signal files are shorter than the header says."""
    if not header.file_name or header.sig_len is None:
        return
    needed: dict[str, int] = {}
    offsets: dict[str, int] = {}
    for index, file_name in enumerate(header.file_name):
        width = _BYTES_PER_SAMPLE.get(str(header.fmt[index]))
        if width is None:  # packed or compressed formats: left to the wfdb reader
            return
        frames = (header.samps_per_frame or [1] * len(header.file_name))[index]
        needed[file_name] = needed.get(file_name, 0) + width * frames * int(header.sig_len)
        offsets[file_name] = int((header.byte_offset or [0] * len(header.file_name))[index] or 0)
    for file_name, size in needed.items():
        signal_file = base.parent / file_name
        if not signal_file.is_file():
            raise EcgFileError(f"{source}: signal file {file_name} not found")
        present = signal_file.stat().st_size - offsets[file_name]
        if present < size:
            raise EcgFileError(
                f"{source}: truncated, signal file {file_name} has {present} of {size} bytes"
            )


def _patient_id(comments: list[str]) -> str | None:
    for line in comments:
        match = _PATIENT_COMMENT.match(line)
        if match:
            return match.group("value")
    return None


def _acquired_at(record: wfdb.Record, comments: list[str]) -> datetime | None:
    base_date: date | None = record.base_date
    if base_date is not None:
        stamp = datetime.combine(base_date, record.base_time or time())
        for line in comments:
            match = _OFFSET_COMMENT.match(line)
            if match:
                stamp = stamp.replace(tzinfo=fixed_offset(match["sign"], match["h"], match["m"]))
        return stamp
    for line in comments:
        match = _ECG_DATE_COMMENT.match(line)
        if match:
            try:
                return datetime(int(match["y"]), int(match["m"]), int(match["d"]))
            except ValueError:
                return None
    return None


def read_wfdb(path: Path) -> EcgRecord:
    """Read a WFDB record (its `.hea` path or record name) in microvolts, standard leads only.

    Amplitudes use the header's gain, baseline and units, so any WFDB unit ends up in microvolts.
    """
    path = Path(path)
    base = _record_base(path)
    header = base.with_suffix(".hea")
    if not header.is_file():
        raise EcgFileError(f"{path}: WFDB header {header.name} not found")
    try:
        record = wfdb.rdrecord(str(base), return_res=64)
    except Exception as exc:  # wfdb raises bare ValueError/IndexError/etc. on damaged records
        # Only a failed read pays for a second header parse, to say precisely what is wrong.
        try:
            _check_signal_files(wfdb.rdheader(str(base)), base, path)
        except EcgFileError:
            raise
        except Exception:
            pass
        raise EcgFileError(f"{path}: unreadable WFDB record ({type(exc).__name__}: {exc})") from exc
    _check_signal_files(record, base, path)
    if record.p_signal is None or record.sig_name is None:
        raise EcgFileError(f"{path}: WFDB record has no signals")
    selected = select_standard_leads(record.sig_name, path)
    if not selected:
        raise EcgFileError(f"{path}: no standard ECG leads among channels {record.sig_name}")
    expected = int(record.sig_len)
    if record.p_signal.shape[0] != expected:
        raise EcgFileError(
            f"{path}: truncated, {record.p_signal.shape[0]} of {expected} samples present"
        )
    columns: list[np.ndarray] = []
    for index, name in selected:
        unit = (record.units[index] if record.units else None) or "mV"
        factor = _UNIT_TO_UV.get(unit.strip().lower())
        if factor is None:
            raise EcgFileError(f"{path}: lead {name} has unsupported units {unit!r}")
        column = record.p_signal[:, index] * factor
        if not np.all(np.isfinite(column)):
            missing = int(np.count_nonzero(~np.isfinite(column)))
            raise EcgFileError(f"{path}: lead {name} has {missing} missing samples")
        columns.append(column)
    comments = list(record.comments or [])
    return EcgRecord(
        signal_uv=np.vstack(columns),
        leads=tuple(name for _, name in selected),
        sampling_hz=float(record.fs),
        patient_id=_patient_id(comments),
        acquired_at=_acquired_at(record, comments),
        source_format=SOURCE_FORMAT,
    )


def _offset_comment(acquired_at: datetime) -> list[str]:
    offset = acquired_at.utcoffset()
    if offset is None:
        return []
    return [f"utc_offset: {format_utc_offset(offset, ':')}"]


def write_wfdb(
    directory: Path,
    record_name: str,
    signal_uv: np.ndarray,
    sampling_hz: float,
    patient_id: str | None,
    acquired_at: datetime | None,
) -> list[Path]:
    """Write a contract-ordered (12, n) microvolt signal as a WFDB format-16 record; return files.

    Samples are stored as whole microvolts (gain 1 adu/uV), so int16 input round-trips exactly.
    """
    digital = np.rint(check_contract_signal(signal_uv))
    if np.any(digital < _MISSING_SAMPLE + 1) or np.any(digital > np.iinfo(np.int16).max):
        raise ValueError(
            "signal outside -32767..32767 uV; WFDB format 16 reserves -32768 for missing samples"
        )
    comments: list[str] = []
    if patient_id is not None:
        if not (patient_id.isascii() and patient_id.isprintable() and patient_id.strip()):
            # WFDB headers are ASCII (readers drop other bytes) and comments are single lines.
            raise ValueError(f"patient_id {patient_id!r} must be printable ASCII for WFDB")
        comments.append(f"patient_id: {patient_id}")
    if acquired_at is not None:
        comments.extend(_offset_comment(acquired_at))
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    n_leads = len(LEADS)
    wfdb.wrsamp(
        record_name,
        fs=float(sampling_hz),
        units=["uV"] * n_leads,
        sig_name=list(LEADS),
        d_signal=digital.astype(np.int64).T,
        fmt=["16"] * n_leads,
        adc_gain=[1.0] * n_leads,
        baseline=[0] * n_leads,
        comments=comments or None,
        base_date=acquired_at.date() if acquired_at is not None else None,
        base_time=acquired_at.timetz().replace(tzinfo=None) if acquired_at is not None else None,
        write_dir=str(directory),
    )
    return [directory / f"{record_name}.hea", directory / f"{record_name}.dat"]
