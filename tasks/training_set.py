"""Training pairs for the demo AI-ECG model: the synthetic training centre's ECG/echo pairs.

The training centre is a separate synthetic population (no patient of the demo network is in
it). Pairs are split by patient, so no patient is in two splits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from imnm.waveform_store import arrow_to_waveforms

TRAINING_PAIRS_FILE = "ecg_echo_pairs.parquet"
SPLITS = ("train", "validation", "test")
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)


@dataclass(frozen=True)
class TrainingPairs:
    """Waveforms (n, 12, 5000) int16 uV with their labels and patient ids."""

    waveforms_uv: np.ndarray
    labels: np.ndarray
    patient_ids: np.ndarray

    def subset(self, mask: np.ndarray) -> TrainingPairs:
        return TrainingPairs(self.waveforms_uv[mask], self.labels[mask], self.patient_ids[mask])


def ensure_training_centre(directory: Path, n_ecgs: int, seed: int) -> Path:
    """The training centre's pair file, generated deterministically if it is not there yet."""
    path = directory / TRAINING_PAIRS_FILE
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == n_ecgs:
        return path
    from imnm.demo import simulate_training_centre, write_training_centre

    directory.mkdir(parents=True, exist_ok=True)
    write_training_centre(simulate_training_centre(n_ecgs, seed), directory,
                          np.random.default_rng(seed))
    return path


def load_training_pairs(path: Path, label: str) -> TrainingPairs:
    """Read every pair with the chosen label column (`ef_le_35` or `lvd_broad`)."""
    table = pq.read_table(path, columns=["patient_id", label, "waveform"])
    return TrainingPairs(
        waveforms_uv=arrow_to_waveforms(table.column("waveform")),
        labels=np.asarray(table.column(label).to_numpy(zero_copy_only=False), dtype=np.int8),
        patient_ids=np.asarray(table.column("patient_id").to_pylist()),
    )


def patient_split(patient_ids: np.ndarray, seed: int) -> np.ndarray:
    """Split name per ECG from a seeded hash of its patient: a patient is in one split only."""
    bounds = np.cumsum(SPLIT_FRACTIONS)
    names = []
    for patient in patient_ids:
        digest = hashlib.sha256(f"{seed}:{patient}".encode()).digest()
        position = int.from_bytes(digest[:8], "big") / 2**64
        names.append(SPLITS[int(np.searchsorted(bounds, position, side="right"))])
    return np.asarray(names)
