"""What study B's cohort is missing: per variable at baseline and per measurement at each
visit, how many patients lack it (the imputation models and the complete-case analyses both
start from these counts)."""

from __future__ import annotations

import numpy as np
import pandas as pd

BASELINE_VARIABLES = ("sex", "age_at_diagnosis", "symptom_duration_band", "serotype",
                      "statin_exposure", "baseline_ck_u_l", "baseline_hip_flexor_grade",
                      "initial_prednisone_mg", "early_ivig")
VISIT_MEASUREMENTS = (("ck_u_l", "ck_missing"), ("hip_flexor_grade", "hip_flexor_missing"),
                      ("prednisone_mg", "prednisone_missing"))


def missing_data(cohort: pd.DataFrame, visits: pd.DataFrame) -> pd.DataFrame:
    """Rows (variable, visit, n_patients, n_missing, percent_missing) in display order."""
    rows = []
    n = len(cohort)
    for variable in BASELINE_VARIABLES:
        missing = int(cohort[variable].isna().sum())
        rows.append({"variable": variable, "visit": "baseline", "n_patients": n,
                     "n_missing": missing})
    for visit in ("month_3", "month_6"):
        at = visits[visits["visit"] == visit]
        for measurement, flag in VISIT_MEASUREMENTS:
            rows.append({"variable": measurement, "visit": visit, "n_patients": len(at),
                         "n_missing": int(at[flag].sum())})
    frame = pd.DataFrame(rows)
    frame["percent_missing"] = np.where(frame["n_patients"] > 0,
                                        100.0 * frame["n_missing"] / frame["n_patients"].clip(1),
                                        np.nan)
    frame.insert(0, "row_order", np.arange(len(frame), dtype=np.int32))
    return frame.astype({"n_patients": "int32", "n_missing": "int32"})
