"""Study A: AI-ECG probability of left-ventricular dysfunction (LVD) against echo-defined LVD
in IMNM (docs/study-a.md). `STUDY` is what the registry and every stage see.

Importing this package stays light: pandas, the statistics and the report load when a stage
calls the functions below.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imnm.studies.base import Study, StudyResults
from imnm.studies.study_a.parameters import StudyAParameters, load_parameters
from imnm.studies.study_a.tables import ANALYSIS_TABLES, RESULT_TABLES

if TYPE_CHECKING:
    import duckdb

    from imnm.studies.report_data import StudyReportData
    from imnm.studies.study_a.inputs import StudyAInputs


def _read_inputs(con: duckdb.DuckDBPyConnection, model_version: str,
                 params: StudyAParameters) -> StudyAInputs:
    from imnm.studies.study_a.inputs import read_inputs

    return read_inputs(con, model_version, params)


def _run_analyses(inputs: StudyAInputs, params: StudyAParameters, model_version: str
                  ) -> StudyResults:
    from imnm.studies.study_a.analyses import run_analyses

    return run_analyses(inputs, params, model_version)


def _render_report(data: StudyReportData) -> str:
    from imnm.studies.study_a.report.html import render_report

    return render_report(data)


def _load_parameters(path: Path, overrides: Mapping[str, Any] | None = None
                     ) -> StudyAParameters:
    return load_parameters(path, overrides)


STUDY = Study(
    name="study_a",
    title="Study A: AI-ECG for left-ventricular dysfunction in IMNM",
    result_tables=RESULT_TABLES,
    analysis_tables=ANALYSIS_TABLES,
    load_parameters=_load_parameters,
    read_inputs=_read_inputs,
    run_analyses=_run_analyses,
    render_report=_render_report,
    report_file="study-a.html",
    sql_examples=(
        "SELECT site, count(*) AS patients, round(avg(p_lvd) * 100, 2) AS mean_p_lvd_pct, "
        "sum(model_predicts_lvd::INT) AS model_flags FROM results.study_a_patients "
        "GROUP BY site ORDER BY site",
        "SELECT * FROM results.study_a_accuracy",
        "SELECT model, term, hazard_ratio, ci_low, ci_high FROM results.study_a_cox",
    ),
)
