"""ECG/echo training pairs from a warehouse, their labels, and the patient-level split.

A pair is a core ECG with the echo of the same patient closest to it within a window of days
(`warehouse/sql/select_training_pairs.sql`). The warehouse is opened read-only, and only for
the one query that lists the pairs, so a refresh waiting to write is held up for a moment, not
for the whole read; the waveforms then come from the Parquet shards, which are written once and
never changed. Splits are by patient: no patient's ECGs are in two splits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import duckdb
import numpy as np
from prefect import task
from prefect.cache_policies import NO_CACHE

from imnm.waveform_store import read_shard_rows
from models.registry import SplitCounts, TrainingDataSummary, summarize_training_data
from warehouse.db import open_warehouse, sql

SPLITS: Final[tuple[str, ...]] = ("train", "validation", "test")
SPLIT_FRACTIONS: Final[tuple[float, ...]] = (0.70, 0.15, 0.15)
# Below this the test split holds a handful of ECGs and its AUC interval spans most of 0..1.
MIN_TRAINING_PAIRS: Final[int] = 100
DEMO_NETWORK_MANIFEST_DIR: Final[str] = "demo_manifest"


class TrainingDataError(ValueError):
    """The warehouse does not give a usable training set (too few pairs, a class missing)."""


class WarehouseBusyError(RuntimeError):
    """Another process holds the warehouse's write lock, so it cannot be read now."""


@dataclass(frozen=True)
class TrainingLabel:
    """A label the model can be trained on: its name, its column of the training pairs, its
    meaning."""

    name: str
    column: str
    definition: str

    def described(self, window_days: int) -> str:
        """The label definition with the pairing window filled in."""
        return self.definition.format(window=window_days)


LABELS: Final[dict[str, TrainingLabel]] = {
    "ef_le_35": TrainingLabel(
        "ef_le_35", "ef_le_35",
        "LVEF <= 35% on the echocardiogram closest to the ECG within {window} days "
        "(core.echos.ef_le_35; the published low-EF definition)"),
    "lvd_broad": TrainingLabel(
        "lvd_broad", "echo_lvd_flag",
        "Broad LVD on the echocardiogram closest to the ECG within {window} days "
        "(any finding in core.echos.echo_findings: EF <= 35%, mildly abnormal systolic "
        "function, diastolic dysfunction, hypokinesis or regional wall-motion abnormality)"),
}


def training_label(name: str) -> TrainingLabel:
    """The label called `name`; an unknown name is an error listing the known ones."""
    try:
        return LABELS[name]
    except KeyError:
        raise ValueError(f"unknown label {name!r}; choose one of {sorted(LABELS)}") from None


@dataclass(frozen=True)
class TrainingPairs:
    """Pairs in a fixed order: ids, patients, days between ECG and echo, labels, waveforms.

    Waveforms are (n, 12, 5000) int16 microvolts.
    """

    ecg_ids: np.ndarray
    patient_keys: np.ndarray
    days_apart: np.ndarray
    labels: np.ndarray
    waveforms_uv: np.ndarray

    def __len__(self) -> int:
        return len(self.ecg_ids)

    def subset(self, mask: np.ndarray) -> TrainingPairs:
        """The pairs where `mask` is true, in the same order."""
        return TrainingPairs(self.ecg_ids[mask], self.patient_keys[mask], self.days_apart[mask],
                             self.labels[mask], self.waveforms_uv[mask])

    def counts(self) -> SplitCounts:
        """ECGs, distinct patients and positive labels."""
        return SplitCounts(n_ecgs=len(self), n_patients=len(set(self.patient_keys.tolist())),
                           n_positive=int(self.labels.sum()))


@dataclass(frozen=True)
class PairSelection:
    """The pairs read for one label and window, and how many were dropped for no label."""

    pairs: TrainingPairs
    label: TrainingLabel
    pair_window_days: int
    n_unknown_label: int


@dataclass(frozen=True)
class TrainingSplits:
    """The patient-level train, validation and test splits of one seed."""

    train: TrainingPairs
    validation: TrainingPairs
    test: TrainingPairs
    seed: int

    def by_name(self) -> dict[str, TrainingPairs]:
        return {"train": self.train, "validation": self.validation, "test": self.test}


@dataclass(frozen=True)
class TrainingSource:
    """The warehouse pairs are read from, how to name it on a card, and whether (and why) its
    data are known to be synthetic."""

    warehouse: Path
    description: str
    synthetic_because: str | None


def describe_source(warehouse: Path) -> TrainingSource:
    """Name the source and look for evidence that its data come from a demo generator.

    Evidence: the demo training archive's `archive.json` beside the warehouse, or the demo
    network's defect manifest in the same data directory.
    """
    from imnm.demo import read_archive_manifest

    warehouse = Path(warehouse).resolve()
    archive = read_archive_manifest(warehouse.parent)
    if archive is not None and archive.synthetic:
        return TrainingSource(warehouse, f"{archive.description}: {archive.n_ecgs} ECGs, seed "
                              f"{archive.seed}", "it is the demo training archive")
    if (warehouse.parent / DEMO_NETWORK_MANIFEST_DIR).is_dir():
        return TrainingSource(warehouse, f"warehouse {warehouse}",
                              "its data directory holds the demo network's manifest")
    return TrainingSource(warehouse, f"warehouse {warehouse}", None)


def load_training_pairs(warehouse: Path, label: str, window_days: int) -> PairSelection:
    """Pairs within `window_days` with a known `label`, waveforms read shard by shard.

    Shard paths in core.ecgs are relative to the warehouse file's folder (the data directory).
    """
    chosen = training_label(label)
    if window_days < 0:
        raise ValueError(f"the pairing window must be 0 days or more, got {window_days}")
    rows = select_pair_rows(Path(warehouse), window_days)
    known = [row for row in rows if row[chosen.column] is not None]
    waveforms = read_waveforms(Path(warehouse).parent, [row["waveform_shard"] for row in known],
                               [row["waveform_row"] for row in known])
    pairs = TrainingPairs(
        ecg_ids=np.asarray([row["ecg_id"] for row in known], dtype=object),
        patient_keys=np.asarray([row["patient_key"] for row in known], dtype=object),
        days_apart=np.asarray([row["days_apart"] for row in known], dtype=np.int64),
        labels=np.asarray([row[chosen.column] for row in known], dtype=np.int8),
        waveforms_uv=waveforms,
    )
    return PairSelection(pairs, chosen, window_days, n_unknown_label=len(rows) - len(known))


def select_pair_rows(warehouse: Path, window_days: int) -> list[dict[str, object]]:
    """The pairing query's rows as dicts, the warehouse held read-only for that query only."""
    try:
        with open_warehouse(warehouse, read_only=True) as con:
            cursor = con.execute(sql("select_training_pairs"), {"window_days": window_days})
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except duckdb.IOException as error:
        if "lock" not in str(error).lower():
            raise
        raise WarehouseBusyError(
            f"{warehouse} is being written by another process (a refresh?) and cannot be read "
            "now; train when it has finished, or from a copy of the warehouse") from error
    except duckdb.CatalogException as error:
        raise TrainingDataError(f"{warehouse} has no core.ecgs/core.echos: is it a platform "
                                f"warehouse? ({error})") from error


def read_waveforms(root: Path, shards: list[str], rows: list[int]) -> np.ndarray:
    """(n, 12, 5000) int16 waveforms for (shard, row) pairs in the order given, one read per
    shard."""
    from imnm.ecg.contract import N_LEADS, N_SAMPLES

    waveforms = np.empty((len(shards), N_LEADS, N_SAMPLES), dtype=np.int16)
    positions: dict[str, list[int]] = {}
    for position, shard in enumerate(shards):
        positions.setdefault(shard, []).append(position)
    for shard, where in sorted(positions.items()):
        path = root / shard
        if not path.is_file():
            raise FileNotFoundError(f"waveform shard {shard} named in core.ecgs is missing "
                                    f"under {root}")
        waveforms[where] = read_shard_rows(path, [rows[i] for i in where])
    return waveforms


def patient_split(patient_ids: np.ndarray, seed: int) -> np.ndarray:
    """Split name per ECG from a seeded hash of its patient: a patient is in one split only."""
    bounds = np.cumsum(SPLIT_FRACTIONS)
    names = []
    for patient in patient_ids:
        digest = hashlib.sha256(f"{seed}:{patient}".encode()).digest()
        position = int.from_bytes(digest[:8], "big") / 2**64
        names.append(SPLITS[int(np.searchsorted(bounds, position, side="right"))])
    return np.asarray(names)


def split_by_patient(pairs: TrainingPairs, seed: int) -> TrainingSplits:
    """Train, validation and test splits by patient; each must hold both classes."""
    if len(pairs) < MIN_TRAINING_PAIRS:
        raise TrainingDataError(
            f"only {len(pairs)} ECG/echo pairs with a known label; training needs at least "
            f"{MIN_TRAINING_PAIRS} (more pairs, or a wider pairing window)")
    names = patient_split(pairs.patient_keys, seed)
    splits = TrainingSplits(*(pairs.subset(names == name) for name in SPLITS), seed=seed)
    check_patients_disjoint(splits)
    for name, part in splits.by_name().items():
        counts = np.bincount(part.labels.astype(np.int64), minlength=2)
        if counts.min() == 0:
            missing = "positive" if counts[1] == 0 else "negative"
            raise TrainingDataError(
                f"the {name} split ({len(part)} ECGs of {len(pairs)} pairs) has no {missing} "
                "label: too few pairs of that class to train and evaluate on")
    return splits


def check_patients_disjoint(splits: TrainingSplits) -> None:
    """Raise if any patient has ECGs in two splits (the split would leak between them)."""
    seen: dict[str, str] = {}
    for name, part in splits.by_name().items():
        for patient in set(part.patient_keys.tolist()):
            if patient in seen:
                raise RuntimeError(f"patient {patient} is in the {seen[patient]} and {name} "
                                   "splits")
            seen[patient] = name


def summarize_training_set(selection: PairSelection, splits: TrainingSplits,
                           source: TrainingSource, synthetic: bool) -> TrainingDataSummary:
    """The card's training-data record: the train split's counts and fingerprint (label and
    window hashed in), every split's counts, the pairing rule and the source."""
    train = splits.train
    summary = summarize_training_data(
        train.waveforms_uv, train.labels, train.patient_keys, synthetic=synthetic,
        provenance={"label": selection.label.name,
                    "pair_window_days": selection.pair_window_days})
    return replace(
        summary, source=source.description, label=selection.label.name,
        pair_window_days=selection.pair_window_days, split_seed=splits.seed,
        splits={name: part.counts() for name, part in splits.by_name().items()},
        n_pairs_unknown_label=selection.n_unknown_label)


def decide_synthetic(source: TrainingSource, synthetic: bool | None) -> bool:
    """Whether the card says synthetic: as declared, else as the source shows. Declaring
    demo data real is refused; declaring real data synthetic is allowed (it only adds a
    warning to the card)."""
    if synthetic is None:
        return source.synthetic_because is not None
    if not synthetic and source.synthetic_because is not None:
        raise TrainingDataError(f"{source.warehouse} holds synthetic data "
                                f"({source.synthetic_because}); its model must be marked "
                                "synthetic")
    return synthetic


@task(name="read training pairs", cache_policy=NO_CACHE)
def read_training_pairs(warehouse: Path, label: str, window_days: int) -> PairSelection:
    """ECG/echo pairs with a known label from the warehouse (read-only, briefly)."""
    selection = load_training_pairs(warehouse, label, window_days)
    print(f"{len(selection.pairs)} ECG/echo pairs within {window_days} days with a known "
          f"{label} label ({int(selection.pairs.labels.sum())} positive); "
          f"{selection.n_unknown_label} dropped for an unknown label")
    return selection


@task(name="split by patient", cache_policy=NO_CACHE)
def split_training_pairs(selection: PairSelection, seed: int) -> TrainingSplits:
    """Seeded patient-level train/validation/test split, checked for leaks and both classes."""
    splits = split_by_patient(selection.pairs, seed)
    print("; ".join(f"{name} {part.counts().n_ecgs} ECGs / {part.counts().n_patients} patients "
                    f"/ {part.counts().n_positive} positive"
                    for name, part in splits.by_name().items()))
    return splits
