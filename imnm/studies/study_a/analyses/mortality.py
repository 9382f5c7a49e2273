"""Mortality by the model's call: Cox models (unadjusted, age-adjusted, ASCVD-adjusted) with a
proportional-hazards check, and Kaplan-Meier curves per group with the log-rank test."""

from __future__ import annotations

import pandas as pd

from imnm.stats.survival import (
    cox_hazard_ratios,
    kaplan_meier_by_group,
    proportional_hazards_test,
)
from imnm.studies.study_a.cohort import MODEL_GROUPS
from imnm.studies.study_a.parameters import StudyAParameters

EXPOSURE = "model_predicts_lvd"
COX_MODELS: dict[str, tuple[str, ...]] = {
    "unadjusted": (),
    "adjusted_age": ("age_at_diagnosis",),
    "adjusted_ascvd": ("ascvd_10y_risk_percent",),
}


def survival_rows(cohort: pd.DataFrame) -> pd.DataFrame:
    """Patients with a known, positive follow-up; exposure and event as numbers."""
    data = cohort[cohort["followup_years"].notna() & (cohort["followup_years"] > 0)].copy()
    data[EXPOSURE] = data[EXPOSURE].astype(int)
    data["died"] = data["died"].astype(int)
    return data


def cox_rows(cohort: pd.DataFrame, params: StudyAParameters) -> tuple[pd.DataFrame, list[str]]:
    """Hazard ratios per model and term; a model the data cannot support becomes a note."""
    data = survival_rows(cohort)
    rows, notes = [], []
    for model, covariates in COX_MODELS.items():
        try:
            ratios = cox_hazard_ratios(data, "followup_years", "died", EXPOSURE, covariates,
                                       params.confidence)
            ph = proportional_hazards_test(data, "followup_years", "died",
                                           (EXPOSURE, *covariates))
        except ValueError as exc:
            notes.append(f"Cox model {model} not computed: {exc}")
            continue
        ph_terms = {test.term: test for test in ph.terms}
        for ratio in ratios:
            rows.append({"model": model, "term": ratio.term, "hazard_ratio": ratio.hazard_ratio,
                         "ci_low": ratio.ci_low, "ci_high": ratio.ci_high,
                         "p_value": ratio.p_value, "n_patients": ratio.n,
                         "n_events": ratio.n_events, "ph_chi2": ph_terms[ratio.term].chi2,
                         "ph_p_value": ph_terms[ratio.term].p_value,
                         "ph_global_p_value": ph.global_p_value})
    return pd.DataFrame(rows), notes


def kaplan_meier_rows(cohort: pd.DataFrame, params: StudyAParameters
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(step table per model group, log-rank test) of survival after the index ECG."""
    data = survival_rows(cohort)
    data["model_group"] = data[EXPOSURE].astype(bool).map(MODEL_GROUPS)
    result = kaplan_meier_by_group(data, "followup_years", "died", "model_group",
                                   params.confidence)
    steps = pd.concat(
        [curve.table.rename(columns={"time": "time_years"}).assign(model_group=curve.group)
         for curve in result.curves], ignore_index=True)
    logrank = pd.DataFrame([{"n_patients": len(data), "n_events": int(data["died"].sum()),
                             "chi2": result.logrank_chi2, "df": result.logrank_df,
                             "p_value": result.logrank_p_value}])
    return steps, logrank
