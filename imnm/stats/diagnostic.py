"""Diagnostic accuracy of a continuous score against a binary reference standard.

Every function here is pure: a frame and the names of its outcome and score columns in,
frozen dataclasses out (``median_iqr`` takes one vector, ``wilson_interval`` and
``odds_ratio_2x2`` counts). Outcomes are 1 (or True) for the condition present (e.g. LVD on
echocardiogram) and 0 for absent; a higher score means the condition is more likely. Missing
values are refused, not dropped: the caller chooses the rows an accuracy analysis stands on.
Where a cutoff dichotomises the score, a subject is test-positive when ``score > cutoff``
(strictly greater).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from imnm.stats.wald import check_confidence, frame_columns

__all__ = [
    "ConfusionAtCutoff",
    "MannWhitney",
    "MedianIqr",
    "OddsRatio",
    "Proportion",
    "RocAuc",
    "RocCurve",
    "confusion_at_cutoff",
    "mann_whitney",
    "median_iqr",
    "odds_ratio_2x2",
    "roc_auc_delong",
    "roc_curve",
    "wilson_interval",
    "youden_cutoff",
]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class RocAuc:
    """Area under the ROC curve with a DeLong standard error and Wald CI on the AUC scale."""

    auc: float
    ci_low: float
    ci_high: float
    se: float
    n_positive: int
    n_negative: int
    confidence: float = 0.95
    method: str = "DeLong"


@dataclass(frozen=True, eq=False)
class RocCurve:
    """Empirical ROC curve; row ``i`` classifies ``score > thresholds[i]`` as positive.

    The first threshold is ``-inf`` (everyone positive), the last is the largest
    observed score (everyone negative), so the curve runs from (sens 1, spec 0)
    to (sens 0, spec 1).
    """

    thresholds: np.ndarray
    sensitivity: np.ndarray
    specificity: np.ndarray

    def auc(self) -> float:
        """Trapezoidal area under the curve (equals the Mann-Whitney AUC, ties counted 1/2)."""
        fpr = 1.0 - self.specificity
        return float(-np.trapezoid(self.sensitivity, fpr))


@dataclass(frozen=True)
class Proportion:
    """A binomial proportion ``successes / total`` with a Wilson score interval (NaN if total 0)."""

    estimate: float
    ci_low: float
    ci_high: float
    successes: int
    total: int


@dataclass(frozen=True)
class ConfusionAtCutoff:
    """2x2 classification at ``score > cutoff`` with Wilson CIs for the four accuracy measures."""

    cutoff: float
    tp: int
    fp: int
    fn: int
    tn: int
    sensitivity: Proportion
    specificity: Proportion
    ppv: Proportion
    npv: Proportion
    confidence: float = 0.95


@dataclass(frozen=True)
class OddsRatio:
    """Sample odds ratio ``(tp*tn)/(fp*fn)`` with a Woolf (log) CI and two kinds of p-value.

    ``corrected`` is True when a zero cell led to adding 0.5 to every cell
    (Haldane-Anscombe) for the estimate and CI; the p-values always use the raw counts.
    ``fisher_p_value`` is the two-sided Fisher exact test; ``chi2_p_value`` is
    Pearson's chi-square without continuity correction and ``chi2_yates_p_value``
    with Yates' correction (NaN when a row or column total is zero).
    """

    odds_ratio: float
    ci_low: float
    ci_high: float
    log_se: float
    fisher_p_value: float
    chi2_p_value: float
    chi2_yates_p_value: float
    corrected: bool
    confidence: float = 0.95


@dataclass(frozen=True)
class MedianIqr:
    """Median and interquartile range (R type-7 / numpy 'linear' quantiles)."""

    median: float
    q1: float
    q3: float
    n: int


@dataclass(frozen=True)
class MannWhitney:
    """Mann-Whitney U test of score between positives and negatives, with group summaries.

    ``u_statistic`` is U for the positive group (R's ``wilcox.test(pos, neg)$statistic``),
    so ``u_statistic / (n_pos * n_neg)`` is the ROC AUC.
    """

    u_statistic: float
    p_value: float
    positive: MedianIqr
    negative: MedianIqr


# --------------------------------------------------------------------------- validation


def _outcome_and_score(data: pd.DataFrame, outcome_col: str, score_col: str
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(outcomes as bool, scores as float) of the two named columns, checked by `_validate`."""
    outcome, score = frame_columns(data, [outcome_col, score_col])
    return _validate(outcome.to_numpy(), score.to_numpy(dtype=float, na_value=np.nan))


def _validate(lvd: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (labels as bool, scores as float) after checking shape, NaN and binary labels."""
    y = np.asarray(lvd)
    x = np.asarray(score, dtype=float)
    if y.ndim != 1 or x.ndim != 1:
        raise ValueError(f"labels and scores must be 1-D, got shapes {y.shape} and {x.shape}")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"length mismatch: {y.shape[0]} labels vs {x.shape[0]} scores")
    if y.shape[0] == 0:
        raise ValueError("no observations")
    if np.isnan(x).any():
        raise ValueError(f"scores contain {int(np.isnan(x).sum())} NaN value(s)")
    if not np.isfinite(x).all():
        raise ValueError("scores contain infinite value(s)")
    if y.dtype == bool:
        labels = y
    else:
        try:
            yf = y.astype(float)
        except (TypeError, ValueError) as exc:
            raise ValueError("labels must be binary 0/1 or boolean") from exc
        if np.isnan(yf).any():
            raise ValueError(f"labels contain {int(np.isnan(yf).sum())} NaN value(s)")
        bad = ~np.isin(yf, (0.0, 1.0))
        if bad.any():
            found = sorted({float(v) for v in yf[bad]})[:5]
            raise ValueError(f"labels must be binary 0/1, found {found}")
        labels = yf == 1.0
    n_pos = int(labels.sum())
    if n_pos == 0 or n_pos == labels.shape[0]:
        only = "positive (1)" if n_pos else "negative (0)"
        raise ValueError(f"labels contain a single class: all {labels.shape[0]} are {only}")
    return labels, x


# --------------------------------------------------------------------------- ROC


def roc_auc_delong(data: pd.DataFrame, outcome_col: str, score_col: str,
                   confidence: float = 0.95) -> RocAuc:
    """ROC AUC with DeLong variance (fast midrank algorithm of Sun & Xu 2014).

    The CI is ``auc +/- z * se`` clipped to [0, 1], as pROC's ``ci.auc(method="delong")``;
    tied scores count 1/2. The SE and CI are NaN when a class has fewer than two members.
    """
    check_confidence(confidence)
    labels, x = _outcome_and_score(data, outcome_col, score_col)
    pos, neg = x[labels], x[~labels]
    m, n = pos.size, neg.size
    tx = stats.rankdata(pos)
    ty = stats.rankdata(neg)
    tz = stats.rankdata(np.concatenate([pos, neg]))
    auc = float((tz[:m].sum() - m * (m + 1) / 2.0) / (m * n))
    if m < 2 or n < 2:
        se = math.nan
    else:
        v10 = (tz[:m] - tx) / n  # per-positive placement: P(neg < this pos), ties 1/2
        v01 = 1.0 - (tz[m:] - ty) / m  # per-negative placement: P(pos > this neg), ties 1/2
        se = math.sqrt(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n)
    z = stats.norm.ppf(0.5 + confidence / 2.0)
    lo = max(0.0, auc - z * se) if not math.isnan(se) else math.nan
    hi = min(1.0, auc + z * se) if not math.isnan(se) else math.nan
    return RocAuc(
        auc=auc, ci_low=lo, ci_high=hi, se=se, n_positive=m, n_negative=n, confidence=confidence
    )


def roc_curve(data: pd.DataFrame, outcome_col: str, score_col: str) -> RocCurve:
    """Empirical ROC curve over every distinct score, positive meaning ``score > threshold``."""
    labels, x = _outcome_and_score(data, outcome_col, score_col)
    thresholds = np.concatenate([[-np.inf], np.unique(x)])
    pos_sorted = np.sort(x[labels])
    neg_sorted = np.sort(x[~labels])
    # number of positives (negatives) with score <= threshold
    pos_le = np.searchsorted(pos_sorted, thresholds, side="right")
    neg_le = np.searchsorted(neg_sorted, thresholds, side="right")
    sensitivity = (pos_sorted.size - pos_le) / pos_sorted.size
    specificity = neg_le / neg_sorted.size
    return RocCurve(thresholds=thresholds, sensitivity=sensitivity, specificity=specificity)


def youden_cutoff(curve: RocCurve) -> float:
    """Threshold maximising Youden's J = sens + spec - 1, to use as ``score > threshold``.

    The smallest such threshold if several tie (``-inf`` only if no split beats chance)."""
    j = curve.sensitivity + curve.specificity - 1.0
    best = np.flatnonzero(np.isclose(j, j.max(), rtol=0.0, atol=1e-12))
    return float(curve.thresholds[best[0]])


# --------------------------------------------------------------------------- 2x2 at a cutoff


def wilson_interval(
    successes: int, total: int, confidence: float = 0.95
) -> tuple[float, float, float]:
    """(estimate, low, high) by the Wilson score interval; all NaN when ``total`` is 0.

    Same interval as R's ``prop.test(x, n, correct = FALSE)$conf.int``.
    """
    check_confidence(confidence)
    if total < 0 or successes < 0 or successes > total:
        raise ValueError(f"need 0 <= successes <= total, got {successes}/{total}")
    if total == 0:
        return math.nan, math.nan, math.nan
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    p = successes / total
    z2 = z * z
    denom = 1.0 + z2 / total
    centre = (p + z2 / (2.0 * total)) / denom
    half = z * math.sqrt(p * (1.0 - p) / total + z2 / (4.0 * total * total)) / denom
    return p, max(0.0, centre - half), min(1.0, centre + half)


def _proportion(successes: int, total: int, confidence: float) -> Proportion:
    est, lo, hi = wilson_interval(successes, total, confidence)
    return Proportion(estimate=est, ci_low=lo, ci_high=hi, successes=successes, total=total)


def confusion_at_cutoff(
    data: pd.DataFrame, outcome_col: str, score_col: str, cutoff: float,
    confidence: float = 0.95,
) -> ConfusionAtCutoff:
    """Counts and accuracy measures when ``score > cutoff`` is called positive (e.g. P(LVD) > 1%).

    Sensitivity, specificity, PPV and NPV carry Wilson CIs; a measure whose
    denominator is zero is NaN rather than an error.
    """
    check_confidence(confidence)
    if not math.isfinite(cutoff):
        raise ValueError(f"cutoff must be finite, got {cutoff!r}")
    labels, x = _outcome_and_score(data, outcome_col, score_col)
    called = x > cutoff
    tp = int(np.sum(called & labels))
    fp = int(np.sum(called & ~labels))
    fn = int(np.sum(~called & labels))
    tn = int(np.sum(~called & ~labels))
    return ConfusionAtCutoff(
        cutoff=float(cutoff),
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        sensitivity=_proportion(tp, tp + fn, confidence),
        specificity=_proportion(tn, tn + fp, confidence),
        ppv=_proportion(tp, tp + fp, confidence),
        npv=_proportion(tn, tn + fn, confidence),
        confidence=confidence,
    )


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not float(value).is_integer() or value < 0:
        raise ValueError(f"{name} must be a non-negative integer count, got {value!r}")
    return int(value)


def odds_ratio_2x2(tp: int, fp: int, fn: int, tn: int, confidence: float = 0.95) -> OddsRatio:
    """Diagnostic odds ratio of a 2x2 table [[tp, fp], [fn, tn]] with Woolf CI, Fisher and chi2 p.

    A zero cell triggers the Haldane-Anscombe +0.5 correction of all four cells
    for the estimate and CI (``corrected=True``); p-values use the raw counts.
    """
    check_confidence(confidence)
    a, b, c, d = (_count(k, v) for k, v in (("tp", tp), ("fp", fp), ("fn", fn), ("tn", tn)))
    if a + b + c + d == 0:
        raise ValueError("the 2x2 table is empty")
    corrected = min(a, b, c, d) == 0
    fa, fb, fc, fd = (float(v) + (0.5 if corrected else 0.0) for v in (a, b, c, d))
    log_or = math.log(fa) + math.log(fd) - math.log(fb) - math.log(fc)
    log_se = math.sqrt(1.0 / fa + 1.0 / fb + 1.0 / fc + 1.0 / fd)
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    table = np.array([[a, b], [c, d]])
    fisher_p = float(stats.fisher_exact(table, alternative="two-sided").pvalue)
    if (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
        chi2_p = chi2_yates_p = math.nan
    else:
        chi2_p = float(stats.chi2_contingency(table, correction=False).pvalue)
        chi2_yates_p = float(stats.chi2_contingency(table, correction=True).pvalue)
    return OddsRatio(
        odds_ratio=math.exp(log_or),
        ci_low=math.exp(log_or - z * log_se),
        ci_high=math.exp(log_or + z * log_se),
        log_se=log_se,
        fisher_p_value=fisher_p,
        chi2_p_value=chi2_p,
        chi2_yates_p_value=chi2_yates_p,
        corrected=corrected,
        confidence=confidence,
    )


# --------------------------------------------------------------------------- group comparison


def median_iqr(values: np.ndarray) -> MedianIqr:
    """Median and quartiles of the non-missing values, as tables report "median [IQR]"."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        raise ValueError("no non-missing values")
    q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75])
    return MedianIqr(median=float(med), q1=float(q1), q3=float(q3), n=int(v.size))


def mann_whitney(data: pd.DataFrame, outcome_col: str, score_col: str) -> MannWhitney:
    """Two-sided Mann-Whitney U test of score, positives vs negatives, with median [IQR] of each.

    Normal approximation with tie and continuity corrections, i.e. R's
    ``wilcox.test(pos, neg, exact = FALSE)``.
    """
    labels, x = _outcome_and_score(data, outcome_col, score_col)
    res = stats.mannwhitneyu(
        x[labels], x[~labels], alternative="two-sided", use_continuity=True, method="asymptotic"
    )
    return MannWhitney(
        u_statistic=float(res.statistic),
        p_value=float(res.pvalue),
        positive=median_iqr(x[labels]),
        negative=median_iqr(x[~labels]),
    )
