"""Two-group comparisons of study B: the supplementary baseline tables (S1 early IVIG vs not,
S2 the same in the moderate-severe subgroup, S3 IVMP vs not), the hip-flexor grade by group at
each visit with its change from baseline, and the prednisone dose by early IVIG.

Each p comes with the test that gave it, chosen by the platform's fixed rule
(imnm/stats/group_compare.py): Welch's t-test when Shapiro-Wilk does not reject normality in
either group, else Mann-Whitney U; yes/no variables by chi-square when every expected count is
at least 5, else Fisher's exact test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from imnm.stats.group_compare import compare_binary, compare_continuous
from imnm.studies.study_b.parameters import StudyBParameters


@dataclass(frozen=True)
class Comparison:
    """A named two-group comparison: the cohort column that splits the groups, and the rows
    it covers (all patients or the moderate-severe subgroup)."""

    name: str
    group_column: str
    subgroup: str  # "all" | "moderate_severe"


COMPARISONS: tuple[Comparison, ...] = (
    Comparison("s1_early_ivig", "early_ivig", "all"),
    Comparison("s2_early_ivig_moderate_severe", "early_ivig", "moderate_severe"),
    Comparison("s3_ivmp", "initial_ivmp", "all"),
)
# (variable, cohort column, kind, level counted as "yes" for categoricals)
BASELINE_VARIABLES: tuple[tuple[str, str, str, Any], ...] = (
    ("female", "female", "binary", None),
    ("age_at_diagnosis", "age_at_diagnosis", "continuous", None),
    ("baseline_ck_u_l", "baseline_ck_u_l", "continuous", None),
    ("baseline_hip_flexor_grade", "baseline_hip_flexor_grade", "continuous", None),
    ("anti-HMGCR", "serotype", "binary", "anti-HMGCR"),
    ("anti-SRP", "serotype", "binary", "anti-SRP"),
    ("seronegative", "serotype", "binary", "seronegative"),
    ("initial_ivmp", "initial_ivmp", "binary", None),
    ("early_ivig", "early_ivig", "binary", None),
    ("initial_prednisone_mg", "initial_prednisone_mg", "continuous", None),
)
COMPARISON_COLUMNS = ("n_group", "n_other", "mean_group", "mean_other", "sd_group", "sd_other",
                      "median_group", "median_other", "difference", "test", "statistic",
                      "p_value", "test_reason")


def comparison_rows(comparison: Comparison, cohort: pd.DataFrame) -> pd.DataFrame:
    """The subset of the cohort a comparison covers, with its group as a boolean column."""
    rows = cohort
    if comparison.subgroup == "moderate_severe":
        rows = rows[rows["moderate_severe"].fillna(False).astype(bool)]
    rows = rows[rows[comparison.group_column].notna()]
    return rows.assign(in_group=rows[comparison.group_column].astype(bool))


def continuous_cells(values: pd.DataFrame, value_col: str, normality_alpha: float
                     ) -> dict[str, Any]:
    """Means, SDs, medians and the test of a value between in_group True and False."""
    data = values[[value_col, "in_group"]].dropna()
    data = data.assign(**{value_col: data[value_col].astype(float)})
    a = data.loc[data["in_group"], value_col].to_numpy()
    b = data.loc[~data["in_group"], value_col].to_numpy()
    cells: dict[str, Any] = {
        "n_group": int(a.size), "n_other": int(b.size),
        "mean_group": float(a.mean()) if a.size else None,
        "mean_other": float(b.mean()) if b.size else None,
        "sd_group": float(a.std(ddof=1)) if a.size > 1 else None,
        "sd_other": float(b.std(ddof=1)) if b.size > 1 else None,
        "median_group": float(np.median(a)) if a.size else None,
        "median_other": float(np.median(b)) if b.size else None,
        "difference": float(a.mean() - b.mean()) if a.size and b.size else None,
    }
    try:
        # compare_continuous's group a is the False group; W is group a's rank sum statistic.
        result = compare_continuous(data.assign(group=data["in_group"]), value_col, "group",
                                    normality_alpha)
        reason = (result.reason.replace("group a", "the other group")
                  .replace("group b", "the group"))
        cells.update(test=result.test, statistic=result.statistic, p_value=result.p_value,
                     test_reason=reason)
    except ValueError as exc:
        cells.update(test=None, statistic=None, p_value=None, test_reason=str(exc))
    return cells


def binary_cells(values: pd.DataFrame, value_col: str, level: Any) -> dict[str, Any]:
    """Counts (as n and share in the mean columns) and the test of a yes/no between groups."""
    data = values[[value_col, "in_group"]].dropna(subset=[value_col])
    yes = (data[value_col] == level) if level is not None else data[value_col].astype(bool)
    a, b = yes[data["in_group"]], yes[~data["in_group"]]
    cells: dict[str, Any] = {
        "n_group": int(a.size), "n_other": int(b.size),
        "mean_group": float(a.mean()) if a.size else None,
        "mean_other": float(b.mean()) if b.size else None,
        "sd_group": None, "sd_other": None, "median_group": None, "median_other": None,
        "difference": float(a.mean() - b.mean()) if a.size and b.size else None,
    }
    try:
        result = compare_binary(int(b.sum()), int(b.size), int(a.sum()), int(a.size))
        cells.update(test=result.test, statistic=result.statistic, p_value=result.p_value,
                     test_reason=result.reason)
    except ValueError as exc:
        cells.update(test=None, statistic=None, p_value=None, test_reason=str(exc))
    return cells


def baseline_comparisons(cohort: pd.DataFrame, params: StudyBParameters) -> pd.DataFrame:
    """S1-S3: every baseline variable compared between each comparison's groups (a group's
    own splitting variable is left out)."""
    rows: list[dict[str, Any]] = []
    for comparison in COMPARISONS:
        data = comparison_rows(comparison, cohort)
        for variable, column, kind, level in BASELINE_VARIABLES:
            if column == comparison.group_column:
                continue
            cells = (continuous_cells(data, column, params.normality_alpha)
                     if kind == "continuous" else binary_cells(data, column, level))
            rows.append({"comparison": comparison.name,
                         "group_variable": comparison.group_column,
                         "subgroup": comparison.subgroup, "variable": variable,
                         "summary": "mean_sd" if kind == "continuous" else "share",
                         **cells})
    return _ordered(rows)


def hip_flexor_by_group(cohort: pd.DataFrame, visits: pd.DataFrame,
                        params: StudyBParameters) -> pd.DataFrame:
    """Mean hip-flexor grade (0-3) at each visit and its change from baseline, by early IVIG
    (all patients and the moderate-severe subgroup) and by IVMP, with tests."""
    def change(grade: pd.DataFrame, visit: str) -> pd.Series:
        return grade[visit] - grade["baseline"]

    rows = [row for comparison in COMPARISONS
            for row in _by_visit(comparison, cohort, visits, "hip_flexor_grade",
                                 {"grade": None, "change": change}, params)]
    return _ordered(rows)


def prednisone_by_early_ivig(cohort: pd.DataFrame, visits: pd.DataFrame,
                             params: StudyBParameters) -> pd.DataFrame:
    """Oral prednisone dose (mg/day) at each visit by early IVIG, and its percentage
    reduction from baseline at 3 and 6 months, with tests."""
    def reduction_percent(dose: pd.DataFrame, visit: str) -> pd.Series:
        baseline = dose["baseline"].where(dose["baseline"] > 0)
        return 100.0 * (1.0 - dose[visit] / baseline)

    return _ordered(_by_visit(COMPARISONS[0], cohort, visits, "prednisone_mg",
                              {"dose_mg": None, "reduction_percent": reduction_percent},
                              params))


VisitMeasure = Callable[[pd.DataFrame, str], pd.Series] | None


def _by_visit(comparison: Comparison, cohort: pd.DataFrame, visits: pd.DataFrame,
              value_column: str, measures: dict[str, VisitMeasure],
              params: StudyBParameters) -> list[dict[str, Any]]:
    """One row per visit and measure of a visit value compared between a comparison's groups.
    A measure is the value itself (None) or a function of the patients x visits frame and the
    visit (a change from baseline, so not computed at baseline)."""
    data = comparison_rows(comparison, cohort).set_index("patient_key")
    wide = visits.pivot(index="patient_key", columns="visit", values=value_column)
    values = wide.reindex(data.index).astype(float)
    rows: list[dict[str, Any]] = []
    for visit in ("baseline", "month_3", "month_6"):
        for measure, derive in measures.items():
            if derive is not None and visit == "baseline":
                continue
            value = values[visit] if derive is None else derive(values, visit)
            frame = pd.DataFrame({"value": value, "in_group": data["in_group"]})
            rows.append({"comparison": comparison.name,
                         "group_variable": comparison.group_column,
                         "subgroup": comparison.subgroup, "visit": visit, "measure": measure,
                         **continuous_cells(frame, "value", params.normality_alpha)})
    return rows


def _ordered(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame.insert(0, "row_order", np.arange(len(frame), dtype=np.int32))
    for column in ("n_group", "n_other"):
        frame[column] = frame[column].astype("Int64")
    for column in ("mean_group", "mean_other", "sd_group", "sd_other", "median_group",
                   "median_other", "difference", "statistic", "p_value"):
        frame[column] = frame[column].astype(float)
    return frame
