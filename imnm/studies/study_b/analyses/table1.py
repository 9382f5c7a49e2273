"""Study B's Table 1: the cohort's baseline characteristics, counts with percentages of the
whole cohort, and a "missing" row wherever a value is missing and an "other" row wherever a
value falls outside the paper's levels, so every block adds up to the cohort."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from imnm.studies.study_b.parameters import StudyBParameters

# (variable, cohort column, the paper's levels in order; () for a continuous summary)
CATEGORICAL_BLOCKS: tuple[tuple[str, str, tuple[Any, ...]], ...] = (
    ("sex", "sex", ("male", "female")),
    ("age_group", "age_group", ()),  # levels from the parameters' age cut
    ("symptom_duration", "symptom_duration_band",
     ("<5 weeks", "5-24 weeks", "25-52 weeks", ">1 year")),
    ("antibody_status", "serotype", ("anti-HMGCR", "anti-SRP", "seronegative")),
    ("statin_use", "statin_exposure", ("previous", "current", "never")),
    ("initial_hip_flexor_grade", "baseline_hip_flexor_grade", (3, 2, 1, 0)),
    ("initial_treatment", "initial_treatment", ("gc_alone", "gc_ivig", "gc_csdmard")),
    ("initial_ivmp", "initial_ivmp", (True, False)),
    ("initial_csdmard", "initial_csdmard", (True, False)),
    ("early_ivig", "early_ivig", (True, False)),
)
TABLE1_COLUMNS = ("row_order", "variable", "level", "n", "percent", "median", "minimum",
                  "maximum", "n_available")


def _label(level: Any) -> str:
    if isinstance(level, bool | np.bool_):
        return "yes" if level else "no"
    return str(level)


def _block(variable: str, values: pd.Series, levels: tuple[Any, ...], total: int
           ) -> list[dict[str, Any]]:
    present = values.dropna()
    rows = []
    for level in levels:
        n = int((present == level).sum())
        rows.append({"variable": variable, "level": _label(level), "n": n})
    other = int((~present.isin(levels)).sum())
    if other:
        rows.append({"variable": variable, "level": "other", "n": other})
    missing = total - len(present)
    if missing:
        rows.append({"variable": variable, "level": "missing", "n": missing})
    for row in rows:
        row["percent"] = 100.0 * row["n"] / total if total else None
        row["n_available"] = len(present)
    return rows


def table1(cohort: pd.DataFrame, params: StudyBParameters) -> pd.DataFrame:
    """Table 1 rows in display order: patients, each categorical block, initial CK (median
    and range)."""
    total = len(cohort)
    rows: list[dict[str, Any]] = [{"variable": "patients", "level": None, "n": total,
                                   "percent": 100.0 if total else None, "n_available": total}]
    age_levels = (f"<{params.age_cut_years:g}", f">={params.age_cut_years:g}")
    for variable, column, levels in CATEGORICAL_BLOCKS:
        values = cohort[column]
        if variable == "age_group":
            levels = age_levels
        if values.dtype == "boolean":
            values = values.astype(object).where(values.notna(), None)
        rows.extend(_block(variable, values.astype(object), levels, total))
    ck = cohort["baseline_ck_u_l"].dropna().to_numpy(dtype=float)
    rows.append({"variable": "initial_ck_u_l", "level": None, "n": int(ck.size),
                 "percent": None, "median": float(np.median(ck)) if ck.size else None,
                 "minimum": float(ck.min()) if ck.size else None,
                 "maximum": float(ck.max()) if ck.size else None, "n_available": int(ck.size)})
    if ck.size < total:
        rows.append({"variable": "initial_ck_u_l", "level": "missing", "n": total - ck.size,
                     "percent": 100.0 * (total - ck.size) / total, "n_available": int(ck.size)})
    frame = pd.DataFrame(rows)
    for column in TABLE1_COLUMNS[1:]:
        if column not in frame:
            frame[column] = None
    frame.insert(0, "row_order", np.arange(len(frame), dtype=np.int32))
    frame["n"] = frame["n"].astype("Int64")
    frame["n_available"] = frame["n_available"].astype("Int64")
    for column in ("percent", "median", "minimum", "maximum"):
        frame[column] = frame[column].astype(float)
    return frame[list(TABLE1_COLUMNS)]
