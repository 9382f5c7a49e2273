"""Tests for imnm.stats.diagnostic against values pinned from R (pROC 1.18.0, stats 4.2.2).

R is not needed to run these tests; the R code that produced each pinned number
is quoted in the docstring of the test that uses it. The scores below are a fixed
study-shaped data set: 25 patients with LVD on echocardiogram and 43 without,
percent P(LVD) from the AI-ECG, with ties inside and across the classes.

    pos <- c(9.31, 17.19, 1.01, 1.98, 1.69, 10.75, 10.25, 12.44, 2.45, 2.01, 6.4,
             2.48, 1.51, 6.4, 1.47, 1.01, 1.01, 6.97, 3.6, 3.43, 0.93, 0.79, 0.41,
             0.69, 1.0)
    neg <- c(9.31, 1.88, 4.07, 1.89, 1.17, 2.04, 1.96, 1.68, 3.82, 1.01, 1.01, 1.17,
             1.09, 2.34, 2.61, 1.55, 0.37, 0.35, 0.33, 0.41, 0.61, 0.22, 0.29, 0.79,
             0.2, 0.84, 0.41, 0.41, 0.94, 0.97, 0.52, 0.15, 0.38, 0.22, 0.34, 0.44,
             0.82, 0.95, 0.2, 0.58, 0.87, 0.69, 1.0)
    y <- c(rep(1, length(pos)), rep(0, length(neg))); x <- c(pos, neg)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from imnm.stats import (
    confusion_at_cutoff,
    mann_whitney,
    median_iqr,
    odds_ratio_2x2,
    roc_auc_delong,
    roc_curve,
    wilson_interval,
    youden_cutoff,
)
from tests.support.frames import scored

POS = [
    9.31, 17.19, 1.01, 1.98, 1.69, 10.75, 10.25, 12.44, 2.45, 2.01, 6.4, 2.48, 1.51,
    6.4, 1.47, 1.01, 1.01, 6.97, 3.6, 3.43, 0.93, 0.79, 0.41, 0.69, 1.0,
]  # fmt: skip
NEG = [
    9.31, 1.88, 4.07, 1.89, 1.17, 2.04, 1.96, 1.68, 3.82, 1.01, 1.01, 1.17, 1.09, 2.34,
    2.61, 1.55, 0.37, 0.35, 0.33, 0.41, 0.61, 0.22, 0.29, 0.79, 0.2, 0.84, 0.41, 0.41,
    0.94, 0.97, 0.52, 0.15, 0.38, 0.22, 0.34, 0.44, 0.82, 0.95, 0.2, 0.58, 0.87, 0.69, 1.0,
]  # fmt: skip
LVD = np.array([1] * len(POS) + [0] * len(NEG))
SCORE = np.array(POS + NEG, dtype=float)

REL = 1e-9


def _slow_delong(lvd: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """Textbook O(m*n) DeLong: placements from the pairwise kernel psi, (AUC, SE)."""
    pos, neg = score[lvd == 1], score[lvd == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    auc = psi.mean()
    s10 = ((v10 - auc) ** 2).sum() / (pos.size - 1)
    s01 = ((v01 - auc) ** 2).sum() / (neg.size - 1)
    return float(auc), math.sqrt(s10 / pos.size + s01 / neg.size)


# --------------------------------------------------------------------------- ROC AUC


def test_auc_and_delong_ci_match_proc() -> None:
    """pROC, direction fixed to controls < cases:

    r <- roc(y, x, levels = c(0, 1), direction = "<")
    auc(r)                                   # 0.794883720930233
    ci.auc(r, method = "delong")             # 0.688176622373947 0.794883720930233 0.901590819486518
    sqrt(var(r, method = "delong"))          # 0.054443397632802
    ci.auc(r, method = "delong", conf.level = 0.90)   # 0.705332300870357 ... 0.884435140990108
    """
    res = roc_auc_delong(scored(LVD, SCORE), "lvd", "score")
    assert res.auc == pytest.approx(0.794883720930233, rel=REL)
    assert res.ci_low == pytest.approx(0.688176622373947, rel=REL)
    assert res.ci_high == pytest.approx(0.901590819486518, rel=REL)
    assert res.se == pytest.approx(0.054443397632802, rel=REL)
    assert (res.n_positive, res.n_negative, res.method) == (25, 43, "DeLong")

    res90 = roc_auc_delong(scored(LVD, SCORE), "lvd", "score", confidence=0.90)
    assert res90.ci_low == pytest.approx(0.705332300870357, rel=REL)
    assert res90.ci_high == pytest.approx(0.884435140990108, rel=REL)


def test_auc_equals_mann_whitney_u_and_slow_delong() -> None:
    """AUC = U / (n1 * n0) from scipy; SE equals an independent O(n^2) DeLong."""
    res = roc_auc_delong(scored(LVD, SCORE), "lvd", "score")
    u = stats.mannwhitneyu(SCORE[LVD == 1], SCORE[LVD == 0]).statistic
    assert res.auc == pytest.approx(u / (25 * 43), rel=1e-12)
    auc, se = _slow_delong(LVD, SCORE)
    assert res.auc == pytest.approx(auc, rel=1e-12)
    assert res.se == pytest.approx(se, rel=1e-12)


def test_delong_random_data_with_heavy_ties_matches_slow() -> None:
    rng = np.random.default_rng(11)
    lvd = rng.integers(0, 2, 300)
    score = np.round(rng.normal(lvd * 0.7, 1.0), 1)  # rounding creates many ties
    res = roc_auc_delong(scored(lvd, score), "lvd", "score")
    auc, se = _slow_delong(lvd, score)
    assert res.auc == pytest.approx(auc, rel=1e-12)
    assert res.se == pytest.approx(se, rel=1e-12)


def test_delong_ci_clipped_at_one_like_proc() -> None:
    """r2 <- roc(c(1,1,1,0,0,0), c(0.9,0.8,0.7,0.6,0.7,0.1), levels = c(0, 1), direction = "<")
    ci.auc(r2, method = "delong")     # 0.790455130627814 0.944444444444445 1
    sqrt(var(r2, method = "delong"))  # 0.0785674201318386
    """
    res = roc_auc_delong(scored([1, 1, 1, 0, 0, 0], [0.9, 0.8, 0.7, 0.6, 0.7, 0.1]),
                         "lvd", "score")
    assert res.auc == pytest.approx(0.944444444444445, rel=REL)
    assert res.ci_low == pytest.approx(0.790455130627814, rel=REL)
    assert res.ci_high == 1.0
    assert res.se == pytest.approx(0.0785674201318386, rel=REL)


def test_auc_rank_invariant_and_label_flip() -> None:
    base = roc_auc_delong(scored(LVD, SCORE), "lvd", "score")
    logged = roc_auc_delong(scored(LVD, np.log(SCORE)), "lvd", "score")
    assert logged.auc == pytest.approx(base.auc, rel=1e-12)
    assert logged.se == pytest.approx(base.se, rel=1e-12)
    flipped = roc_auc_delong(scored(1 - LVD, SCORE), "lvd", "score")
    assert flipped.auc == pytest.approx(1 - base.auc, rel=1e-12)
    assert flipped.se == pytest.approx(base.se, rel=1e-12)


def test_all_scores_tied_gives_half() -> None:
    res = roc_auc_delong(scored(np.array([0, 1, 0, 1, 1]), np.full(5, 3.0)), "lvd", "score")
    assert res.auc == 0.5
    assert res.se == 0.0


def test_single_member_class_gives_nan_se() -> None:
    res = roc_auc_delong(scored([1, 0, 0, 0], [0.9, 0.1, 0.5, 0.95]), "lvd", "score")
    assert res.auc == pytest.approx(2 / 3)
    assert math.isnan(res.se) and math.isnan(res.ci_low) and math.isnan(res.ci_high)


def test_boolean_labels_accepted() -> None:
    assert (roc_auc_delong(scored(LVD.astype(bool), SCORE), "lvd", "score")
            == roc_auc_delong(scored(LVD, SCORE), "lvd", "score"))


@pytest.mark.parametrize(
    ("lvd", "score", "message"),
    [
        ([0, 1, 1], [0.1, np.nan, 0.3], "NaN"),
        ([0, np.nan, 1], [0.1, 0.2, 0.3], "NaN"),
        ([1, 1, 1], [0.1, 0.2, 0.3], "single class"),
        ([0, 0, 0], [0.1, 0.2, 0.3], "single class"),
        ([0, 1, 2], [0.1, 0.2, 0.3], "binary"),
        (["no", "yes", "no"], [0.1, 0.2, 0.3], "binary"),
        ([], [], "no observations"),
        ([0, 1, 1], [0.1, np.inf, 0.3], "infinite"),
    ],
)
def test_input_validation(lvd: list, score: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        roc_auc_delong(scored(np.array(lvd), np.array(score)), "lvd", "score")
    with pytest.raises(ValueError, match=message):
        confusion_at_cutoff(scored(np.array(lvd), np.array(score)), "lvd", "score", 0.15)


def test_columns_the_frame_lacks_are_named() -> None:
    with pytest.raises(ValueError, match=r"not in data frame: \['p_lvd'\]"):
        roc_curve(scored(LVD, SCORE), "lvd", "p_lvd")
    with pytest.raises(ValueError, match="distinct"):
        roc_auc_delong(scored(LVD, SCORE), "lvd", "lvd")


def test_confidence_out_of_range_rejected() -> None:
    with pytest.raises(ValueError, match="confidence"):
        roc_auc_delong(scored(LVD, SCORE), "lvd", "score", confidence=95)


# --------------------------------------------------------------------------- ROC curve / Youden


def test_roc_curve_endpoints_and_area() -> None:
    curve = roc_curve(scored(LVD, SCORE), "lvd", "score")
    assert curve.thresholds[0] == -np.inf
    assert (curve.sensitivity[0], curve.specificity[0]) == (1.0, 0.0)
    assert (curve.sensitivity[-1], curve.specificity[-1]) == (0.0, 1.0)
    assert np.all(np.diff(curve.sensitivity) <= 0) and np.all(np.diff(curve.specificity) >= 0)
    auc = roc_auc_delong(scored(LVD, SCORE), "lvd", "score").auc
    assert curve.auc() == pytest.approx(auc, rel=1e-12)


def test_roc_curve_point_agrees_with_confusion() -> None:
    curve = roc_curve(scored(LVD, SCORE), "lvd", "score")
    i = int(np.flatnonzero(curve.thresholds == 1.0)[0])
    conf = confusion_at_cutoff(scored(LVD, SCORE), "lvd", "score", 1.0)
    assert curve.sensitivity[i] == conf.sensitivity.estimate
    assert curve.specificity[i] == conf.specificity.estimate


def test_youden_cutoff_matches_proc_best() -> None:
    """coords(r, "best", best.method = "youden", ret = c("threshold", "sensitivity", "specificity"))
    # 0.985 0.84 0.604651162790698

    pROC reports the midpoint 0.985 with rule score >= t; the same split under
    score > t is the largest observed score below it, 0.97.
    """
    cut = youden_cutoff(roc_curve(scored(LVD, SCORE), "lvd", "score"))
    assert cut == 0.97
    conf = confusion_at_cutoff(scored(LVD, SCORE), "lvd", "score", cut)
    assert conf.sensitivity.estimate == pytest.approx(0.84, rel=REL)
    assert conf.specificity.estimate == pytest.approx(0.604651162790698, rel=REL)


# --------------------------------------------------------------------------- 2x2 at cutoff


def test_confusion_at_one_percent_cutoff_with_wilson_cis() -> None:
    """Counts at P(LVD) > 1%: tp 20, fn 5, tn 27, fp 16 (sens 80.0%, spec 62.8%). Wilson CIs:

    prop.test(20, 25, correct = FALSE)$conf.int   # 0.608690496304597 0.911394153131974
    prop.test(27, 43, correct = FALSE)$conf.int   # 0.478598091596885 0.756236609903494
    prop.test(20, 36, correct = FALSE)$conf.int   # 0.395810617556973 0.704587312599198
    prop.test(27, 32, correct = FALSE)$conf.int   # 0.682458504024696 0.931355797174943
    """
    conf = confusion_at_cutoff(scored(LVD, SCORE), "lvd", "score", 1.0)
    assert (conf.tp, conf.fp, conf.fn, conf.tn) == (20, 16, 5, 27)
    expected = {
        "sensitivity": (20, 25, 0.608690496304597, 0.911394153131974),
        "specificity": (27, 43, 0.478598091596885, 0.756236609903494),
        "ppv": (20, 36, 0.395810617556973, 0.704587312599198),
        "npv": (27, 32, 0.682458504024696, 0.931355797174943),
    }
    for name, (x, n, lo, hi) in expected.items():
        prop = getattr(conf, name)
        assert (prop.successes, prop.total) == (x, n), name
        assert prop.estimate == pytest.approx(x / n, rel=REL), name
        assert prop.ci_low == pytest.approx(lo, rel=REL), name
        assert prop.ci_high == pytest.approx(hi, rel=REL), name
    assert round(conf.sensitivity.estimate * 100, 1) == 80.0
    assert round(conf.specificity.estimate * 100, 1) == 62.8


def test_cutoff_is_strictly_greater() -> None:
    """A score equal to the cutoff is test-negative (one positive and one negative score 1.0)."""
    at = confusion_at_cutoff(scored(LVD, SCORE), "lvd", "score", 1.0)
    below = confusion_at_cutoff(scored(LVD, SCORE), "lvd", "score", 0.999)
    assert (below.tp - at.tp, below.fp - at.fp) == (1, 1)


def test_zero_denominator_gives_nan_not_error() -> None:
    conf = confusion_at_cutoff(scored(LVD, SCORE), "lvd", "score", 100.0)  # nobody test-positive
    assert (conf.tp, conf.fp) == (0, 0)
    assert math.isnan(conf.ppv.estimate) and math.isnan(conf.ppv.ci_low)
    assert conf.ppv.total == 0
    assert conf.sensitivity.estimate == 0.0 and conf.specificity.estimate == 1.0


def test_wilson_extremes_match_prop_test() -> None:
    """prop.test(0, 12, correct = FALSE)$conf.int   # 0 0.242494006655241
    prop.test(9, 9, correct = FALSE)$conf.int       # 0.700854951580456 1
    prop.test(20, 25, correct = FALSE, conf.level = 0.9)$conf.int
    # 0.642318514397684 0.899089381998686
    """
    assert wilson_interval(0, 12) == pytest.approx((0.0, 0.0, 0.242494006655241), rel=REL)
    assert wilson_interval(9, 9) == pytest.approx((1.0, 0.700854951580456, 1.0), rel=REL)
    _, lo, hi = wilson_interval(20, 25, confidence=0.90)
    assert (lo, hi) == pytest.approx((0.642318514397684, 0.899089381998686), rel=REL)
    with pytest.raises(ValueError):
        wilson_interval(5, 3)


# --------------------------------------------------------------------------- odds ratio


def test_odds_ratio_reproduces_woolf_and_fisher() -> None:
    """Woolf CI by hand in R, Fisher and chi-square from stats:

    a <- 20; b <- 16; c <- 5; d <- 27; m <- matrix(c(a, b, c, d), 2, byrow = TRUE)
    or <- a * d / (b * c); se <- sqrt(1/a + 1/b + 1/c + 1/d)
    exp(log(or) + c(-1, 1) * qnorm(0.975) * se)   # 2.118650465985116 21.505435054769478
    se                                            # 0.591216573716466
    fisher.test(m)$p.value                        # 0.000930178233608912
    chisq.test(m, correct = FALSE)$p.value        # 0.000652862974218372
    chisq.test(m, correct = TRUE)$p.value         # 0.00159564331312251
    exp(log(or) + c(-1, 1) * qnorm(0.95) * se)    # 2.552511507299361 17.850066442288679
    """
    res = odds_ratio_2x2(20, 16, 5, 27)
    assert res.odds_ratio == pytest.approx(6.75, rel=REL)
    assert res.ci_low == pytest.approx(2.118650465985116, rel=REL)
    assert res.ci_high == pytest.approx(21.505435054769478, rel=REL)
    assert res.log_se == pytest.approx(0.591216573716466, rel=REL)
    assert res.fisher_p_value == pytest.approx(0.000930178233608912, rel=1e-7)
    assert res.chi2_p_value == pytest.approx(0.000652862974218372, rel=1e-7)
    assert res.chi2_yates_p_value == pytest.approx(0.00159564331312251, rel=1e-7)
    assert res.corrected is False
    # the published figures: OR 6.75 (95% CI 2.11-21.51), P = .001
    assert (round(res.ci_low, 1), round(res.ci_high, 2)) == (2.1, 21.51)
    assert round(res.fisher_p_value, 3) == 0.001
    res90 = odds_ratio_2x2(20, 16, 5, 27, confidence=0.90)
    assert res90.ci_low == pytest.approx(2.552511507299361, rel=REL)
    assert res90.ci_high == pytest.approx(17.850066442288679, rel=REL)


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        # woolf(..., add = 0.5); fisher.test(m)$p.value; chisq.test(m, correct = FALSE / TRUE)
        (
            (7, 0, 3, 10),
            (45.0, 2.01142962681101, 1006.74663085802536, 1.58564993434418,
             0.00309597523219815, 0.00103201391516299, 0.00491055616217265),
        ),
        (
            (0, 4, 6, 9),
            (0.16239316239316240, 0.00740857020533389, 3.55959901318955119,
             1.57522428052741525, 0.255417956656347, 0.12621414954906, 0.355541806949142),
        ),
    ],
)  # fmt: skip
def test_odds_ratio_zero_cell_haldane(cells: tuple[int, ...], expected: tuple[float, ...]) -> None:
    """Zero cell: +0.5 to every cell for the OR and Woolf CI; p-values on the raw counts.

    woolf <- function(a, b, c, d, conf = 0.95, add = 0) {
      a <- a + add; b <- b + add; c <- c + add; d <- d + add
      or <- (a * d) / (b * c); se <- sqrt(1/a + 1/b + 1/c + 1/d); z <- qnorm(1 - (1 - conf) / 2)
      c(or, exp(log(or) - z * se), exp(log(or) + z * se), se) }
    """
    res = odds_ratio_2x2(*cells)
    or_, lo, hi, se, p_fisher, p_chi2, p_yates = expected
    assert res.corrected is True
    assert res.odds_ratio == pytest.approx(or_, rel=REL)
    assert res.ci_low == pytest.approx(lo, rel=REL)
    assert res.ci_high == pytest.approx(hi, rel=REL)
    assert res.log_se == pytest.approx(se, rel=REL)
    assert res.fisher_p_value == pytest.approx(p_fisher, rel=1e-7)
    assert res.chi2_p_value == pytest.approx(p_chi2, rel=1e-7)
    assert res.chi2_yates_p_value == pytest.approx(p_yates, rel=1e-7)


def test_odds_ratio_empty_margin_has_nan_chi2() -> None:
    res = odds_ratio_2x2(0, 0, 5, 9)
    assert res.corrected is True
    assert math.isfinite(res.odds_ratio)
    assert res.fisher_p_value == 1.0
    assert math.isnan(res.chi2_p_value) and math.isnan(res.chi2_yates_p_value)


@pytest.mark.parametrize("cells", [(0, 0, 0, 0), (-1, 2, 3, 4), (1.5, 2, 3, 4), (True, 2, 3, 4)])
def test_odds_ratio_rejects_bad_counts(cells: tuple) -> None:
    with pytest.raises(ValueError):
        odds_ratio_2x2(*cells)


# --------------------------------------------------------------------------- group comparison


def test_mann_whitney_and_median_iqr_match_r() -> None:
    """w <- wilcox.test(pos, neg, exact = FALSE)   # W = 854.5, p-value = 5.64674748162984e-05
    quantile(pos, c(.25, .5, .75))                 # 1.01 2.01 6.40
    quantile(neg, c(.25, .5, .75))                 # 0.395 0.840 1.360
    """
    res = mann_whitney(scored(LVD, SCORE), "lvd", "score")
    assert res.u_statistic == 854.5
    assert res.p_value == pytest.approx(5.64674748162984e-05, rel=1e-7)
    assert (res.positive.q1, res.positive.median, res.positive.q3) == pytest.approx(
        (1.01, 2.01, 6.40), rel=REL
    )
    assert (res.negative.q1, res.negative.median, res.negative.q3) == pytest.approx(
        (0.395, 0.840, 1.360), rel=REL
    )
    assert (res.positive.n, res.negative.n) == (25, 43)
    auc = roc_auc_delong(scored(LVD, SCORE), "lvd", "score").auc
    assert res.u_statistic / (25 * 43) == pytest.approx(auc)


def test_median_iqr_ignores_nan_and_rejects_empty() -> None:
    assert median_iqr(np.array([1.0, np.nan, 3.0])).median == 2.0
    with pytest.raises(ValueError):
        median_iqr(np.array([np.nan]))
