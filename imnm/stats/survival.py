"""Time-to-event analyses: Cox hazard ratios and Kaplan-Meier curves with a log-rank test.

Pure functions over a pandas DataFrame (no I/O). Rows with a missing value in any
column an analysis uses are dropped (complete-case, as R's default ``na.omit``);
every result reports the ``n`` actually analysed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning
from lifelines.statistics import multivariate_logrank_test
from scipy import stats

__all__ = [
    "HazardRatio",
    "KaplanMeierCurve",
    "KaplanMeierResult",
    "cox_hazard_ratios",
    "kaplan_meier_by_group",
]

ConfType = Literal["log-log", "log", "plain"]

# lifelines' relative log-likelihood rule (and its Newton-decrement rule at the default
# precision) stop Newton-Raphson while the step is still ~1e-6, so the strict setting
# comes first and agrees with a fully converged R coxph to ~1e-9. If rounding noise keeps
# it from ever stopping, the looser one (still ~1e-6) is the fallback.
_COX_FIT_OPTIONS = (
    {"precision": 1e-20, "r_precision": 0.0, "max_steps": 100},
    {"precision": 1e-12, "r_precision": 0.0, "max_steps": 100},
)
# lifelines warnings (message prefixes) that mean the fit itself failed.
_COX_FAILURE_WARNINGS = (
    "Newton-Raphson failed to converge",
    "Newton-Raphson convergence completed",
)


@dataclass(frozen=True)
class HazardRatio:
    """One Cox model term: exp(coef), its Wald CI and Wald p, and the rows/events analysed."""

    term: str
    hazard_ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    n_events: int
    confidence: float = 0.95


@dataclass(frozen=True, eq=False)
class KaplanMeierCurve:
    """Kaplan-Meier step table for one group.

    ``table`` has one row per distinct observed time (event or censoring) with
    columns time, n_at_risk, n_events, n_censored, survival, ci_low, ci_high;
    the CI uses Greenwood's variance on the ``conf_type`` scale of the result.
    """

    group: Hashable
    n: int
    n_events: int
    table: pd.DataFrame


@dataclass(frozen=True, eq=False)
class KaplanMeierResult:
    """Kaplan-Meier curves per group and the log-rank test of equal survival across groups."""

    curves: tuple[KaplanMeierCurve, ...]
    logrank_chi2: float
    logrank_df: int
    logrank_p_value: float
    confidence: float = 0.95
    conf_type: ConfType = "log-log"

    def curve(self, group: Hashable) -> KaplanMeierCurve:
        """The curve of ``group``; KeyError if absent."""
        for c in self.curves:
            if c.group == group:
                return c
        raise KeyError(group)


# --------------------------------------------------------------------------- validation


def _complete_cases(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"column(s) not in data frame: {missing}")
    if len(set(columns)) != len(columns):
        raise ValueError(f"columns must be distinct, got {list(columns)}")
    out = df.loc[:, list(columns)].dropna()
    if out.empty:
        raise ValueError("no complete rows to analyse")
    return out


def _check_time_event(data: pd.DataFrame, duration_col: str, event_col: str) -> None:
    t = pd.to_numeric(data[duration_col], errors="coerce")
    if t.isna().any() or not np.isfinite(t.to_numpy(dtype=float)).all():
        raise ValueError(f"{duration_col!r} must be finite numbers")
    if (t < 0).any():
        raise ValueError(f"{duration_col!r} has negative durations")
    e = data[event_col]
    if not e.isin([0, 1, True, False]).all():
        found = sorted({str(v) for v in e[~e.isin([0, 1, True, False])]})[:5]
        raise ValueError(f"{event_col!r} must be 0/1 (1 = event), found {found}")
    if int(e.astype(int).sum()) == 0:
        raise ValueError(f"no events in {event_col!r}: nothing to estimate")


# --------------------------------------------------------------------------- Cox


def _fit_cox(data: pd.DataFrame, duration_col: str, event_col: str) -> CoxPHFitter:
    """Fit lifelines' Efron Cox model, raising ValueError if Newton-Raphson fails."""
    failure: Exception | None = None
    for options in _COX_FIT_OPTIONS:
        fitter = CoxPHFitter()
        try:
            with warnings.catch_warnings():
                for pattern in _COX_FAILURE_WARNINGS:
                    warnings.filterwarnings("error", message=pattern, category=ConvergenceWarning)
                fitter.fit(
                    data,
                    duration_col=duration_col,
                    event_col=event_col,
                    fit_options=dict(options),
                )
            return fitter
        except (ConvergenceError, ConvergenceWarning) as exc:
            failure = exc
    raise ValueError(
        f"Cox model did not converge (separation or collinear covariates?): {failure}"
    ) from failure


# Beyond e^50 a hazard ratio or its CI bound is a divergent fit, not an estimate.
_MAX_LOG_HR = 50.0


def cox_hazard_ratios(
    df: pd.DataFrame,
    duration_col: str,
    event_col: str,
    exposure_col: str,
    covariates: Sequence[str] = (),
    confidence: float = 0.95,
) -> list[HazardRatio]:
    """Cox proportional-hazards fit of the exposure (plus covariates), one HazardRatio per term.

    Efron ties (R ``coxph`` default), Wald CIs and p-values; exposure first, then
    covariates in the given order. Columns must be numeric (booleans become 0/1).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    terms = [exposure_col, *covariates]
    data = _complete_cases(df, [duration_col, event_col, *terms])
    _check_time_event(data, duration_col, event_col)
    for col in terms:
        if data[col].dtype == bool:
            data[col] = data[col].astype(int)
        if not pd.api.types.is_numeric_dtype(data[col]):
            raise ValueError(f"column {col!r} must be numeric or boolean, got {data[col].dtype}")
        if data[col].nunique() < 2:
            what = "exposure" if col == exposure_col else "covariate"
            raise ValueError(
                f"{what} {col!r} has a single level among the {len(data)} complete rows"
            )
    exposed = data[exposure_col]
    if exposed.nunique() == 2:
        levels_with_events = exposed[data[event_col].astype(bool)].nunique()
        if levels_with_events < 2:
            raise ValueError(
                f"all events fall in one level of exposure {exposure_col!r}: the hazard ratio "
                "is infinite or zero (monotone likelihood) and cannot be estimated"
            )
    data = data.astype(float)
    data[event_col] = data[event_col].astype(int)

    fitter = _fit_cox(data, duration_col, event_col)
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    n = int(len(data))
    n_events = int(data[event_col].sum())
    out: list[HazardRatio] = []
    for term in terms:
        coef = float(fitter.params_[term])
        se = float(fitter.standard_errors_[term])
        if not (math.isfinite(coef) and math.isfinite(se)) or abs(coef) + z * se > _MAX_LOG_HR:
            raise ValueError(
                f"the fit for {term!r} diverges (log hazard ratio {coef:.3g}, SE {se:.3g}): "
                "the data are (nearly) separated, so the hazard ratio cannot be estimated"
            )
        out.append(
            HazardRatio(
                term=term,
                hazard_ratio=math.exp(coef),
                ci_low=math.exp(coef - z * se),
                ci_high=math.exp(coef + z * se),
                p_value=float(2.0 * stats.norm.sf(abs(coef / se))),
                n=n,
                n_events=n_events,
                confidence=confidence,
            )
        )
    return out


# --------------------------------------------------------------------------- Kaplan-Meier


def _km_ci(
    surv: np.ndarray, se_log: np.ndarray, z: float, conf_type: ConfType
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise CI from S(t) and the Greenwood SE of log S(t), as R's survfit computes it."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "log":
            s = np.where(surv == 0, np.nan, surv)
            lo = np.exp(np.log(s) - z * se_log)
            hi = np.minimum(np.exp(np.log(s) + z * se_log), 1.0)
        elif conf_type == "log-log":
            s = np.where((surv == 0) | (surv == 1), np.nan, surv)
            shift = z * se_log / np.log(s)
            lo = np.exp(-np.exp(np.log(-np.log(s)) - shift))
            hi = np.exp(-np.exp(np.log(-np.log(s)) + shift))
        elif conf_type == "plain":
            lo = np.maximum(surv - z * se_log * surv, 0.0)
            hi = np.minimum(surv + z * se_log * surv, 1.0)
        else:
            raise ValueError(f"conf_type must be 'log-log', 'log' or 'plain', got {conf_type!r}")
    return lo, hi


def _km_curve(
    group: Hashable, t: np.ndarray, e: np.ndarray, z: float, conf_type: ConfType
) -> KaplanMeierCurve:
    kmf = KaplanMeierFitter().fit(t, event_observed=e)
    et = kmf.event_table
    et = et[(et["observed"] > 0) | (et["censored"] > 0)]
    times = et.index.to_numpy(dtype=float)
    n_risk = et["at_risk"].to_numpy(dtype=float)
    d = et["observed"].to_numpy(dtype=float)
    surv = kmf.survival_function_.iloc[:, 0].reindex(et.index).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0)
    se_log = np.sqrt(np.cumsum(terms))
    lo, hi = _km_ci(surv, se_log, z, conf_type)
    table = pd.DataFrame(
        {
            "time": times,
            "n_at_risk": n_risk.astype(int),
            "n_events": d.astype(int),
            "n_censored": et["censored"].to_numpy(dtype=int),
            "survival": surv,
            "ci_low": lo,
            "ci_high": hi,
        }
    )
    return KaplanMeierCurve(group=group, n=int(t.size), n_events=int(e.sum()), table=table)


def kaplan_meier_by_group(
    df: pd.DataFrame,
    duration_col: str,
    event_col: str,
    group_col: str,
    confidence: float = 0.95,
    conf_type: ConfType = "log-log",
) -> KaplanMeierResult:
    """Kaplan-Meier curve per level of ``group_col`` and the log-rank test across levels.

    Groups come out in sorted order. ``conf_type`` picks the CI scale as R's
    ``survfit(conf.type=...)``; the log-log CI is undefined (NaN) where S(t) is 1 or 0.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    if conf_type not in ("log-log", "log", "plain"):
        raise ValueError(f"conf_type must be 'log-log', 'log' or 'plain', got {conf_type!r}")
    data = _complete_cases(df, [duration_col, event_col, group_col])
    _check_time_event(data, duration_col, event_col)
    levels = sorted(data[group_col].unique())
    if len(levels) < 2:
        raise ValueError(f"{group_col!r} has a single level; a log-rank test needs two or more")
    t = data[duration_col].to_numpy(dtype=float)
    e = data[event_col].astype(int).to_numpy()
    g = data[group_col].to_numpy()
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    curves = tuple(_km_curve(lv, t[g == lv], e[g == lv], z, conf_type) for lv in levels)
    lr = multivariate_logrank_test(t, g, event_observed=e)
    return KaplanMeierResult(
        curves=curves,
        logrank_chi2=float(lr.test_statistic),
        logrank_df=int(lr.degrees_of_freedom),
        logrank_p_value=float(lr.p_value),
        confidence=confidence,
        conf_type=conf_type,
    )
