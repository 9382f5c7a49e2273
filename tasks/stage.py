"""Stage: parse each newly registered file into its staging table, or quarantine it.

Idempotent: a file's staging rows are deleted before they are inserted, so a re-run after a
crash stages it again cleanly. ECG waveforms are normalized once here and written to Parquet
shards; staging keeps one metadata row per ECG pointing at its shard row.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from imnm.ecg.formats import EcgFileError, read_ecg
from imnm.ecg.normalize import normalize_to_contract
from imnm.refresh.context import RunContext
from imnm.siteconfig import RECORD_KINDS
from imnm.staging.redelivery import diff_deliveries, summarize_changes
from imnm.staging.rules import MappingMismatchError, stage_table
from imnm.staging.table_readers import TableFileError, read_table_file
from imnm.waveform_store import WaveformShardWriter
from tasks.discover import RegisteredFile
from warehouse.db import insert_frame, insert_many, open_warehouse, sql, transaction

ECG_SHARD_ROWS = 1000
# ECGs staged per batch: the shard writer's buffer (and row group) and one warehouse write.
ECG_BATCH_ROWS = 128
DELETE_STAGED_ECGS = "DELETE FROM staging.ecgs WHERE file_id IN (SELECT UNNEST(?::BIGINT[]))"
MARK_ECG_FILES_STAGED = """
UPDATE registry.source_files
SET status = 'staged', status_reason = NULL, rows_staged = 1, rows_rejected = 0
WHERE file_id IN (SELECT UNNEST(?::BIGINT[]))
"""


@dataclass(frozen=True)
class StageOutcome:
    """What staging did with one file."""

    file_id: int
    site: str
    record_kind: str
    relative_path: str
    status: str  # staged | quarantined
    rows_staged: int
    rows_rejected: int
    reason: str | None = None


def _staging_table(kind: str) -> str:
    if kind not in RECORD_KINDS:
        raise KeyError(f"unknown record kind {kind!r}")
    return f"staging.{kind}"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _quarantine(con: duckdb.DuckDBPyConnection, ctx: RunContext, file: RegisteredFile,
                reason: str) -> StageOutcome:
    target = ctx.paths.quarantine / file.site / file.relative_path
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(file.path, target)
    con.execute(sql("update_source_file_status"), ["quarantined", reason, 0, 0, file.file_id])
    con.execute(sql("insert_file_event"), [ctx.run_id, file.site, file.relative_path, file.file_id,
                                           file.sha256, "quarantined", reason, _now()])
    return StageOutcome(file.file_id, file.site, file.record_kind, file.relative_path,
                        "quarantined", 0, 0, reason)


def record_row_changes(con: duckdb.DuckDBPyConnection, ctx: RunContext, file: RegisteredFile
                       ) -> str | None:
    """For a corrected re-delivery, store which rows differ from the delivery it corrects."""
    if file.supersedes_file_id is None:
        return None
    table = _staging_table(file.record_kind)
    select = f"SELECT * FROM {table} WHERE file_id = ?"
    # .pl() keeps the columns of an empty delivery (a header-only correction), where
    # pl.from_arrow of DuckDB's Arrow stream refuses a stream with no batch.
    previous = con.execute(select, [file.supersedes_file_id]).pl()
    current = con.execute(select, [file.file_id]).pl()
    changes = diff_deliveries(previous, current)
    insert_many(con, "insert_file_change", [
        (ctx.run_id, file.site, file.record_kind, file.relative_path, file.supersedes_file_id,
         file.file_id, c.change, c.previous_source_row, c.source_row,
         ",".join(c.changed_columns) or None) for c in changes])
    return f"corrects file {file.supersedes_file_id}: {summarize_changes(changes)}"


def _mark_staged(con: duckdb.DuckDBPyConnection, ctx: RunContext, file: RegisteredFile,
                 rows: int, rejected: int) -> StageOutcome:
    note = record_row_changes(con, ctx, file)
    con.execute(sql("update_source_file_status"), ["staged", None, rows, rejected, file.file_id])
    con.execute(sql("insert_file_event"), [ctx.run_id, file.site, file.relative_path,
                                           file.file_id, file.sha256, "staged", note, _now()])
    return StageOutcome(file.file_id, file.site, file.record_kind, file.relative_path,
                        "staged", rows, rejected)


def stage_table_file(con: duckdb.DuckDBPyConnection, ctx: RunContext, file: RegisteredFile
                     ) -> StageOutcome:
    """Parse, rename, cast and insert one table file; record every value that did not cast."""
    mapping = ctx.site(file.site).kinds[file.record_kind]
    try:
        staged = stage_table(read_table_file(file.path, mapping), mapping)
    except (TableFileError, MappingMismatchError) as exc:
        return _quarantine(con, ctx, file, str(exc))
    rows = staged.rows.with_columns(pl.lit(file.site).alias("site"),
                                    pl.lit(file.file_id, dtype=pl.Int64).alias("file_id"))
    table = _staging_table(file.record_kind)
    con.execute(f"DELETE FROM {table} WHERE file_id = ?", [file.file_id])
    insert_frame(con, table, rows)
    for problem in staged.uncast:
        con.execute(sql("insert_unmapped_value"), [
            ctx.run_id, file.site, file.record_kind, file.file_id, problem.source_row,
            problem.column, problem.value, problem.reason])
    rejected_rows = len({p.source_row for p in staged.uncast})
    return _mark_staged(con, ctx, file, rows.height, rejected_rows)


def _widened_insert(name: str, n_rows: int) -> str:
    """The one-row `INSERT ... VALUES (?, ...)` statement `name`, with `n_rows` value rows."""
    head, _, values = sql(name).rpartition("VALUES")
    return f"{head}VALUES " + ", ".join([values.strip()] * n_rows)


def _stage_ecg_batch(con: duckdb.DuckDBPyConnection, ctx: RunContext,
                     batch: list[tuple[RegisteredFile, list[object], datetime]]
                     ) -> list[StageOutcome]:
    """Staging rows, status and audit events of read ECG files, a few statements per batch.

    Does per batch what `_mark_staged` does per file: idempotent delete + insert of the staging
    rows, then row changes for re-deliveries, the `staged` status and one event per file.
    """
    if not batch:
        return []
    file_ids = [file.file_id for file, _, _ in batch]
    con.execute(DELETE_STAGED_ECGS, [file_ids])
    con.execute(_widened_insert("insert_staged_ecg", len(batch)),
                [value for _, row, _ in batch for value in row])
    notes = [record_row_changes(con, ctx, file) for file, _, _ in batch]
    con.execute(MARK_ECG_FILES_STAGED, [file_ids])
    con.execute(_widened_insert("insert_file_event", len(batch)), [
        value for (file, _, staged_at), note in zip(batch, notes, strict=True)
        for value in (ctx.run_id, file.site, file.relative_path, file.file_id, file.sha256,
                      "staged", note, staged_at)])
    return [StageOutcome(file.file_id, file.site, file.record_kind, file.relative_path,
                         "staged", 1, 0) for file, _, _ in batch]


def stage_ecg_files(con: duckdb.DuckDBPyConnection, ctx: RunContext, site: str,
                    files: list[RegisteredFile]) -> list[StageOutcome]:
    """Normalize one site's new ECG files to the waveform contract and write them to shards.

    Streams: memory holds one ECG's samples plus the shard writer's buffer of `ECG_BATCH_ROWS`
    waveforms, whatever the number of files; warehouse rows are written `ECG_BATCH_ROWS` at a
    time. Unreadable files are quarantined; outcomes and audit events keep the files' order.
    """
    mapping = ctx.site(site).kinds["ecgs"]
    outcomes: list[StageOutcome] = []
    batch: list[tuple[RegisteredFile, list[object], datetime]] = []
    shard_dir = ctx.paths.waveforms / site
    with WaveformShardWriter(shard_dir, prefix=ctx.run_id, rows_per_shard=ECG_SHARD_ROWS,
                             rows_per_group=ECG_BATCH_ROWS) as writer:
        for file in files:
            try:
                record = read_ecg(file.path, mapping.format)
                waveform = normalize_to_contract(record)
            except EcgFileError as exc:
                reason: str | None = str(exc)
            except Exception as exc:  # a vendor parser failing in an unforeseen way
                reason = f"{file.path}: unreadable ECG: {exc}"
            else:
                reason = None
            if reason is not None:
                # The batch before goes in first, so audit events keep the files' order.
                outcomes.extend(_stage_ecg_batch(con, ctx, batch))
                batch = []
                outcomes.append(_quarantine(con, ctx, file, reason))
                continue
            ecg_id = f"ecg-{file.sha256[:20]}"
            shard_path, shard_row = writer.append(ecg_id, waveform)
            batch.append((file, [
                site, file.file_id, 1, record.patient_id, record.acquired_at, ecg_id,
                mapping.format, record.sampling_hz, len(record.leads),
                record.signal_uv.shape[1] / record.sampling_hz,
                shard_path.relative_to(ctx.paths.root).as_posix(), shard_row], _now()))
            if len(batch) >= ECG_BATCH_ROWS:
                outcomes.extend(_stage_ecg_batch(con, ctx, batch))
                batch = []
        outcomes.extend(_stage_ecg_batch(con, ctx, batch))
    return outcomes


@task(name="parse and stage", cache_policy=NO_CACHE)
def parse_and_stage(ctx: RunContext, files: list[RegisteredFile]) -> list[StageOutcome]:
    """Stage every registered file; unreadable ones go to quarantine and the rest go on."""
    logger = get_run_logger()
    outcomes: list[StageOutcome] = []
    ecg_files: dict[str, list[RegisteredFile]] = defaultdict(list)
    with open_warehouse(ctx.paths.warehouse) as con:
        for file in files:
            if file.record_kind == "ecgs":
                ecg_files[file.site].append(file)
                continue
            with transaction(con):
                outcomes.append(stage_table_file(con, ctx, file))
        for site, site_files in ecg_files.items():
            with transaction(con):
                outcomes.extend(stage_ecg_files(con, ctx, site, site_files))
    for outcome in outcomes:
        if outcome.status == "quarantined":
            logger.warning("quarantined %s/%s: %s", outcome.site, outcome.relative_path,
                           outcome.reason)
    staged = sum(o.status == "staged" for o in outcomes)
    logger.info("staged %d file(s), quarantined %d", staged, len(outcomes) - staged)
    return outcomes

