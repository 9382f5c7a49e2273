"""Tests for imnm.stats.regression against values pinned from R 4.2.2 (stats).

R is not needed to run these tests; the R code that produced each pinned number is quoted in
the docstring of the test that uses it. The data are columns of R's built-in ``mtcars``
(``d <- mtcars``); logistic fits use ``ctl <- glm.control(epsilon = 1e-14, maxit = 100)``
(the default agrees to ~1e-8).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from imnm.stats import OddsRatioTerm, linear_trend, logistic_odds_ratios
from tests.support.frames import xy

MTCARS = pd.DataFrame(
    {
        "mpg": [
            21.0, 21.0, 22.8, 21.4, 18.7, 18.1, 14.3, 24.4, 22.8, 19.2, 17.8, 16.4, 17.3, 15.2,
            10.4, 10.4, 14.7, 32.4, 30.4, 33.9, 21.5, 15.5, 15.2, 13.3, 19.2, 27.3, 26.0, 30.4,
            15.8, 19.7, 15.0, 21.4,
        ],
        "wt": [
            2.62, 2.875, 2.32, 3.215, 3.44, 3.46, 3.57, 3.19, 3.15, 3.44, 3.44, 4.07, 3.73, 3.78,
            5.25, 5.424, 5.345, 2.2, 1.615, 1.835, 2.465, 3.52, 3.435, 3.84, 3.845, 1.935, 2.14,
            1.513, 3.17, 2.77, 3.57, 2.78,
        ],
        "am": [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1,
               1, 1, 1, 1, 1],
        "vs": [0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0,
               1, 0, 0, 0, 1],
    }
)  # fmt: skip

REL = 1e-6


def _check(term: OddsRatioTerm, name: str, expected: tuple[float, float, float, float]) -> None:
    est, lo, hi, p = expected
    assert term.term == name
    assert term.odds_ratio == pytest.approx(est, rel=REL)
    assert term.ci_low == pytest.approx(lo, rel=REL)
    assert term.ci_high == pytest.approx(hi, rel=REL)
    assert term.p_value == pytest.approx(p, rel=REL)


# --------------------------------------------------------------------------- logistic


def test_logistic_crude_binary_exposure() -> None:
    """fit <- glm(vs ~ am, family = binomial, data = d, control = ctl)
    exp(cbind(coef(fit), confint.default(fit))); summary(fit)$coefficients[, 4]
    #   am 1.99999999999997358 0.47644664158787403 8.3954836719363204  p 0.34362891710888382
    The 2x2 table is [[7, 6], [7, 12]], so the OR is (7 * 12) / (6 * 7) = 2 exactly.
    """
    (term,) = logistic_odds_ratios(MTCARS, "vs", "am")
    _check(term, "am", (2.0, 0.47644664158787403, 8.3954836719363204, 0.34362891710888382))
    assert (term.n, term.n_events, term.confidence) == (32, 14, 0.95)


def test_logistic_adjusted_terms_in_order() -> None:
    """fit <- glm(vs ~ am + mpg + wt, family = binomial, data = d, control = ctl)
    #   am  0.0076838243958123505 3.7696914293847344e-05 1.5662066365818532 p 0.072719302291591292
    #   mpg 1.5248041878843179298 0.81458214106562354    2.8542582683533788 p 0.187222238377610067
    #   wt  0.0524259315339875367 1.5957786430259357e-04 17.223430763521499 p 0.318645011017518354
    """
    am, mpg, wt = logistic_odds_ratios(MTCARS, "vs", "am", ["mpg", "wt"])
    _check(am, "am", (0.0076838243958123505, 3.7696914293847344e-05, 1.5662066365818532,
                      0.072719302291591292))  # fmt: skip
    _check(mpg, "mpg", (1.5248041878843179298, 0.81458214106562354, 2.8542582683533788,
                        0.187222238377610067))  # fmt: skip
    _check(wt, "wt", (0.0524259315339875367, 1.5957786430259357e-04, 17.223430763521499,
                      0.318645011017518354))  # fmt: skip


def test_logistic_confidence_level() -> None:
    """exp(confint.default(fit, level = 0.9)) for the adjusted fit above
    #   am 8.8628946698145447e-05 6.6616110813958607e-01
    """
    am = logistic_odds_ratios(MTCARS, "vs", "am", ["mpg", "wt"], confidence=0.9)[0]
    assert am.ci_low == pytest.approx(8.8628946698145447e-05, rel=REL)
    assert am.ci_high == pytest.approx(6.6616110813958607e-01, rel=REL)
    assert am.confidence == 0.9
    with pytest.raises(ValueError, match="confidence"):
        logistic_odds_ratios(MTCARS, "vs", "am", confidence=1.0)


def test_logistic_booleans_equal_integers_and_missing_rows_dropped() -> None:
    as_bool = MTCARS.assign(vs=MTCARS["vs"].astype(bool), am=MTCARS["am"].astype(bool))
    assert logistic_odds_ratios(as_bool, "vs", "am", ["mpg"]) == logistic_odds_ratios(
        MTCARS, "vs", "am", ["mpg"]
    )
    holes = MTCARS.assign(mpg=MTCARS["mpg"].where(MTCARS.index % 8 != 0))  # 4 rows missing
    got = logistic_odds_ratios(holes, "vs", "am", ["mpg"])
    want = logistic_odds_ratios(MTCARS[MTCARS.index % 8 != 0], "vs", "am", ["mpg"])
    assert got == want
    assert got[0].n == 28 and got[0].n_events == int(MTCARS["vs"][MTCARS.index % 8 != 0].sum())
    # a column the model does not use does not cost rows
    extra = MTCARS.assign(unused=np.nan)
    assert logistic_odds_ratios(extra, "vs", "am")[0].n == 32


def test_logistic_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"not in data frame: \['nope'\]"):
        logistic_odds_ratios(MTCARS, "vs", "nope")
    with pytest.raises(ValueError, match="must be 0/1"):
        logistic_odds_ratios(MTCARS, "mpg", "am")
    with pytest.raises(ValueError, match="single level: all 14 complete rows are 1"):
        logistic_odds_ratios(MTCARS[MTCARS["vs"] == 1], "vs", "am")
    with pytest.raises(ValueError, match="covariate 'one' has a single level"):
        logistic_odds_ratios(MTCARS.assign(one=1), "vs", "am", ["one"])
    with pytest.raises(ValueError, match="must be numeric or boolean"):
        logistic_odds_ratios(MTCARS.assign(txt="x"), "vs", "txt")
    with pytest.raises(ValueError, match="no complete rows"):
        logistic_odds_ratios(MTCARS.assign(am=np.nan), "vs", "am")


def test_logistic_separation_is_a_clear_error() -> None:
    # the four cars under 2000 lb all have vs = 1: a binary term with a pure level
    sep = MTCARS.assign(light=(MTCARS["wt"] < 2.0).astype(int))
    with pytest.raises(ValueError, match="always 1 when 'light' = 1.*separation"):
        logistic_odds_ratios(sep, "vs", "light")
    # complete separation on a continuous predictor
    cont = pd.DataFrame({"y": [0, 0, 0, 0, 1, 1, 1, 1], "x": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    with pytest.raises(ValueError, match="perfectly separated"):
        logistic_odds_ratios(cont, "y", "x")
    # quasi-complete separation (one tie at the boundary): no finite MLE
    quasi = pd.DataFrame({"y": [0, 0, 0, 1, 0, 1, 1, 1], "x": [1.0, 2, 3, 4, 4, 6, 7, 8]})
    with pytest.raises(ValueError, match="did not converge"):
        logistic_odds_ratios(quasi, "y", "x")


def test_logistic_collinear_covariate_is_an_error() -> None:
    with pytest.raises(ValueError, match="singular"):
        logistic_odds_ratios(MTCARS.assign(mpg2=2 * MTCARS["mpg"]), "vs", "mpg", ["mpg2"])


# --------------------------------------------------------------------------- linear trend


def test_linear_trend_matches_lm_and_cor_test() -> None:
    """fit <- lm(mpg ~ wt, data = d); coef(fit); confint(fit)
    #   (Intercept) 37.2851261673420282  wt -5.3444715727226786
    #   wt -6.486308237418263 -4.2026349080270942
    ct <- cor.test(d$wt, d$mpg); c(ct$estimate, ct$p.value)
    #   -8.6765937651722780e-01 1.2939587013505163e-10
    confint(fit, level = 0.99)["wt", ]
    #   -6.8819970166507112 -3.806946128794646
    """
    got = linear_trend(xy(MTCARS["wt"], MTCARS["mpg"]), "x", "y")
    assert got.slope == pytest.approx(-5.3444715727226786, rel=1e-12)
    assert got.intercept == pytest.approx(37.2851261673420282, rel=1e-12)
    assert got.slope_ci_low == pytest.approx(-6.486308237418263, rel=1e-12)
    assert got.slope_ci_high == pytest.approx(-4.2026349080270942, rel=1e-12)
    assert got.pearson_r == pytest.approx(-8.6765937651722780e-01, rel=1e-12)
    assert got.p_value == pytest.approx(1.2939587013505163e-10, rel=1e-9)
    assert got.n == 32
    wide = linear_trend(xy(MTCARS["wt"], MTCARS["mpg"]), "x", "y", confidence=0.99)
    assert wide.slope_ci_low == pytest.approx(-6.8819970166507112, rel=1e-12)
    assert wide.slope_ci_high == pytest.approx(-3.806946128794646, rel=1e-12)


def test_linear_trend_drops_incomplete_pairs() -> None:
    x = np.array([1.0, 2.0, np.nan, 4.0, 5.0, 6.0])
    y = np.array([2.0, 4.5, 7.0, np.nan, 9.0, 13.0])
    got = linear_trend(xy(x, y), "x", "y")
    want = linear_trend(xy([1.0, 2.0, 5.0, 6.0], [2.0, 4.5, 9.0, 13.0]), "x", "y")
    assert got == want and got.n == 4
    exact = linear_trend(xy([0.0, 1.0, 2.0], [1.0, 3.0, 5.0]), "x", "y")
    assert (exact.slope, exact.intercept, exact.pearson_r) == pytest.approx((2.0, 1.0, 1.0))
    assert exact.slope_ci_low == pytest.approx(2.0) and exact.slope_ci_high == pytest.approx(2.0)


def test_linear_trend_bad_inputs() -> None:
    with pytest.raises(ValueError, match="at least 3 complete"):
        linear_trend(xy([1.0, 2.0, np.nan], [1.0, 2.0, 3.0]), "x", "y")
    with pytest.raises(ValueError, match="x is constant"):
        linear_trend(xy([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]), "x", "y")
    with pytest.raises(ValueError, match="y is constant"):
        linear_trend(xy([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]), "x", "y")
    with pytest.raises(ValueError, match=r"not in data frame: \['years'\]"):
        linear_trend(xy([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]), "years", "y")
    with pytest.raises(ValueError, match="finite"):
        linear_trend(xy([1.0, 2.0, math.inf], [1.0, 2.0, 3.0]), "x", "y")
