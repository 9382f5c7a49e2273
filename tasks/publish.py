"""Publish: write an immutable release of the result tables, then swap the results file.

A release is written whole or not at all (one transaction). Analysts query `published.duckdb`,
a copy of every release published beside the working warehouse and replaced atomically
(`os.replace`), so a refresh that is writing the warehouse never blocks a reader.
If the input fingerprint equals the latest release's, nothing new is published.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from imnm.study_a import RESULT_TABLES
from imnm.study_a.analysis import StudyAResults
from imnm.study_a.parameters import StudyAParameters
from imnm.version import code_version
from tasks.context import RunContext
from tasks.harmonize import HarmonizeSummary
from warehouse.db import open_warehouse, sql

# History tables kept in every release and the plain-named view over each (latest release).
STUDY_A_TABLES = tuple(f"study_a_{name}" for name in RESULT_TABLES)
RESULT_HISTORY_TABLES = {f"{table}_history": table for table in STUDY_A_TABLES}
# Audit tables copied into the results file so analysts can query data quality beside results.
PUBLISHED_AUDIT_TABLES = ("runs", "validation_results")


@dataclass(frozen=True)
class ReleaseSummary:
    """What publishing did: a new release, or none because nothing changed."""

    release_id: str
    is_new: bool
    input_fingerprint: str
    row_counts: dict[str, int]
    results_file: Path


def input_fingerprint(con: duckdb.DuckDBPyConnection, model_version: str,
                      params: StudyAParameters) -> str:
    """sha256 over the published files' contents, the model version, parameters and code."""
    files = con.execute(sql("select_published_file_fingerprints")).fetchall()
    payload = json.dumps({"files": files, "model_version": model_version,
                          "parameters": params.as_dict(), "code_version": code_version()},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def latest_release(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """(release_id, input_fingerprint) of the newest release, if any."""
    return con.execute(sql("select_latest_release")).fetchone()


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


def _insert_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    if table not in RESULT_HISTORY_TABLES:
        raise KeyError(f"not a result table: {table}")
    con.register("release_rows", frame)
    con.execute(f"INSERT INTO results.{table} BY NAME SELECT * FROM release_rows")
    con.unregister("release_rows")


def write_release(con: duckdb.DuckDBPyConnection, ctx: RunContext, release_id: str,
                  now: datetime, fingerprint: str, model_version: str, params: StudyAParameters,
                  results: StudyAResults, harmonized: HarmonizeSummary) -> dict[str, int]:
    """Insert one release's rows and its registry entry in a single transaction."""
    frames = {f"{table}_history": nulls_for_nonfinite(results.tables[table])
              for table in STUDY_A_TABLES if table in results.tables}
    row_counts = {table: len(frame) for table, frame in frames.items()}
    sites = {"included": sorted({s.site for s in ctx.sites} - set(harmonized.held_back_sites)),
             "held_back": {s: list(c) for s, c in harmonized.held_back_sites.items()}}
    con.execute("BEGIN TRANSACTION")
    try:
        for table, frame in frames.items():
            if len(frame):
                _insert_rows(con, table, frame.assign(release_id=release_id))
        con.execute(sql("insert_release"), [
            release_id, now, ctx.run_id, code_version(), model_version,
            json.dumps(params.as_dict()), fingerprint, json.dumps(row_counts),
            json.dumps(sites)])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return row_counts


def export_results_file(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """Copy every release (and the audit trail) into a new file, then atomically replace target."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    home = con.execute("SELECT current_database()").fetchone()[0]
    con.execute(f"ATTACH '{_sql_path(tmp)}' AS release_out")
    try:
        con.execute("CREATE SCHEMA release_out.results")
        con.execute("CREATE SCHEMA release_out.audit")
        for table in ("releases", *RESULT_HISTORY_TABLES):
            con.execute(f"CREATE TABLE release_out.results.{table} AS "
                        f"SELECT * FROM results.{table}")
        for table in PUBLISHED_AUDIT_TABLES:
            con.execute(f"CREATE TABLE release_out.audit.{table} AS SELECT * FROM audit.{table}")
        con.execute("USE release_out")
        con.execute(sql("create_view_latest_release"))
        con.execute(sql("create_view_check_history"))
        for history, view in RESULT_HISTORY_TABLES.items():
            con.execute(f"CREATE VIEW results.{view} AS SELECT * FROM results.{history} "
                        "WHERE release_id = (SELECT release_id FROM results.latest_release)")
    finally:
        con.execute(f'USE "{home}"')
        con.execute("DETACH release_out")
    with tmp.open("rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


@task(name="publish release", cache_policy=NO_CACHE)
def publish_release(ctx: RunContext, model_version: str, params: StudyAParameters,
                    results: StudyAResults, harmonized: HarmonizeSummary) -> ReleaseSummary:
    """Publish a new release unless the inputs are unchanged; refresh the results file."""
    logger = get_run_logger()
    with open_warehouse(ctx.paths.warehouse) as con:
        fingerprint = input_fingerprint(con, model_version, params)
        previous = latest_release(con)
        if previous is not None and previous[1] == fingerprint:
            logger.info("inputs unchanged since release %s: nothing new published", previous[0])
            release_id, is_new = previous[0], False
            row_counts: dict[str, Any] = json.loads(con.execute(
                sql("select_release_row_counts"), [release_id]).fetchone()[0])
        else:
            now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
            release_id, is_new = _release_id(now, fingerprint), True
            row_counts = write_release(con, ctx, release_id, now, fingerprint, model_version,
                                       params, results, harmonized)
            logger.info("published release %s", release_id)
        export_results_file(con, ctx.paths.results)
    return ReleaseSummary(release_id, is_new, fingerprint, row_counts, ctx.paths.results)
