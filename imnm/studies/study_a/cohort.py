"""Study A's selection rules, applied in order to the candidates, with the attrition table.

The candidates come from `warehouse/sql/select_study_a_candidates.sql` (one row per diagnosed
patient). The cohort keeps IMNM patients with a symptom onset date and an ECG scored by the
current model within the ECG window; the accuracy analyses also need the gold-standard echo,
the survival analyses a known follow-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from imnm.stats.ascvd import ascvd_risk_frame
from imnm.studies.study_a.parameters import StudyAParameters

SEROPOSITIVE_TYPES = ("anti-HMGCR", "anti-SRP", "other_msa")
STATIN_USE_EXPOSURES = ("current", "previous")
# The released name of each side of the model's call (model_predicts_lvd).
MODEL_GROUPS = {True: "predicts_lvd", False: "predicts_no_lvd"}
COHORT_COLUMNS = (
    "patient_key", "site", "symptom_onset_date", "diagnosis_date", "ecg_id", "ecg_date",
    "p_lvd", "model_predicts_lvd", "echo_date", "echo_lvd_flag", "echo_lvd_findings",
    "later_lvd_echo_date", "age_at_diagnosis", "sex", "race", "hypertension", "diabetes",
    "smoker", "bp_treated",
    "hdl_c_mg_dl", "total_cholesterol_mg_dl", "systolic_bp_mmhg", "statin_use", "serotype",
    "seropositive", "respiratory_involvement", "restrictive_pulmonary",
    "cardiorespiratory_symptoms", "ascvd_10y_risk_percent", "ascvd_note", "followup_years",
    "died", "death_date", "death_cause",
)


@dataclass(frozen=True)
class SelectionRule:
    """One attrition step: which analysis it belongs to, what it says, and who passes it."""

    analysis: str
    rule: str
    keeps: Callable[[pd.DataFrame], pd.Series]


def selection_rules(params: StudyAParameters) -> tuple[SelectionRule, ...]:
    """The rules in the order they are applied; later analyses start from the cohort."""
    return (
        SelectionRule("cohort", "diagnosis is IMNM", lambda c: c["diagnosis"] == "imnm"),
        SelectionRule("cohort", "symptom onset date known",
                      lambda c: c["symptom_onset_date"].notna()),
        SelectionRule("cohort", f"an ECG within {params.ecg_window_days} days of symptom onset",
                      lambda c: c["n_ecgs_in_window"] > 0),
        SelectionRule("cohort", "that ECG scored by the current model",
                      lambda c: c["p_lvd"].notna()),
        SelectionRule("accuracy",
                      f"an echo with LVD status within {params.echo_window_days} days of "
                      "symptom onset", lambda c: c["echo_lvd_flag"].notna()),
        SelectionRule("survival", "follow-up after the index ECG known and longer than 0",
                      lambda c: c["followup_years"].notna() & (c["followup_years"] > 0)),
    )


def apply_selection(candidates: pd.DataFrame, params: StudyAParameters
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cohort, attrition): the study cohort and how many patients each rule removed.

    Cohort rules apply in sequence; the accuracy and survival rules each start from the cohort.
    """
    rows = []
    cohort = candidates
    for step, rule in enumerate(selection_rules(params), start=1):
        kept = cohort[rule.keeps(cohort).fillna(False).astype(bool)]
        rows.append({"step": step, "analysis": rule.analysis, "rule": rule.rule,
                     "n_before": len(cohort), "n_removed": len(cohort) - len(kept),
                     "n_remaining": len(kept)})
        if rule.analysis == "cohort":
            cohort = kept
    attrition = pd.DataFrame(rows, columns=["step", "analysis", "rule", "n_before", "n_removed",
                                            "n_remaining"])
    return derive_cohort_fields(cohort, params), attrition


def derive_cohort_fields(cohort: pd.DataFrame, params: StudyAParameters) -> pd.DataFrame:
    """The model's call at the cutoff, statin use, seropositivity and the ASCVD 10-year risk."""
    out = cohort.reset_index(drop=True).copy()
    out["model_predicts_lvd"] = out["p_lvd"].to_numpy(dtype=float) > params.cutoff
    out["statin_use"] = out["statin_exposure"].isin(STATIN_USE_EXPOSURES).where(
        out["statin_exposure"].notna())
    out["seropositive"] = out["serotype"].isin(SEROPOSITIVE_TYPES).where(
        out["serotype"].notna())
    risk = ascvd_risk_frame(out)
    out["ascvd_10y_risk_percent"] = risk["ascvd_10y_risk_percent"]
    out["ascvd_note"] = risk["ascvd_note"]
    for column in ("echo_lvd_flag", "statin_use", "seropositive", "hypertension", "diabetes",
                   "smoker", "bp_treated", "respiratory_involvement", "restrictive_pulmonary",
                   "cardiorespiratory_symptoms"):
        out[column] = out[column].astype("boolean")
    out["died"] = out["died"].astype(bool)
    out["p_lvd"] = out["p_lvd"].astype(np.float64)
    return out[list(COHORT_COLUMNS)]
