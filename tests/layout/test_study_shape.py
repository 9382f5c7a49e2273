"""Every registered study has the same shape: the same files in its package, its config, SQL,
tests and doc where the others have theirs, and tables the warehouse really has."""

from __future__ import annotations

import duckdb
import pytest

from imnm.settings import ConfigurationError
from imnm.studies.base import Study
from imnm.studies.registry import STUDY_NAMES, UnknownStudyError, all_studies, get_study
from tests.layout.imports import REPO_ROOT
from warehouse.db import migrate

PACKAGE_FILES = ("__init__.py", "parameters.py", "inputs.py", "cohort.py", "tables.py",
                 "analyses/__init__.py", "report/__init__.py")


def test_unknown_study_names_the_known_ones() -> None:
    """Asking for a study that is not registered raises and lists the registered ones."""
    with pytest.raises(UnknownStudyError) as raised:
        get_study("study_zz")
    assert "study_zz" in str(raised.value)
    assert all(name in str(raised.value) for name in STUDY_NAMES)


@pytest.mark.parametrize("study", all_studies(), ids=lambda s: s.name)
def test_study_folders_have_the_shared_shape(study: Study) -> None:
    """The package's files, its config, SQL folder, tests and doc exist."""
    package = REPO_ROOT / "imnm" / "studies" / study.name
    missing = [f for f in PACKAGE_FILES if not (package / f).is_file()]
    assert missing == []
    assert study.config_file.is_file()
    assert any((REPO_ROOT / "warehouse" / "sql" / study.name).glob("*.sql"))
    assert any((REPO_ROOT / "tests" / "studies" / study.name).glob("test_*.py"))
    assert (REPO_ROOT / "docs" / f"{study.name.replace('_', '-')}.md").is_file()


@pytest.mark.parametrize("study", all_studies(), ids=lambda s: s.name)
def test_study_tables_exist_in_the_warehouse(study: Study) -> None:
    """Each result table has its history table (with release_id) and each analysis-ready
    table exists, after the migrations."""
    con = duckdb.connect()
    migrate(con)
    for table in study.result_tables:
        schema, name = study.history_table(table.name).split(".")
        columns = {c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
            "AND table_name = ?", [schema, name]).fetchall()}
        assert "release_id" in columns, table.name
        assert set(table.row_key) <= columns, table.name
    for name in study.analysis_tables:
        schema, table_name = study.analysis_table(name).split(".")
        assert con.execute("SELECT count(*) FROM information_schema.tables WHERE "
                           "table_schema = ? AND table_name = ?", [schema, table_name]
                           ).fetchone()[0] == 1, name


@pytest.mark.parametrize("study", all_studies(), ids=lambda s: s.name)
def test_study_parameters_load_and_refuse_unknown_overrides(study: Study) -> None:
    """The config file loads; an override of a parameter the study does not have is refused
    with the name in the error."""
    recorded = study.parameters().as_dict()
    assert recorded
    with pytest.raises(ConfigurationError, match="no_such_parameter"):
        study.parameters({"no_such_parameter": 1})
