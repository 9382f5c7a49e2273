"""Diagnostic accuracy of P(LVD) against the echo: ROC with DeLong CI, the 2x2 at the configured
and the Youden cutoff, P(LVD) by echo status, and logistic regression of echo LVD."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from imnm.stats.diagnostic import (
    confusion_at_cutoff,
    mann_whitney,
    odds_ratio_2x2,
    roc_auc_delong,
    roc_curve,
    youden_cutoff,
)
from imnm.stats.regression import logistic_odds_ratios
from imnm.studies.study_a.parameters import StudyAParameters

GOLD_STANDARD = "echo_lvd_flag"
SCORE = "p_lvd"  # the AI-ECG model's P(LVD) of the patient's index ECG
# Logistic models of echo LVD on the model's call: alone, then adjusted as the paper did.
LOGISTIC_MODELS: dict[str, tuple[str, ...]] = {
    "univariable": (),
    "adjusted": ("seropositive", "ascvd_10y_risk_percent"),
}


def with_gold_standard(cohort: pd.DataFrame) -> pd.DataFrame:
    """The patients with a gold-standard echo: echo LVD (bool) and P(LVD) (float)."""
    rows = cohort[cohort[GOLD_STANDARD].notna()]
    return pd.DataFrame({GOLD_STANDARD: rows[GOLD_STANDARD].astype(bool).to_numpy(),
                         SCORE: rows[SCORE].to_numpy(dtype=float)})


def accuracy_rows(cohort: pd.DataFrame, params: StudyAParameters) -> pd.DataFrame:
    """One row per cutoff rule (configured, Youden): AUC, 2x2, accuracy measures, odds ratio."""
    scored = with_gold_standard(cohort)
    lvd = scored[GOLD_STANDARD].to_numpy()
    auc = roc_auc_delong(scored, GOLD_STANDARD, SCORE, params.confidence)
    youden = youden_cutoff(roc_curve(scored, GOLD_STANDARD, SCORE))
    rows = []
    for rule, cutoff in (("configured", params.cutoff), ("youden", youden)):
        confusion = confusion_at_cutoff(scored, GOLD_STANDARD, SCORE, cutoff, params.confidence)
        odds = odds_ratio_2x2(confusion.tp, confusion.fp, confusion.fn, confusion.tn,
                              params.confidence)
        row: dict[str, Any] = {
            "label": GOLD_STANDARD, "cutoff_rule": rule, "cutoff": float(cutoff),
            "n_patients": int(lvd.size), "n_lvd": int(lvd.sum()),
            "auc": auc.auc, "auc_ci_low": auc.ci_low, "auc_ci_high": auc.ci_high,
            "auc_method": auc.method,
            "true_positive": confusion.tp, "false_positive": confusion.fp,
            "false_negative": confusion.fn, "true_negative": confusion.tn,
            "odds_ratio": odds.odds_ratio, "odds_ratio_ci_low": odds.ci_low,
            "odds_ratio_ci_high": odds.ci_high, "odds_ratio_p_fisher": odds.fisher_p_value,
            "odds_ratio_p_value": _wald_p(odds.odds_ratio, odds.log_se),
            "odds_ratio_haldane_corrected": odds.corrected, "youden_cutoff": youden,
        }
        for measure in ("sensitivity", "specificity", "ppv", "npv"):
            proportion = getattr(confusion, measure)
            row[measure] = proportion.estimate
            row[f"{measure}_ci_low"] = proportion.ci_low
            row[f"{measure}_ci_high"] = proportion.ci_high
        rows.append(row)
    return pd.DataFrame(rows)


def _wald_p(odds_ratio: float, log_se: float) -> float:
    """Two-sided Wald p of the log odds ratio (the test behind the Woolf interval)."""
    if not (np.isfinite(odds_ratio) and odds_ratio > 0 and np.isfinite(log_se) and log_se > 0):
        return float("nan")
    return float(2.0 * stats.norm.sf(abs(np.log(odds_ratio)) / log_se))


def roc_points(cohort: pd.DataFrame) -> pd.DataFrame:
    """The empirical ROC curve: P(LVD) > threshold is positive at each point."""
    curve = roc_curve(with_gold_standard(cohort), GOLD_STANDARD, SCORE)
    return pd.DataFrame({"point": np.arange(curve.thresholds.size, dtype=np.int32),
                         "threshold": curve.thresholds, "sensitivity": curve.sensitivity,
                         "specificity": curve.specificity})


def score_by_echo(cohort: pd.DataFrame) -> pd.DataFrame:
    """P(LVD) median and IQR with and without echo LVD, and the Mann-Whitney U test."""
    test = mann_whitney(with_gold_standard(cohort), GOLD_STANDARD, SCORE)
    return pd.DataFrame([
        {"echo_group": group, "n_patients": summary.n, "p_lvd_median": summary.median,
         "p_lvd_q1": summary.q1, "p_lvd_q3": summary.q3, "mann_whitney_u": test.u_statistic,
         "mann_whitney_p": test.p_value}
        for group, summary in (("lvd", test.positive), ("no_lvd", test.negative))])


def logistic_rows(cohort: pd.DataFrame, params: StudyAParameters
                  ) -> tuple[pd.DataFrame, list[str]]:
    """Odds ratios of echo LVD for the model's call, univariable and adjusted; a model the data
    cannot support becomes a note."""
    data = cohort[cohort[GOLD_STANDARD].notna()].copy()
    for column in (GOLD_STANDARD, "model_predicts_lvd", "seropositive"):
        data[column] = data[column].astype("Float64").astype(float)
    rows, notes = [], []
    for model, covariates in LOGISTIC_MODELS.items():
        try:
            terms = logistic_odds_ratios(data, GOLD_STANDARD, "model_predicts_lvd", covariates,
                                         params.confidence)
        except ValueError as exc:
            notes.append(f"logistic model {model} not computed: {exc}")
            continue
        rows.extend({"model": model, "term": term.term, "odds_ratio": term.odds_ratio,
                     "ci_low": term.ci_low, "ci_high": term.ci_high, "p_value": term.p_value,
                     "n_patients": term.n, "n_lvd": term.n_events} for term in terms)
    return pd.DataFrame(rows), notes
