"""Publish: write an immutable release of every study's result tables, then swap the results
file.

A release is written whole or not at all (one transaction). Analysts query `published.duckdb`,
a copy of every release published beside the working warehouse and replaced atomically, so a
refresh that is writing the warehouse never blocks a reader. If the input fingerprint
(imnm/refresh/fingerprint.py) equals the latest release's, nothing new is published.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from imnm.refresh.context import RunContext
from imnm.refresh.fingerprint import (
    config_digests,
    fingerprint_parts,
    input_fingerprint,
)
from imnm.releases import latest_release, read_release_row_counts
from imnm.studies.base import StudyParameters, StudyResults
from imnm.studies.parameters import recorded_parameters
from imnm.studies.registry import all_studies
from imnm.version import code_digest, code_version
from tasks.harmonize import HarmonizeSummary
from warehouse.db import insert_frame, open_warehouse, sql, transaction
from warehouse.files import replacing

# Audit tables copied into the results file so analysts can query data quality beside results.
PUBLISHED_AUDIT_TABLES = ("runs", "validation_results")


def result_history_tables() -> dict[str, str]:
    """Every registered study's released tables: history table -> its latest-release view
    (qualified names, from the studies' fixed table lists)."""
    return {study.history_table(t.name): study.latest_view(t.name)
            for study in all_studies() for t in study.result_tables}


@dataclass(frozen=True)
class ReleaseSummary:
    """What publishing did: a new release, or none because nothing changed."""

    release_id: str
    is_new: bool
    input_fingerprint: str
    row_counts: dict[str, int]
    results_file: Path


def release_inputs(con: duckdb.DuckDBPyConnection, ctx: RunContext, model_version: str,
                   params: Mapping[str, StudyParameters]) -> dict[str, Any]:
    """The fingerprint parts of what this run would release (imnm/refresh/fingerprint.py)."""
    sites, config = config_digests(s.path for s in ctx.sites)
    card = model_card(ctx, model_version)
    return fingerprint_parts(
        con.execute(sql("select_published_file_fingerprints")).fetchall(), sites, config,
        recorded_parameters(params), model_version, card.sha256 if card else None,
        code_digest())


def model_card(ctx: RunContext, model_version: str) -> Any | None:
    """The registered model's card (None when the data directory has none for it)."""
    from models.registry import ModelRegistry, RegistryError

    try:
        return ModelRegistry(ctx.paths.models).get(model_version).card
    except (RegistryError, FileNotFoundError, ValueError, KeyError):
        return None


def _release_id(now: datetime, fingerprint: str) -> str:
    return f"R{now:%Y%m%dT%H%M%SZ}-{fingerprint[:8]}"


def nulls_for_nonfinite(frame: pd.DataFrame) -> pd.DataFrame:
    """NaN and infinities become NULL: a result table says "not estimable", never NaN."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            values = out[column].astype(float)
            out[column] = values.where(np.isfinite(values)).astype("Float64")
    return out


def write_release(con: duckdb.DuckDBPyConnection, ctx: RunContext, release_id: str,
                  now: datetime, parts: Mapping[str, Any], model_version: str,
                  model_synthetic: bool | None, analysed: Mapping[str, StudyResults],
                  harmonized: HarmonizeSummary) -> dict[str, int]:
    """Insert one release's rows of every study and its registry entry in one transaction."""
    frames: dict[str, pd.DataFrame] = {}
    for study in all_studies():
        results = analysed.get(study.name)
        if results is None:
            continue
        for table in study.result_tables:
            if table.name in results.tables:
                frames[study.history_table(table.name)] = nulls_for_nonfinite(
                    results.tables[table.name])
    row_counts = {table.removeprefix("results."): len(frame) for table, frame in frames.items()}
    sites = {"included": sorted({s.site for s in ctx.sites} - set(harmonized.held_back_sites)),
             "held_back": {s: list(c) for s, c in harmonized.held_back_sites.items()}}
    with transaction(con):
        for table, frame in frames.items():
            insert_frame(con, table, frame.assign(release_id=release_id))
        con.execute(sql("insert_release"), [
            release_id, now, ctx.run_id, code_version(), model_version,
            json.dumps(parts["study_parameters"]), input_fingerprint(parts),
            json.dumps(row_counts), json.dumps(sites), model_synthetic,
            json.dumps(parts, sort_keys=True)])
    return row_counts


def export_results_file(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """Copy every release (and the audit trail) into a new file, then atomically replace target."""
    with replacing(target) as tmp:
        _export_into(con, tmp)


def _export_into(con: duckdb.DuckDBPyConnection, tmp: Path) -> None:
    history_tables = result_history_tables()
    home = con.execute("SELECT current_database()").fetchone()[0]
    con.execute(f"ATTACH '{_sql_path(tmp)}' AS release_out")
    try:
        con.execute("CREATE SCHEMA release_out.results")
        con.execute("CREATE SCHEMA release_out.audit")
        for table in ("results.releases", *history_tables):
            con.execute(f"CREATE TABLE release_out.{table} AS SELECT * FROM {table}")
        for table in PUBLISHED_AUDIT_TABLES:
            con.execute(f"CREATE TABLE release_out.audit.{table} AS SELECT * FROM audit.{table}")
        con.execute("USE release_out")
        con.execute(sql("create_view_latest_release"))
        con.execute(sql("create_view_check_history"))
        for history, view in history_tables.items():
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM {history} "
                        "WHERE release_id = (SELECT release_id FROM results.latest_release)")
    finally:
        con.execute(f'USE "{home}"')
        con.execute("DETACH release_out")


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


@task(name="publish release", cache_policy=NO_CACHE)
def publish_release(ctx: RunContext, model_version: str, params: Mapping[str, StudyParameters],
                    analysed: Mapping[str, StudyResults], harmonized: HarmonizeSummary
                    ) -> ReleaseSummary:
    """Publish a new release unless the inputs are unchanged; refresh the results file."""
    logger = get_run_logger()
    with open_warehouse(ctx.paths.warehouse) as con:
        parts = release_inputs(con, ctx, model_version, params)
        fingerprint = input_fingerprint(parts)
        previous = latest_release(con)
        if previous is not None and previous[1] == fingerprint:
            logger.info("inputs unchanged since release %s: nothing new published", previous[0])
            release_id, is_new = previous[0], False
            row_counts: dict[str, Any] = read_release_row_counts(con, release_id)
        else:
            now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
            release_id, is_new = _release_id(now, fingerprint), True
            card = model_card(ctx, model_version)
            synthetic = card.training_data.synthetic if card is not None else None
            row_counts = write_release(con, ctx, release_id, now, parts, model_version,
                                       synthetic, analysed, harmonized)
            logger.info("published release %s", release_id)
        export_results_file(con, ctx.paths.results)
    return ReleaseSummary(release_id, is_new, fingerprint, row_counts, ctx.paths.results)
