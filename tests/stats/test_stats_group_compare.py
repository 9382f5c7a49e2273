"""Tests for imnm.stats.group_compare against values pinned from R 4.2.2 (stats).

R is not needed to run these tests; the R code that produced each pinned number is quoted in
the docstring of the test that uses it. The data are columns of R's built-in ``mtcars``
(``d <- mtcars``) split by transmission: group a is ``am == 1`` (manual), b is ``am == 0``.
"""

from __future__ import annotations

import numpy as np
import pytest

from imnm.stats import (
    GroupComparison,
    MeanSd,
    MedianIqr,
    compare_binary,
    compare_continuous,
    group_summary,
    mean_sd,
)
from tests.support.frames import two_groups

MPG_A = [21.0, 21.0, 22.8, 32.4, 30.4, 33.9, 27.3, 26.0, 30.4, 15.8, 19.7, 15.0, 21.4]
MPG_B = [
    21.4, 18.7, 18.1, 14.3, 24.4, 22.8, 19.2, 17.8, 16.4, 17.3, 15.2, 10.4, 10.4, 14.7, 21.5,
    15.5, 15.2, 13.3, 19.2,
]  # fmt: skip
HP_A = [110, 110, 93, 66, 52, 65, 66, 91, 113, 264, 175, 335, 109]
HP_B = [110, 175, 105, 245, 62, 95, 123, 123, 180, 180, 180, 205, 215, 230, 97, 150, 150, 245,
        175]  # fmt: skip
REL = 1e-9


def test_normal_groups_use_welch_t() -> None:
    """a <- d$mpg[d$am == 1]; b <- d$mpg[d$am == 0]
    c(shapiro.test(a)$p.value, shapiro.test(b)$p.value)
    #   0.53627288522509553 0.89873578691440059
    tt <- t.test(a, b); c(tt$statistic, tt$p.value)
    #   3.7671231451449251892 0.0013736383330710284
    """
    got = compare_continuous(two_groups(MPG_A, MPG_B), "value", "group")
    assert got.test == "welch_t"
    assert got.statistic == pytest.approx(3.7671231451449251892, rel=REL)
    assert got.p_value == pytest.approx(0.0013736383330710284, rel=REL)
    assert got.shapiro_p_a == pytest.approx(0.53627288522509553, abs=1e-7)
    assert got.shapiro_p_b == pytest.approx(0.89873578691440059, abs=1e-7)
    assert got.reason == "Shapiro-Wilk p=0.536 in group a and p=0.899 in group b, both > 0.05"


def test_non_normal_group_uses_mann_whitney_with_ties() -> None:
    """a <- d$hp[d$am == 1]; b <- d$hp[d$am == 0]   (tied values within and across groups)
    c(shapiro.test(a)$p.value, shapiro.test(b)$p.value)
    #   0.0028804213472479684 0.5402947692354177489
    wt <- wilcox.test(a, b, exact = FALSE); c(wt$statistic, wt$p.value)
    #   71 0.045701316066335887
    """
    got = compare_continuous(two_groups(HP_A, HP_B), "value", "group")
    assert got.test == "mann_whitney"
    assert got.statistic == 71.0
    assert got.p_value == pytest.approx(0.045701316066335887, rel=REL)
    assert got.shapiro_p_a == pytest.approx(0.0028804213472479684, abs=1e-7)
    assert got.reason == "Shapiro-Wilk p=0.00288 in group a <= 0.05"
    # W is U of the first group, so swapping the groups gives n_a * n_b - W and the same p
    swapped = compare_continuous(two_groups(HP_B, HP_A), "value", "group")
    assert swapped.statistic == len(HP_A) * len(HP_B) - 71.0
    assert swapped.p_value == pytest.approx(got.p_value, rel=REL)
    assert swapped.reason == "Shapiro-Wilk p=0.00288 in group b <= 0.05"


def test_normality_alpha_moves_the_choice() -> None:
    """The mpg groups pass Shapiro-Wilk at 0.05 (p 0.536, 0.899) but group a fails at 0.6.

    wilcox.test(a, b, exact = FALSE) on mpg: W 205, p 1.8713913331785568e-03
    """
    got = compare_continuous(two_groups(MPG_A, MPG_B), "value", "group", normality_alpha=0.6)
    assert got.test == "mann_whitney"
    assert got.statistic == 205.0
    assert got.p_value == pytest.approx(1.8713913331785568e-03, rel=REL)
    assert got.reason == "Shapiro-Wilk p=0.536 in group a <= 0.6"
    with pytest.raises(ValueError, match="normality_alpha"):
        compare_continuous(two_groups(MPG_A, MPG_B), "value", "group", normality_alpha=0.0)


def test_nans_are_dropped() -> None:
    with_nans = two_groups(MPG_A + [np.nan], [np.nan] + MPG_B)
    assert (compare_continuous(with_nans, "value", "group")
            == compare_continuous(two_groups(MPG_A, MPG_B), "value", "group"))


def test_untestable_normality_falls_back_to_mann_whitney() -> None:
    small = compare_continuous(two_groups([20.0, 25.0], MPG_B), "value", "group")
    assert small.test == "mann_whitney"
    assert small.shapiro_p_a is None and small.shapiro_p_b is not None
    assert small.reason == "Shapiro-Wilk needs 3..5000 values, group a has 2"
    flat = compare_continuous(two_groups([20.0, 20.0, 20.0, 20.0], MPG_B), "value", "group")
    assert flat.test == "mann_whitney"
    assert flat.reason == "all values in group a are equal, so normality cannot be tested"
    big = compare_continuous(two_groups(np.random.default_rng(1).normal(size=5001), MPG_B),
                             "value", "group")
    assert big.test == "mann_whitney"
    assert big.reason.startswith("Shapiro-Wilk needs 3..5000 values, group a has 5001")


def test_continuous_bad_inputs() -> None:
    with pytest.raises(ValueError, match="group b has no non-missing values"):
        compare_continuous(two_groups(MPG_A, [np.nan, np.nan]), "value", "group")
    with pytest.raises(ValueError, match="all 5 values are equal"):
        compare_continuous(two_groups([3.0, 3.0], [3.0, 3.0, 3.0]), "value", "group")
    with pytest.raises(ValueError, match="infinite"):
        compare_continuous(two_groups([1.0, np.inf, 2.0], MPG_B), "value", "group")


def test_large_expected_counts_use_chi_square() -> None:
    """Straight engine (vs == 1) by transmission: 7/13 manual vs 7/19 automatic.
    m <- matrix(c(7, 7, 6, 12), 2); ch <- chisq.test(m, correct = FALSE)
    c(ch$statistic, ch$p.value, min(ch$expected))
    #   0.90688259109311742 0.34094291427438084 5.6875
    """
    got = compare_binary(7, 13, 7, 19)
    assert got.test == "chi_square"
    assert got.statistic == pytest.approx(0.90688259109311742, rel=REL)
    assert got.p_value == pytest.approx(0.34094291427438084, rel=REL)
    assert got.min_expected == pytest.approx(5.6875, rel=REL)
    assert got.reason == "smallest expected count 5.69 >= 5"


def test_expected_count_exactly_five_still_uses_chi_square() -> None:
    """m <- matrix(c(3, 7, 17, 13), 2): every expected count is at least 5 (the smallest is 5).
    ch <- chisq.test(m, correct = FALSE); c(ch$statistic, ch$p.value)
    #   2.1333333333333333 0.1441270348160162
    """
    got = compare_binary(3, 20, 7, 20)
    assert got.test == "chi_square" and got.min_expected == 5.0
    assert got.statistic == pytest.approx(2.1333333333333333, rel=REL)
    assert got.p_value == pytest.approx(0.1441270348160162, rel=REL)


def test_small_expected_counts_use_fisher() -> None:
    """m <- matrix(c(2, 7, 13, 7), 2); f <- fisher.test(m); c(f$estimate, f$p.value)
    #   0.1649386432322208 0.0501749125437281   (smallest expected count 4.34)
    Five-speed gearbox by transmission: 5/13 manual vs 0/19 automatic.
    f <- fisher.test(matrix(c(5, 0, 8, 19), 2)); c(f$estimate, f$p.value)
    #   Inf 0.0063910297155569664   (smallest expected count 2.03125)
    The estimate is R's conditional MLE, found by uniroot to ~1e-4.
    """
    got = compare_binary(2, 15, 7, 14)
    assert got.test == "fisher_exact"
    assert got.p_value == pytest.approx(0.0501749125437281, rel=REL)
    assert got.statistic == pytest.approx(0.1649386432322208, rel=1e-4)
    assert got.reason == "smallest expected count 4.34 < 5"
    gears = compare_binary(5, 13, 0, 19)
    assert gears.test == "fisher_exact"
    assert gears.statistic == np.inf
    assert gears.p_value == pytest.approx(0.0063910297155569664, rel=REL)
    assert gears.min_expected == pytest.approx(2.03125, rel=REL)


def test_binary_degenerate_and_bad_inputs() -> None:
    none_yes = compare_binary(0, 10, 0, 12)
    assert none_yes.test == "fisher_exact" and none_yes.p_value == 1.0
    assert np.isnan(none_yes.statistic)
    with pytest.raises(ValueError, match="yes <= n"):
        compare_binary(5, 4, 1, 10)
    with pytest.raises(ValueError, match="at least one subject"):
        compare_binary(0, 0, 1, 10)
    with pytest.raises(ValueError, match="non-negative integer"):
        compare_binary(1.5, 4, 1, 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative integer"):
        compare_binary(-1, 4, 1, 10)


def test_mean_sd_and_group_summary() -> None:
    """c(mean(d$mpg), sd(d$mpg))            #   20.090625 6.0269480520891037
    quantile(d$hp, c(.25, .5, .75))          #   96.5 123 180
    """
    mpg = MPG_A + MPG_B
    got = mean_sd(mpg + [np.nan])
    assert got == MeanSd(mean=pytest.approx(20.090625), sd=pytest.approx(6.0269480520891037), n=32)
    assert np.isnan(mean_sd([4.0]).sd)
    with pytest.raises(ValueError, match="no non-missing"):
        mean_sd([np.nan])
    welch = compare_continuous(two_groups(MPG_A, MPG_B), "value", "group")
    assert group_summary(welch, mpg) == mean_sd(mpg)
    mw = compare_continuous(two_groups(HP_A, HP_B), "value", "group")
    hp_summary = group_summary(mw, HP_A + HP_B)
    assert isinstance(hp_summary, MedianIqr)
    assert (hp_summary.q1, hp_summary.median, hp_summary.q3) == (96.5, 123.0, 180.0)
    with pytest.raises(ValueError, match="continuous"):
        group_summary(compare_binary(7, 13, 7, 19), mpg)


def test_result_is_frozen() -> None:
    got = compare_binary(7, 13, 7, 19)
    assert isinstance(got, GroupComparison)
    with pytest.raises(AttributeError):
        got.p_value = 0.0  # type: ignore[misc]
