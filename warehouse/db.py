"""Opening the warehouse and bringing its schema up to date with the numbered migrations."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQL_DIR = Path(__file__).resolve().parent / "sql"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")

CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS main.schema_migrations (
    version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL
)
"""


@dataclass(frozen=True)
class Migration:
    """One numbered schema change."""

    version: int
    name: str
    sql: str


def list_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """All migrations in version order; a misnamed or duplicated number is an error."""
    migrations: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise ValueError(f"{path}: migration files are named NNN_verb_object.sql")
        version = int(match.group(1))
        if version in migrations:
            raise ValueError(f"{path}: migration number {version} is used twice")
        migrations[version] = Migration(version, path.stem, path.read_text(encoding="utf-8"))
    return [migrations[v] for v in sorted(migrations)]


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the migrations not yet applied, each in its own transaction; returns their numbers."""
    con.execute(CREATE_MIGRATIONS_TABLE)
    applied_rows = con.execute("SELECT version FROM main.schema_migrations").fetchall()
    applied = {row[0] for row in applied_rows}
    newly_applied = []
    for migration in list_migrations():
        if migration.version in applied:
            continue
        with transaction(con):
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO main.schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
                [migration.version, migration.name],
            )
        newly_applied.append(migration.version)
    return newly_applied


_SQL_NAME = re.compile(r"^(?:[a-z][a-z0-9_]*/)?[a-z][a-z0-9_]*$")
# Qualified table names ("schema.table") that frames may be inserted into.
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@cache
def sql(name: str) -> str:
    """The statement in `warehouse/sql/<name>.sql` (one statement per file, named verb_object);
    a study's statements are in its own folder: `sql("<study>/<verb_object>")`."""
    path = SQL_DIR / f"{name}.sql"
    if not _SQL_NAME.match(name) or not path.is_file():
        raise KeyError(f"no SQL statement named {name!r} in {SQL_DIR}")
    return path.read_text(encoding="utf-8")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Everything inside commits together or not at all (rolled back on any exception)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: Any) -> int:
    """Insert a frame's rows (pandas, polars or Arrow) into `table` ("schema.table", matched by
    column name); returns the rows inserted. An empty frame inserts nothing.

    `table` must be a plain qualified name from the code's own lists, never user input.
    """
    if not _TABLE_NAME.match(table):
        raise ValueError(f"not a qualified table name: {table!r}")
    rows = frame.height if hasattr(frame, "height") else len(frame)
    if not rows:
        return 0
    view = "inserted_frame_rows"
    con.register(view, frame.to_arrow() if hasattr(frame, "to_arrow") else frame)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
    finally:
        con.unregister(view)
    return int(rows)


def insert_many(con: duckdb.DuckDBPyConnection, name: str, rows: Sequence[Sequence[object]]
                ) -> int:
    """Run the named INSERT once per row; an empty batch is a no-op (DuckDB refuses it)."""
    if rows:
        con.executemany(sql(name), rows)
    return len(rows)


@contextmanager
def open_warehouse(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse file; a writable one is migrated to the latest schema first."""
    if read_only and not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `imnm refresh` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        if not read_only:
            migrate(con)
        yield con
    finally:
        con.close()
