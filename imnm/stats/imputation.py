"""Pooling one estimate over multiply imputed data sets by Rubin's rules.

The same numbers as R's ``mice::pool.scalar`` (rule "rubin1987"): the pooled estimate is the
mean of the imputations' estimates; its total variance adds the between-imputation variance,
inflated by 1 + 1/m, to the mean within-imputation variance; the degrees of freedom are
Barnard and Rubin's (1999) small-sample ones (the large-sample (m - 1) / lambda^2 when the
complete-data degrees of freedom are infinite), with lambda floored at 1e-4 as mice does.
`rubin_pool_vector` pools a whole coefficient vector and its covariance the same way (the
multivariate rules, for Wald tests of several coefficients at once).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from imnm.stats.wald import check_confidence, frame_columns

__all__ = ["PooledEstimate", "PooledVector", "rubin_pool", "rubin_pool_vector"]

# mice's floor on the fraction of variance due to missingness, which keeps the df finite.
LAMBDA_FLOOR = 1e-4


@dataclass(frozen=True)
class PooledEstimate:
    """One estimate pooled over m imputations, with its t-based confidence interval."""

    estimate: float  # qbar: mean of the imputations' estimates
    within_variance: float  # ubar: mean of their variances
    between_variance: float  # b: variance of the estimates (n - 1 denominator)
    total_variance: float  # t = ubar + (1 + 1/m) b
    df: float  # Barnard-Rubin degrees of freedom
    relative_increase_in_variance: float  # r = (1 + 1/m) b / ubar
    fraction_missing_information: float  # (r + 2 / (df + 3)) / (r + 1)
    ci_low: float
    ci_high: float
    p_value: float  # two-sided t test of estimate = 0 on df
    m: int
    confidence: float


def _barnard_rubin_df(m: int, between: float, total: float, df_complete: float) -> float:
    """Barnard-Rubin degrees of freedom, as ``mice:::barnard.rubin``."""
    lam = max((1.0 + 1.0 / m) * between / total, LAMBDA_FLOOR)
    df_old = (m - 1) / lam**2
    if math.isinf(df_complete):
        return df_old
    df_observed = (df_complete + 1.0) / (df_complete + 3.0) * df_complete * (1.0 - lam)
    return df_old * df_observed / (df_old + df_observed)


def rubin_pool(fits: pd.DataFrame, estimate_col: str, variance_col: str,
               df_complete: float = math.inf, confidence: float = 0.95) -> PooledEstimate:
    """Pool one row per imputation (its estimate and the estimate's variance, SE squared).

    `df_complete` is the complete-data degrees of freedom (n - k in ``pool.scalar``; infinite
    by default). An imputation without an estimate or variance is an error, not dropped:
    every imputation must have been fitted.
    """
    check_confidence(confidence)
    estimates, variances = (c.to_numpy(dtype=float, na_value=np.nan)
                            for c in frame_columns(fits, [estimate_col, variance_col]))
    m = int(estimates.size)
    if m < 2:
        raise ValueError(f"pooling needs at least 2 imputations, got {m}")
    if not (np.isfinite(estimates).all() and np.isfinite(variances).all()):
        raise ValueError("every imputation needs a finite estimate and variance")
    if (variances < 0).any():
        raise ValueError("variances must not be negative")
    if not df_complete > 0:
        raise ValueError(f"df_complete must be positive, got {df_complete!r}")
    qbar = float(estimates.mean())
    ubar = float(variances.mean())
    between = float(estimates.var(ddof=1))
    total = ubar + (1.0 + 1.0 / m) * between
    if total <= 0:
        raise ValueError("the estimates and their variances are all zero: nothing to pool")
    df = _barnard_rubin_df(m, between, total, df_complete)
    riv = (1.0 + 1.0 / m) * between / ubar if ubar > 0 else math.inf
    fmi = (riv + 2.0 / (df + 3.0)) / (riv + 1.0) if math.isfinite(riv) else 1.0
    se = math.sqrt(total)
    t_crit = float(stats.t.ppf(0.5 + confidence / 2.0, df))
    p_value = float(2.0 * stats.t.sf(abs(qbar) / se, df))
    return PooledEstimate(
        estimate=qbar, within_variance=ubar, between_variance=between, total_variance=total,
        df=df, relative_increase_in_variance=riv, fraction_missing_information=fmi,
        ci_low=qbar - t_crit * se, ci_high=qbar + t_crit * se, p_value=p_value, m=m,
        confidence=confidence)


@dataclass(frozen=True)
class PooledVector:
    """A coefficient vector pooled over m imputations with its total covariance."""

    estimate: np.ndarray  # (k,) mean of the imputations' vectors
    within_covariance: np.ndarray  # (k, k) mean of their covariances
    between_covariance: np.ndarray  # (k, k) covariance of the vectors (n - 1 denominator)
    total_covariance: np.ndarray  # ubar + (1 + 1/m) b
    m: int


def rubin_pool_vector(estimates: np.ndarray, covariances: np.ndarray) -> PooledVector:
    """Pool (m, k) coefficient vectors and their (m, k, k) covariances by Rubin's rules; the
    diagonal of the total covariance is `rubin_pool`'s total variance term by term."""
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(covariances, dtype=float)
    if q.ndim != 2 or u.shape != (q.shape[0], q.shape[1], q.shape[1]):
        raise ValueError(f"need (m, k) estimates and (m, k, k) covariances, got {q.shape} "
                         f"and {u.shape}")
    m = q.shape[0]
    if m < 2:
        raise ValueError(f"pooling needs at least 2 imputations, got {m}")
    if not (np.isfinite(q).all() and np.isfinite(u).all()):
        raise ValueError("every imputation needs finite estimates and covariances")
    ubar = u.mean(axis=0)
    between = np.atleast_2d(np.cov(q, rowvar=False, ddof=1))
    return PooledVector(estimate=q.mean(axis=0), within_covariance=ubar,
                        between_covariance=between,
                        total_covariance=ubar + (1.0 + 1.0 / m) * between, m=m)
