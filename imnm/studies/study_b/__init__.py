"""Study B: baseline and treatment predictors of short-term outcomes (CK, hip-flexor strength,
glucocorticoid dose) in IMNM (docs/study-b.md). `STUDY` is what the registry and every stage
see.

Importing this package stays light: pandas, the statistics and the report load when a stage
calls the functions below.
"""

from __future__ import annotations

from imnm.studies.base import Study, lazy
from imnm.studies.study_b.parameters import load_parameters
from imnm.studies.study_b.tables import ANALYSIS_TABLES, RESULT_TABLES

STUDY = Study(
    name="study_b",
    title="Study B: outcome predictors of IMNM (CK, hip-flexor strength, glucocorticoids)",
    result_tables=RESULT_TABLES,
    analysis_tables=ANALYSIS_TABLES,
    load_parameters=load_parameters,
    read_inputs=lazy("imnm.studies.study_b.inputs", "read_inputs"),
    run_analyses=lazy("imnm.studies.study_b.analyses", "run_analyses"),
    render_report=lazy("imnm.studies.study_b.report.html", "render_report"),
    report_file="study-b.html",
    sql_examples=(
        "SELECT step, rule, detail, n_removed, n_remaining FROM results.study_b_attrition "
        "ORDER BY row_order",
        "SELECT outcome, variable, term, round(estimate, 3) AS estimate, round(p_value, 4) AS p "
        "FROM results.study_b_ck_models WHERE engine = 'frequentist' AND model = 'univariable' "
        "AND term NOT IN ('intercept', 'month_6', 'log_baseline_ck') ORDER BY outcome, variable",
        "SELECT comparison, visit, measure, mean_group, mean_other, test, p_value "
        "FROM results.study_b_hip_flexor ORDER BY row_order",
    ),
)
