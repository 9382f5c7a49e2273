"""Column-wise storage of contract waveforms in Parquet shards.

Each shard holds up to N ECGs as rows (`ecg_id`, `waveform`: fixed-size list of int16, 12 leads
x 5000 samples, lead-major). Written once at ingestion; read in batches for training and scoring.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from imnm.ecg.contract import N_LEADS, N_SAMPLES, check_waveform

WAVEFORM_VALUES = N_LEADS * N_SAMPLES
SHARD_SCHEMA = pa.schema([
    ("ecg_id", pa.string()),
    ("waveform", pa.list_(pa.int16(), WAVEFORM_VALUES)),
])


def waveforms_to_arrow(ecg_ids: Sequence[str], waveforms: np.ndarray) -> pa.Table:
    """A shard table from ids and an (n, 12, 5000) int16 array, without per-ECG copies."""
    flat = pa.array(np.ascontiguousarray(waveforms, dtype=np.int16).reshape(-1))
    column = pa.FixedSizeListArray.from_arrays(flat, WAVEFORM_VALUES)
    return pa.Table.from_arrays([pa.array(list(ecg_ids), pa.string()), column],
                                schema=SHARD_SCHEMA)


def arrow_to_waveforms(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The (n, 12, 5000) int16 array behind a shard's `waveform` column (zero-copy per chunk)."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = [c.flatten().to_numpy(zero_copy_only=False).reshape(-1, N_LEADS, N_SAMPLES)
             for c in chunks if len(c)]
    if not parts:
        return np.empty((0, N_LEADS, N_SAMPLES), dtype=np.int16)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


class WaveformShardWriter:
    """Appends contract waveforms and writes a shard every `rows_per_shard` ECGs."""

    def __init__(self, directory: Path, prefix: str, rows_per_shard: int = 1000) -> None:
        self.directory = directory
        self.prefix = prefix
        self.rows_per_shard = rows_per_shard
        self._ids: list[str] = []
        self._waveforms: list[np.ndarray] = []
        self._shard_index = 0

    def _shard_path(self) -> Path:
        return self.directory / f"{self.prefix}-{self._shard_index:05d}.parquet"

    def append(self, ecg_id: str, waveform: np.ndarray) -> tuple[Path, int]:
        """Queue one ECG; returns the shard it will be in and its row there."""
        check_waveform(waveform)
        location = (self._shard_path(), len(self._ids))
        self._ids.append(ecg_id)
        self._waveforms.append(waveform)
        if len(self._ids) >= self.rows_per_shard:
            self.flush()
        return location

    def flush(self) -> None:
        """Write the queued ECGs as one shard."""
        if not self._ids:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._shard_path()
        tmp = path.with_suffix(".parquet.tmp")
        pq.write_table(waveforms_to_arrow(self._ids, np.stack(self._waveforms)), tmp,
                       compression="zstd")
        tmp.replace(path)
        self._ids, self._waveforms = [], []
        self._shard_index += 1

    def __enter__(self) -> WaveformShardWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.flush()


def read_shard_rows(shard: Path, rows: Sequence[int]) -> np.ndarray:
    """Waveforms at the given rows of one shard, in the order asked."""
    table = pq.read_table(shard, columns=["waveform"])
    return arrow_to_waveforms(table.column("waveform").take(pa.array(rows, pa.int64())))


def iter_shard_batches(shard: Path, batch_size: int) -> Iterator[tuple[list[str], np.ndarray]]:
    """(ecg_ids, waveforms) batches streamed from one shard in bounded memory."""
    parquet = pq.ParquetFile(shard)
    for batch in parquet.iter_batches(batch_size=batch_size, columns=["ecg_id", "waveform"]):
        yield batch.column("ecg_id").to_pylist(), arrow_to_waveforms(batch.column("waveform"))
