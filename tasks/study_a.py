"""Study A's headline analyses, as pure functions over its analysis set.

Diagnostic accuracy of P(LVD) against echo-defined LVD (ROC AUC with DeLong CI, sensitivity and
specificity at the cutoff, 2x2 odds ratio) and Cox models of mortality for P(LVD) > cutoff.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from imnm.stats.diagnostic import (
    confusion_at_cutoff,
    odds_ratio_2x2,
    roc_auc_delong,
    roc_curve,
    youden_cutoff,
)
from imnm.stats.survival import cox_hazard_ratios

GOLD_STANDARD = "echo_lvd_flag"
HIGH_RISK_TERM = "p_lvd_above_cutoff"


@dataclass(frozen=True)
class StudyAParameters:
    """Analysis parameters recorded with every release (the published cutoff is 1%)."""

    cutoff: float = 0.01
    ecg_window_days: int = 365
    echo_window_days: int = 365
    confidence: float = 0.95

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StudyAResults:
    """Rows for the study A result tables (without the release id)."""

    accuracy: dict[str, Any] | None
    cox: list[dict[str, Any]]
    patients: pd.DataFrame
    notes: tuple[str, ...]


def diagnostic_accuracy(cohort: pd.DataFrame, params: StudyAParameters) -> dict[str, Any]:
    """AUC, sensitivity/specificity/PPV/NPV at the cutoff and the 2x2 odds ratio."""
    with_echo = cohort[cohort[GOLD_STANDARD].notna()]
    lvd = with_echo[GOLD_STANDARD].astype(bool).to_numpy()
    score = with_echo["p_lvd"].to_numpy(dtype=float)
    auc = roc_auc_delong(lvd, score, params.confidence)
    confusion = confusion_at_cutoff(lvd, score, params.cutoff, params.confidence)
    odds = odds_ratio_2x2(confusion.tp, confusion.fp, confusion.fn, confusion.tn,
                          params.confidence)
    return {
        "label": GOLD_STANDARD, "cutoff": params.cutoff,
        "n_patients": int(lvd.size), "n_lvd": int(lvd.sum()),
        "auc": auc.auc, "auc_ci_low": auc.ci_low, "auc_ci_high": auc.ci_high,
        "auc_method": auc.method,
        "true_positive": confusion.tp, "false_positive": confusion.fp,
        "false_negative": confusion.fn, "true_negative": confusion.tn,
        "sensitivity": confusion.sensitivity.estimate,
        "sensitivity_ci_low": confusion.sensitivity.ci_low,
        "sensitivity_ci_high": confusion.sensitivity.ci_high,
        "specificity": confusion.specificity.estimate,
        "specificity_ci_low": confusion.specificity.ci_low,
        "specificity_ci_high": confusion.specificity.ci_high,
        "ppv": confusion.ppv.estimate, "npv": confusion.npv.estimate,
        "odds_ratio": odds.odds_ratio, "odds_ratio_ci_low": odds.ci_low,
        "odds_ratio_ci_high": odds.ci_high, "odds_ratio_p_fisher": odds.fisher_p_value,
        "odds_ratio_haldane_corrected": odds.corrected,
        "youden_cutoff": youden_cutoff(roc_curve(lvd, score)),
    }


COX_MODELS: dict[str, tuple[str, ...]] = {"unadjusted": (), "adjusted_age": ("age_at_diagnosis",)}


def mortality_cox(cohort: pd.DataFrame, params: StudyAParameters) -> list[dict[str, Any]]:
    """Hazard ratios of death for P(LVD) > cutoff, unadjusted and adjusted for age."""
    data = cohort[cohort["followup_years"].notna() & (cohort["followup_years"] > 0)].copy()
    data[HIGH_RISK_TERM] = (data["p_lvd"] > params.cutoff).astype(int)
    data["died"] = data["died"].astype(int)
    rows = []
    for model, covariates in COX_MODELS.items():
        for ratio in cox_hazard_ratios(data, "followup_years", "died", HIGH_RISK_TERM,
                                       covariates, params.confidence):
            rows.append({"model": model, "term": ratio.term, "hazard_ratio": ratio.hazard_ratio,
                         "ci_low": ratio.ci_low, "ci_high": ratio.ci_high,
                         "p_value": ratio.p_value, "n_patients": ratio.n,
                         "n_events": ratio.n_events})
    return rows


def run_study_a(cohort: pd.DataFrame, params: StudyAParameters, model_version: str
                ) -> StudyAResults:
    """All headline analyses; an analysis the data cannot support is skipped with a note."""
    notes: list[str] = []
    accuracy = None
    try:
        accuracy = diagnostic_accuracy(cohort, params)
    except ValueError as exc:
        notes.append(f"diagnostic accuracy not computed: {exc}")
    cox: list[dict[str, Any]] = []
    try:
        cox = mortality_cox(cohort, params)
    except ValueError as exc:
        notes.append(f"Cox model not computed: {exc}")
    patients = cohort.assign(
        model_version=model_version,
        model_predicts_lvd=cohort["p_lvd"].to_numpy(dtype=float) > params.cutoff,
        echo_lvd_flag=cohort[GOLD_STANDARD].astype("boolean"),
        died=cohort["died"].astype(bool),
    )[["patient_key", "site", "ecg_id", "ecg_date", "model_version", "p_lvd",
       "model_predicts_lvd", "echo_date", "echo_lvd_flag", "followup_years", "died"]]
    return StudyAResults(accuracy, cox, patients.reset_index(drop=True), tuple(notes))


def finite_or_none(value: Any) -> Any:
    """NaN and infinities become None so result tables hold NULL, not NaN."""
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    return value
