"""Study B's baseline per selected patient: demographics, symptom duration, serotype, statin
exposure, initial treatment, and the baseline CK and hip-flexor grade (from the baseline visit).
A pure function over the frames inputs.py reads and visits.py builds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from imnm.studies.study_b.cohort import duration_band
from imnm.studies.study_b.parameters import StudyBParameters

COHORT_COLUMNS = (
    "patient_key", "site", "biopsy_date", "diagnosis_date", "baseline_date", "sex", "female",
    "age_at_diagnosis", "age_group", "symptom_duration_days", "symptom_duration_band",
    "serotype", "statin_exposure", "baseline_ck_u_l", "log_baseline_ck",
    "baseline_hip_flexor_mrc", "baseline_hip_flexor_grade", "moderate_severe",
    "initial_treatment", "initial_ivmp", "initial_csdmard", "early_ivig",
    "initial_prednisone_mg",
)


def build_cohort(keys: pd.Index, candidates: pd.DataFrame, patients: pd.DataFrame,
                 initial: pd.DataFrame, visits: pd.DataFrame, params: StudyBParameters
                 ) -> pd.DataFrame:
    """One row per selected patient (COHORT_COLUMNS), in patient-key order."""
    cohort = (pd.DataFrame({"patient_key": keys})
              .merge(candidates[["patient_key", "biopsy_date"]], on="patient_key")
              .merge(patients, on="patient_key", how="left")
              .merge(initial, on="patient_key", how="left"))
    female = cohort["sex"].map({"female": True, "male": False})
    cohort["female"] = female.astype("boolean")
    age = cohort["age_at_diagnosis"].astype(float)
    cohort["age_group"] = np.where(age.isna(), None,
                                   np.where(age < params.age_cut_years,
                                            f"<{params.age_cut_years:g}",
                                            f">={params.age_cut_years:g}"))
    days = (pd.to_datetime(cohort["diagnosis_date"])
            - pd.to_datetime(cohort["symptom_onset_date"])).dt.days
    cohort["symptom_duration_days"] = days.astype("Int64")
    cohort["symptom_duration_band"] = duration_band(days)
    at_baseline = visits[visits["visit"] == "baseline"].set_index("patient_key")
    cohort["baseline_ck_u_l"] = cohort["patient_key"].map(at_baseline["ck_u_l"]).astype(float)
    cohort["log_baseline_ck"] = np.log(cohort["baseline_ck_u_l"])
    cohort["baseline_hip_flexor_mrc"] = cohort["patient_key"].map(
        at_baseline["hip_flexor_mrc"]).astype("Int64")
    grade = cohort["patient_key"].map(at_baseline["hip_flexor_grade"]).astype("Int64")
    cohort["baseline_hip_flexor_grade"] = grade
    cohort["moderate_severe"] = (grade <= params.moderate_severe_max_grade).astype("boolean")
    for column in ("diagnosis_date", "baseline_date", "biopsy_date"):
        cohort[column] = pd.to_datetime(cohort[column]).dt.date
    return cohort[list(COHORT_COLUMNS)].sort_values("patient_key", ignore_index=True)
