"""Test-split metrics for a model's card: discrimination with 95% CIs, and calibration.

Discrimination: AUC with a DeLong 95% CI; sensitivity and specificity at the card cutoff
(P(LVD) > cutoff is positive) with Wilson score 95% CIs (`imnm.stats.diagnostic`).
Calibration: Brier score; calibration-in-the-large as mean predicted minus observed rate;
logistic recalibration on logit(p) (statsmodels GLM, binomial): the intercept with the slope
fixed at 1 (offset) and the slope of the free fit, each with a Wald 95% CI; and a reliability
table of ten equal-size groups by predicted P(LVD). Undefined values (e.g. a fit that does not
converge) are left out of the metrics rather than stored as NaN.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import ModelWarning, PerfectSeparationError

from imnm.stats.diagnostic import confusion_at_cutoff, roc_auc_delong, wilson_interval
from models.registry import ReliabilityBin, ReliabilityTable

CARD_CUTOFF: Final[float] = 0.01
RELIABILITY_GROUPS: Final[int] = 10
# float32 sigmoid outputs reach exactly 0 or 1; logit needs them kept inside (0, 1).
PROBABILITY_FLOOR: Final[float] = 1e-6
METHODS: Final[dict[str, str]] = {
    "test_auc_ci": "DeLong variance (Sun & Xu 2014), Wald 95% interval on the AUC scale "
                   "clipped to [0, 1]",
    "test_sensitivity_ci": "Wilson score 95% interval (no continuity correction)",
    "test_specificity_ci": "Wilson score 95% interval (no continuity correction)",
    "test_cutoff": "test-positive when P(LVD) > cutoff",
    "test_brier": "mean of (P(LVD) - label)^2",
    "test_calibration_in_the_large": "mean predicted P(LVD) minus observed rate",
    "test_calibration_intercept": "logit P(y=1) = a + offset(logit p), statsmodels GLM "
                                  "binomial; Wald 95% CI; 0 is ideal",
    "test_calibration_slope": "logit P(y=1) = a + b logit p, statsmodels GLM binomial; "
                              "Wald 95% CI; 1 is ideal",
}


@dataclass(frozen=True)
class TestSplitEvaluation:
    """Scalar metrics, the reliability table and the methods behind each interval."""

    metrics: dict[str, float]
    reliability: ReliabilityTable
    methods: dict[str, str]


def evaluate_on_test_split(model: object, waveforms_uv: np.ndarray, labels: np.ndarray,
                           cutoff: float = CARD_CUTOFF) -> TestSplitEvaluation:
    """Score the test split's waveforms with `model` and evaluate against their labels."""
    from models.training import predict_lvd_probability

    return evaluate_probabilities(labels, predict_lvd_probability(model, waveforms_uv), cutoff)


def evaluate_probabilities(labels: np.ndarray, probabilities: np.ndarray,
                           cutoff: float = CARD_CUTOFF) -> TestSplitEvaluation:
    """Discrimination and calibration of P(LVD) against 0/1 labels; both classes required."""
    lvd = np.asarray(labels).astype(bool)
    p = np.asarray(probabilities, dtype=np.float64)
    if not 0 < lvd.sum() < lvd.size:
        raise ValueError("the test split needs both classes to measure discrimination")
    metrics = {"test_n_ecgs": float(lvd.size), "test_n_positive": float(lvd.sum())}
    metrics.update(discrimination_metrics(lvd, p, cutoff))
    metrics.update(calibration_metrics(lvd, p))
    finite = {name: value for name, value in metrics.items() if math.isfinite(value)}
    return TestSplitEvaluation(finite, reliability_table(lvd, p), dict(METHODS))


def discrimination_metrics(lvd: np.ndarray, p: np.ndarray, cutoff: float) -> dict[str, float]:
    """AUC (DeLong CI) and sensitivity/specificity at `cutoff` (Wilson CIs) with the 2x2."""
    scored = pd.DataFrame({"lvd": lvd, "p_lvd": p})
    auc = roc_auc_delong(scored, "lvd", "p_lvd")
    at_cutoff = confusion_at_cutoff(scored, "lvd", "p_lvd", cutoff)
    sens, spec = at_cutoff.sensitivity, at_cutoff.specificity
    return {
        "test_auc": auc.auc, "test_auc_ci_low": auc.ci_low, "test_auc_ci_high": auc.ci_high,
        "test_cutoff": float(cutoff),
        "test_sensitivity": sens.estimate, "test_sensitivity_ci_low": sens.ci_low,
        "test_sensitivity_ci_high": sens.ci_high,
        "test_specificity": spec.estimate, "test_specificity_ci_low": spec.ci_low,
        "test_specificity_ci_high": spec.ci_high,
        "test_tp": float(at_cutoff.tp), "test_fp": float(at_cutoff.fp),
        "test_fn": float(at_cutoff.fn), "test_tn": float(at_cutoff.tn),
    }


def calibration_metrics(lvd: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Brier score, mean predicted vs observed, and the logistic recalibration intercept and
    slope with Wald 95% CIs (NaN where a fit fails)."""
    y = lvd.astype(np.float64)
    metrics = {
        "test_brier": float(np.mean((p - y) ** 2)),
        "test_mean_p_lvd": float(np.mean(p)),
        "test_observed_rate": float(np.mean(y)),
        "test_calibration_in_the_large": float(np.mean(p) - np.mean(y)),
    }
    logit = _logit(p)
    intercept = _glm_coefficient(y, np.ones((y.size, 1)), offset=logit, index=0)
    slope = (_glm_coefficient(y, sm.add_constant(logit, has_constant="add"), offset=None,
                              index=1)
             if np.ptp(logit) > 0 else (math.nan, math.nan, math.nan))  # one value: no slope
    for name, (estimate, low, high) in (("intercept", intercept), ("slope", slope)):
        metrics[f"test_calibration_{name}"] = estimate
        metrics[f"test_calibration_{name}_ci_low"] = low
        metrics[f"test_calibration_{name}_ci_high"] = high
    return metrics


def reliability_table(lvd: np.ndarray, p: np.ndarray,
                      groups: int = RELIABILITY_GROUPS) -> ReliabilityTable:
    """Equal-size groups by predicted P(LVD): size, range and mean predicted, observed rate
    with a Wilson 95% CI. Equal predictions may fall into neighbouring groups (stable order)."""
    order = np.argsort(p, kind="stable")
    bins = []
    for members in np.array_split(order, min(groups, p.size)):
        positives = int(lvd[members].sum())
        rate, low, high = wilson_interval(positives, members.size)
        bins.append(ReliabilityBin(
            n=int(members.size), n_positive=positives,
            predicted_min=float(p[members].min()), predicted_max=float(p[members].max()),
            mean_predicted=float(p[members].mean()), observed_rate=rate,
            observed_ci_low=low, observed_ci_high=high))
    binning = (f"{len(bins)} equal-size groups of test ECGs by predicted P(LVD); observed "
               "rate with Wilson 95% CI")
    return ReliabilityTable(binning=binning, bins=tuple(bins))


def _logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
    return np.log(clipped / (1.0 - clipped))


def _glm_coefficient(y: np.ndarray, design: np.ndarray, offset: np.ndarray | None,
                     index: int) -> tuple[float, float, float]:
    """(estimate, CI low, CI high) of one coefficient of a binomial GLM; NaN if it fails."""
    try:
        with warnings.catch_warnings():
            # Non-convergence, separation or overflow: the fit is not a result.
            warnings.simplefilter("error", ModelWarning)
            warnings.simplefilter("error", RuntimeWarning)
            fitted = sm.GLM(y, design, family=sm.families.Binomial(), offset=offset).fit()
        low, high = fitted.conf_int(alpha=0.05)[index]
        return float(fitted.params[index]), float(low), float(high)
    except (ModelWarning, RuntimeWarning, PerfectSeparationError, ValueError,
            np.linalg.LinAlgError):
        return math.nan, math.nan, math.nan
