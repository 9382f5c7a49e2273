"""Bayesian proportional-odds (cumulative-logit) models with a patient random intercept.

The model of Harrell's ``rmsb::blrm`` (reproduced, not the package), in the parameterisation of
R's ``ordinal::clmm`` and ``MASS::polr``::

    logit P(Y <= k | x, u) = theta_k - x'beta - u,   u ~ Normal(0, sd^2) per group

for an outcome coded 0..K-1. Priors (`BayesPriors`): the intercepts come from cell probabilities
pi ~ Dirichlet(c, ..., c) at the predictors' means and u = 0 (blrm's construction;
c = 1 / (0.8 + 0.35 max(K, 3)) unless stated), theta_k = logit(pi_0 + ... + pi_k) + xbar'beta;
each coefficient Normal(0, 100) (blrm's ``priorsd``) or Student-t; the random-intercept SD
half-t with 4 degrees of freedom and scale 1 (or exponential). NumPyro's NUTS in float64, each
chain on a CPU device of its own, draws from the posterior (`imnm.stats.bayes_engine`); ArviZ
gives R-hat, bulk and tail ESS and the highest-density intervals (the same numbers as
bayestestR's ``hdi``). Summaries per coefficient: posterior mean, SD, HDI and probability of
direction; the posterior mean outcome for covariate rows; the relative explained variation of
each term (``rms::anova`` on a Bayesian fit). Fits of several imputations pool by stacking
their draws (`stack_fits`), their convergence still checked imputation by imputation.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from imnm.stats.wald import check_confidence, frame_columns, term_positions

__all__ = [
    "BayesDiagnostics",
    "BayesFit",
    "BayesPriors",
    "SamplingSettings",
    "continue_draws",
    "direction_label",
    "fit_cumulative_logit_bayes",
    "hdi",
    "p_direction",
    "sampling_for_ess_target",
    "short_of_draws",
    "stack_fits",
]

# The paper's wording for the probability of direction, strongest first (pd above the bound).
DIRECTION_LABELS: tuple[tuple[float, str], ...] = (
    (0.999, "certain"), (0.99, "probable"), (0.97, "likely"), (0.95, "possible"))


@dataclass(frozen=True)
class BayesPriors:
    """The stated priors: coefficients, Dirichlet intercepts, random-intercept SD."""

    coef_family: Literal["normal", "student_t"] = "normal"
    coef_scale: float = 100.0  # SD of the normal (blrm's priorsd), or the t's scale
    coef_df: float = 3.0  # Student-t degrees of freedom (coef_family "student_t" only)
    # Dirichlet concentration per category; None: blrm's 1 / (0.8 + 0.35 max(K, 3)).
    dirichlet_concentration: float | None = None
    random_sd_family: Literal["half_t", "exponential"] = "half_t"
    random_sd_scale: float = 1.0  # half-t scale, or the exponential's mean
    random_sd_df: float = 4.0  # half-t degrees of freedom

    def __post_init__(self) -> None:
        """Refuse a family not offered or a non-positive scale."""
        if self.coef_family not in ("normal", "student_t"):
            raise ValueError(f"coef_family must be 'normal' or 'student_t', got "
                             f"{self.coef_family!r}")
        if self.random_sd_family not in ("half_t", "exponential"):
            raise ValueError(f"random_sd_family must be 'half_t' or 'exponential', got "
                             f"{self.random_sd_family!r}")
        for name in ("coef_scale", "coef_df", "random_sd_scale", "random_sd_df"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.dirichlet_concentration is not None and not self.dirichlet_concentration > 0:
            raise ValueError("dirichlet_concentration must be positive or None, got "
                             f"{self.dirichlet_concentration!r}")

    def concentration(self, n_categories: int) -> float:
        """The Dirichlet concentration for `n_categories` cells (blrm's rule unless stated)."""
        if self.dirichlet_concentration is not None:
            return float(self.dirichlet_concentration)
        return 1.0 / (0.8 + 0.35 * max(n_categories, 3))

    def as_dict(self) -> dict[str, Any]:
        """The priors as plain values (config and report)."""
        return asdict(self)


@dataclass(frozen=True)
class SamplingSettings:
    """NUTS settings, and the convergence bar a fit must clear."""

    chains: int = 4
    warmup: int = 1000
    draws: int = 1000  # per chain, after warmup
    seed: int = 20260311
    target_accept: float = 0.9
    max_tree_depth: int = 10
    ess_target: int = 400  # bulk and tail ESS each parameter must reach
    rhat_max: float = 1.01
    # None: `draws` draws. Else a fit short of its ESS or R-hat bar (and nothing worse) goes on
    # sampling, without a new warm-up, in steps of half `draws` sized by the ESS it reached,
    # up to this many draws per chain (`continue_draws`).
    max_draws: int | None = None

    def __post_init__(self) -> None:
        """Refuse settings NUTS cannot run or diagnose."""
        if self.chains < 2:
            raise ValueError(f"chains must be at least 2 (R-hat compares chains), got "
                             f"{self.chains}")
        if self.warmup < 1 or self.draws < 4:
            raise ValueError(f"warmup must be >= 1 and draws >= 4, got {self.warmup}, "
                             f"{self.draws}")
        if not 0.0 < self.target_accept < 1.0:
            raise ValueError(f"target_accept must lie in (0, 1), got {self.target_accept}")
        if self.max_draws is not None and self.max_draws < self.draws:
            raise ValueError(f"max_draws must be at least draws ({self.draws}), got "
                             f"{self.max_draws}")

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain values (config and report)."""
        return asdict(self)


@dataclass(frozen=True)
class BayesDiagnostics:
    """Convergence per fit and parameter, with the verdict and its reasons."""

    table: pd.DataFrame  # fit, parameter, rhat, ess_bulk, ess_tail
    divergences: int  # over all fits
    divergences_per_fit: tuple[int, ...]
    passed: bool
    reasons: tuple[str, ...]  # why not passed; empty when passed


def hdi(draws: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Highest-density interval of one parameter's draws (ArviZ, as bayestestR's ``hdi``)."""
    check_confidence(confidence)
    az = _arviz()
    low, high = az.hdi(np.asarray(draws, dtype=np.float64).ravel(), hdi_prob=confidence)
    return float(low), float(high)


def p_direction(draws: np.ndarray) -> float:
    """Probability of direction, max(P(b > 0), P(b < 0)) over the draws."""
    flat = np.asarray(draws, dtype=np.float64).ravel()
    return float(max(np.mean(flat > 0), np.mean(flat < 0)))


def direction_label(pd_value: float) -> str:
    """The paper's label for a probability of direction."""
    for bound, label in DIRECTION_LABELS:
        if pd_value > bound:
            return label
    return "uncertain"


@dataclass(frozen=True, eq=False)
class BayesFit:
    """Posterior draws (chains x draws) of one cumulative-logit fit, or of stacked fits."""

    coef_names: tuple[str, ...]
    coef_draws: np.ndarray  # (chains, draws, p)
    threshold_draws: np.ndarray  # (chains, draws, K-1): theta_k, logit P(Y <= k) at x = 0
    random_sd_draws: np.ndarray | None  # (chains, draws); None without a random intercept
    diverging: np.ndarray  # (chains, draws) bool
    chain_fit: np.ndarray  # (chains,) int: which stacked fit each chain came from
    predictor_means: np.ndarray  # (p,) the centring of the Dirichlet prior
    group_col: str | None
    n_obs: int
    n_groups: int
    priors: BayesPriors
    sampling: SamplingSettings

    @property
    def n_categories(self) -> int:
        """K, the number of ordered outcome categories."""
        return self.threshold_draws.shape[-1] + 1

    @property
    def n_fits(self) -> int:
        """How many fits were stacked into this one (1 unless `stack_fits`)."""
        return int(self.chain_fit.max()) + 1

    def threshold_names(self) -> list[str]:
        """Names of the thresholds: theta[k] is logit P(Y <= k) at x = 0, u = 0."""
        return [f"theta[{k}]" for k in range(self.n_categories - 1)]

    def random_sd_name(self) -> str:
        """Name of the random-intercept SD."""
        return f"sd({self.group_col})"

    def _parameters(self) -> dict[str, np.ndarray]:
        """Every reported parameter's draws, (chains, draws) each."""
        params = {name: self.coef_draws[..., j] for j, name in enumerate(self.coef_names)}
        if self.random_sd_draws is not None:
            params[self.random_sd_name()] = self.random_sd_draws
        params.update({name: self.threshold_draws[..., k]
                       for k, name in enumerate(self.threshold_names())})
        return params

    def diagnostics(self) -> BayesDiagnostics:
        """R-hat, bulk and tail ESS per parameter and fit (ArviZ), divergences, verdict;
        computed once per fit (about 0.7 s for a CK fit's 300 parameters), the draws being
        fixed."""
        known = self.__dict__.get("_diagnostics")
        if known is None:
            known = self._computed_diagnostics()
            object.__setattr__(self, "_diagnostics", known)
        return known

    def _computed_diagnostics(self) -> BayesDiagnostics:
        az = _arviz()
        rows = []
        per_fit = []
        for fit in range(self.n_fits):
            chains = self.chain_fit == fit
            arrays = {"coef": self.coef_draws[chains]}
            if self.random_sd_draws is not None:
                arrays["sd"] = self.random_sd_draws[chains]
            arrays["theta"] = self.threshold_draws[chains]
            data = az.convert_to_dataset(arrays)
            with np.errstate(invalid="ignore", divide="ignore"):  # a stuck chain gives NaN
                rhat, bulk, tail = (az.rhat(data), az.ess(data, method="bulk"),
                                    az.ess(data, method="tail"))
            names = {"coef": list(self.coef_names), "theta": self.threshold_names(),
                     "sd": [self.random_sd_name()]}
            for var in arrays:
                values = [np.atleast_1d(np.asarray(stat[var])) for stat in (rhat, bulk, tail)]
                rows += [{"fit": fit, "parameter": name, "rhat": float(values[0][i]),
                          "ess_bulk": float(values[1][i]), "ess_tail": float(values[2][i])}
                         for i, name in enumerate(names[var])]
            per_fit.append(int(self.diverging[chains].sum()))
        table = pd.DataFrame(rows, columns=["fit", "parameter", "rhat", "ess_bulk", "ess_tail"])
        reasons = _failures(table, per_fit, self.sampling)
        return BayesDiagnostics(table=table, divergences=sum(per_fit),
                                divergences_per_fit=tuple(per_fit), passed=not reasons,
                                reasons=tuple(reasons))

    def summary(self, confidence: float = 0.95, include_thresholds: bool = False,
                include_random_sd: bool = False) -> pd.DataFrame:
        """Per coefficient: posterior mean and SD, HDI, probability of direction, its label."""
        check_confidence(confidence)
        params = {name: self.coef_draws[..., j] for j, name in enumerate(self.coef_names)}
        if include_random_sd and self.random_sd_draws is not None:
            params[self.random_sd_name()] = self.random_sd_draws
        if include_thresholds:
            params.update({name: self.threshold_draws[..., k]
                           for k, name in enumerate(self.threshold_names())})
        rows = []
        for name, draws in params.items():
            low, high = hdi(draws, confidence)
            pd_value = p_direction(draws)
            rows.append({"term": name, "posterior_mean": float(np.mean(draws)),
                         "posterior_sd": float(np.std(draws, ddof=1)), "hdi_low": low,
                         "hdi_high": high, "p_direction": pd_value,
                         "direction_label": direction_label(pd_value)})
        return pd.DataFrame(rows)

    def mean_outcome(self, x_rows: pd.DataFrame, category_values: Sequence[float],
                     confidence: float = 0.95) -> pd.DataFrame:
        """Per covariate row: posterior mean and HDI of E[value of Y | x, u = 0]."""
        check_confidence(confidence)
        values = np.asarray(category_values, dtype=np.float64)
        if values.shape != (self.n_categories,):
            raise ValueError(f"category_values must give one value per category "
                             f"({self.n_categories}), got {values.shape}")
        x = np.column_stack([np.asarray(col, dtype=np.float64)
                             for col in frame_columns(x_rows, list(self.coef_names))])
        if not np.all(np.isfinite(x)):
            raise ValueError("x_rows must have every predictor present and finite")
        beta = self.coef_draws.reshape(-1, len(self.coef_names))
        theta = self.threshold_draws.reshape(-1, self.n_categories - 1)
        steps = np.diff(values)  # E[Y] = v_{K-1} - sum_k F_k (v_{k+1} - v_k)
        rows = []
        for i, index in enumerate(x_rows.index):
            eta = beta @ x[i]
            cumulative = _expit(theta - eta[:, None])
            means = values[-1] - cumulative @ steps
            low, high = hdi(means, confidence)
            rows.append({"row": index, "posterior_mean": float(means.mean()),
                         "posterior_sd": float(means.std(ddof=1)), "hdi_low": low,
                         "hdi_high": high})
        return pd.DataFrame(rows)

    def relative_explained_variation(self, term_columns: Mapping[str, Sequence[str]],
                                     confidence: float = 0.95) -> pd.DataFrame:
        """Per term, over draws: REV = b_j' V_j^-1 b_j / b' V^-1 b (V: posterior covariance)."""
        check_confidence(confidence)
        positions = term_positions(self.coef_names, term_columns)
        beta = self.coef_draws.reshape(-1, len(self.coef_names))
        cov = np.atleast_2d(np.cov(beta, rowvar=False))
        total = np.einsum("si,ij,sj->s", beta, np.linalg.inv(cov), beta)
        rows = []
        for term, cols in positions.items():
            b = beta[:, cols]
            block = np.linalg.inv(cov[np.ix_(cols, cols)])
            rev = np.einsum("si,ij,sj->s", b, block, b) / total
            low, high = hdi(rev, confidence)
            rows.append({"term": term, "rev_mean": float(rev.mean()),
                         "rev_median": float(np.median(rev)), "hdi_low": low,
                         "hdi_high": high})
        return pd.DataFrame(rows)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fit as plain numpy arrays (no objects), for ``np.savez`` and `from_arrays`."""
        meta = {"coef_names": list(self.coef_names), "group_col": self.group_col,
                "n_obs": self.n_obs, "n_groups": self.n_groups,
                "priors": self.priors.as_dict(), "sampling": self.sampling.as_dict()}
        arrays = {"coef_draws": self.coef_draws, "threshold_draws": self.threshold_draws,
                  "diverging": self.diverging, "chain_fit": self.chain_fit,
                  "predictor_means": self.predictor_means,
                  "meta_json": np.array(json.dumps(meta, sort_keys=True))}
        if self.random_sd_draws is not None:
            arrays["random_sd_draws"] = self.random_sd_draws
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> BayesFit:
        """The fit `to_arrays` gave (or ``np.load`` of its ``np.savez``)."""
        meta = json.loads(str(np.asarray(arrays["meta_json"])))
        sd = arrays.get("random_sd_draws")
        return cls(coef_names=tuple(meta["coef_names"]),
                   coef_draws=np.asarray(arrays["coef_draws"], dtype=np.float64),
                   threshold_draws=np.asarray(arrays["threshold_draws"], dtype=np.float64),
                   random_sd_draws=None if sd is None else np.asarray(sd, dtype=np.float64),
                   diverging=np.asarray(arrays["diverging"], dtype=bool),
                   chain_fit=np.asarray(arrays["chain_fit"], dtype=np.int64),
                   predictor_means=np.asarray(arrays["predictor_means"], dtype=np.float64),
                   group_col=meta["group_col"], n_obs=int(meta["n_obs"]),
                   n_groups=int(meta["n_groups"]), priors=BayesPriors(**meta["priors"]),
                   sampling=SamplingSettings(**meta["sampling"]))


def fit_cumulative_logit_bayes(data: pd.DataFrame, outcome_col: str,
                               predictor_cols: Sequence[str], group_col: str | None,
                               priors: BayesPriors | None = None,
                               sampling: SamplingSettings | None = None) -> BayesFit:
    """Posterior draws of logit P(Y <= k | x, u) = theta_k - x'beta - u (NUTS, float64).

    `outcome_col` holds codes 0..K-1 (the caller keeps the value of each code; K is the largest
    code + 1), `predictor_cols` numeric columns (dummies built by the caller), `group_col` the
    patient id of the random intercept, or None for none. Rows must be complete: a missing or
    non-finite value is an error, not dropped. Same seed, same rows: identical draws.
    """
    from imnm.stats.bayes_engine import EngineDraws, EngineInput, run_nuts

    priors = priors or BayesPriors()
    sampling = sampling or SamplingSettings()
    predictor_cols = list(predictor_cols)
    if not predictor_cols:
        raise ValueError("at least one predictor column is needed")
    roles = [outcome_col, *predictor_cols] + ([group_col] if group_col is not None else [])
    columns = frame_columns(data, roles)
    if len(data) == 0:
        raise ValueError("no rows to fit")
    y_raw = columns[0].to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.all(np.isfinite(y_raw)) or np.any(y_raw != np.round(y_raw)) or y_raw.min() < 0:
        raise ValueError(f"{outcome_col!r} must hold integer codes 0..K-1 with none missing")
    y = y_raw.astype(np.int64)
    n_categories = int(y.max()) + 1
    if n_categories < 2:
        raise ValueError(f"{outcome_col!r} needs at least 2 categories, got {n_categories}")
    x = np.column_stack([c.to_numpy(dtype=np.float64, na_value=np.nan)
                         for c in columns[1:1 + len(predictor_cols)]])
    if not np.all(np.isfinite(x)):
        raise ValueError(f"predictors must be present and finite: {predictor_cols}")
    group = None
    n_groups = 0
    if group_col is not None:
        if columns[-1].isna().any():
            raise ValueError(f"{group_col!r} must be present on every row")
        codes, uniques = pd.factorize(columns[-1], sort=True)
        group, n_groups = codes.astype(np.int64), len(uniques)
    means = x.mean(axis=0)

    def as_fit(draws: EngineDraws) -> BayesFit:
        # Back from the centred predictors: theta_k = theta_c,k + xbar'beta.
        thresholds = draws.theta_centered + (draws.coef @ means)[..., None]
        return BayesFit(coef_names=tuple(predictor_cols), coef_draws=draws.coef,
                        threshold_draws=thresholds, random_sd_draws=draws.random_sd,
                        diverging=draws.diverging,
                        chain_fit=np.zeros(sampling.chains, dtype=np.int64),
                        predictor_means=means, group_col=group_col, n_obs=len(y),
                        n_groups=n_groups, priors=priors,
                        sampling=replace(sampling, draws=draws.coef.shape[1]))

    draws = run_nuts(EngineInput(
        x_centered=x - means, y=y, group=group, n_groups=n_groups,
        concentration=np.full(n_categories, priors.concentration(n_categories)),
        coef_family=priors.coef_family, coef_scale=priors.coef_scale, coef_df=priors.coef_df,
        sd_family=priors.random_sd_family, sd_scale=priors.random_sd_scale,
        sd_df=priors.random_sd_df, chains=sampling.chains, warmup=sampling.warmup,
        draws=sampling.draws, seed=sampling.seed, target_accept=sampling.target_accept,
        max_tree_depth=sampling.max_tree_depth),
        more_draws=None if sampling.max_draws is None
        else lambda so_far: continue_draws(as_fit(so_far), sampling))
    return as_fit(draws)


def short_of_draws(diagnostics: BayesDiagnostics) -> bool:
    """Failed on R-hat or ESS only, every value finite and no divergence: more draws of the
    same sampler are the remedy (a divergence or a stuck chain is not)."""
    table = diagnostics.table
    finite = bool(np.isfinite(table[["rhat", "ess_bulk", "ess_tail"]].to_numpy()).all())
    return not diagnostics.passed and diagnostics.divergences == 0 and finite


def continue_draws(fit: BayesFit, sampling: SamplingSettings) -> int:
    """How many more draws per chain a fit needs: 0 when it passes, is not merely short of
    draws, or has `sampling.max_draws`; else what its weakest ESS says would reach the target,
    in whole steps of half `sampling.draws`, capped at max_draws."""
    have = fit.sampling.draws
    if sampling.max_draws is None or have >= sampling.max_draws:
        return 0
    if not short_of_draws(fit.diagnostics()):
        return 0
    step = max(sampling.draws // 2, 1)
    wanted = sampling_for_ess_target(fit, fit.sampling).draws - have
    steps = max(1, math.ceil(wanted / step))
    return min(steps * step, sampling.max_draws - have)


def stack_fits(fits: Sequence[BayesFit]) -> BayesFit:
    """Pool imputations by stacking their draws; `diagnostics` still checks fit by fit."""
    if len(fits) < 1:
        raise ValueError("stack_fits needs at least one fit")
    first = fits[0]
    for fit in fits[1:]:
        same = (fit.coef_names == first.coef_names
                and fit.n_categories == first.n_categories
                and (fit.random_sd_draws is None) == (first.random_sd_draws is None)
                and fit.coef_draws.shape[1] == first.coef_draws.shape[1])
        if not same:
            raise ValueError("fits to stack must share coefficients, categories, random "
                             "intercept and draws per chain")
    offsets = np.cumsum([0] + [fit.n_fits for fit in fits[:-1]])
    sds = [fit.random_sd_draws for fit in fits]
    return replace(
        first,
        coef_draws=np.concatenate([fit.coef_draws for fit in fits]),
        threshold_draws=np.concatenate([fit.threshold_draws for fit in fits]),
        random_sd_draws=None if sds[0] is None else np.concatenate(sds),
        diverging=np.concatenate([fit.diverging for fit in fits]),
        chain_fit=np.concatenate([fit.chain_fit + off for fit, off in zip(fits, offsets,
                                                                          strict=True)]),
        predictor_means=np.mean([fit.predictor_means for fit in fits], axis=0),
        n_obs=sum(fit.n_obs for fit in fits), n_groups=max(fit.n_groups for fit in fits))


def sampling_for_ess_target(fit: BayesFit, sampling: SamplingSettings | None = None,
                            margin: float = 1.2) -> SamplingSettings:
    """Settings with draws per chain scaled so the weakest ESS would reach the target (no
    continuation: those are the draws)."""
    sampling = sampling or fit.sampling
    table = fit.diagnostics().table
    weakest = float(min(table["ess_bulk"].min(), table["ess_tail"].min()))
    per_draw = weakest / (fit.sampling.draws * fit.sampling.chains)
    needed = sampling.ess_target * margin / max(per_draw, 1e-9) / sampling.chains
    return replace(sampling, draws=max(sampling.draws // 4, math.ceil(needed)), max_draws=None)


def _failures(table: pd.DataFrame, per_fit: Sequence[int],
              sampling: SamplingSettings) -> list[str]:
    """Why a fit does not pass: R-hat, bulk or tail ESS (NaN counts as failing), divergences."""
    reasons = []
    checks = (("R-hat", "rhat", "above", sampling.rhat_max),
              ("bulk ESS", "ess_bulk", "below", sampling.ess_target),
              ("tail ESS", "ess_tail", "below", sampling.ess_target))
    for fit, rows in table.groupby("fit", sort=True):
        where = f"fit {fit}: " if len(per_fit) > 1 else ""
        for label, column, side, bar in checks:
            values = rows[column]
            bad = values.isna() | (values > bar if side == "above" else values < bar)
            if bad.any():
                names = rows.loc[bad, "parameter"].tolist()
                shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more"
                                                if len(names) > 5 else "")
                reasons.append(f"{where}{label} {side} {bar} for {shown}")
        if per_fit[int(fit)]:
            reasons.append(f"{where}{per_fit[int(fit)]} divergent transition(s)")
    return reasons


def _expit(z: np.ndarray) -> np.ndarray:
    """Logistic function, overflow-free."""
    return np.exp(-np.logaddexp(0.0, -z))


def _arviz() -> Any:
    """ArviZ, imported on first use, without its once-a-day refactor notice."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz

    return arviz
