"""Study B's tables: every released result table, in report order, with the row order and
the key of a row within a release (results.study_b_<name>_history; schema in migrations 014
and 015), and the analysis-ready tables rebuilt by every refresh (analysis.study_b_<name>)."""

from typing import Final

from imnm.studies.base import ResultTable

RESULT_TABLES: Final[tuple[ResultTable, ...]] = (
    ResultTable("attrition", "row_order", ("row_order",)),
    ResultTable("table1", "row_order", ("row_order",)),
    ResultTable("missing_data", "row_order", ("row_order",)),
    ResultTable("baseline_comparisons", "row_order", ("row_order",)),
    ResultTable("ck_reduction", "visit", ("visit",)),
    ResultTable("ck_by_visit", "row_order", ("variable", "level", "visit")),
    ResultTable("ck_models", "row_order", ("engine", "outcome", "model", "variable", "term")),
    ResultTable("ck_level_means", "row_order",
                ("engine", "outcome", "model", "variable", "level")),
    ResultTable("ck_explained_variation", "row_order", ("engine", "outcome", "term")),
    ResultTable("hip_flexor", "row_order", ("row_order",)),
    ResultTable("ordinal_models", "row_order", ("engine", "model", "term")),
    ResultTable("prednisone", "row_order", ("row_order",)),
    ResultTable("bayes_diagnostics", "row_order", ("fit_id", "imputation")),
)
TABLE_NAMES: Final[tuple[str, ...]] = tuple(table.name for table in RESULT_TABLES)
ANALYSIS_TABLES: Final[tuple[str, ...]] = ("cohort", "visits", "attrition", "bayes_fits")
