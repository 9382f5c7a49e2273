"""ECG ingestion streams: shards written a row group at a time, staging rows in batches.

The shard writer must keep only one row group of waveforms in memory while shards still hold
`rows_per_shard` ECGs in the unchanged format; `stage_ecg_files` must give the same outcomes,
rows and audit trail (in file order, with quarantines in between) when it writes in batches.
The benchmark's plain readers must read the same samples as the platform's readers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from prefect.logging import disable_run_logger

import tasks.stage as stage
from benchmarks.ingest_ecgs import FORMATS, _signal_pool, _write_chunk, bench_signal, record_stem
from benchmarks.plain_ecg_readers import PLAIN_READERS
from imnm.ecg.contract import LEADS, N_LEADS, N_SAMPLES
from imnm.ecg.formats import canonical_lead_name, read_ecg
from imnm.ecg.formats.ge_muse import write_ge_muse
from imnm.ecg.normalize import normalize_to_contract
from imnm.ecg.synth import synthesize_ecgs
from imnm.refresh.runs import start_run
from imnm.settings import DataPaths
from imnm.waveform_store import (
    SHARD_SCHEMA,
    WaveformShardWriter,
    iter_shard_batches,
    read_shard_rows,
)
from tasks.discover import discover_new_files

SITE = "streamsite"
SITE_TOML = f"""site = "{SITE}"
date_format = "%Y-%m-%d"

[kinds.ecgs]
pattern = "ecg/*.xml"
format = "ge-muse"
"""


def _waveforms(n: int, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-3000, 3000, size=(n, N_LEADS, N_SAMPLES), dtype=np.int16)


# ---------------------------------------------------------------- the shard writer


def test_writer_streams_row_groups_into_full_shards(tmp_path: Path) -> None:
    waves = _waveforms(12)
    with WaveformShardWriter(tmp_path, "run", rows_per_shard=5, rows_per_group=2) as writer:
        locations = [writer.append(f"e{i}", waves[i]) for i in range(12)]
        assert len(writer._ids) <= 2  # never more than one row group buffered
    shards = sorted(tmp_path.glob("*.parquet"))
    assert [p.name for p in shards] == ["run-00000.parquet", "run-00001.parquet",
                                        "run-00002.parquet"]
    assert not list(tmp_path.glob("*.tmp"))
    assert [pq.ParquetFile(p).metadata.num_rows for p in shards] == [5, 5, 2]
    assert [pq.ParquetFile(p).metadata.num_row_groups for p in shards] == [3, 3, 1]
    assert all(pq.read_schema(p).equals(SHARD_SCHEMA) for p in shards)
    assert locations[0] == (shards[0], 0) and locations[7] == (shards[1], 2)
    for i, (shard, row) in enumerate(locations):  # the reused buffer never leaks into a shard
        assert np.array_equal(read_shard_rows(shard, [row])[0], waves[i])
    ids, batch = next(iter_shard_batches(shards[1], batch_size=5))
    assert ids == [f"e{i}" for i in range(5, 10)] and np.array_equal(batch, waves[5:10])


def test_flush_closes_the_shard_and_the_next_ecg_starts_a_new_one(tmp_path: Path) -> None:
    waves = _waveforms(3)
    writer = WaveformShardWriter(tmp_path, "run", rows_per_shard=10, rows_per_group=4)
    writer.append("a", waves[0])
    writer.flush()
    assert writer.append("b", waves[1]) == (tmp_path / "run-00001.parquet", 0)
    writer.flush()
    writer.flush()  # nothing queued: no empty shard
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-00000.parquet",
                                                          "run-00001.parquet"]


def test_an_error_leaves_no_partial_shard(tmp_path: Path) -> None:
    waves = _waveforms(5)
    with pytest.raises(RuntimeError, match="boom"),  \
            WaveformShardWriter(tmp_path, "run", rows_per_shard=4, rows_per_group=2) as writer:
        for i in range(5):
            writer.append(f"e{i}", waves[i])
        raise RuntimeError("boom")
    # The complete first shard stays; the unfinished second one (a .tmp) is removed.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-00000.parquet"]


# ---------------------------------------------------------------- staging in batches


def _land(paths: DataPaths, names_and_signals: list[tuple[str, np.ndarray]]) -> None:
    folder = paths.landing / SITE / "ecg"
    folder.mkdir(parents=True, exist_ok=True)
    for index, (name, signal) in enumerate(names_and_signals):
        write_ge_muse(folder / name, signal, 500.0, f"PT{index:03d}",
                      datetime(2021, 5, 1, 9) + timedelta(minutes=index))


def _refresh_ecgs(paths: DataPaths, sites: Path) -> tuple[str, list[stage.StageOutcome]]:
    ctx = start_run(paths, "refresh", {}, sites)
    with disable_run_logger():
        files = discover_new_files.fn(ctx)
        return ctx.run_id, stage.parse_and_stage.fn(ctx, files)


@pytest.fixture()
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[DataPaths, Path]:
    monkeypatch.setattr(stage, "ECG_BATCH_ROWS", 3)
    monkeypatch.setattr(stage, "ECG_SHARD_ROWS", 4)
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / f"{SITE}.toml").write_text(SITE_TOML, encoding="utf-8")
    return DataPaths(tmp_path / "data"), sites


def test_batched_staging_keeps_outcomes_rows_and_audit_in_file_order(
        site: tuple[DataPaths, Path]) -> None:
    paths, sites = site
    signals = synthesize_ecgs(np.linspace(0.0, 1.0, 9), np.random.default_rng(3))
    _land(paths, [(f"e{i:02d}.xml", signals[i]) for i in range(9)])
    for bad in ("e02.xml", "e07.xml"):  # quarantined between and inside batches
        target = paths.landing / SITE / "ecg" / bad
        target.write_bytes(target.read_bytes()[:5000])
    run_id, outcomes = _refresh_ecgs(paths, sites)

    names = [f"ecg/e{i:02d}.xml" for i in range(9)]
    assert [o.relative_path for o in outcomes] == names
    assert [o.status for o in outcomes] == ["quarantined" if n.endswith(("02.xml", "07.xml"))
                                            else "staged" for n in names]
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        events = con.execute("SELECT relative_path, event FROM audit.file_events "
                             "WHERE run_id = ? AND event IN ('staged', 'quarantined') "
                             "ORDER BY rowid", [run_id]).fetchall()
        staged = con.execute(
            "SELECT f.relative_path, e.local_id, e.waveform_shard, e.waveform_row, f.status, "
            "f.rows_staged FROM staging.ecgs e JOIN registry.source_files f USING (file_id) "
            "ORDER BY f.relative_path").fetchall()
    finally:
        con.close()
    assert [e[0] for e in events] == names
    assert [e[1] for e in events] == [o.status for o in outcomes]
    assert [row[0] for row in staged] == [o.relative_path for o in outcomes
                                          if o.status == "staged"]
    assert all(row[4] == "staged" and row[5] == 1 for row in staged)
    for relative, local_id, shard, row, _, _ in staged:
        index = int(relative[5:7])
        assert local_id == f"PT{index:03d}"
        waveform = read_shard_rows(paths.root / shard, [row])[0]
        expected = normalize_to_contract(read_ecg(paths.landing / SITE / relative, "ge-muse"))
        assert np.array_equal(waveform, expected)
    shards = sorted((paths.waveforms / SITE).glob("*.parquet"))
    assert [pq.ParquetFile(p).metadata.num_rows for p in shards] == [4, 3]


def test_corrected_ecg_redelivery_is_staged_with_its_note(site: tuple[DataPaths, Path]) -> None:
    paths, sites = site
    signals = synthesize_ecgs(np.linspace(0.0, 1.0, 5), np.random.default_rng(4))
    _land(paths, [(f"e{i}.xml", signals[i]) for i in range(4)])
    _refresh_ecgs(paths, sites)
    _land(paths, [("e1.xml", signals[4])])  # same name, new content
    run_id, outcomes = _refresh_ecgs(paths, sites)
    assert [(o.relative_path, o.status) for o in outcomes] == [("ecg/e1.xml", "staged")]
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        (note,) = con.execute("SELECT reason FROM audit.file_events WHERE run_id = ? AND "
                              "event = 'staged'", [run_id]).fetchone()
    finally:
        con.close()
    assert note is not None and note.startswith("corrects file ")


# ---------------------------------------------------------------- the benchmark's plain readers


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_plain_reader_reads_the_platform_samples(fmt: str, tmp_path: Path) -> None:
    _write_chunk(fmt, str(tmp_path), 2, 3, 0, 2)  # ECG 2: pool signal 0 shifted one step
    path = tmp_path / f"{record_stem(2)}{FORMATS[fmt].suffix}"
    row = PLAIN_READERS[fmt](path)
    platform = normalize_to_contract(read_ecg(path, fmt))
    leads = {canonical_lead_name(k): v for k, v in row.items() if canonical_lead_name(k)}
    plain = np.rint(np.array([leads[name][:N_SAMPLES] for name in LEADS]))
    assert row["patient_id"] == "BENCH000002"
    assert np.array_equal(plain, platform)
    written = bench_signal(_signal_pool(0, 2), 2).astype(np.int32)
    assert np.abs(platform - written).max() <= 8  # quantized to the file's 1-5 uV steps
