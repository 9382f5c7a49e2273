"""Study A: AI-ECG probability of left-ventricular dysfunction (LVD) against echo-defined LVD
in IMNM (docs/study-a.md). `STUDY` is what the registry and every stage see.

Importing this package stays light: pandas, the statistics and the report load when a stage
calls the functions below.
"""

from __future__ import annotations

from imnm.studies.base import Study, lazy
from imnm.studies.study_a.parameters import load_parameters
from imnm.studies.study_a.tables import ANALYSIS_TABLES, RESULT_TABLES

STUDY = Study(
    name="study_a",
    title="Study A: AI-ECG for left-ventricular dysfunction in IMNM",
    result_tables=RESULT_TABLES,
    analysis_tables=ANALYSIS_TABLES,
    load_parameters=load_parameters,
    read_inputs=lazy("imnm.studies.study_a.inputs", "read_inputs"),
    run_analyses=lazy("imnm.studies.study_a.analyses", "run_analyses"),
    render_report=lazy("imnm.studies.study_a.report.html", "render_report"),
    report_file="study-a.html",
    sql_examples=(
        "SELECT site, count(*) AS patients, round(avg(p_lvd) * 100, 2) AS mean_p_lvd_pct, "
        "sum(model_predicts_lvd::INT) AS model_flags FROM results.study_a_patients "
        "GROUP BY site ORDER BY site",
        "SELECT * FROM results.study_a_accuracy",
        "SELECT model, term, hazard_ratio, ci_low, ci_high FROM results.study_a_cox",
    ),
)
