"""Harmonize: rebuild the core layer from every staged file that passed validation.

Idempotent by construction: core is recomputed from staging in one transaction, so the same
staging always gives the same core, and a crash leaves the previous core intact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from imnm.harmonize.rules import Harmonized, HarmonizeInput, harmonize
from imnm.refresh.context import RunContext
from imnm.refresh.retries import IO_RETRIES
from imnm.siteconfig import RECORD_KINDS
from tasks.validate import SiteValidation
from warehouse.db import insert_frame, insert_many, open_warehouse, sql, transaction


@dataclass(frozen=True)
class HarmonizeSummary:
    """Core row counts, unmapped values and the sites held back by a blocking check."""

    core_rows: dict[str, int]
    unmapped_values: int
    duplicates_removed: dict[str, int]
    held_back_sites: dict[str, tuple[str, ...]]


def _publishable_staging(con: duckdb.DuckDBPyConnection, kind: str) -> pl.DataFrame:
    if kind not in RECORD_KINDS:
        raise KeyError(f"unknown record kind {kind!r}")
    # .pl(), not pl.from_arrow(.arrow()): polars refuses an Arrow stream with no batch (an
    # empty staging table), DuckDB's own conversion keeps the columns.
    return con.execute(
        f"SELECT s.* FROM staging.{kind} s JOIN registry.source_files f USING (file_id) "
        "WHERE f.status = 'staged' ORDER BY s.file_id, s.source_row").pl()


def hold_back_blocked_sites(con: duckdb.DuckDBPyConnection, ctx: RunContext,
                            verdicts: list[SiteValidation]) -> dict[str, tuple[str, ...]]:
    """Mark this run's files of each site with a blocking failure as held back."""
    held: dict[str, tuple[str, ...]] = {}
    for verdict in verdicts:
        if verdict.blocking_failures:
            reason = "blocking data-quality failure: " + ", ".join(verdict.blocking_failures)
            con.execute(sql("update_held_back_files"), [reason, verdict.site, ctx.run_id])
            held[verdict.site] = verdict.blocking_failures
    return held


def apply_corrections(con: duckdb.DuckDBPyConnection, ctx: RunContext) -> dict[int, int]:
    """Retire each delivery that this run's staged, not held-back re-delivery corrects.

    Runs after the hold-back, so a correction that fails a blocking check leaves the earlier
    delivery in effect. Returns {superseded file_id: correcting file_id}.
    """
    superseded: dict[int, int] = {}
    now = datetime.now(UTC).replace(tzinfo=None)
    corrections = con.execute(sql("select_run_corrections"), [ctx.run_id]).fetchall()
    for file_id, site, relative_path, _sha, previous_id, previous_status in corrections:
        if previous_status not in ("staged", "held_back"):
            continue  # a quarantined earlier delivery had no rows in effect
        reason = f"superseded by file {file_id} (corrected re-delivery, run {ctx.run_id})"
        con.execute(sql("update_superseded_file"), [reason, previous_id])
        con.execute(sql("insert_file_event"), [ctx.run_id, site, relative_path, previous_id,
                                               None, "superseded", reason, now])
        superseded[previous_id] = file_id
    return superseded


def write_core(con: duckdb.DuckDBPyConnection, ctx: RunContext, result: Harmonized,
               record_unmapped: bool = True) -> None:
    """Replace every core table and record the unmapped values, all in one transaction."""
    with transaction(con):
        for kind, frame in result.tables.items():
            con.execute(f"DELETE FROM core.{kind}")
            insert_frame(con, f"core.{kind}", frame)
        if record_unmapped:
            insert_many(con, "insert_unmapped_value", [
                (ctx.run_id, u.site, u.record_kind, u.file_id, u.source_row, u.column, u.value,
                 u.reason) for u in result.unmapped])


def rebuild_core(con: duckdb.DuckDBPyConnection, ctx: RunContext, key: bytes,
                 excluded_sites: frozenset[str] = frozenset(), record_unmapped: bool = True
                 ) -> Harmonized:
    """Harmonize every publishable staged file (less `excluded_sites`) into core."""
    staging = {kind: _publishable_staging(con, kind) for kind in RECORD_KINDS}
    if excluded_sites:
        staging = {kind: frame.filter(~pl.col("site").is_in(list(excluded_sites)))
                   for kind, frame in staging.items()}
    result = harmonize(HarmonizeInput(staging=staging, vocabularies=ctx.vocabularies,
                                      sites={s.site: s for s in ctx.sites}, key=key))
    write_core(con, ctx, result, record_unmapped)
    return result


def hold_back_site_run_files(con: duckdb.DuckDBPyConnection, ctx: RunContext, site: str,
                             reason: str) -> int:
    """Hold back a site's files staged in this run; corrections among them stop superseding.

    Returns how many files were held back (0: the site sent nothing new in this run).
    """
    held = con.execute(sql("update_held_back_files"), [reason, site, ctx.run_id]).fetchall()
    now = datetime.now(UTC).replace(tzinfo=None)
    for file_id, restored_site, relative_path in con.execute(
            sql("update_restore_superseded_files"), [site, ctx.run_id]).fetchall():
        con.execute(sql("insert_file_event"), [
            ctx.run_id, restored_site, relative_path, file_id, None, "restored",
            "its correction was held back; this delivery is in effect again", now])
    return len(held)


@task(name="harmonize into core", cache_policy=NO_CACHE, **IO_RETRIES)
def harmonize_into_core(ctx: RunContext, verdicts: list[SiteValidation], key: bytes
                        ) -> HarmonizeSummary:
    """Hold back blocked sites' new files, then rebuild core from what may be published."""
    logger = get_run_logger()
    with open_warehouse(ctx.paths.warehouse) as con:
        held = hold_back_blocked_sites(con, ctx, verdicts)
        superseded = apply_corrections(con, ctx)
        result = rebuild_core(con, ctx, key)
    for previous, correction in superseded.items():
        logger.info("file %d superseded by its corrected re-delivery, file %d",
                    previous, correction)
    for site, checks in held.items():
        logger.warning("%s held back from this release: %s", site, ", ".join(checks))
    logger.info("core rebuilt: %s; %d unmapped value(s)",
                ", ".join(f"{k}={v.height}" for k, v in result.tables.items()),
                len(result.unmapped))
    return HarmonizeSummary(
        core_rows={k: v.height for k, v in result.tables.items()},
        unmapped_values=len(result.unmapped),
        duplicates_removed=dict(result.duplicates_removed),
        held_back_sites=held,
    )
