"""Study B's CK analyses, frequentist engine: the mean percentage reduction at 3 and 6 months;
per predictor, a random-intercept mixed model of log CK at follow-up (time as a category, log
baseline CK, the predictor) and of the percentage reduction (time, the predictor); the
estimated CK per predictor level; and the multivariable models over multiple imputations,
pooled by Rubin's rules, with each term's relative explained variation. The Bayesian engine's
fits of the same questions are in bayesian.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from imnm.stats.imputation import rubin_pool, rubin_pool_vector
from imnm.stats.mixed import MixedFit, linear_combination, linear_mixed_model
from imnm.stats.wald import wald_explained_variation
from imnm.studies.study_b.parameters import StudyBParameters
from imnm.studies.study_b.variables import MULTIVARIABLE, PREDICTORS, Predictor, predictor

FOLLOW_UP = ("month_3", "month_6")
# (outcome, its column, the adjustment columns besides time)
OUTCOMES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("log_ck", "log_ck", ("log_baseline_ck",)),
    ("ck_reduction", "ck_reduction_percent", ()),
)
TIME_COLUMNS = ("month_6",)
# Chained-equation cycles before the first imputation and between two imputations.
MICE_BURN_IN, MICE_BETWEEN = 10, 5  # follow-up time as a category: month 3 is the reference


def ck_reduction(visits: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Mean (SD, t-based CI) and median percentage CK reduction from baseline per follow-up
    visit, over the patients with both CK values."""
    rows = []
    for visit in FOLLOW_UP:
        values = visits.loc[visits["visit"] == visit, "ck_reduction_percent"].dropna()
        n = len(values)
        mean = float(values.mean()) if n else math.nan
        sd = float(values.std(ddof=1)) if n > 1 else math.nan
        half = (float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
                if n > 1 else math.nan)
        rows.append({"visit": visit, "n": n, "mean_reduction_percent": mean,
                     "sd": sd, "ci_low": mean - half, "ci_high": mean + half,
                     "median_reduction_percent": float(values.median()) if n else math.nan})
    return pd.DataFrame(rows).astype({"n": "int32"})


def follow_up_frame(cohort: pd.DataFrame, visits: pd.DataFrame) -> pd.DataFrame:
    """Follow-up visits (3 and 6 months) with log CK, the time dummy, log baseline CK and every
    predictor's design columns."""
    design = pd.concat([p.design(cohort) for p in PREDICTORS], axis=1)
    patients = pd.concat([cohort[["patient_key", "log_baseline_ck"]], design], axis=1)
    rows = visits[visits["visit"].isin(FOLLOW_UP)][
        ["patient_key", "visit", "ck_u_l", "ck_reduction_percent"]].copy()
    rows["log_ck"] = np.log(rows["ck_u_l"])
    rows["month_6"] = (rows["visit"] == "month_6").astype(float)
    return rows.merge(patients, on="patient_key", how="inner").reset_index(drop=True)


def _model_columns(adjust: Sequence[str], predictors: Sequence[Predictor]) -> list[str]:
    """The fixed-effect columns of a CK model: time, the adjustment and the predictors'."""
    return [*TIME_COLUMNS, *adjust, *(c for p in predictors for c in p.design_columns())]


def _term_rows(fit: MixedFit, **labels: Any) -> list[dict[str, Any]]:
    rows = []
    for term in fit.terms.itertuples(index=False):
        rows.append({**labels, "term": term.term, "estimate": term.estimate, "se": term.se,
                     "ci_low": term.ci_low, "ci_high": term.ci_high, "p_value": term.p_value,
                     "n_obs": fit.n_obs, "n_patients": fit.n_groups,
                     "group_variance": fit.group_variance,
                     "residual_variance": fit.residual_variance, "converged": fit.converged})
    return rows


def univariable_models(frame: pd.DataFrame, params: StudyBParameters
                       ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str],
                                  dict[tuple[str, str], MixedFit]]:
    """Every predictor's two mixed models: term rows, estimated level rows, notes on models
    that could not be fitted, and the fits (for the R cross-check and the report)."""
    terms: list[dict[str, Any]] = []
    levels: list[dict[str, Any]] = []
    notes: list[str] = []
    fits: dict[tuple[str, str], MixedFit] = {}
    for outcome, column, adjust in OUTCOMES:
        for p in PREDICTORS:
            columns = _model_columns(adjust, [p])
            try:
                fit = linear_mixed_model(frame, column, columns, "patient_key",
                                         params.confidence)
            except ValueError as exc:
                notes.append(f"CK model of {outcome} on {p.name} not fitted: {exc}")
                continue
            fits[(outcome, p.name)] = fit
            terms.extend(_term_rows(fit, engine="frequentist", outcome=outcome,
                                    model="univariable", variable=p.name, imputations=0))
            levels.extend(level_estimates(fit, frame, outcome, adjust, p))
    return terms, levels, notes, fits


def level_points(p: Predictor, values: pd.DataFrame) -> list[tuple[str, dict[str, float]]]:
    """(level label, design values) at which a predictor's estimated CK is reported: each
    level of a yes/no or categorical, the 25th and 75th percentiles of a continuous one."""
    if p.kind == "binary":
        return [("no", {p.name: 0.0}), ("yes", {p.name: 1.0})]
    if p.kind == "categorical":
        columns = p.design_columns()
        points = [(p.levels[0], dict.fromkeys(columns, 0.0))]
        for level, column in zip(p.levels[1:], columns, strict=True):
            points.append((level, {c: float(c == column) for c in columns}))
        return points
    q25, q75 = np.quantile(values[p.name].dropna(), [0.25, 0.75])
    return [(f"p25 ({q25 * p.per:g})", {p.name: float(q25)}),
            (f"p75 ({q75 * p.per:g})", {p.name: float(q75)})]


def level_estimates(fit: MixedFit, frame: pd.DataFrame, outcome: str,
                    adjust: Sequence[str], p: Predictor) -> list[dict[str, Any]]:
    """Estimated CK (geometric mean U/L for log CK; mean % for the reduction) per predictor
    level, averaged over the two follow-up visits, at the model rows' mean log baseline CK."""
    used = frame.dropna(subset=_model_columns(adjust, [p]))
    at = {"intercept": 1.0, "month_6": 0.5}
    at.update({column: float(used[column].mean()) for column in adjust})
    transform: Callable[[float], float] = math.exp if outcome == "log_ck" else float
    rows = []
    for label, design in level_points(p, used):
        combo = linear_combination(fit, {**at, **design})
        rows.append({"engine": "frequentist", "outcome": outcome, "model": "univariable",
                     "variable": p.name, "level": label,
                     "estimate": transform(combo.estimate),
                     "ci_low": transform(combo.ci_low), "ci_high": transform(combo.ci_high),
                     "unit": "U/L (geometric mean)" if outcome == "log_ck" else "%"})
    return rows


def imputed_cohorts(cohort: pd.DataFrame, visits: pd.DataFrame, params: StudyBParameters
                    ) -> list[pd.DataFrame]:
    """`params.imputations` completed copies of the multivariable predictors and log baseline
    CK, by chained equations with predictive mean matching (statsmodels MICEData, seeded),
    with the follow-up log CKs as auxiliary variables; categoricals imputed as level codes."""
    from statsmodels.imputation.mice import MICEData

    names = list(MULTIVARIABLE)
    data = pd.DataFrame({"log_baseline_ck": cohort["log_baseline_ck"].astype(float)})
    codes: dict[str, tuple[str, ...]] = {}
    for name in names:
        p = predictor(name)
        values = cohort[p.column]
        if p.kind == "categorical":
            codes[name] = p.levels
            data[name] = values.map({lvl: float(i) for i, lvl in enumerate(p.levels)})
        elif p.kind == "binary":
            data[name] = values.astype("Float64").astype(float)
        else:
            data[name] = values.astype(float)
    for visit in FOLLOW_UP:
        ck = visits[visits["visit"] == visit].set_index("patient_key")["ck_u_l"]
        data[f"aux_log_ck_{visit}"] = np.log(cohort["patient_key"].map(ck)).astype(float)
    data.index = cohort.index
    if not data.isna().any().any():
        return [cohort]
    engine = MICEData(data.reset_index(drop=True), k_pmm=5,
                      rng=np.random.default_rng(params.imputation_seed))
    completed = []
    for index in range(params.imputations):
        engine.update_all(MICE_BURN_IN if index == 0 else MICE_BETWEEN)
        filled = engine.data.set_axis(cohort.index)
        out = cohort.copy()
        out["log_baseline_ck"] = filled["log_baseline_ck"]
        for name in names:
            p = predictor(name)
            if p.kind == "categorical":
                out[p.column] = filled[name].round().astype(int).map(dict(enumerate(codes[name])))
            elif p.kind == "binary":
                out[p.column] = filled[name].round().astype(bool)
            else:
                out[p.column] = filled[name] * 1.0
        completed.append(out)
    return completed


# What a pooled term row holds (the fit's own columns for a single, unimputed data set).
POOLED_COLUMNS = ("term", "estimate", "se", "ci_low", "ci_high", "p_value")


def multivariable_terms(adjust: Sequence[str]) -> dict[str, list[str]]:
    """The terms of a multivariable CK model, each with its design columns (a categorical's
    columns together): what the relative explained variation is given per."""
    return {"time": list(TIME_COLUMNS), **{c: [c] for c in adjust},
            **{name: list(predictor(name).design_columns()) for name in MULTIVARIABLE}}


def _pooled(fits: Sequence[MixedFit], params: StudyBParameters
            ) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray, list[str]]:
    """Per term, the estimate pooled over the imputations' fits by Rubin's rules (one fit: as
    it is), and the pooled coefficient vector and total covariance."""
    names = list(fits[0].terms["term"])
    if len(fits) == 1:
        fit = fits[0]
        rows = [{k: v for k, v in row.items() if k in POOLED_COLUMNS}
                for row in _term_rows(fit)]
        return (rows, fit.terms["estimate"].to_numpy(dtype=float),
                fit.covariance.loc[names, names].to_numpy(dtype=float), names)
    rows = []
    for term in names:
        per_fit = pd.DataFrame({
            "estimate": [f.terms.set_index("term").at[term, "estimate"] for f in fits],
            "variance": [f.terms.set_index("term").at[term, "se"] ** 2 for f in fits]})
        pooled = rubin_pool(per_fit, "estimate", "variance", confidence=params.confidence)
        rows.append({"term": term, "estimate": pooled.estimate,
                     "se": math.sqrt(pooled.total_variance), "ci_low": pooled.ci_low,
                     "ci_high": pooled.ci_high, "p_value": pooled.p_value})
    vector = rubin_pool_vector(
        np.stack([f.terms.set_index("term").loc[names, "estimate"].to_numpy(dtype=float)
                  for f in fits]),
        np.stack([f.covariance.loc[names, names].to_numpy(dtype=float) for f in fits]))
    return rows, vector.estimate, vector.total_covariance, names


def multivariable_models(completed: Sequence[pd.DataFrame], visits: pd.DataFrame,
                         params: StudyBParameters
                         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """The two multivariable models (log CK with log baseline CK; the percentage reduction)
    over the completed data sets (imputed_cohorts), pooled term by term by Rubin's rules, and
    each term's relative explained variation from the pooled Wald chi-squares (rms's anova
    of a frequentist fit). Model rows, explained-variation rows, notes."""
    predictors = [predictor(name) for name in MULTIVARIABLE]
    rows: list[dict[str, Any]] = []
    explained: list[dict[str, Any]] = []
    notes: list[str] = []
    for outcome, column, adjust in OUTCOMES:
        columns = _model_columns(adjust, predictors)
        fits = []
        try:
            for filled in completed:
                fits.append(linear_mixed_model(follow_up_frame(filled, visits), column,
                                               columns, "patient_key", params.confidence))
        except ValueError as exc:
            notes.append(f"multivariable CK model of {outcome} not fitted: {exc}")
            continue
        m = len(fits)
        pooled_rows, estimate, covariance, names = _pooled(fits, params)
        for pooled in pooled_rows:
            rows.append({"engine": "frequentist", "outcome": outcome, "model": "multivariable",
                         "variable": "all", **pooled,
                         "n_obs": fits[0].n_obs, "n_patients": fits[0].n_groups,
                         "group_variance": float(np.mean([f.group_variance for f in fits])),
                         "residual_variance": float(np.mean([f.residual_variance
                                                             for f in fits])),
                         "converged": all(f.converged for f in fits),
                         "imputations": m if m > 1 else 0})
        slopes = [n for n in names if n != "intercept"]
        at = [names.index(n) for n in slopes]
        try:
            rev = wald_explained_variation(estimate[at], covariance[np.ix_(at, at)], slopes,
                                           multivariable_terms(adjust))
        except (ValueError, np.linalg.LinAlgError) as exc:
            notes.append(f"explained variation of the {outcome} model not computed: {exc}")
            continue
        explained.extend({"engine": "frequentist", "outcome": outcome, "term": r["term"],
                          "rev_mean": r["rev"], "chi_square": r["chi_square"], "df": r["df"],
                          "p_value": r["p_value"], "imputations": m if m > 1 else 0}
                         for r in rev.to_dict("records"))
    return rows, explained, notes


def ck_by_visit(cohort: pd.DataFrame, visits: pd.DataFrame) -> pd.DataFrame:
    """Observed CK at each visit by level of every yes/no and categorical predictor: patients
    measured, median and geometric mean (U/L) — the data behind the report's CK figure."""
    rows: list[dict[str, Any]] = []
    for p in PREDICTORS:
        if p.kind == "continuous":
            continue
        levels = (("no", False), ("yes", True)) if p.kind == "binary" else tuple(
            (level, level) for level in p.levels)
        values = cohort.set_index("patient_key")[p.column]
        for label, level in levels:
            keys = values.index[values.notna() & (values == level)]
            for visit in ("baseline", *FOLLOW_UP):
                ck = visits.loc[(visits["visit"] == visit) & visits["patient_key"].isin(keys),
                                "ck_u_l"].dropna()
                rows.append({"variable": p.name, "level": label, "visit": visit,
                             "n": len(ck),
                             "median_ck_u_l": float(ck.median()) if len(ck) else math.nan,
                             "geometric_mean_ck_u_l": float(np.exp(np.log(ck).mean()))
                             if len(ck) else math.nan})
    frame = pd.DataFrame(rows)
    frame.insert(0, "row_order", np.arange(len(frame), dtype=np.int32))
    return frame.astype({"n": "int32"})
