"""Time-to-event analyses: Cox hazard ratios and Kaplan-Meier curves with a log-rank test.

Pure functions over a pandas DataFrame (no I/O). Rows with a missing value in any
column an analysis uses are dropped (complete-case, as R's default ``na.omit``);
every result reports the ``n`` actually analysed.
"""

from __future__ import annotations

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

from imnm.stats.wald import MAX_LOG_RATIO, check_confidence, complete_cases, wald_ratio

__all__ = [
    "HazardRatio",
    "KaplanMeierCurve",
    "KaplanMeierResult",
    "PhTermTest",
    "PhTest",
    "cox_hazard_ratios",
    "kaplan_meier_by_group",
    "proportional_hazards_test",
]

ConfType = Literal["log-log", "log", "plain"]
TimeTransform = Literal["km", "rank", "identity", "log"]

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


@dataclass(frozen=True)
class PhTermTest:
    """Score test that one Cox term's effect does not change with (transformed) time."""

    term: str
    chi2: float
    df: int
    p_value: float


@dataclass(frozen=True)
class PhTest:
    """Proportional-hazards check of a Cox model: one score test per term and a global one.

    A small p-value is evidence that a hazard ratio drifts over follow-up, i.e. that
    the proportional-hazards assumption behind the Cox model does not hold.
    """

    terms: tuple[PhTermTest, ...]
    global_chi2: float
    global_df: int
    global_p_value: float
    n: int
    n_events: int
    transform: TimeTransform = "km"

    def term(self, name: str) -> PhTermTest:
        """The test of term ``name``; KeyError if the model has no such term."""
        for t in self.terms:
            if t.term == name:
                return t
        raise KeyError(name)


# --------------------------------------------------------------------------- validation


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


def _cox_frame(
    df: pd.DataFrame, duration_col: str, event_col: str, terms: Sequence[str]
) -> pd.DataFrame:
    """Complete, validated rows for a Cox fit (``terms[0]`` is the exposure), as floats."""
    data = complete_cases(df, [duration_col, event_col, *terms])
    _check_time_event(data, duration_col, event_col)
    for col in terms:
        if data[col].dtype == bool:
            data[col] = data[col].astype(int)
        if not pd.api.types.is_numeric_dtype(data[col]):
            raise ValueError(f"column {col!r} must be numeric or boolean, got {data[col].dtype}")
        if data[col].nunique() < 2:
            what = "exposure" if col == terms[0] else "covariate"
            raise ValueError(
                f"{what} {col!r} has a single level among the {len(data)} complete rows"
            )
    exposed = data[terms[0]]
    if exposed.nunique() == 2:
        levels_with_events = exposed[data[event_col].astype(bool)].nunique()
        if levels_with_events < 2:
            raise ValueError(
                f"all events fall in one level of exposure {terms[0]!r}: the hazard ratio "
                "is infinite or zero (monotone likelihood) and cannot be estimated"
            )
    data = data.astype(float)
    data[event_col] = data[event_col].astype(int)
    return data




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
    check_confidence(confidence)
    terms = [exposure_col, *covariates]
    data = _cox_frame(df, duration_col, event_col, terms)
    fitter = _fit_cox(data, duration_col, event_col)
    n = int(len(data))
    n_events = int(data[event_col].sum())
    out: list[HazardRatio] = []
    for term in terms:
        wald = wald_ratio(term, float(fitter.params_[term]),
                          float(fitter.standard_errors_[term]), confidence, "hazard ratio")
        out.append(HazardRatio(term=term, hazard_ratio=wald.ratio, ci_low=wald.ci_low,
                               ci_high=wald.ci_high, p_value=wald.p_value, n=n,
                               n_events=n_events, confidence=confidence))
    return out


# --------------------------------------------------------------------------- proportional hazards


def _time_transform(t: np.ndarray, e: np.ndarray, transform: TimeTransform) -> np.ndarray:
    """g(t) per row as R's cox.zph: for "km", 1 - S(t-) of the pooled Kaplan-Meier curve."""
    if transform == "identity":
        return t.copy()
    if transform == "rank":
        return stats.rankdata(t, method="average")
    if transform == "log":
        if (t <= 0).any():
            raise ValueError("transform='log' needs strictly positive durations")
        return np.log(t)
    times, inverse = np.unique(t, return_inverse=True)
    deaths = np.bincount(inverse, weights=e, minlength=times.size)
    at_risk = t.size - np.concatenate([[0], np.cumsum(np.bincount(inverse))[:-1]])
    surv_after = np.cumprod(1.0 - deaths / at_risk)
    surv_before = np.concatenate([[1.0], surv_after[:-1]])
    return 1.0 - surv_before[inverse]


def _zph_score(
    t: np.ndarray, e: np.ndarray, x: np.ndarray, beta: np.ndarray, g: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Score and 2p x 2p information of the model with added terms x*g(t), at (beta, 0).

    Efron ties, as survival's zph1.c: each of the d deaths at a time gets the risk set
    with the tied deaths' weight reduced by k/d, k = 0..d-1.
    """
    x = x - x.mean(axis=0)  # centring leaves the result unchanged and the sums stable
    risk = np.exp(x @ beta)
    order = np.argsort(t, kind="stable")
    t, e, x, risk, g = t[order], e[order], x[order], risk[order], g[order]
    rx = risk[:, None] * x
    rxx = rx[:, :, None] * x[:, None, :]

    def from_end(v: np.ndarray) -> np.ndarray:
        return np.cumsum(v[::-1], axis=0)[::-1]

    dead = np.flatnonzero(e == 1)
    dt = t[dead]
    first = np.searchsorted(t, dt, side="left")  # risk set of a death at dt: rows >= first
    tie_times, tie_idx, tie_n = np.unique(dt, return_inverse=True, return_counts=True)
    d = tie_n[tie_idx].astype(float)
    k = np.arange(dead.size) - np.searchsorted(dt, tie_times)[tie_idx]  # 0..d-1 within a tie
    frac = k / d

    def tied_sum(v: np.ndarray) -> np.ndarray:
        sums = np.zeros((tie_times.size, *v.shape[1:]))
        np.add.at(sums, tie_idx, v[dead])
        return sums[tie_idx]

    den = from_end(risk)[first] - frac * tied_sum(risk)
    a = from_end(rx)[first] - frac[:, None] * tied_sum(rx)
    c = from_end(rxx)[first] - frac[:, None, None] * tied_sum(rxx)
    mean = a / den[:, None]
    var = c / den[:, None, None] - mean[:, :, None] * mean[:, None, :]
    gd = g[dead]
    u_time = (gd[:, None] * (x[dead] - mean)).sum(axis=0)
    i11 = var.sum(axis=0)
    i12 = (gd[:, None, None] * var).sum(axis=0)
    i22 = (gd[:, None, None] ** 2 * var).sum(axis=0)
    imat = np.block([[i11, i12], [i12, i22]])
    return u_time, imat


def proportional_hazards_test(
    df: pd.DataFrame,
    duration_col: str,
    event_col: str,
    terms: Sequence[str],
    transform: TimeTransform = "km",
) -> PhTest:
    """Test of proportional hazards for an Efron Cox fit of ``terms``, as R survival >= 3.0.

    Reproduces ``cox.zph(coxph(Surv(t, e) ~ terms), transform=transform)``: the score test,
    with the full information matrix, of adding ``term * g(t)`` for each term (1 df) and for
    all terms at once (global). Complete cases, no strata or weights; ``terms[0]`` is checked
    like the exposure of ``cox_hazard_ratios``. Chi-squares and p-values agree with R 4.2.2 /
    survival 3.5-3 to ~1e-12 relative for a fully converged fit and ~1e-9 for R's default
    ``coxph.control()``; lifelines' ``proportional_hazard_test`` is the pre-3.0 approximation.
    """
    if transform not in ("km", "rank", "identity", "log"):
        raise ValueError(f"transform must be 'km', 'rank', 'identity' or 'log', got {transform!r}")
    terms = list(terms)
    if not terms:
        raise ValueError("at least one term is needed")
    data = _cox_frame(df, duration_col, event_col, terms)
    fitter = _fit_cox(data, duration_col, event_col)
    beta = fitter.params_[terms].to_numpy(dtype=float)
    if not np.isfinite(beta).all() or (np.abs(beta) > MAX_LOG_RATIO).any():
        raise ValueError(
            f"the Cox fit diverges (log hazard ratios {beta.round(3).tolist()}): the data are "
            "(nearly) separated, so proportional hazards cannot be tested"
        )
    t = data[duration_col].to_numpy(dtype=float)
    e = data[event_col].to_numpy(dtype=int)
    x = data[terms].to_numpy(dtype=float)
    g = _time_transform(t, e, transform)
    g = g - g[e == 1].mean()
    u_time, imat = _zph_score(t, e, x, beta, g)

    p = len(terms)

    def score_chi2(cols: list[int]) -> float:
        keep = [*range(p), *(p + j for j in cols)]
        u = np.concatenate([np.zeros(p), u_time[cols]])
        try:
            return float(u @ np.linalg.solve(imat[np.ix_(keep, keep)], u))
        except np.linalg.LinAlgError as exc:
            raise ValueError(f"singular information matrix for the PH test: {exc}") from exc

    chi2s = [score_chi2([j]) for j in range(p)]
    tests = tuple(
        PhTermTest(term=name, chi2=c, df=1, p_value=float(stats.chi2.sf(c, 1)))
        for name, c in zip(terms, chi2s, strict=True)
    )
    global_chi2 = score_chi2(list(range(p)))
    return PhTest(
        terms=tests,
        global_chi2=global_chi2,
        global_df=p,
        global_p_value=float(stats.chi2.sf(global_chi2, p)),
        n=int(len(data)),
        n_events=int(e.sum()),
        transform=transform,
    )


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
    data = complete_cases(df, [duration_col, event_col, group_col])
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
