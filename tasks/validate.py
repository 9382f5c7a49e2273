"""Validate: run each record kind's expectation suite over the rows staged in this run.

Every outcome (check, site, rows tested, rows failed, severity, passed) and every failing row
(file, row, value) is written to the audit schema, whatever the verdict.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from imnm.pseudonym import pseudonymize
from imnm.refresh.context import RunContext
from imnm.siteconfig import RECORD_KINDS, KindMapping, normalize_spelling
from tasks.stage import StageOutcome
from warehouse.db import insert_many, open_warehouse, sql, transaction


@dataclass(frozen=True)
class SiteValidation:
    """The verdict of one site's newly staged data."""

    site: str
    checks_run: int
    checks_failed: int
    blocking_failures: tuple[str, ...]
    rows_failed: int


def _staged_batch(con: duckdb.DuckDBPyConnection, kind: str, file_ids: list[int]
                  ) -> pd.DataFrame:
    if kind not in RECORD_KINDS:
        raise KeyError(f"unknown record kind {kind!r}")
    return con.execute(
        f"SELECT * FROM staging.{kind} WHERE file_id IN (SELECT unnest(?::BIGINT[])) "
        "ORDER BY file_id, source_row", [file_ids]).df()


def with_site_spellings(batch: pd.DataFrame, mapping: KindMapping) -> pd.DataFrame:
    """The batch with the site's declared spellings replaced by the codes they stand for
    (e.g. "4+/5" -> "4+"), so checks judge what the site means; other values stay as sent."""
    batch = batch.copy()
    for column, codes in mapping.codes.items():
        if column not in batch.columns or not codes:
            continue
        lookup = {normalize_spelling(spelling): code for spelling, code in codes.items()}
        batch[column] = [lookup.get(normalize_spelling(v), v) if isinstance(v, str) else v
                         for v in batch[column]]
    return batch


def record_outcomes(con: duckdb.DuckDBPyConnection, ctx: RunContext, site: str, kind: str,
                    outcomes: list, layer: str,
                    patient_keys: Mapping[tuple[int, int], str | None]) -> None:
    """Store each check's outcome and its failing rows (with the row's patient pseudonym)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    for outcome in outcomes:
        con.execute(sql("insert_validation_result"), [
            ctx.run_id, site, kind, outcome.suite, outcome.check_name, outcome.expectation_type,
            outcome.column_name, outcome.category, outcome.severity, outcome.threshold,
            outcome.rows_tested, outcome.rows_failed, outcome.passed, now, layer])
        insert_many(con, "insert_failed_row", [
            (ctx.run_id, site, kind, outcome.check_name, file_id, source_row,
             outcome.column_name, value, layer, patient_keys.get((file_id, source_row)))
            for file_id, source_row, value in outcome.failed_rows])


def staged_patient_keys(batch: pd.DataFrame, site: str, key: bytes
                        ) -> dict[tuple[int, int], str | None]:
    """(file_id, source_row) -> pseudonym of the row's local record number (None if absent)."""
    return {(int(file_id), int(row)): (pseudonymize(key, site, str(local_id))
                                       if isinstance(local_id, str) and local_id.strip()
                                       else None)
            for file_id, row, local_id in zip(batch["file_id"], batch["source_row"],
                                              batch["local_id"], strict=True)}


@task(name="validate staged data", cache_policy=NO_CACHE)
def validate_staged(ctx: RunContext, staged: list[StageOutcome], key: bytes
                    ) -> list[SiteValidation]:
    """Validate each (site, kind) batch staged in this run and store every result."""
    from expectations.runner import validate_batch
    from imnm.quality.gx_results import gx_results_dir, save_gx_result

    logger = get_run_logger()
    batches: dict[tuple[str, str], list[int]] = defaultdict(list)
    for outcome in staged:
        if outcome.status == "staged":
            batches[(outcome.site, outcome.record_kind)].append(outcome.file_id)
    per_site: dict[str, list] = defaultdict(list)
    with open_warehouse(ctx.paths.warehouse) as con:
        for (site, kind), file_ids in sorted(batches.items()):
            batch = with_site_spellings(_staged_batch(con, kind, file_ids),
                                        ctx.site(site).kinds[kind])
            validation = validate_batch(kind, batch, ctx.run_date)
            outcomes = validation.outcomes
            save_gx_result(gx_results_dir(ctx.paths, ctx.run_id), "staging", site, kind,
                           validation.gx_result)
            with transaction(con):
                record_outcomes(con, ctx, site, kind, outcomes, "staging",
                                staged_patient_keys(batch, site, key))
            per_site[site].extend(outcomes)
    verdicts = [
        SiteValidation(
            site=site,
            checks_run=len(outcomes),
            checks_failed=sum(not o.passed for o in outcomes),
            blocking_failures=tuple(sorted(o.check_name for o in outcomes
                                           if not o.passed and o.severity == "blocking")),
            rows_failed=sum(o.rows_failed for o in outcomes),
        )
        for site, outcomes in sorted(per_site.items())
    ]
    for verdict in verdicts:
        logger.info("%s: %d checks, %d failed (%d blocking), %d failing rows", verdict.site,
                    verdict.checks_run, verdict.checks_failed, len(verdict.blocking_failures),
                    verdict.rows_failed)
    return verdicts
