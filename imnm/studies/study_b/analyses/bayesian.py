"""Study B's Bayesian engine: the paper's proportional-odds models (the model of rmsb::blrm,
fitted with imnm/stats/bayes.py; rmsb itself is not used) of CK at follow-up, where every
distinct CK value is its own ordered category, and of the 4-level hip-flexor grade; each with a
patient random intercept and the priors of the study's parameters.

Per predictor: CK ~ time + log baseline CK + the predictor, and the percentage reduction ~ time
+ the predictor (posterior mean, SD, HDI and probability of direction per coefficient, and the
posterior mean CK per level). Multivariable: both models over the first `bayes_imputations`
completed data sets, draws stacked, with each predictor's relative explained variation (the
paper's Fig. 1). Grade: the three treatment x visit models of ordinal.py.

Which of these families run is the parameter `bayes_models`. Every fit is cached by a
fingerprint of its rows, predictors, priors, sampling and this code
(`analysis.study_b_bayes_fits`): a refresh whose inputs did not change refits nothing. A fit
that fails its diagnostics is released with the failure in `study_b_bayes_diagnostics`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imnm.stats.bayes import (
    BayesFit,
    BayesPriors,
    SamplingSettings,
    stack_fits,
)
from imnm.studies.study_b.analyses.ck import (
    OUTCOMES,
    TIME_COLUMNS,
    follow_up_frame,
    level_points,
    multivariable_terms,
)
from imnm.studies.study_b.analyses.ordinal import GRADE_MODELS, GRADE_TERMS, grade_frame
from imnm.studies.study_b.parameters import StudyBParameters
from imnm.studies.study_b.variables import MULTIVARIABLE, PREDICTORS, Predictor, predictor

# A fit short of its ESS or R-hat target goes on sampling (no new warm-up) by what the ESS it
# reached says it needs, up to this many times the configured draws per chain.
MAX_DRAWS_FACTOR = 4

# The code a cached fit depends on: a change to any of these refits everything.
_CODE_FILES = tuple(Path(__file__).resolve().parents[3] / "stats" / name
                    for name in ("bayes.py", "bayes_engine.py")) + (Path(__file__).resolve(),)


def code_digest() -> str:
    """sha256 of the Bayesian code (the engine and this module)."""
    digest = hashlib.sha256()
    for path in _CODE_FILES:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def priors_of(params: StudyBParameters) -> BayesPriors:
    """The stated priors (config/studies/study_b.toml)."""
    return BayesPriors(coef_family="normal", coef_scale=params.bayes_coefficient_prior_sd,
                       random_sd_family="half_t",
                       random_sd_scale=params.bayes_random_sd_prior_scale,
                       random_sd_df=params.bayes_random_sd_prior_df)


def sampling_of(params: StudyBParameters) -> SamplingSettings:
    """NUTS settings and the diagnostics bar (config/studies/study_b.toml); a fit short of
    draws continues up to MAX_DRAWS_FACTOR times bayes_draws."""
    return SamplingSettings(chains=params.bayes_chains, warmup=params.bayes_warmup,
                            draws=params.bayes_draws, seed=params.bayes_seed,
                            target_accept=params.bayes_target_accept,
                            ess_target=params.bayes_min_ess, rhat_max=params.bayes_max_rhat,
                            max_draws=MAX_DRAWS_FACTOR * params.bayes_draws)


@dataclass(frozen=True)
class FitSpec:
    """One Bayesian fit: its rows (outcome codes, predictors, patient), what each code's value
    is, and how to summarise it."""

    fit_id: str
    rows: pd.DataFrame  # columns: code, patient_key, *predictors
    predictors: tuple[str, ...]
    category_values: tuple[float, ...]
    imputation: int = 0


@dataclass
class BayesOutputs:
    """The Bayesian rows of each result table, the cache entries used, notes."""

    ck_models: list[dict[str, Any]] = field(default_factory=list)
    ck_level_means: list[dict[str, Any]] = field(default_factory=list)
    explained_variation: list[dict[str, Any]] = field(default_factory=list)
    ordinal_models: list[dict[str, Any]] = field(default_factory=list)
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    cache: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    fitted: int = 0
    reused: int = 0
    fit_seconds: float = 0.0


def ordinal_codes(values: pd.Series) -> tuple[np.ndarray, tuple[float, ...]]:
    """Each value's rank among the distinct values (0..K-1) and the distinct values."""
    distinct = np.unique(values.to_numpy(dtype=float))
    return np.searchsorted(distinct, values.to_numpy(dtype=float)), tuple(distinct.tolist())


def spec_for(fit_id: str, frame: pd.DataFrame, outcome_col: str, predictors: Sequence[str],
             imputation: int = 0) -> FitSpec:
    """The complete rows of `frame` for one fit, outcome coded by rank."""
    rows = frame[["patient_key", outcome_col, *predictors]].dropna()
    if rows.empty:
        raise ValueError("no complete rows")
    codes, values = ordinal_codes(rows[outcome_col])
    data = rows[["patient_key", *predictors]].assign(code=codes).reset_index(drop=True)
    return FitSpec(fit_id, data, tuple(predictors), values, imputation)


def fit_key(spec: FitSpec, priors: BayesPriors, sampling: SamplingSettings, code: str) -> str:
    """The fingerprint a cached fit is found by."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"predictors": spec.predictors, "priors": priors.as_dict(),
                              "sampling": sampling.as_dict(), "code": code,
                              "values": spec.category_values}, sort_keys=True).encode())
    digest.update(pd.util.hash_pandas_object(spec.rows, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _fit(spec: FitSpec, priors: BayesPriors, sampling: SamplingSettings) -> BayesFit:
    from imnm.stats.bayes import fit_cumulative_logit_bayes

    return fit_cumulative_logit_bayes(spec.rows, "code", list(spec.predictors), "patient_key",
                                      priors, sampling)


def _diagnostic_rows(fit_id: str, fit: BayesFit, imputations: Sequence[int]
                     ) -> list[dict[str, Any]]:
    diagnostics = fit.diagnostics()
    rows = []
    for index, per_fit in diagnostics.table.groupby("fit"):
        worst = per_fit.loc[per_fit["rhat"].idxmax()]
        reasons = [r for r in diagnostics.reasons
                   if fit.n_fits == 1 or r.startswith(f"fit {int(index)}: ")]
        rows.append({
            "fit_id": fit_id, "imputation": int(imputations[int(index)]),
            "n_obs": fit.n_obs, "n_patients": fit.n_groups, "n_categories": fit.n_categories,
            "n_parameters": len(per_fit), "chains": fit.sampling.chains,
            "draws_per_chain": fit.sampling.draws, "max_rhat": float(per_fit["rhat"].max()),
            "worst_rhat_parameter": str(worst["parameter"]),
            "min_ess_bulk": float(per_fit["ess_bulk"].min()),
            "min_ess_tail": float(per_fit["ess_tail"].min()),
            "divergences": int(diagnostics.divergences_per_fit[int(index)]),
            "passed": not reasons, "reasons": "; ".join(reasons) or None})
    return rows


class FitRunner:
    """Fits (or reuses from the cache) and summarises each spec; collects the outputs."""

    def __init__(self, params: StudyBParameters, cache: Mapping[str, Mapping[str, Any]],
                 progress: Callable[[str], None] | None = None) -> None:
        self.params, self.cache = params, cache
        self.priors, self.sampling = priors_of(params), sampling_of(params)
        self.code = code_digest()
        self.out = BayesOutputs()
        self.progress = progress or (lambda _: None)

    def run(self, fit_id: str, specs: Sequence[FitSpec],
            summarise: Callable[[BayesFit], dict[str, Any]]) -> dict[str, Any] | None:
        """The summaries of one model (several specs = imputations, stacked), cached."""
        keys = [fit_key(s, self.priors, self.sampling, self.code) for s in specs]
        key = hashlib.sha256("|".join(keys).encode()).hexdigest()
        cached = self.cache.get(key)
        if cached is not None:
            self.out.reused += 1
            self.out.cache[key] = dict(cached)
            return dict(cached["outputs"])
        started = time.perf_counter()
        try:
            fit = self._fit_stacked(specs)
        except ValueError as exc:
            self.out.notes.append(f"Bayesian fit {fit_id} not computed: {exc}")
            return None
        if fit.sampling.draws > self.sampling.draws:
            self.progress(f"Bayesian fit {fit_id}: short of its ESS or R-hat target at "
                          f"{self.sampling.draws} draws per chain; continued to "
                          f"{fit.sampling.draws}")
        outputs = summarise(fit)
        outputs["diagnostics"] = _diagnostic_rows(fit_id, fit, [s.imputation for s in specs])
        seconds = time.perf_counter() - started
        self.out.fitted += 1
        self.out.fit_seconds += seconds
        self.out.cache[key] = {"fit_id": fit_id, "fit_seconds": seconds, "outputs": outputs}
        self.progress(f"Bayesian fit {fit_id}: {seconds:.1f} s")
        return outputs

    def _fit_stacked(self, specs: Sequence[FitSpec]) -> BayesFit:
        """Each spec fitted (continued while short of draws); several (imputations) stacked
        into one fit. The first imputation's draws are where the others start; one that ends
        with fewer draws than another is fitted again at the most any needed."""
        first = _fit(specs[0], self.priors, self.sampling)
        if len(specs) == 1:
            return first
        start = replace(self.sampling, draws=first.sampling.draws,
                        max_draws=max(self.sampling.max_draws or 0, first.sampling.draws))
        fits = [first, *(_fit(s, self.priors, start) for s in specs[1:])]
        most = max(fit.sampling.draws for fit in fits)
        fixed = replace(self.sampling, draws=most, max_draws=None)
        fits = [fit if fit.sampling.draws == most else _fit(spec, self.priors, fixed)
                for fit, spec in zip(fits, specs, strict=True)]
        return stack_fits(fits)


def _coefficient_rows(fit: BayesFit, confidence: float, **labels: Any) -> list[dict[str, Any]]:
    rows = []
    for term in fit.summary(confidence).itertuples(index=False):
        rows.append({**labels, "engine": "bayesian", "term": term.term,
                     "estimate": term.posterior_mean, "se": term.posterior_sd,
                     "ci_low": term.hdi_low, "ci_high": term.hdi_high, "p_value": None,
                     "p_direction": term.p_direction, "direction_label": term.direction_label,
                     "n_obs": fit.n_obs, "n_patients": fit.n_groups,
                     "group_variance": float(np.mean(fit.random_sd_draws ** 2))
                     if fit.random_sd_draws is not None else None,
                     "residual_variance": None})
    return rows


def _level_rows(fit: BayesFit, spec: FitSpec, outcome: str, p: Predictor, adjust: Sequence[str],
                confidence: float) -> list[dict[str, Any]]:
    at = {"month_6": 0.5, **{c: float(spec.rows[c].mean()) for c in adjust}}
    points = level_points(p, spec.rows)
    x = pd.DataFrame([{**at, **design} for _, design in points])[list(spec.predictors)]
    means = fit.mean_outcome(x, spec.category_values, confidence)
    unit = "U/L (posterior mean)" if outcome == "log_ck" else "%"
    return [{"engine": "bayesian", "outcome": outcome, "model": "univariable",
             "variable": p.name, "level": label, "estimate": row.posterior_mean,
             "ci_low": row.hdi_low, "ci_high": row.hdi_high, "unit": unit}
            for (label, _), row in zip(points, means.itertuples(index=False), strict=True)]


# The Bayesian CK models' outcomes: the CK value itself (every distinct value a category;
# the paper's "log CK" model, log being monotone), and the percentage reduction.
BAYES_OUTCOME_COLUMNS = {"log_ck": "ck_u_l", "ck_reduction": "ck_reduction_percent"}


def univariable(runner: FitRunner, frame: pd.DataFrame) -> None:
    """Per predictor, both CK models: coefficients and posterior mean CK per level."""
    confidence = runner.params.confidence
    for outcome, _, adjust in OUTCOMES:
        for p in PREDICTORS:
            fit_id = f"ck|{outcome}|univariable|{p.name}"
            predictors = [*TIME_COLUMNS, *adjust, *p.design_columns()]
            try:
                spec = spec_for(fit_id, frame, BAYES_OUTCOME_COLUMNS[outcome], predictors)
            except ValueError as exc:
                runner.out.notes.append(f"Bayesian fit {fit_id} not computed: {exc}")
                continue

            def summarise(fit: BayesFit, spec: FitSpec = spec, p: Predictor = p,
                          outcome: str = outcome, adjust: tuple[str, ...] = adjust
                          ) -> dict[str, Any]:
                return {"ck_models": _coefficient_rows(
                            fit, confidence, outcome=outcome, model="univariable",
                            variable=p.name, imputations=0, converged=None),
                        "ck_level_means": _level_rows(fit, spec, outcome, p, adjust,
                                                      confidence)}

            outputs = runner.run(fit_id, [spec], summarise)
            if outputs is not None:
                _collect(runner.out, outputs)


def multivariable(runner: FitRunner, completed: Sequence[pd.DataFrame],
                  visits: pd.DataFrame) -> None:
    """Both multivariable CK models over the imputations, stacked; REV per predictor."""
    confidence = runner.params.confidence
    predictors = [predictor(name) for name in MULTIVARIABLE]
    used = list(completed[: runner.params.bayes_imputations])
    for outcome, _, adjust in OUTCOMES:
        fit_id = f"ck|{outcome}|multivariable"
        columns = [*TIME_COLUMNS, *adjust, *(c for p in predictors for c in p.design_columns())]
        try:
            specs = [spec_for(fit_id, follow_up_frame(filled, visits),
                              BAYES_OUTCOME_COLUMNS[outcome], columns, imputation=i + 1)
                     for i, filled in enumerate(used)]
        except ValueError as exc:
            runner.out.notes.append(f"Bayesian fit {fit_id} not computed: {exc}")
            continue
        terms = multivariable_terms(adjust)

        def summarise(fit: BayesFit, outcome: str = outcome,
                      terms: dict[str, list[str]] = terms) -> dict[str, Any]:
            rev = fit.relative_explained_variation(terms, confidence)
            return {"ck_models": _coefficient_rows(
                        fit, confidence, outcome=outcome, model="multivariable",
                        variable="all", imputations=len(used) if len(used) > 1 else 0,
                        converged=None),
                    "explained_variation": [
                        {"engine": "bayesian", "outcome": outcome, **row,
                         "imputations": len(used) if len(used) > 1 else 0}
                        for row in rev.to_dict("records")]}

        outputs = runner.run(fit_id, specs, summarise)
        if outputs is not None:
            _collect(runner.out, outputs)


def grade_models(runner: FitRunner, cohort: pd.DataFrame, visits: pd.DataFrame) -> None:
    """The three grade models of ordinal.py, Bayesian: coefficients, thresholds, random SD."""
    confidence = runner.params.confidence
    for model in GRADE_MODELS:
        fit_id = f"grade|{model.name}"
        try:
            spec = spec_for(fit_id, grade_frame(model, cohort, visits), "grade",
                            list(GRADE_TERMS))
        except ValueError as exc:
            runner.out.notes.append(f"Bayesian fit {fit_id} not computed: {exc}")
            continue

        def summarise(fit: BayesFit, model: Any = model, spec: FitSpec = spec
                      ) -> dict[str, Any]:
            summary = fit.summary(confidence, include_thresholds=True, include_random_sd=True)
            names = {f"theta[{k}]": f"{spec.category_values[k]:g}|"
                     f"{spec.category_values[k + 1]:g}"
                     for k in range(len(spec.category_values) - 1)}
            rows = []
            for term in summary.itertuples(index=False):
                kind = ("threshold" if term.term in names else
                        "random_sd" if term.term.startswith("sd(") else "coefficient")
                rows.append({"engine": "bayesian", "model": model.name,
                             "subgroup": model.subgroup, "treatment": model.treatment,
                             "term": names.get(term.term, term.term), "kind": kind,
                             "estimate": term.posterior_mean, "se": term.posterior_sd,
                             "ci_low": term.hdi_low, "ci_high": term.hdi_high, "p_value": None,
                             "p_direction": term.p_direction if kind == "coefficient" else None,
                             "direction_label": term.direction_label
                             if kind == "coefficient" else None,
                             "n_obs": fit.n_obs, "n_patients": fit.n_groups,
                             "converged": None, "n_quadrature": None, "message": None})
            return {"ordinal_models": rows}

        outputs = runner.run(fit_id, [spec], summarise)
        if outputs is not None:
            _collect(runner.out, outputs)


def _collect(out: BayesOutputs, outputs: Mapping[str, Any]) -> None:
    for name in ("ck_models", "ck_level_means", "explained_variation", "ordinal_models",
                 "diagnostics"):
        getattr(out, name).extend(outputs.get(name, ()))


def bayesian_analyses(cohort: pd.DataFrame, visits: pd.DataFrame,
                      completed: Sequence[pd.DataFrame], params: StudyBParameters,
                      cache: Mapping[str, Mapping[str, Any]],
                      progress: Callable[[str], None] | None = None) -> BayesOutputs:
    """Every Bayesian fit of study B (reusing cached fits), its rows and diagnostics."""
    runner = FitRunner(params, cache, progress)
    if "grade" in params.bayes_models:
        grade_models(runner, cohort, visits)
    if "univariable" in params.bayes_models:
        univariable(runner, follow_up_frame(cohort, visits))
    if "multivariable" in params.bayes_models:
        multivariable(runner, completed, visits)
    failed = [row["fit_id"] for row in runner.out.diagnostics if not row["passed"]]
    if failed:
        runner.out.notes.append(f"{len(failed)} Bayesian fit(s) failed their diagnostics "
                                f"(released, flagged in study_b_bayes_diagnostics): "
                                + ", ".join(sorted(set(failed))))
    return runner.out
