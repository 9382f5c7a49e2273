"""Linear mixed model with a random intercept per group (statsmodels ``MixedLM``, REML), in the
package's call shape, with t-free Wald inference as ``lme4::lmer`` reports it (estimates, SEs,
variance components) and linear combinations of the fixed effects for estimated means.

Pure functions (no I/O). Rows missing any column the model uses are dropped (complete cases);
the result reports the rows and groups analysed.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from imnm.stats.wald import check_confidence, complete_cases

OPTIMIZERS = ("lbfgs", "bfgs", "powell")
# Gradient norm the converged REML fit is polished to (lme4 agrees to about 1e-8 there).
POLISH_GTOL = 1e-10

__all__ = ["LinearCombination", "MixedFit", "linear_combination", "linear_mixed_model"]


@dataclass(frozen=True)
class MixedFit:
    """A random-intercept linear mixed model: fixed effects (``terms``: term, estimate, se,
    ci_low, ci_high, p_value), their covariance, the variance components and the fit."""

    terms: pd.DataFrame
    covariance: pd.DataFrame
    group_variance: float
    residual_variance: float
    loglik: float  # REML log-likelihood
    n_obs: int
    n_groups: int
    converged: bool
    confidence: float


@dataclass(frozen=True)
class LinearCombination:
    """c'beta with its Wald SE and CI."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float


def linear_mixed_model(data: pd.DataFrame, outcome_col: str, predictor_cols: Sequence[str],
                       group_col: str, confidence: float = 0.95) -> MixedFit:
    """outcome ~ 1 + predictors + (1 | group), fitted by REML (lme4's default). Predictors
    are numeric design columns (the caller builds dummies); an intercept is added."""
    check_confidence(confidence)
    predictors = list(predictor_cols)
    rows = complete_cases(data, [outcome_col, *predictors, group_col])
    exog = sm.add_constant(rows[predictors].astype(float), has_constant="add")
    exog = exog.rename(columns={"const": "intercept"})
    rank = np.linalg.matrix_rank(exog.to_numpy())
    if rank < exog.shape[1]:
        raise ValueError(f"the design of {outcome_col} on {predictors} is rank deficient "
                         f"(rank {rank} < {exog.shape[1]} columns): a predictor is constant "
                         "or collinear in the complete rows")
    groups = rows[group_col].to_numpy()
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise ValueError("a random intercept needs at least 2 groups")
    model = sm.MixedLM(rows[outcome_col].astype(float).to_numpy(), exog, groups=groups)
    fit, converged = _fit_reml(model)
    names = list(exog.columns)
    estimate = np.asarray(fit.fe_params, dtype=float)
    group_variance = float(np.asarray(fit.cov_re)[0, 0])
    residual_variance = float(fit.scale)
    covariance = _fixed_covariance(exog.to_numpy(dtype=float), groups, group_variance,
                                   residual_variance)
    se = np.sqrt(np.diag(covariance))
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        p_value = 2.0 * stats.norm.sf(np.abs(estimate / se))
    terms = pd.DataFrame({"term": names, "estimate": estimate, "se": se,
                          "ci_low": estimate - z * se, "ci_high": estimate + z * se,
                          "p_value": p_value})
    return MixedFit(
        terms=terms, covariance=pd.DataFrame(covariance, index=names, columns=names),
        group_variance=group_variance, residual_variance=residual_variance,
        loglik=float(fit.llf), n_obs=len(rows), n_groups=n_groups, converged=converged,
        confidence=confidence)


def _fixed_covariance(x: np.ndarray, groups: np.ndarray, group_variance: float,
                      residual_variance: float) -> np.ndarray:
    """(X' V^-1 X)^-1 at the variance estimates, V = sigma^2 I + tau^2 J per group: the fixed
    effects' covariance as lme4's vcov() gives it (statsmodels' cov_params inverts the joint
    Hessian with the variance parameters; on the demo network's CK rows their SEs differed by up
    to 4e-4 relative)."""
    _, index, counts = np.unique(groups, return_inverse=True, return_counts=True)
    sums = np.zeros((len(counts), x.shape[1]))
    np.add.at(sums, index, x)
    shrink = group_variance / (residual_variance + counts * group_variance)
    # X_i' V_i^-1 X_i = (X_i'X_i - shrink_i s_i s_i') / sigma^2, s_i the column sums of X_i.
    information = (x.T @ x - (sums * shrink[:, None]).T @ sums) / residual_variance
    return np.linalg.inv(information)


def _fit_reml(model: sm.MixedLM) -> tuple[object, bool]:
    """REML by L-BFGS, then BFGS, then Powell: the first that converges without warning (a
    Hessian that L-BFGS finds singular, e.g. near a zero group variance, moves to the next),
    then polished by BFGS to a gradient of `POLISH_GTOL`."""
    last_error: Exception | None = None
    fit = None
    for method in OPTIMIZERS:
        fit, error = _fit_quietly(model, method)
        last_error = error or last_error
        if fit is not None and error is None:
            return _polished(model, fit), True
    if fit is None:
        raise ValueError(f"the mixed model could not be fitted: {last_error}")
    return fit, False


def _fit_quietly(model: sm.MixedLM, method: str, **kwargs: object
                 ) -> tuple[object | None, Exception | None]:
    """One REML fit; the error (a convergence warning counts as one) instead of raising."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            fit = model.fit(reml=True, method=method, **kwargs)
        except (np.linalg.LinAlgError, ValueError) as exc:
            return None, exc
    warned = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    if not fit.converged or warned:
        return fit, ConvergenceWarning(str(warned[0].message) if warned else "not converged")
    return fit, None


def _polished(model: sm.MixedLM, fit: object) -> object:
    """The fit continued by BFGS from where it stopped, kept when its REML criterion is no
    worse: L-BFGS's default tolerance stops short on outcomes in large units (on a percentage
    CK reduction it left the fixed effects 4e-5 from lme4's, at a criterion 5e-8 lower)."""
    polished, error = _fit_quietly(model, "bfgs", start_params=fit.params_object,
                                   gtol=POLISH_GTOL)
    if polished is None or error is not None or polished.llf < fit.llf:
        return fit
    return polished


def linear_combination(fit: MixedFit, weights: dict[str, float]) -> LinearCombination:
    """sum(weight * coefficient) over the named fixed effects, with its Wald SE and CI."""
    unknown = set(weights) - set(fit.terms["term"])
    if unknown:
        raise ValueError(f"terms not in the model: {sorted(unknown)}")
    names = list(fit.terms["term"])
    c = np.array([weights.get(name, 0.0) for name in names])
    estimate = float(c @ fit.terms["estimate"].to_numpy())
    se = float(np.sqrt(c @ fit.covariance.to_numpy() @ c))
    z = float(stats.norm.ppf(0.5 + fit.confidence / 2.0))
    return LinearCombination(estimate, se, estimate - z * se, estimate + z * se)
