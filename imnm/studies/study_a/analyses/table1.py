"""Table 1: the cohort's characteristics by the model's call, each p with the test that gave it.

The test choice is a fixed rule (imnm/stats/group_compare.py, docs/study-a.md): continuous
variables get Welch's t-test when Shapiro-Wilk does not reject normality in either group (shown
as mean ± SD), else the Mann-Whitney U test (shown as median (IQR)); yes/no variables get
Pearson's chi-square when every expected count is at least 5, else Fisher's exact test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from imnm.stats.group_compare import compare_binary, compare_continuous
from imnm.studies.study_a.parameters import StudyAParameters

GROUP = "model_predicts_lvd"


@dataclass(frozen=True)
class Table1Row:
    """A row of Table 1: a continuous column, or a yes/no question asked of a column."""

    variable: str
    column: str
    level: str | None = None       # for a categorical column: the level counted as "yes"
    continuous: bool = False


TABLE1_ROWS: tuple[Table1Row, ...] = (
    Table1Row("abnormal_echo", "echo_lvd_flag"),
    Table1Row("age_at_diagnosis", "age_at_diagnosis", continuous=True),
    Table1Row("male", "sex", level="male"),
    Table1Row("hypertension", "hypertension"),
    Table1Row("diabetes", "diabetes"),
    Table1Row("hdl_c_mg_dl", "hdl_c_mg_dl", continuous=True),
    Table1Row("ascvd_10y_risk_percent", "ascvd_10y_risk_percent", continuous=True),
    Table1Row("statin_use", "statin_use"),
    Table1Row("serotype", "serotype", level="seronegative"),
    Table1Row("serotype", "serotype", level="anti-HMGCR"),
    Table1Row("serotype", "serotype", level="anti-SRP"),
    Table1Row("serotype", "serotype", level="other_msa"),
    Table1Row("respiratory_involvement", "respiratory_involvement"),
    Table1Row("restrictive_pulmonary", "restrictive_pulmonary"),
)


def _yes(values: pd.Series, level: str | None) -> pd.Series:
    """True/False per non-missing value: the level when given, else the boolean itself."""
    present = values.dropna()
    if level is None:
        return present.astype(bool)
    return present.astype(str) == level


def _count(yes: pd.Series) -> str:
    n = len(yes)
    return f"{int(yes.sum())}/{n} ({100.0 * yes.sum() / n:.0f}%)" if n else "—"


def _mean_sd(values: np.ndarray) -> str:
    if values.size == 0:
        return "—"
    sd = float(np.std(values, ddof=1)) if values.size > 1 else float("nan")
    return f"{values.mean():.1f} ± {sd:.1f}"


def _median_iqr(values: np.ndarray) -> str:
    if values.size == 0:
        return "—"
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    return f"{median:.1f} ({q1:.1f}–{q3:.1f})"


def _continuous_row(row: Table1Row, data: pd.DataFrame, params: StudyAParameters
                    ) -> dict[str, Any]:
    values = data[[row.column, GROUP]].dropna()
    overall = values[row.column].to_numpy(dtype=float)
    no_lvd = values.loc[~values[GROUP].astype(bool), row.column].to_numpy(dtype=float)
    lvd = values.loc[values[GROUP].astype(bool), row.column].to_numpy(dtype=float)
    try:
        comparison = compare_continuous(values.astype({GROUP: bool}), row.column, GROUP,
                                        params.normality_alpha)
        test, p_value = comparison.test, comparison.p_value
        reason = (comparison.reason.replace("group a", "the P(LVD) <= cutoff group")
                  .replace("group b", "the P(LVD) > cutoff group"))
    except ValueError as exc:
        test, p_value, reason = None, None, str(exc)
    summarize = _mean_sd if test == "welch_t" else _median_iqr
    return {"summary": "mean_sd" if test == "welch_t" else "median_iqr",
            "n_available": int(overall.size), "overall": summarize(overall),
            "predicted_no_lvd": summarize(no_lvd), "predicted_lvd": summarize(lvd),
            "p_value": p_value, "test": test, "test_reason": reason}


def _binary_row(row: Table1Row, data: pd.DataFrame) -> dict[str, Any]:
    values = data[[row.column, GROUP]].dropna(subset=[row.column])
    yes = _yes(values[row.column], row.level)
    group = values[GROUP].astype(bool)
    yes_no, yes_lvd = yes[~group], yes[group]
    try:
        comparison = compare_binary(int(yes_no.sum()), len(yes_no), int(yes_lvd.sum()),
                                    len(yes_lvd))
        test, p_value, reason = comparison.test, comparison.p_value, comparison.reason
    except ValueError as exc:
        test, p_value, reason = None, None, str(exc)
    return {"summary": "n_percent", "n_available": len(yes), "overall": _count(yes),
            "predicted_no_lvd": _count(yes_no), "predicted_lvd": _count(yes_lvd),
            "p_value": p_value, "test": test, "test_reason": reason}


def table1(cohort: pd.DataFrame, params: StudyAParameters) -> pd.DataFrame:
    """Table 1 rows in display order; a categorical level absent from the cohort is left out."""
    group = cohort[GROUP].astype(bool)
    rows: list[dict[str, Any]] = [{
        "variable": "patients", "level": None, "summary": "count",
        "n_available": len(cohort), "overall": str(len(cohort)),
        "predicted_no_lvd": str(int((~group).sum())), "predicted_lvd": str(int(group.sum())),
        "p_value": None, "test": None, "test_reason": None}]
    for row in TABLE1_ROWS:
        if row.level is not None and not (cohort[row.column] == row.level).any():
            continue
        cells = (_continuous_row(row, cohort, params) if row.continuous
                 else _binary_row(row, cohort))
        rows.append({"variable": row.variable, "level": row.level, **cells})
    frame = pd.DataFrame(rows)
    frame.insert(0, "row_order", np.arange(len(frame), dtype=np.int32))
    return frame
