"""Warehouse: numbered migrations create every layer once, and re-running changes nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb

from warehouse.db import list_migrations, migrate, open_warehouse, sql


def test_migrations_are_numbered_consecutively() -> None:
    versions = [m.version for m in list_migrations()]
    assert versions == list(range(1, len(versions) + 1))


def test_migrate_creates_layers_once(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with open_warehouse(path) as con:
        schemas = {r[0] for r in con.execute(
            "SELECT DISTINCT table_schema FROM information_schema.tables").fetchall()}
        assert {"registry", "staging", "core", "scores", "results", "audit"} <= schemas
        assert migrate(con) == []
    con = duckdb.connect(str(path))
    count = con.execute("SELECT count(*) FROM main.schema_migrations").fetchone()[0]
    assert count == len(list_migrations())


def test_every_core_table_carries_lineage(tmp_path: Path) -> None:
    with open_warehouse(tmp_path / "w.duckdb") as con:
        # Base tables only: views such as core.patient_serotypes are derived per patient.
        tables = con.execute("SELECT table_name FROM information_schema.tables "
                             "WHERE table_schema = 'core' AND table_type = 'BASE TABLE'"
                             ).fetchall()
        assert len(tables) >= 11
        for (table,) in tables:
            columns = {r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'core' AND table_name = ?", [table]).fetchall()}
            assert {"site", "file_id", "source_row"} <= columns, table


def test_named_statements_exist() -> None:
    assert "INSERT INTO registry.source_files" in sql("insert_source_file")
