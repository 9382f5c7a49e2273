"""Study B's ordinal models of the 4-level hip-flexor grade, frequentist engine: a cumulative-
logit (proportional-odds) model with a patient random intercept over the three visits, with a
treatment x visit interaction (early IVIG, all patients and the moderate-severe subgroup; IVMP),
fitted by adaptive Gauss-Hermite quadrature as R's ordinal::clmm; and a proportional-odds model
of the 6-month grade on early IVIG adjusted for the baseline grade (no random effect, as
MASS::polr). The Bayesian fits of the same mixed models are in bayesian.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from imnm.stats.ordinal import OrdinalFit, cumulative_logit, cumulative_logit_mixed
from imnm.studies.study_b.parameters import StudyBParameters

N_QUADRATURE = 10  # the nAGQ the cross-check against ordinal::clmm uses


@dataclass(frozen=True)
class GradeModel:
    """One mixed ordinal model of the grade: its treatment column and the rows it covers."""

    name: str
    treatment: str  # cohort column: early_ivig | initial_ivmp
    subgroup: str  # all | moderate_severe


GRADE_MODELS: tuple[GradeModel, ...] = (
    GradeModel("grade_early_ivig", "early_ivig", "all"),
    GradeModel("grade_early_ivig_moderate_severe", "early_ivig", "moderate_severe"),
    GradeModel("grade_ivmp", "initial_ivmp", "all"),
)
GRADE_TERMS = ("month_3", "month_6", "treatment", "treatment_x_month_3", "treatment_x_month_6")


def grade_frame(model: GradeModel, cohort: pd.DataFrame, visits: pd.DataFrame
                ) -> pd.DataFrame:
    """Every visit with a grade of the model's patients, with the visit dummies, the
    treatment and its interactions with the visits (GRADE_TERMS)."""
    patients = cohort
    if model.subgroup == "moderate_severe":
        patients = patients[patients["moderate_severe"].fillna(False).astype(bool)]
    patients = patients[patients[model.treatment].notna()]
    treatment = patients.set_index("patient_key")[model.treatment].astype(bool).astype(float)
    rows = visits[visits["patient_key"].isin(treatment.index)
                  & visits["hip_flexor_grade"].notna()][["patient_key", "visit",
                                                          "hip_flexor_grade"]].copy()
    rows["grade"] = rows["hip_flexor_grade"].astype(int)
    rows["month_3"] = (rows["visit"] == "month_3").astype(float)
    rows["month_6"] = (rows["visit"] == "month_6").astype(float)
    rows["treatment"] = rows["patient_key"].map(treatment)
    rows["treatment_x_month_3"] = rows["treatment"] * rows["month_3"]
    rows["treatment_x_month_6"] = rows["treatment"] * rows["month_6"]
    return rows.reset_index(drop=True)


def month_6_frame(cohort: pd.DataFrame, visits: pd.DataFrame) -> pd.DataFrame:
    """Per patient: the 6-month grade, early IVIG and the baseline grade."""
    at_6 = visits[visits["visit"] == "month_6"].set_index("patient_key")["hip_flexor_grade"]
    frame = pd.DataFrame({
        "grade_month_6": cohort["patient_key"].map(at_6),
        "early_ivig": cohort["early_ivig"].astype("Float64").astype(float),
        "baseline_grade": cohort["baseline_hip_flexor_grade"].astype("Float64").astype(float)})
    return frame.dropna().astype({"grade_month_6": int})


def _rows(fit: OrdinalFit, engine: str, model: str, subgroup: str, treatment: str
          ) -> list[dict[str, Any]]:
    out = []
    for term in fit.terms.itertuples(index=False):
        out.append({"engine": engine, "model": model, "subgroup": subgroup,
                    "treatment": treatment, "term": term.term, "kind": term.kind,
                    "estimate": term.estimate, "se": term.se, "ci_low": term.ci_low,
                    "ci_high": term.ci_high, "p_value": term.p_value,
                    "n_obs": fit.n_obs, "n_patients": fit.n_groups, "converged": fit.converged,
                    "n_quadrature": fit.n_quadrature, "message": fit.message})
    return out


def ordinal_models(cohort: pd.DataFrame, visits: pd.DataFrame, params: StudyBParameters
                   ) -> tuple[pd.DataFrame, list[str]]:
    """Every frequentist ordinal model's terms (thresholds, coefficients, random SD), with
    notes on models the data could not support."""
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for model in GRADE_MODELS:
        try:
            fit = cumulative_logit_mixed(grade_frame(model, cohort, visits), "grade",
                                         list(GRADE_TERMS), "patient_key", params.confidence,
                                         n_quadrature=N_QUADRATURE)
        except ValueError as exc:
            notes.append(f"ordinal model {model.name} not fitted: {exc}")
            continue
        if not fit.converged:
            notes.append(f"ordinal model {model.name} did not converge: {fit.message}")
        rows.extend(_rows(fit, "frequentist", model.name, model.subgroup, model.treatment))
    try:
        fit = cumulative_logit(month_6_frame(cohort, visits), "grade_month_6",
                               ["early_ivig", "baseline_grade"], params.confidence)
        rows.extend(_rows(fit, "frequentist", "grade_month_6_polr", "all", "early_ivig"))
    except ValueError as exc:
        notes.append(f"ordinal model grade_month_6_polr not fitted: {exc}")
    return pd.DataFrame(rows), notes
