"""Two-group comparisons for a descriptive "Table 1", with the test chosen by a fixed rule.

Continuous variables: Shapiro-Wilk in each group; if both p > ``normality_alpha``, Welch's
t-test, otherwise the Mann-Whitney U test (a group whose normality cannot be tested, with
fewer than 3 or more than 5000 values or all values equal, counts as not normal). Binary
variables: Pearson's chi-square without continuity correction when every expected count is
at least 5, otherwise Fisher's exact test. Each result says which test ran and why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from imnm.stats.diagnostic import MedianIqr, median_iqr
from imnm.stats.wald import frame_columns

__all__ = [
    "GroupComparison",
    "MeanSd",
    "compare_binary",
    "compare_continuous",
    "group_summary",
    "mean_sd",
]

TestName = Literal["welch_t", "mann_whitney", "chi_square", "fisher_exact"]

# Range of sample sizes for which the Shapiro-Wilk p-value is defined (R's shapiro.test).
_SHAPIRO_MIN, _SHAPIRO_MAX = 3, 5000
# Smallest expected cell count for the chi-square approximation.
_MIN_EXPECTED = 5.0


@dataclass(frozen=True)
class GroupComparison:
    """A two-group test: its name, statistic, two-sided p-value and why it was chosen.

    ``statistic`` is Welch's t, Mann-Whitney W (= U of group a, as R's ``wilcox.test``),
    Pearson's X^2, or for Fisher the conditional MLE odds ratio (R's ``fisher.test``
    estimate). ``shapiro_p_a/b`` (continuous; None where untestable) and ``min_expected``
    (binary) are the quantities the choice rests on.
    """

    test: TestName
    statistic: float
    p_value: float
    reason: str
    shapiro_p_a: float | None = None
    shapiro_p_b: float | None = None
    min_expected: float | None = None


@dataclass(frozen=True)
class MeanSd:
    """Mean and sample standard deviation (n - 1 denominator, as R's ``sd``; NaN if n is 1)."""

    mean: float
    sd: float
    n: int


def _values(values: ArrayLike, name: str) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {v.shape}")
    v = v[~np.isnan(v)]
    if not np.isfinite(v).all():
        raise ValueError(f"{name} contains infinite value(s)")
    return v


def mean_sd(values: ArrayLike) -> MeanSd:
    """Mean and SD of the non-missing values, as tables report "mean (SD)"."""
    v = _values(values, "values")
    if v.size == 0:
        raise ValueError("no non-missing values")
    sd = float(np.std(v, ddof=1)) if v.size > 1 else math.nan
    return MeanSd(mean=float(np.mean(v)), sd=sd, n=int(v.size))


def _shapiro_p(v: np.ndarray, label: str) -> tuple[float | None, str | None]:
    """(Shapiro-Wilk p, None), or (None, why it cannot be computed)."""
    if not _SHAPIRO_MIN <= v.size <= _SHAPIRO_MAX:
        return None, (
            f"Shapiro-Wilk needs {_SHAPIRO_MIN}..{_SHAPIRO_MAX} values, group {label} has {v.size}"
        )
    if np.ptp(v) == 0:
        return None, f"all values in group {label} are equal, so normality cannot be tested"
    return float(stats.shapiro(v).pvalue), None


def _two_groups(data: pd.DataFrame, value_col: str, group_col: str
                ) -> tuple[np.ndarray, np.ndarray]:
    """``value_col`` in the rows of each of the two levels of ``group_col`` (sorted; a boolean
    group is always False then True, even when one is empty); rows without a group are left
    out."""
    values, groups = frame_columns(data, [value_col, group_col])
    present = groups.notna()
    levels = ([False, True] if pd.api.types.is_bool_dtype(groups)
              else sorted(groups[present].unique()))
    if len(levels) != 2:
        raise ValueError(f"{group_col!r} must have exactly two levels, found {levels[:5]}")
    return tuple(_values(values[present & (groups == level)].to_numpy(dtype=float,
                                                                     na_value=np.nan), name)
                 for level, name in zip(levels, ("a", "b"), strict=True))


def compare_continuous(
    data: pd.DataFrame, value_col: str, group_col: str, normality_alpha: float = 0.05
) -> GroupComparison:
    """``value_col`` between the two levels of ``group_col`` (group a the first in sorted
    order, e.g. False): Welch t-test if both pass Shapiro-Wilk (p > alpha), else Mann-Whitney U.

    Welch as R's ``t.test(a, b)``; Mann-Whitney as ``wilcox.test(a, b, exact = FALSE)``
    (normal approximation with tie and continuity corrections). Missing values are dropped.
    """
    if not 0.0 < normality_alpha < 1.0:
        raise ValueError(
            f"normality_alpha must be strictly between 0 and 1, got {normality_alpha!r}"
        )
    va, vb = _two_groups(data, value_col, group_col)
    for label, v in (("a", va), ("b", vb)):
        if v.size == 0:
            raise ValueError(f"group {label} has no non-missing values")
    if np.ptp(np.concatenate([va, vb])) == 0:
        raise ValueError(
            f"all {va.size + vb.size} values are equal ({va[0]:g}): nothing to compare"
        )
    pa, why_a = _shapiro_p(va, "a")
    pb, why_b = _shapiro_p(vb, "b")
    untestable = [w for w in (why_a, why_b) if w is not None]
    below = [
        f"Shapiro-Wilk p={p:.3g} in group {g} <= {normality_alpha:g}"
        for g, p in (("a", pa), ("b", pb))
        if p is not None and p <= normality_alpha
    ]
    if untestable or below:
        res = stats.mannwhitneyu(
            va, vb, alternative="two-sided", use_continuity=True, method="asymptotic"
        )
        return GroupComparison(
            test="mann_whitney",
            statistic=float(res.statistic),
            p_value=float(res.pvalue),
            reason="; ".join(untestable + below),
            shapiro_p_a=pa,
            shapiro_p_b=pb,
        )
    res = stats.ttest_ind(va, vb, equal_var=False)
    return GroupComparison(
        test="welch_t",
        statistic=float(res.statistic),
        p_value=float(res.pvalue),
        reason=(
            f"Shapiro-Wilk p={pa:.3g} in group a and p={pb:.3g} in group b, "
            f"both > {normality_alpha:g}"
        ),
        shapiro_p_a=pa,
        shapiro_p_b=pb,
    )


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not float(value).is_integer() or value < 0:
        raise ValueError(f"{name} must be a non-negative integer count, got {value!r}")
    return int(value)


def compare_binary(yes_a: int, n_a: int, yes_b: int, n_b: int) -> GroupComparison:
    """Compare two proportions yes_a/n_a and yes_b/n_b from their 2x2 table.

    Pearson chi-square without continuity correction (R ``chisq.test(m, correct = FALSE)``)
    if every expected count is >= 5, else two-sided Fisher exact (R ``fisher.test(m)``).
    """
    ya, na, yb, nb = (
        _count(k, v) for k, v in (("yes_a", yes_a), ("n_a", n_a), ("yes_b", yes_b), ("n_b", n_b))
    )
    if ya > na or yb > nb:
        raise ValueError(f"need yes <= n in each group, got {ya}/{na} and {yb}/{nb}")
    if na == 0 or nb == 0:
        raise ValueError(f"each group needs at least one subject, got n_a={na}, n_b={nb}")
    table = np.array([[ya, na - ya], [yb, nb - yb]], dtype=float)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    smallest = float(expected.min())
    if smallest >= _MIN_EXPECTED:
        res = stats.chi2_contingency(table, correction=False)
        return GroupComparison(
            test="chi_square",
            statistic=float(res.statistic),
            p_value=float(res.pvalue),
            reason=f"smallest expected count {smallest:.3g} >= {_MIN_EXPECTED:g}",
            min_expected=smallest,
        )
    counts = table.astype(int)
    estimate = stats.contingency.odds_ratio(counts, kind="conditional").statistic
    return GroupComparison(
        test="fisher_exact",
        statistic=float(estimate),
        p_value=float(stats.fisher_exact(counts, alternative="two-sided").pvalue),
        reason=f"smallest expected count {smallest:.3g} < {_MIN_EXPECTED:g}",
        min_expected=smallest,
    )


def group_summary(comparison: GroupComparison, values: ArrayLike) -> MeanSd | MedianIqr:
    """The summary a table row shows next to a continuous test: mean (SD) for Welch's t,
    median [IQR] for Mann-Whitney."""
    if comparison.test == "welch_t":
        return mean_sd(values)
    if comparison.test == "mann_whitney":
        return median_iqr(np.asarray(values, dtype=float))
    raise ValueError(f"group_summary is for continuous comparisons, got {comparison.test!r}")
