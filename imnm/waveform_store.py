"""Column-wise storage of contract waveforms in Parquet shards.

Each shard holds up to N ECGs as rows (`ecg_id`, `waveform`: fixed-size list of int16, 12 leads
x 5000 samples, lead-major), in row groups of a few hundred ECGs. Written once at ingestion, in
bounded memory; read in batches for training and scoring.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
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
# 128 ECGs are 15 MiB of int16: the writer's buffer, and one Parquet row group of a shard.
DEFAULT_ROWS_PER_GROUP = 128
# Dictionary encoding does not shrink microvolt samples (about 1%) and doubles the write time.
SHARD_WRITE_OPTIONS: dict[str, object] = {"compression": "zstd", "use_dictionary": False}


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
    """Streams contract waveforms into Parquet shards of `rows_per_shard` ECGs.

    ECGs are copied into a fixed buffer of `rows_per_group` waveforms and written as one Parquet
    row group whenever it fills, so memory stays at one buffer however many ECGs pass through;
    a shard is written to `<name>.parquet.tmp` and renamed when it is complete.
    """

    def __init__(self, directory: Path, prefix: str, rows_per_shard: int = 1000,
                 rows_per_group: int = DEFAULT_ROWS_PER_GROUP) -> None:
        if rows_per_shard < 1 or rows_per_group < 1:
            raise ValueError("rows_per_shard and rows_per_group must be positive")
        self.directory = directory
        self.prefix = prefix
        self.rows_per_shard = rows_per_shard
        self.rows_per_group = min(rows_per_group, rows_per_shard)
        self._ids: list[str] = []
        self._buffer: np.ndarray | None = None  # allocated on the first append
        self._rows_in_shard = 0
        self._writer: pq.ParquetWriter | None = None
        self._shard_index = 0

    def _shard_path(self) -> Path:
        return self.directory / f"{self.prefix}-{self._shard_index:05d}.parquet"

    def append(self, ecg_id: str, waveform: np.ndarray) -> tuple[Path, int]:
        """Queue one ECG; returns the shard it will be in and its row there."""
        check_waveform(waveform)
        if self._buffer is None:
            self._buffer = np.empty((self.rows_per_group, N_LEADS, N_SAMPLES), dtype=np.int16)
        location = (self._shard_path(), self._rows_in_shard)
        self._buffer[len(self._ids)] = waveform
        self._ids.append(ecg_id)
        self._rows_in_shard += 1
        if self._rows_in_shard >= self.rows_per_shard:
            self.flush()
        elif len(self._ids) >= self.rows_per_group:
            self._write_group()
        return location

    def _write_group(self) -> None:
        """Write the buffered ECGs as one row group of the current shard."""
        if not self._ids or self._buffer is None:
            return
        if self._writer is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(_tmp_path(self._shard_path()), SHARD_SCHEMA,
                                            **SHARD_WRITE_OPTIONS)
        table = waveforms_to_arrow(self._ids, self._buffer[: len(self._ids)])
        self._writer.write_table(table, row_group_size=len(self._ids))
        self._ids = []

    def flush(self) -> None:
        """Write the queued ECGs and close the current shard; the next ECG starts a new one."""
        self._write_group()
        if self._writer is None:
            return
        self._writer.close()
        self._writer = None
        path = self._shard_path()
        _tmp_path(path).replace(path)
        self._rows_in_shard = 0
        self._shard_index += 1

    def abort(self) -> None:
        """Drop the queued ECGs and the unfinished shard (its temporary file is removed)."""
        self._ids = []
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            _tmp_path(self._shard_path()).unlink(missing_ok=True)
        self._rows_in_shard = 0

    def __enter__(self) -> WaveformShardWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.flush()
        else:
            self.abort()


def _tmp_path(path: Path) -> Path:
    return path.with_suffix(".parquet.tmp")


def read_shard_rows(shard: Path, rows: Sequence[int]) -> np.ndarray:
    """Waveforms at the given rows of one shard, in the order asked (repeats allowed); only the
    row groups holding them are read."""
    asked = np.asarray(rows, dtype=np.int64)
    wanted, order = np.unique(asked, return_inverse=True)
    parquet = _open_checked(shard, wanted)
    parts = [waveforms for _, waveforms in _wanted_row_groups(parquet, wanted)]
    if not parts:
        return np.empty((0, N_LEADS, N_SAMPLES), dtype=np.int16)
    return _stack(parts)[order.reshape(-1)]


def iter_shard_rows(shard: Path, rows: Sequence[int], batch_size: int
                    ) -> Iterator[tuple[list[str], np.ndarray]]:
    """(ecg_ids, waveforms) for the given rows of one shard, `batch_size` at a time, in row order.

    Only the row groups that hold a wanted row are read, one at a time, so memory stays at one
    row group plus one batch however large the shard and whichever rows are asked for.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    wanted = np.unique(np.asarray(rows, dtype=np.int64))
    yield from rebatch(_wanted_row_groups(_open_checked(shard, wanted), wanted), batch_size)


def _open_checked(shard: Path, wanted: np.ndarray) -> pq.ParquetFile:
    """The shard, after checking that the sorted row numbers `wanted` lie inside it."""
    parquet = pq.ParquetFile(shard)
    n_rows = parquet.metadata.num_rows
    if wanted.size and (wanted[0] < 0 or wanted[-1] >= n_rows):
        raise IndexError(f"{shard}: rows asked for outside 0..{n_rows - 1}")
    return parquet


def _wanted_row_groups(parquet: pq.ParquetFile, wanted: np.ndarray
                       ) -> Iterator[tuple[list[str], np.ndarray]]:
    """(ecg_ids, waveforms) of the wanted rows, one row group read at a time."""
    group_ends = np.cumsum([parquet.metadata.row_group(i).num_rows
                            for i in range(parquet.metadata.num_row_groups)])
    group_start = 0
    for group, group_end in enumerate(group_ends):
        in_group = wanted[(wanted >= group_start) & (wanted < group_end)] - group_start
        group_start = int(group_end)
        if not in_group.size:
            continue
        table = parquet.read_row_group(group, columns=["ecg_id", "waveform"])
        if in_group.size < table.num_rows:
            table = table.take(pa.array(in_group))
        yield table.column("ecg_id").to_pylist(), arrow_to_waveforms(table.column("waveform"))


def rebatch(batches: Iterable[tuple[Sequence[str], np.ndarray]], batch_size: int
            ) -> Iterator[tuple[list[str], np.ndarray]]:
    """Regroup (ids, waveforms) batches of any sizes into batches of exactly `batch_size` (the
    last may be smaller), in order, so row-group and shard boundaries leave no small batches."""
    ids: list[str] = []
    parts: list[np.ndarray] = []
    count = 0
    for batch_ids, waveforms in batches:
        start = 0
        while start < len(batch_ids):
            take = min(batch_size - count, len(batch_ids) - start)
            ids.extend(batch_ids[start:start + take])
            parts.append(waveforms[start:start + take])
            count += take
            start += take
            if count == batch_size:
                yield ids, _stack(parts)
                ids, parts, count = [], [], 0
    if count:
        yield ids, _stack(parts)


def _stack(parts: list[np.ndarray]) -> np.ndarray:
    """One array from row-group slices, copying only when there is more than one."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def iter_shard_batches(shard: Path, batch_size: int) -> Iterator[tuple[list[str], np.ndarray]]:
    """(ecg_ids, waveforms) batches streamed from one shard in bounded memory."""
    parquet = pq.ParquetFile(shard)
    for batch in parquet.iter_batches(batch_size=batch_size, columns=["ecg_id", "waveform"]):
        yield batch.column("ecg_id").to_pylist(), arrow_to_waveforms(batch.column("waveform"))
