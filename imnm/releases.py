"""Reading releases back: the one module the report stages and the CLI read a release through.

Everything reads through a DuckDB connection to either the working warehouse or the published
results file (both hold `results.releases`, the `*_history` tables and the audit copies).
`open_release_source` picks one read-only: the warehouse, or the published file while a
refresh holds the warehouse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import duckdb

from imnm.quality.checks import CheckOutcome, outcome_from_row
from imnm.settings import DataPaths
from warehouse.db import sql

DEMO_MODEL_PREFIX: Final[str] = "ai-ecg-lvd-demo"


class NoReleaseError(ValueError):
    """There is no release (yet, or by that id) where one was asked for."""


@dataclass(frozen=True)
class ReleaseInfo:
    """One row of results.releases, as the reports show it."""

    release_id: str
    published_at: datetime
    run_id: str
    code_version: str
    model_version: str
    included_sites: tuple[str, ...]
    held_back: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    model_synthetic: bool | None = None  # the model card's word, recorded at publish

    @property
    def synthetic(self) -> bool:
        """True when a demo model, or one its card says was trained on synthetic data,
        scored the release's ECGs (nothing clinical may be claimed from it)."""
        return self.model_version.startswith(DEMO_MODEL_PREFIX) or bool(self.model_synthetic)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def latest_release(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """(release_id, input_fingerprint) of the newest release, or None before the first."""
    try:
        row = con.execute(sql("select_latest_release")).fetchone()
    except duckdb.CatalogException:  # a file without the results schema
        return None
    return (str(row[0]), str(row[1])) if row else None


def latest_release_id(con: duckdb.DuckDBPyConnection) -> str | None:
    """The newest release's id, or None before the first release."""
    latest = latest_release(con)
    return latest[0] if latest else None


def chosen_release_id(con: duckdb.DuckDBPyConnection, release_id: str | None) -> str:
    """`release_id`, or the latest release's; NoReleaseError when there is none."""
    chosen = release_id or latest_release_id(con)
    if chosen is None:
        raise NoReleaseError("no release yet: run `imnm refresh` first")
    return chosen


def read_release(con: duckdb.DuckDBPyConnection, release_id: str) -> ReleaseInfo:
    """The release's registry entry; NoReleaseError if there is no such release.

    Reads the row by column name, so files written before a column existed still read.
    """
    cursor = con.execute(sql("select_release"), [release_id])
    values = cursor.fetchone()
    if values is None:
        raise NoReleaseError(f"no release {release_id!r}: `imnm sql \"SELECT release_id FROM "
                             "results.releases\"` lists them")
    row = dict(zip((d[0] for d in cursor.description), values, strict=True))
    sites = _json(row.get("sites")) or {}
    return ReleaseInfo(
        release_id=row["release_id"], published_at=row["published_at"], run_id=row["run_id"],
        code_version=row["code_version"], model_version=row["model_version"],
        included_sites=tuple(sites.get("included") or ()),
        held_back={site: tuple(checks) for site, checks in
                   sorted((sites.get("held_back") or {}).items())},
        model_synthetic=row.get("model_synthetic"))


def read_release_parameters(con: duckdb.DuckDBPyConnection, release_id: str
                            ) -> dict[str, Any]:
    """The analysis parameters the release recorded, per study (empty when none)."""
    row = con.execute(sql("select_release_parameters"), [release_id]).fetchone()
    if row is None or row[0] is None:
        return {}
    return dict(_json(row[0]))


def read_release_row_counts(con: duckdb.DuckDBPyConnection, release_id: str) -> dict[str, int]:
    """Rows the release holds per history table."""
    row = con.execute(sql("select_release_row_counts"), [release_id]).fetchone()
    return dict(_json(row[0])) if row else {}


def read_outcomes(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[CheckOutcome, ...]:
    """Every check outcome of a run (audit.validation_results), both layers; () for a file
    without the audit copy."""
    try:
        rows = con.execute(sql("select_dq_outcomes"), [run_id]).fetchall()
    except duckdb.CatalogException:
        return ()
    return tuple(outcome_from_row(row) for row in rows)


def read_release_rows(con: duckdb.DuckDBPyConnection, history_table: str, release_id: str,
                      order_by: str) -> tuple[dict[str, Any], ...] | None:
    """The release's rows of one history table (without release_id), in `order_by` order;
    None when the file has no such table. `history_table` and `order_by` come from a study's
    table list, never from user input."""
    query = (f"SELECT * EXCLUDE (release_id) FROM {history_table} "
             f"WHERE release_id = $1 ORDER BY {order_by}")
    try:
        cursor = con.execute(query, [release_id])
    except duckdb.CatalogException:
        return None
    columns = [d[0] for d in cursor.description]
    return tuple(dict(zip(columns, values, strict=True)) for values in cursor.fetchall())


def _is_locked(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text


def open_release_source(paths: DataPaths) -> tuple[duckdb.DuckDBPyConnection, str | None]:
    """A read-only connection to the warehouse, else to the published results file, with a
    note saying why when it is the published file."""
    if paths.warehouse.exists():
        try:
            return duckdb.connect(str(paths.warehouse), read_only=True), None
        except duckdb.Error as exc:
            if not (_is_locked(exc) and paths.results.exists()):
                raise ValueError(f"{paths.warehouse} cannot be opened now ({exc})") from exc
            return (duckdb.connect(str(paths.results), read_only=True),
                    f"The warehouse is locked by a running refresh: read from the published "
                    f"results file {paths.results}.")
    if paths.results.exists():
        return (duckdb.connect(str(paths.results), read_only=True),
                f"No warehouse in {paths.root}: read from the published results file.")
    raise FileNotFoundError(f"no release yet in {paths.root}: run `imnm refresh` first")


def open_published(paths: DataPaths, source: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to `source` (default: the published results file)."""
    database = source or paths.results
    if not database.exists():
        raise FileNotFoundError(f"no release yet in {paths.root}: run `imnm refresh` first")
    return duckdb.connect(str(database), read_only=True)
