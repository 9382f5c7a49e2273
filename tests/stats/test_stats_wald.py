"""The Wald chi-square of each term and its share of the whole model's (rms::anova's relative
explained variation), on cases whose answer is known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from imnm.stats.wald import wald_explained_variation


def test_independent_coefficients_split_the_whole_chi_square() -> None:
    """With a diagonal covariance each term's chi-square is sum(b^2 / v) over its columns,
    the shares add up to 1 and p is the chi-square tail on the term's columns."""
    b = np.array([1.0, -2.0, 0.5])
    v = np.diag([0.25, 1.0, 0.5])
    rev = wald_explained_variation(b, v, ["a", "b1", "b2"],
                                   {"a": ["a"], "b": ["b1", "b2"]}).set_index("term")
    assert rev.loc["a", "chi_square"] == pytest.approx(4.0, rel=1e-14)
    assert rev.loc["b", "chi_square"] == pytest.approx(4.0 + 0.5, rel=1e-14)
    assert rev["rev"].sum() == pytest.approx(1.0, rel=1e-14)
    assert rev.loc["b", "df"] == 2
    assert rev.loc["b", "p_value"] == pytest.approx(stats.chi2.sf(4.5, 2), rel=1e-12)


def test_correlated_coefficients_use_the_term_block() -> None:
    """A term's statistic uses its own block of the covariance, the total the whole matrix:
    correlated terms' shares need not add to 1."""
    b = np.array([1.0, 1.0])
    v = np.array([[1.0, 0.8], [0.8, 1.0]])
    rev = wald_explained_variation(b, v, ["x", "z"], {"x": ["x"], "z": ["z"]})
    total = float(b @ np.linalg.solve(v, b))
    np.testing.assert_allclose(rev["chi_square"], [1.0, 1.0], rtol=1e-14)
    np.testing.assert_allclose(rev["rev"], [1.0 / total, 1.0 / total], rtol=1e-14)
    assert rev["rev"].sum() > 1.0


def test_bad_terms_and_shapes_are_refused() -> None:
    b, v = np.ones(2), np.eye(2)
    with pytest.raises(ValueError, match="unknown"):
        wald_explained_variation(b, v, ["x", "z"], {"w": ["w"]})
    with pytest.raises(ValueError, match="none given"):
        wald_explained_variation(b, v, ["x", "z"], {"w": []})
    with pytest.raises(ValueError, match="square"):
        wald_explained_variation(b, np.eye(3), ["x", "z"], {"x": ["x"]})
    with pytest.raises(ValueError, match="no REV"):
        wald_explained_variation(np.zeros(2), v, ["x", "z"], {"x": ["x"]})
