"""Study A's tables: every released result table, in report order, with the row order and
the key of a row within a release (results.study_a_<name>_history; schema in migrations 007
and 012), and the analysis-ready tables rebuilt by every refresh (analysis.study_a_<name>)."""

from typing import Final

from imnm.studies.base import ResultTable

# rowid: the order the analysis wrote the rows.
RESULT_TABLES: Final[tuple[ResultTable, ...]] = (
    ResultTable("attrition", "rowid", ("analysis", "step")),
    ResultTable("accuracy", "cutoff_rule", ("cutoff_rule",)),
    ResultTable("roc_curve", "point", ("point",)),
    ResultTable("score_by_echo", "echo_group", ("echo_group",)),
    ResultTable("logistic", "rowid", ("model", "term")),
    ResultTable("table1", "row_order", ("row_order",)),
    ResultTable("early_detection", "model_group", ("model_group",)),
    ResultTable("serial_ecgs", "patient_key, years_from_treatment_onset",
                ("patient_key", "ecg_id")),
    ResultTable("trajectory", "rowid"),
    ResultTable("trajectory_phases", "phase", ("phase",)),
    ResultTable("cox", "rowid", ("model", "term")),
    ResultTable("km", "model_group, time_years", ("model_group", "time_years")),
    ResultTable("logrank", "rowid"),
    ResultTable("patients", "patient_key", ("patient_key",)),
)
TABLE_NAMES: Final[tuple[str, ...]] = tuple(table.name for table in RESULT_TABLES)
ANALYSIS_TABLES: Final[tuple[str, ...]] = ("cohort", "serial_ecgs", "attrition")
