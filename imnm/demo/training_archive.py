"""The demo training archive: a synthetic general-population ECG/echo archive as a warehouse.

Synthetic data only, with no clinical validity. The demo model needs thousands of ECG/echo
pairs and the study network has a few dozen, so the archive is a separate population (ids
`TC-...`, never a network patient) drawn by `simulate_training_centre`: one resting ECG per
patient, EF <= 35% in about 7%, broad LVD in about 25%. Its rows go straight into `core.ecgs`
and `core.echos` of `<root>/warehouse.duckdb` (schema from the platform's migrations) and its
waveforms into Parquet shards under `<root>/waveforms/`, as the refresh would leave them; there
are no landing files, so lineage points at no file (`file_id` 0, `source_row` = row number).

Dates make the pairing rule do real work: most ECGs have an echo within 14 days, some only one
months away (no pair), some patients an older echo as well (not the closest), and a few echo
reports lack an LVEF (EF label unknown, broad LVD label known). Same seed, same archive.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import duckdb
import numpy as np
import pyarrow as pa

from imnm.demo.cohort import TrainingCentre, simulate_training_centre

ARCHIVE_SITE: Final[str] = "training-archive"
ARCHIVE_LVD_FINDING: Final[str] = "diastolic_dysfunction"  # stands for "broad LVD" in the archive
MANIFEST_FILE: Final[str] = "archive.json"
WAREHOUSE_FILE: Final[str] = "warehouse.duckdb"
WAVEFORM_DIR: Final[str] = "waveforms"
GENERATOR_VERSION: Final[int] = 1
DESCRIPTION: Final[str] = (
    "synthetic general-population ECG/echo archive (imnm.demo.training_archive), loaded "
    "straight into core; separate from the study network's patients")
FIRST_ECG_DAY: Final[np.datetime64] = np.datetime64("2012-01-01")
ECG_SPAN_DAYS: Final[int] = 12 * 365
PAIRED_ECHO_MAX_DAYS: Final[int] = 14
UNPAIRED_SHARE: Final[float] = 0.06  # the only echo is 30..365 days from the ECG
OLDER_ECHO_SHARE: Final[float] = 0.20  # an earlier echo 90..720 days before the paired one
NO_LVEF_SHARE: Final[float] = 0.01  # the echo report states no LVEF
SHARD_ROWS: Final[int] = 1000
SYNTH_CHUNK: Final[int] = 256
_DATE_STREAM, _WAVEFORM_STREAM = 40, 41


@dataclass(frozen=True)
class TrainingArchive:
    """Where an archive lies and what it was generated from (its `archive.json`)."""

    root: Path
    n_ecgs: int
    n_echos: int
    seed: int
    synthetic: bool = True
    description: str = DESCRIPTION
    generator_version: int = GENERATOR_VERSION

    @property
    def warehouse(self) -> Path:
        return self.root / WAREHOUSE_FILE


def read_archive_manifest(root: Path) -> TrainingArchive | None:
    """The archive described by `<root>/archive.json`, or None where there is none."""
    path = Path(root) / MANIFEST_FILE
    if not path.is_file():
        return None
    recorded = json.loads(path.read_text(encoding="utf-8"))
    recorded.pop("root", None)
    try:
        return TrainingArchive(root=Path(root), **recorded)
    except TypeError:  # written by another generator version: treat as absent
        return None


def ensure_training_archive(root: Path, n_ecgs: int, seed: int) -> TrainingArchive:
    """The archive for (n_ecgs, seed) at `root`: reused when it is there, else (re)built."""
    existing = read_archive_manifest(root)
    if (existing is not None and existing.warehouse.is_file()
            and (existing.n_ecgs, existing.seed, existing.generator_version)
            == (n_ecgs, seed, GENERATOR_VERSION)):
        return existing
    return write_training_archive(root, n_ecgs, seed)


def write_training_archive(root: Path, n_ecgs: int, seed: int) -> TrainingArchive:
    """Build the archive in a scratch folder beside `root`, then swap it into place.

    A reader never sees a half-built archive; an archive already at `root` is replaced.
    """
    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    building = root.parent / f".{root.name}.building-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    try:
        archive = _build(building, simulate_training_centre(n_ecgs, seed), seed)
        retired = root.parent / f".{root.name}.retired-{os.getpid()}"
        if root.exists():
            root.rename(retired)
        building.rename(root)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return TrainingArchive(**{**asdict(archive), "root": root})


def _build(root: Path, centre: TrainingCentre, seed: int) -> TrainingArchive:
    """Write waveforms, core rows and the manifest of one archive into an empty folder."""
    from warehouse.db import open_warehouse

    root.mkdir(parents=True)
    ecgs = _ecg_table(centre, _write_waveforms(root, centre, seed), seed)
    echos = _echo_table(centre, ecgs.column("acquired_at"), seed)
    with open_warehouse(root / WAREHOUSE_FILE) as con:
        _append(con, "core.ecgs", ecgs)
        _append(con, "core.echos", echos)
        con.execute("CHECKPOINT")
    archive = TrainingArchive(root=root, n_ecgs=len(centre), n_echos=echos.num_rows, seed=seed)
    manifest = {k: v for k, v in asdict(archive).items() if k != "root"}
    (root / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return archive


def _write_waveforms(root: Path, centre: TrainingCentre, seed: int) -> list[tuple[str, int]]:
    """Synthesize every ECG a chunk at a time into shards; (shard relative to root, row) each."""
    from imnm.ecg.synth import synthesize_ecgs
    from imnm.waveform_store import WaveformShardWriter

    rng = np.random.default_rng([seed, _WAVEFORM_STREAM])
    locations: list[tuple[str, int]] = []
    with WaveformShardWriter(root / WAVEFORM_DIR, prefix="archive",
                             rows_per_shard=SHARD_ROWS) as writer:
        for start in range(0, len(centre), SYNTH_CHUNK):
            stop = min(start + SYNTH_CHUNK, len(centre))
            waves = np.asarray(synthesize_ecgs(centre.lv_impairment[start:stop], rng))
            for ecg_id, waveform in zip(centre.ecg_ids[start:stop], waves, strict=True):
                shard, row = writer.append(ecg_id, waveform)
                locations.append((shard.relative_to(root).as_posix(), row))
    return locations


def _ecg_table(centre: TrainingCentre, locations: list[tuple[str, int]], seed: int) -> pa.Table:
    """core.ecgs rows: one ECG per patient on a random day and time of the archive's span."""
    rng = np.random.default_rng([seed, _DATE_STREAM])
    n = len(centre)
    days = FIRST_ECG_DAY + rng.integers(0, ECG_SPAN_DAYS, n).astype("timedelta64[D]")
    seconds = rng.integers(7 * 3600, 18 * 3600, n).astype("timedelta64[s]")
    return pa.table({
        "ecg_id": pa.array(centre.ecg_ids, pa.string()),
        "patient_key": pa.array(centre.patient_ids, pa.string()),
        "site": pa.array([ARCHIVE_SITE] * n, pa.string()),
        "acquired_at": pa.array(days.astype("datetime64[s]") + seconds, pa.timestamp("us")),
        "source_format": pa.array(["synthetic"] * n, pa.string()),
        "waveform_shard": pa.array([shard for shard, _ in locations], pa.string()),
        "waveform_row": pa.array([row for _, row in locations], pa.int32()),
        "file_id": pa.array(np.zeros(n, dtype=np.int64)),
        "source_row": pa.array(np.arange(1, n + 1, dtype=np.int32)),
    })


def _echo_table(centre: TrainingCentre, acquired_at: pa.ChunkedArray, seed: int) -> pa.Table:
    """core.echos rows: the paired echo of each patient, plus an older one for some."""
    rng = np.random.default_rng([seed, _DATE_STREAM, 1])
    n = len(centre)
    ecg_days = np.asarray(acquired_at.to_numpy()).astype("datetime64[D]")
    unpaired = rng.random(n) < UNPAIRED_SHARE
    offset = rng.integers(-PAIRED_ECHO_MAX_DAYS, PAIRED_ECHO_MAX_DAYS + 1, n)
    far = rng.integers(30, 366, n) * rng.choice((-1, 1), n)
    echo_days = ecg_days + np.where(unpaired, far, offset).astype("timedelta64[D]")
    ef = np.round(centre.ef_percent).astype(float)
    no_lvef = rng.random(n) < NO_LVEF_SHARE
    older = rng.random(n) < OLDER_ECHO_SHARE
    older_days = echo_days[older] - rng.integers(90, 721, int(older.sum())).astype(
        "timedelta64[D]")
    older_ef = np.round(np.minimum(ef[older] + np.abs(rng.normal(0.0, 4.0, older.sum())), 75.0))
    return pa.table({
        "patient_key": np.concatenate([centre.patient_ids, np.asarray(centre.patient_ids)[older]]),
        "site": [ARCHIVE_SITE] * (n + int(older.sum())),
        "echo_date": np.concatenate([echo_days, older_days]),
        "lvef_percent": pa.array(np.concatenate([ef, older_ef]),
                                 mask=np.concatenate([no_lvef, np.zeros(older.sum(), bool)])),
        "ef_le_35": pa.array(np.concatenate([ef <= 35.0, older_ef <= 35.0]),
                             mask=np.concatenate([no_lvef, np.zeros(older.sum(), bool)])),
        # The archive knows broad LVD only: an LVD echo carries one finding, the others none.
        "echo_findings": pa.array(np.where(
            np.concatenate([centre.lvd_broad, centre.lvd_broad[older]]),
            ARCHIVE_LVD_FINDING, None).tolist(), pa.string()),
        "lvef_source": pa.array(["structured"] * (n + int(older.sum())), pa.string(),
                                mask=np.concatenate([no_lvef, np.zeros(older.sum(), bool)])),
        "file_id": np.zeros(n + int(older.sum()), dtype=np.int64),
        "source_row": np.arange(1, n + int(older.sum()) + 1, dtype=np.int32),
    })


def _append(con: duckdb.DuckDBPyConnection, table_name: str, rows: pa.Table) -> None:
    """Insert `rows` by column name into a core table; columns it does not carry stay NULL.

    Uses DuckDB's relational API, so no SQL text is assembled; the table's own column order
    (which later migrations may extend) decides the layout.
    """
    target = con.table(table_name)
    columns = []
    for name, duck_type in zip(target.columns, target.types, strict=True):
        if name in rows.column_names:
            columns.append(rows.column(name))
        else:
            columns.append(pa.nulls(rows.num_rows, _arrow_type(str(duck_type))))
    aligned = pa.Table.from_arrays(columns, names=target.columns)
    con.from_arrow(aligned).insert_into(table_name)


def _arrow_type(duck_type: str) -> pa.DataType:
    """The Arrow type for a NULL column of a core table (strings unless clearly otherwise)."""
    return {"BOOLEAN": pa.bool_(), "DOUBLE": pa.float64(), "INTEGER": pa.int32(),
            "BIGINT": pa.int64(), "DATE": pa.date32(),
            "TIMESTAMP": pa.timestamp("us")}.get(duck_type, pa.string())
