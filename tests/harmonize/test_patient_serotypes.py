"""core.patient_serotypes and the study-neutral core, on hand-made core rows in real DuckDB."""

from __future__ import annotations

import duckdb
import pytest

from imnm.studies.registry import STUDY_NAMES
from warehouse.db import migrate


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:")
    migrate(connection)
    return connection


def _serology(con: duckdb.DuckDBPyConnection, key: str, antigen: str, result: str) -> None:
    con.execute("INSERT INTO core.serology (patient_key, site, antigen, result, file_id, "
                "source_row) VALUES (?, 'lakeside', ?, ?, 1, 1)", [key, antigen, result])


def _serotype(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("SELECT serotype FROM core.patient_serotypes WHERE patient_key = ?",
                      [key]).fetchone()
    return None if row is None else row[0]


@pytest.mark.parametrize(("results", "serotype"), [
    ((("HMGCR", "positive"), ("SRP", "positive")), "anti-HMGCR"),  # HMGCR wins over SRP
    ((("HMGCR", "negative"), ("SRP", "positive")), "anti-SRP"),
    ((("HMGCR", "negative"), ("Mi-2", "positive")), "other_msa"),
    ((("HMGCR", "negative"), ("Jo-1", "borderline")), "seronegative"),
    ((("SRP", "negative"),), "seronegative"),
])
def test_serotype_from_the_patients_serology(con: duckdb.DuckDBPyConnection,
                                             results: tuple[tuple[str, str], ...],
                                             serotype: str) -> None:
    """The serotype hierarchy: HMGCR, then SRP, then any other antigen, else seronegative."""
    for antigen, result in results:
        _serology(con, "P1", antigen, result)
    _serology(con, "P2", "HMGCR", "positive")  # another patient does not leak in
    assert _serotype(con, "P1") == serotype


def test_no_serology_no_serotype(con: duckdb.DuckDBPyConnection) -> None:
    """A patient without any serology result has no row (NULL when joined)."""
    _serology(con, "P4", "SRP", "positive")
    assert _serotype(con, "P3") is None


def test_core_names_no_study(con: duckdb.DuckDBPyConnection) -> None:
    """Core holds harmonized facts: no table or column is named after a study."""
    names = con.execute("SELECT table_name || '.' || column_name FROM information_schema.columns "
                        "WHERE table_schema = 'core'").fetchall()
    tables = {n.split(".")[0] for (n,) in names}
    assert {"echos", "strength", "patient_serotypes"} <= tables
    for (name,) in names:
        assert not any(part in name for part in ("study_", "lvd_flag")), name
        assert not any(study in name for study in STUDY_NAMES), name
