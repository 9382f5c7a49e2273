"""Opening the warehouse and bringing its schema up to date with the numbered migrations."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

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
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO main.schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
                [migration.version, migration.name],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        newly_applied.append(migration.version)
    return newly_applied


@cache
def sql(name: str) -> str:
    """The statement in `warehouse/sql/<name>.sql` (one statement per file, named verb_object)."""
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise KeyError(f"no SQL statement named {name!r} in {SQL_DIR}")
    return path.read_text(encoding="utf-8")


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
