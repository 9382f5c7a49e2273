"""Study B's selection and its attrition table, and each selected patient's baseline.

Selection (the paper's, in order): a biopsy with necrotizing myopathy histology in the window;
excluded when the centre holds no clinical records for the patient; excluded for an
alternative final diagnosis (each one counted); excluded when the final diagnosis is not IMNM
(another or none recorded); excluded when no initial treatment is recorded (baseline is the
start of initial treatment). Each rule's count is a row of the attrition table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from imnm.studies.study_b.parameters import StudyBParameters

IMNM = "imnm"
GLUCOCORTICOIDS = ("oral_glucocorticoid", "ivmp")
# Symptom duration (diagnosis date - symptom onset, days) -> the paper's bands.
DURATION_BANDS: tuple[tuple[str, int, int], ...] = (
    ("<5 weeks", 0, 34), ("5-24 weeks", 35, 168), ("25-52 weeks", 169, 364),
    (">1 year", 365, 10**6),
)
# MRC grade of the weaker hip flexor -> the paper's 4-level grade (0 = MRC 0-2).
MRC_TO_HIP_FLEXOR_GRADE = {0: 0, 1: 0, 2: 0, 3: 1, 4: 2, 5: 3}
ATTRITION_COLUMNS = ("row_order", "step", "rule", "detail", "n_before", "n_removed",
                     "n_remaining")


def hip_flexor_grade(mrc_grade: pd.Series) -> pd.Series:
    """The paper's 0-3 hip-flexor grade of an MRC grade (3 = MRC 5 ... 0 = MRC 0-2)."""
    return mrc_grade.map(MRC_TO_HIP_FLEXOR_GRADE).astype("Int64")


def duration_band(days: pd.Series) -> pd.Series:
    """The symptom-duration band of a duration in days (missing stays missing)."""
    out = pd.Series(pd.NA, index=days.index, dtype="object")
    for band, low, high in DURATION_BANDS:
        out[(days >= low) & (days <= high)] = band
    return out


def select_cohort(candidates: pd.DataFrame, treated: pd.Index, params: StudyBParameters
                  ) -> tuple[pd.Index, pd.DataFrame]:
    """The selected patients' keys and the attrition table (one row per rule, plus one per
    excluded diagnosis); `treated`: the patients with an initial treatment."""
    rows: list[dict[str, Any]] = []
    remaining = candidates.copy()
    rows.append({"step": 0, "rule": "biopsy with necrotizing myopathy histology "
                 f"({params.biopsy_from} to {params.biopsy_to})", "detail": None,
                 "n_before": None, "n_removed": None, "n_remaining": len(remaining)})

    def exclude(step: int, rule: str, removed: pd.Series,
                breakdown: pd.Series | None = None) -> None:
        nonlocal remaining
        n_before = len(remaining)
        rows.append({"step": step, "rule": rule, "detail": None, "n_before": n_before,
                     "n_removed": int(removed.sum()),
                     "n_remaining": n_before - int(removed.sum())})
        if breakdown is not None:
            for detail, count in breakdown[removed].value_counts().sort_index().items():
                rows.append({"step": step, "rule": rule, "detail": str(detail),
                             "n_before": None, "n_removed": int(count), "n_remaining": None})
        remaining = remaining[~removed]

    exclude(1, "records unavailable (no clinical data at the centre)",
            ~remaining["has_clinical_record"].astype(bool))
    alternative = remaining["diagnosis"].isin(params.alternative_diagnoses)
    exclude(2, "alternative final diagnosis", alternative, remaining["diagnosis"])
    not_imnm = remaining["diagnosis"].fillna("none recorded") != IMNM
    exclude(3, "final diagnosis not IMNM (other or none recorded)", not_imnm,
            remaining["diagnosis"].fillna("none recorded"))
    exclude(4, "no initial treatment recorded", ~remaining["patient_key"].isin(treated))
    attrition = pd.DataFrame(rows)
    attrition.insert(0, "row_order", np.arange(len(attrition), dtype=np.int32))
    for column in ("n_before", "n_removed", "n_remaining"):
        attrition[column] = attrition[column].astype("Int64")
    return pd.Index(remaining["patient_key"]), attrition[list(ATTRITION_COLUMNS)]


def initial_treatment(treatments: pd.DataFrame, patients: pd.DataFrame,
                      params: StudyBParameters) -> pd.DataFrame:
    """Per patient: baseline date (first treatment start on or after diagnosis minus the
    initial window), the initial regimen, IVMP, csDMARD, early IVIG and the first oral
    glucocorticoid dose."""
    window = pd.Timedelta(days=params.initial_treatment_window_days)
    rx = treatments.merge(patients[["patient_key", "diagnosis_date"]], on="patient_key")
    rx["start_date"] = pd.to_datetime(rx["start_date"])
    diagnosis = pd.to_datetime(rx["diagnosis_date"])
    rx = rx[diagnosis.isna() | (rx["start_date"] >= diagnosis - window)]
    baseline = rx.groupby("patient_key")["start_date"].min().rename("baseline_date")
    rx = rx.join(baseline, on="patient_key")
    initial = rx[rx["start_date"] <= rx["baseline_date"] + window]
    classes = initial.groupby("patient_key")["drug_class"].agg(set)
    oral = initial[initial["drug_class"] == "oral_glucocorticoid"].sort_values("start_date")
    first_dose = oral.groupby("patient_key")["dose_mg"].first()
    ivig = rx[rx["drug_class"] == "ivig"].groupby("patient_key")["start_date"].min()
    out = pd.DataFrame({"baseline_date": baseline})
    out["initial_treatment"] = classes.map(_regimen)
    out["initial_ivmp"] = classes.map(lambda c: "ivmp" in c).astype(bool)
    out["initial_csdmard"] = classes.map(lambda c: "csdmard" in c).astype(bool)
    out["initial_prednisone_mg"] = first_dose.reindex(out.index).astype(float)
    out["first_ivig_date"] = ivig.reindex(out.index)
    dx = pd.to_datetime(patients.set_index("patient_key")["diagnosis_date"]).reindex(out.index)
    # No IVIG: not early. IVIG without a diagnosis date: unknown.
    early = out["first_ivig_date"] <= dx + pd.Timedelta(days=params.early_ivig_days)
    unknown = dx.isna() & out["first_ivig_date"].notna()
    out["early_ivig"] = early.astype("boolean").mask(unknown)
    return out.reset_index()


def _regimen(classes: set[str]) -> str:
    gc = bool(classes & set(GLUCOCORTICOIDS))
    ivig, csdmard = "ivig" in classes, "csdmard" in classes
    if not gc:
        return "other"
    if ivig and csdmard:
        return "gc_ivig_csdmard"
    return "gc_ivig" if ivig else ("gc_csdmard" if csdmard else "gc_alone")
