"""Rubin's rules (`rubin_pool`) against R's mice::pool.scalar, and its refusals."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from imnm.stats.imputation import rubin_pool, rubin_pool_vector
from tests.support.rscript import run_r_script

R_DIR = Path(__file__).resolve().parent / "r"


def _cases() -> pd.DataFrame:
    """Imputation fits of several shapes: m from 2 to 20, finite and infinite complete-data df,
    between-imputation variance from none (the lambda floor) to dominant."""
    rng = np.random.default_rng(20261203)
    rows = []
    for case, (m, spread, n, k) in {
        "m5_inf": (5, 0.3, math.inf, 1), "m5_n34": (5, 0.3, 34, 4),
        "m20_n200": (20, 0.05, 200, 6), "m2_n10": (2, 1.5, 10, 2),
        "between_dominates": (10, 3.0, 60, 3), "no_between": (4, 0.0, 50, 2),
    }.items():
        estimates = 1.2 + spread * rng.standard_normal(m)
        variances = rng.uniform(0.02, 0.2, m)
        rows += [{"case": case, "estimate": e, "variance": v, "n": n, "k": k}
                 for e, v in zip(estimates, variances, strict=True)]
    return pd.DataFrame(rows)


def test_pooling_matches_mice_pool_scalar(tmp_path: Path) -> None:
    fits = _cases()
    reference = run_r_script(R_DIR / "pool_reference.R", {"fits": fits}, tmp_path)["pooled"]
    assert sorted(reference["case"]) == sorted(fits["case"].unique())
    for row in reference.itertuples():
        group = fits[fits["case"] == row.case]
        n, k = group["n"].iloc[0], group["k"].iloc[0]
        got = rubin_pool(group, "estimate", "variance", df_complete=n - k)
        assert got.m == len(group)
        for ours, theirs in ((got.estimate, row.qbar), (got.within_variance, row.ubar),
                             (got.between_variance, row.b), (got.total_variance, row.t),
                             (got.df, row.df), (got.relative_increase_in_variance, row.r),
                             (got.fraction_missing_information, row.fmi)):
            assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-15), row.case


def test_interval_and_p_are_t_on_the_pooled_df() -> None:
    fits = pd.DataFrame({"beta": [0.8, 1.1, 0.95, 1.3], "se2": [0.04, 0.05, 0.045, 0.05]})
    got = rubin_pool(fits, "beta", "se2", df_complete=30, confidence=0.9)
    half = stats.t.ppf(0.95, got.df) * math.sqrt(got.total_variance)
    assert (got.ci_low, got.ci_high) == pytest.approx((got.estimate - half, got.estimate + half))
    assert got.p_value == pytest.approx(
        2 * stats.t.sf(got.estimate / math.sqrt(got.total_variance), got.df))
    # Hand-worked: qbar 1.0375, b = var(estimates), t = ubar + 1.25 b.
    b = float(np.var([0.8, 1.1, 0.95, 1.3], ddof=1))
    assert got.total_variance == pytest.approx(0.04625 + 1.25 * b)


@pytest.mark.parametrize(("fits", "message"), [
    (pd.DataFrame({"q": [1.0], "u": [0.1]}), "at least 2 imputations"),
    (pd.DataFrame({"q": [1.0, np.nan], "u": [0.1, 0.1]}), "finite estimate"),
    (pd.DataFrame({"q": [1.0, 2.0], "u": [0.1, -0.1]}), "negative"),
    (pd.DataFrame({"q": [1.0, 1.0], "u": [0.0, 0.0]}), "nothing to pool"),
    (pd.DataFrame({"q": [1.0, 2.0], "x": [0.1, 0.1]}), r"not in data frame: \['u'\]"),
])
def test_bad_fits_are_refused(fits: pd.DataFrame, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rubin_pool(fits, "q", "u")


def test_vector_pooling_agrees_with_scalar_pooling_term_by_term() -> None:
    """rubin_pool_vector: the mean vector, and a total covariance whose diagonal is each
    term's rubin_pool total variance; its off-diagonal pools the covariances the same way."""
    rng = np.random.default_rng(3)
    m, k = 6, 3
    estimates = rng.normal(size=(m, k))
    roots = rng.normal(size=(m, k, k))
    covariances = np.einsum("mij,mkj->mik", roots, roots) + np.eye(k)
    pooled = rubin_pool_vector(estimates, covariances)
    np.testing.assert_allclose(pooled.estimate, estimates.mean(axis=0), rtol=1e-14)
    for j in range(k):
        scalar = rubin_pool(pd.DataFrame({"q": estimates[:, j], "u": covariances[:, j, j]}),
                            "q", "u")
        assert pooled.total_covariance[j, j] == pytest.approx(scalar.total_variance, rel=1e-13)
    centred = estimates - estimates.mean(axis=0)
    between_01 = (centred[:, 0] * centred[:, 1]).sum() / (m - 1)
    assert pooled.total_covariance[0, 1] == pytest.approx(
        covariances[:, 0, 1].mean() + (1 + 1 / m) * between_01, rel=1e-13)


def test_vector_pooling_refuses_bad_shapes() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        rubin_pool_vector(np.zeros((1, 2)), np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match=r"\(m, k\)"):
        rubin_pool_vector(np.zeros((3, 2)), np.zeros((3, 3, 3)))
    with pytest.raises(ValueError, match="finite"):
        rubin_pool_vector(np.array([[np.nan], [1.0]]), np.ones((2, 1, 1)))
