"""`imnm sql`: read-only, refuses writes, renders tables and writes CSV/Parquet."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from imnm.sql_console import WriteRefusedError, check_read_only, run_query


@pytest.fixture()
def database(tmp_path: Path) -> Path:
    path = tmp_path / "published.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA results; CREATE TABLE results.t AS "
                "SELECT range AS n, 'site' || range AS site FROM range(5)")
    con.close()
    return path


@pytest.mark.parametrize("statement", [
    "INSERT INTO results.t VALUES (9, 'x')", "DELETE FROM results.t", "DROP TABLE results.t",
    "CREATE TABLE x AS SELECT 1", "COPY results.t TO 'out.csv'", "ATTACH 'other.duckdb'",
    "SELECT 1; DELETE FROM results.t", "SET threads = 1", "UPDATE results.t SET n = 0",
])
def test_writes_are_refused(statement: str, database: Path) -> None:
    with pytest.raises(WriteRefusedError):
        run_query(database, statement)
    con = duckdb.connect(str(database), read_only=True)
    assert con.execute("SELECT count(*) FROM results.t").fetchone()[0] == 5


@pytest.mark.parametrize("statement", ["SELECT 1", "WITH a AS (SELECT 1) SELECT * FROM a",
                                       "DESCRIBE results.t", "SHOW TABLES", "EXPLAIN SELECT 1"])
def test_queries_are_allowed(statement: str) -> None:
    check_read_only(statement)


def test_result_is_rendered_and_written(database: Path, tmp_path: Path) -> None:
    csv, parquet = tmp_path / "out.csv", tmp_path / "out.parquet"
    shown = run_query(database, "SELECT * FROM results.t ORDER BY n", csv=csv, parquet=parquet)
    assert "site4" in shown
    assert pl.read_csv(csv).height == 5
    assert pl.read_parquet(parquet).get_column("n").to_list() == [0, 1, 2, 3, 4]


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="imnm refresh"):
        run_query(tmp_path / "none.duckdb", "SELECT 1")
