"""Regression summaries: logistic odds ratios with Wald inference, and a straight-line trend.

Pure functions (no I/O). Rows with a missing value in any column an analysis uses are
dropped (complete-case, as R's default ``na.omit``); every result reports the ``n`` analysed.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from imnm.stats.wald import check_confidence, complete_cases, frame_columns, wald_ratio

__all__ = ["LinearTrend", "OddsRatioTerm", "linear_trend", "logistic_odds_ratios"]



@dataclass(frozen=True)
class OddsRatioTerm:
    """One logistic-model term: exp(coef), its Wald CI and Wald p, and the rows/events used."""

    term: str
    odds_ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    n_events: int
    confidence: float = 0.95


@dataclass(frozen=True)
class LinearTrend:
    """OLS line ``y = intercept + slope * x`` with a t-based slope CI and Pearson's r.

    ``p_value`` tests slope = 0, which is the same test as r = 0 (R's ``cor.test``).
    """

    slope: float
    slope_ci_low: float
    slope_ci_high: float
    intercept: float
    pearson_r: float
    p_value: float
    n: int
    confidence: float = 0.95


def _numeric(data: pd.DataFrame, col: str) -> pd.Series:
    s = data[col].infer_objects()
    if s.dtype == bool or isinstance(s.dtype, pd.BooleanDtype):
        return s.astype(int)
    if not pd.api.types.is_numeric_dtype(s):
        raise ValueError(f"column {col!r} must be numeric or boolean, got {s.dtype}")
    return s.astype(float)


def _check_outcome(y: pd.Series, outcome_col: str) -> None:
    if not y.isin([0, 1]).all():
        found = sorted({float(v) for v in y[~y.isin([0, 1])]})[:5]
        raise ValueError(f"outcome {outcome_col!r} must be 0/1 or boolean, found {found}")
    n_events = int(y.sum())
    if n_events in (0, len(y)):
        level = "1 (event)" if n_events else "0 (no event)"
        raise ValueError(
            f"outcome {outcome_col!r} has a single level: all {len(y)} complete rows are {level}"
        )


def _check_separation(x: pd.Series, y: pd.Series, name: str) -> None:
    """Raise if a binary predictor has a level in which the outcome never varies."""
    levels = sorted(x.unique())
    if len(levels) != 2:
        return
    for level in levels:
        in_level = y[x == level]
        if in_level.nunique() == 1:
            raise ValueError(
                f"outcome is always {int(in_level.iloc[0])} when {name!r} = {level:g}: the odds "
                "ratio is infinite or zero (separation) and cannot be estimated"
            )


def _fit_logit(y: pd.Series, design: pd.DataFrame) -> sm.discrete.discrete_model.BinaryResults:
    """Newton-Raphson MLE to a tight tolerance; ValueError if it fails or does not converge."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PerfectSeparationWarning)
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = sm.Logit(y, design).fit(method="newton", maxiter=100, tol=1e-12, disp=0)
    except (PerfectSeparationError, PerfectSeparationWarning) as exc:
        raise ValueError(f"logistic model is perfectly separated: {exc}") from exc
    except np.linalg.LinAlgError as exc:
        raise ValueError(f"logistic model is singular (collinear predictors?): {exc}") from exc
    if not result.mle_retvals.get("converged", False):
        raise ValueError(
            "logistic model did not converge in 100 Newton steps (separation or collinear "
            "predictors?)"
        )
    return result


def logistic_odds_ratios(
    df: pd.DataFrame,
    outcome_col: str,
    exposure_col: str,
    covariates: Sequence[str] = (),
    confidence: float = 0.95,
) -> list[OddsRatioTerm]:
    """Logistic regression of a 0/1 outcome on the exposure (plus covariates), one OR per term.

    Maximum likelihood with an intercept; Wald CI ``exp(coef +/- z*se)`` as R's
    ``confint.default(glm(..., binomial))`` and Wald z p as ``summary(glm)``. Exposure first,
    then covariates in order. Booleans count as 0/1.
    """
    check_confidence(confidence)
    terms = [exposure_col, *covariates]
    data = complete_cases(df, [outcome_col, *terms])
    y = _numeric(data, outcome_col)
    _check_outcome(y, outcome_col)
    design = pd.DataFrame({col: _numeric(data, col) for col in terms}, index=data.index)
    for col in terms:
        if design[col].nunique() < 2:
            what = "exposure" if col == exposure_col else "covariate"
            raise ValueError(
                f"{what} {col!r} has a single level among the {len(data)} complete rows"
            )
        _check_separation(design[col], y, col)
    result = _fit_logit(y.astype(float), sm.add_constant(design.astype(float), prepend=True))
    n, n_events = int(len(y)), int(y.sum())
    out: list[OddsRatioTerm] = []
    for term in terms:
        wald = wald_ratio(term, float(result.params[term]), float(result.bse[term]),
                          confidence, "odds ratio")
        out.append(OddsRatioTerm(term=term, odds_ratio=wald.ratio, ci_low=wald.ci_low,
                                 ci_high=wald.ci_high, p_value=wald.p_value, n=n,
                                 n_events=n_events, confidence=confidence))
    return out


def linear_trend(data: pd.DataFrame, x_col: str, y_col: str,
                 confidence: float = 0.95) -> LinearTrend:
    """Least-squares line of ``y_col`` on ``x_col`` over the rows where both are present.

    Same numbers as R's ``lm(y ~ x)`` with ``confint`` (t on n - 2 df) and ``cor.test(x, y)``.
    """
    check_confidence(confidence)
    x, y = frame_columns(data, [x_col, y_col])
    xv = x.to_numpy(dtype=float, na_value=np.nan)
    yv = y.to_numpy(dtype=float, na_value=np.nan)
    keep = ~(np.isnan(xv) | np.isnan(yv))
    xv, yv = xv[keep], yv[keep]
    n = int(xv.size)
    if n < 3:
        raise ValueError(f"a trend needs at least 3 complete ({x_col}, {y_col}) pairs, got {n}")
    if not (np.isfinite(xv).all() and np.isfinite(yv).all()):
        raise ValueError(f"{x_col} and {y_col} must be finite")
    for name, v in ((x_col, xv), (y_col, yv)):
        if np.ptp(v) == 0:
            raise ValueError(f"{name} is constant ({v[0]:g}) over the {n} complete pairs")
    fit = stats.linregress(xv, yv)
    t = float(stats.t.ppf(0.5 + confidence / 2.0, n - 2))
    slope, se = float(fit.slope), float(fit.stderr)
    return LinearTrend(
        slope=slope,
        slope_ci_low=slope - t * se,
        slope_ci_high=slope + t * se,
        intercept=float(fit.intercept),
        pearson_r=float(fit.rvalue),
        p_value=float(fit.pvalue),
        n=n,
        confidence=confidence,
    )
