"""Helpers shared by the ECG format tests: real-file folder, synthetic signal, common checks.

Asserts here are not rewritten by pytest (this is not a test module), so each carries a message.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Protocol

import numpy as np
import pytest
from scipy.signal import butter, find_peaks, sosfiltfilt

from imnm.ecg.contract import SAMPLING_HZ
from imnm.ecg.formats import EcgFileError, EcgRecord, read_ecg
from imnm.ecg.synth import synthesize_ecgs
from tests.support.real_ecg import REAL_ECG_DIR

REAL = REAL_ECG_DIR
AECG_EXAMPLE_ORDER = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6", "III", "aVR", "aVL", "aVF")
BAND = butter(2, [0.5, 40.0], btype="band", fs=SAMPLING_HZ, output="sos")
# Normalization rounds every lead to whole microvolts, which can add up to 1.5 uV to III - (II - I).
ROUNDING_UV = 1.5
ACQUIRED = datetime(2023, 3, 14, 15, 9, 26)
SECRET = "IMNM-SECRET-7f3a9c"


class StoredFacts(Protocol):
    """What a test's facts table states about the record stored in one real file."""

    @property
    def leads(self) -> tuple[str, ...]: ...

    @property
    def sampling_hz(self) -> float: ...

    @property
    def n_samples(self) -> int: ...

    @property
    def resolution_uv(self) -> float: ...  # every stored value is a multiple of this

    @property
    def patient_id(self) -> str | None: ...

    @property
    def acquired_at(self) -> datetime | None: ...


def synthetic_contract_ecg() -> np.ndarray:
    """One synthetic contract waveform (int16, 12 x 5000 at 500 Hz), the same on every call."""
    return synthesize_ecgs(np.array([0.6]), np.random.default_rng(11))[0]


def band_ptp(contract: np.ndarray) -> np.ndarray:
    """Peak-to-peak amplitude of each lead after a 0.5-40 Hz band-pass, in microvolts."""
    return np.ptp(sosfiltfilt(BAND, contract.astype(np.float64), axis=1), axis=1)


def count_beats(contract: np.ndarray) -> int:
    """QRS complexes in a contract waveform: peaks of the band-passed slope energy of all leads."""
    filtered = sosfiltfilt(BAND, contract.astype(np.float64), axis=1)
    energy = np.abs(np.diff(filtered, axis=1)).sum(axis=0)
    peaks, _ = find_peaks(energy, height=0.5 * np.percentile(energy, 99.5), distance=150)
    return len(peaks)


def check_stored_facts(
    record: EcgRecord, fmt: str, facts: StoredFacts, *, exact_steps: bool = False
) -> None:
    """Assert that a record read from a real file is what its facts say, in whole ADC steps."""
    stated = {
        "source_format": (record.source_format, fmt),
        "leads": (record.leads, facts.leads),
        "sampling_hz": (record.sampling_hz, facts.sampling_hz),
        "shape": (record.signal_uv.shape, (len(facts.leads), facts.n_samples)),
        "patient_id": (record.patient_id, facts.patient_id),
        "acquired_at": (record.acquired_at, facts.acquired_at),
    }
    for name, (read, expected) in stated.items():
        assert read == expected, f"{name}: read {read!r}, the facts say {expected!r}"
    steps = record.signal_uv / facts.resolution_uv
    if exact_steps:
        whole = np.array_equal(steps, np.rint(steps))
    else:
        whole = np.allclose(steps, np.rint(steps), atol=1e-6)
    assert whole, f"values are not whole {facts.resolution_uv} uV steps"


def read_round_trip(
    path: Path,
    fmt: str,
    leads: tuple[str, ...],
    patient_id: str | None,
    acquired_at: datetime | None,
) -> EcgRecord:
    """Read a file that a writer made at the contract rate; assert its leads, rate, id and time."""
    record = read_ecg(path, fmt)
    stated = {
        "leads": (record.leads, leads),
        "sampling_hz": (record.sampling_hz, SAMPLING_HZ),
        "patient_id": (record.patient_id, patient_id),
        "acquired_at": (record.acquired_at, acquired_at),
    }
    for name, (read, written) in stated.items():
        assert read == written, f"{name}: read {read!r}, wrote {written!r}"
    return record


def billion_laughs(root: str, body: str) -> str:
    """An XML document whose entity `&lol9;` expands to 10**9 "lol"s; `body` should use it."""
    lines = ['<?xml version="1.0"?>', f"<!DOCTYPE {root} [", ' <!ENTITY lol "lol">']
    for level in range(1, 10):
        previous = f"&lol{level - 1 if level > 1 else ''};"
        lines.append(f' <!ENTITY lol{level} "{previous * 10}">')
    return "\n".join([*lines, "]>", body]) + "\n"


def external_entity(root: str, target: str, body: str) -> str:
    """An XML document declaring `&xxe;` as the external resource `target`; `body` should use it."""
    return f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{target}">]>\n{body}\n'


def check_hostile_xml_refused(path: Path, fmt: str, leaks: Iterable[str] = (SECRET,)) -> None:
    """Assert that reading `path` is refused by name, in little memory, quoting none of `leaks`."""
    tracemalloc.start()
    try:
        with pytest.raises(EcgFileError) as caught:
            read_ecg(path, fmt)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert path.name in message, message
    assert "entities" in message and "refused" in message, message
    for leaked in leaks:
        assert leaked not in message, message
        assert leaked not in repr(caught.value.__cause__), repr(caught.value.__cause__)
    assert peak < 20 * 1024 * 1024, f"parsing used {peak} bytes"
