"""The shape every study has, so the refresh analyses, publishes and reports any study the
same way (`imnm/studies/registry.py` lists them).

A study is a package `imnm/studies/<name>/` with the same files as every other:

    __init__.py   STUDY, this module's `Study`, built from the files below
    parameters.py its typed parameters, read from config/studies/<name>.toml
    inputs.py     reads its inputs from core and scores (SQL in warehouse/sql/<name>/)
    cohort.py     its selection rules and attrition table
    analyses/     its analyses as pure functions; analyses/__init__.py runs them all
    tables.py     its result and analysis-ready tables
    report/       its per-release HTML report (pure rendering)

Its result tables are released as `results.<name>_<table>[_history]` and its analysis-ready
tables are rebuilt as `analysis.<name>_<table>` (created by numbered migrations).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from imnm.settings import CONFIG_DIR

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from imnm.studies.report_data import StudyReportData

STUDY_CONFIG_DIR: Final[Path] = CONFIG_DIR / "studies"
# Study and table names become parts of SQL identifiers: plain snake_case only.
_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


class StudyParameters(Protocol):
    """A study's typed, checked parameters; every release records `as_dict()`."""

    def as_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ResultTable:
    """One released result table: results.<study>_<name>_history, with a latest-release view."""

    name: str
    order_by: str  # row order within a release, for reports (column names of the table)
    row_key: tuple[str, ...] = ()  # columns naming one row within a release (() = one row)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"result table name {self.name!r} is not snake_case")


@dataclass(frozen=True)
class StudyResults:
    """What one study's analyses produced for a release.

    `tables`: result table name -> this release's rows (an analysis the data could not
    support is absent, with a note); `analysis_tables`: analysis-ready table name -> rows;
    `headline`: the lines the refresh summary prints for the study.
    """

    tables: Mapping[str, pd.DataFrame]
    analysis_tables: Mapping[str, pd.DataFrame]
    notes: tuple[str, ...] = ()
    headline: tuple[str, ...] = ()


@dataclass(frozen=True)
class Study:
    """A registered study: its names, tables, and the functions each stage calls.

    The functions are the study's own (`parameters.load_parameters`, `inputs.read_inputs`,
    `analyses.run_analyses`, `report.render_report`); importing a study package stays light,
    the heavy libraries load when a function runs.
    """

    name: str
    title: str
    result_tables: tuple[ResultTable, ...]
    analysis_tables: tuple[str, ...]
    load_parameters: Callable[[Path, Mapping[str, Any] | None], StudyParameters]
    read_inputs: Callable[[duckdb.DuckDBPyConnection, str, Any], Any]
    run_analyses: Callable[[Any, Any, str], StudyResults]
    render_report: Callable[[StudyReportData], str]
    report_file: str
    sql_examples: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in (self.name, *self.analysis_tables):
            if not _NAME.match(name):
                raise ValueError(f"study or table name {name!r} is not snake_case")

    @property
    def config_file(self) -> Path:
        """config/studies/<name>.toml."""
        return STUDY_CONFIG_DIR / f"{self.name}.toml"

    @property
    def table_names(self) -> tuple[str, ...]:
        """The result tables' names, in report order."""
        return tuple(table.name for table in self.result_tables)

    def result_table(self, name: str) -> ResultTable:
        """The named result table; KeyError (listing the study's tables) for another name."""
        for table in self.result_tables:
            if table.name == name:
                return table
        raise KeyError(f"{self.name} has no result table {name!r}; its tables: "
                       f"{', '.join(self.table_names)}")

    def history_table(self, name: str) -> str:
        """The released history table: results.<study>_<name>_history (safe in SQL text:
        both names are checked snake_case and the table must be one of the study's)."""
        self.result_table(name)
        return f"results.{self.name}_{name}_history"

    def latest_view(self, name: str) -> str:
        """The plain-named view of the latest release: results.<study>_<name>."""
        self.result_table(name)
        return f"results.{self.name}_{name}"

    def analysis_table(self, name: str) -> str:
        """The analysis-ready table: analysis.<study>_<name>."""
        if name not in self.analysis_tables:
            raise KeyError(f"{self.name} has no analysis table {name!r}")
        return f"analysis.{self.name}_{name}"

    def parameters(self, overrides: Mapping[str, Any] | None = None) -> StudyParameters:
        """The study's parameters from its config file, `overrides` applied."""
        return self.load_parameters(self.config_file, overrides)


def lazy(module: str, function: str) -> Callable[..., Any]:
    """`module.function`, imported when first called: a study package's STUDY names its
    stage functions without importing pandas, the statistics or the report."""
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), function)(*args, **kwargs)

    call.__name__ = call.__qualname__ = function
    call.__doc__ = f"{module}.{function}, imported on first call."
    return call


def attempt(name: str, notes: list[str], compute: Callable[[], Any]) -> Any:
    """`compute()`, or None with a note "<name> not computed: <why>" when the data cannot
    support it (a ValueError): one analysis left out, the others still run."""
    try:
        return compute()
    except ValueError as exc:
        notes.append(f"{name} not computed: {exc}")
        return None
