"""Bayesian cumulative-logit fits (`imnm.stats.bayes`) against JAGS, statsmodels and numpy.

* Second engine: the same rows and priors (Dirichlet intercepts, normal coefficients, half-t
  random SD) in JAGS through rjags (`r/ordinal_jags.R`, dcat likelihood; JAGS's own ``ddirch``,
  so the Dirichlet prior needs no stand-in). Posterior means must agree within 0.1 posterior SD
  and 95% HDI bounds within 0.15 SD for the coefficients and the random SD. Both engines are
  run long enough that this is a test of the model, not of Monte Carlo noise: the test first
  requires bulk and tail ESS >= 2,500 in JAGS and >= 2,500 in NumPyro for every compared
  parameter, so the Monte Carlo SD of a difference of means is at most
  sqrt(2 / 2500) = 0.028 posterior SD (the 0.1 bar is 3.5 of those) and of a difference of
  HDI bounds about 2.7 times that, 0.076 SD (the 0.15 bar is 2 of those).
* Frequentist: with no random effect and weak priors on 3,000 generated rows the posterior
  means equal statsmodels' OrderedModel MLE within 0.1 posterior SD and the posterior SDs its
  standard errors within 10%.
* Reproducibility, the compiled sampler's reuse, the diagnostics' verdict on a bad fit, HDI and
  pd against a direct numpy computation, the relative explained variation, the mean outcome,
  stacking and the array round trip, on known draws where sampling is not the point.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imnm.stats import bayes_engine
from imnm.stats.bayes import (
    BayesFit,
    BayesPriors,
    SamplingSettings,
    direction_label,
    fit_cumulative_logit_bayes,
    hdi,
    p_direction,
    stack_fits,
)
from tests.support.rscript import run_r_script

pytestmark = pytest.mark.slow

R_DIR = Path(__file__).resolve().parent / "r"

MEAN_TOL_SD = 0.1
HDI_TOL_SD = 0.15
MIN_ESS_CROSS_CHECK = 2500


def _grade_rows(n_patients: int, visits: int, sd: float, seed: int) -> pd.DataFrame:
    """A 4-level grade over visits: treatment (patient level), visit time, a visit-level
    covariate, a patient random intercept; logit P(Y <= k) = theta_k - x'beta - u."""
    rng = np.random.default_rng(seed)
    group = np.repeat(np.arange(n_patients), visits)
    treat = rng.integers(0, 2, n_patients)[group].astype(float)
    time = np.tile(np.arange(visits), n_patients) / (visits - 1)
    marker = rng.normal(0.0, 1.0, n_patients * visits)
    u = rng.normal(0.0, sd, n_patients)[group]
    eta = 0.8 * treat + 1.0 * time + 0.5 * marker + u
    cumulative = 1.0 / (1.0 + np.exp(-(np.array([0.0, 1.5, 3.0])[None, :] - eta[:, None])))
    cells = np.diff(np.column_stack([np.zeros(len(eta)), cumulative, np.ones(len(eta))]), axis=1)
    y = (rng.random(len(eta))[:, None] > np.cumsum(cells, axis=1)[:, :-1]).sum(axis=1)
    return pd.DataFrame({"y": y, "treat": treat, "time": time, "marker": marker,
                         "group": [f"p{g:03d}" for g in group]})


def _ess(draws: np.ndarray) -> tuple[float, float]:
    """Bulk and tail ESS of (chains, draws) by ArviZ."""
    import arviz as az

    return float(az.ess(draws, method="bulk")), float(az.ess(draws, method="tail"))


def _known_fit(coef: np.ndarray, thresholds: np.ndarray, names: tuple[str, ...],
               sd: np.ndarray | None = None) -> BayesFit:
    """A BayesFit around given draws (chains, draws, ...), no sampling."""
    chains, draws = coef.shape[:2]
    return BayesFit(coef_names=names, coef_draws=coef, threshold_draws=thresholds,
                    random_sd_draws=sd, diverging=np.zeros((chains, draws), dtype=bool),
                    chain_fit=np.zeros(chains, dtype=np.int64),
                    predictor_means=np.zeros(len(names)), group_col="group" if sd is not None
                    else None, n_obs=100, n_groups=10, priors=BayesPriors(),
                    sampling=SamplingSettings(chains=chains, draws=draws))


def test_posterior_matches_jags(tmp_path: Path) -> None:
    rows = _grade_rows(n_patients=40, visits=10, sd=1.5, seed=11)
    predictors = ["treat", "time", "marker"]
    priors = BayesPriors()
    sampling = SamplingSettings(chains=4, warmup=500, draws=4000, seed=3)
    fit = fit_cumulative_logit_bayes(rows, "y", predictors, "group", priors, sampling)
    assert fit.diagnostics().passed, fit.diagnostics().reasons
    k = fit.n_categories
    settings = pd.DataFrame([{
        "K": k, "conc": priors.concentration(k), "coef_family": priors.coef_family,
        "coef_scale": priors.coef_scale, "coef_df": priors.coef_df,
        "sd_family": priors.random_sd_family, "sd_scale": priors.random_sd_scale,
        "sd_df": priors.random_sd_df, "chains": 4, "adapt": 1000, "burnin": 1000,
        "iter": 5000, "seed": 20261}])
    draws = run_r_script(R_DIR / "ordinal_jags.R",
                         {"data": rows, "predictors": pd.DataFrame({"name": predictors}),
                          "settings": settings}, tmp_path)["draws"]
    jags = {name: np.stack([draws.loc[draws["chain"] == c, name].to_numpy()
                            for c in sorted(draws["chain"].unique())])
            for name in [*predictors, "sd"]}
    ours = {name: fit.coef_draws[..., j] for j, name in enumerate(predictors)}
    ours["sd"] = fit.random_sd_draws
    for name in jags:
        for engine, sample in (("JAGS", jags[name]), ("NumPyro", ours[name])):
            assert min(_ess(sample)) >= MIN_ESS_CROSS_CHECK, (engine, name, _ess(sample))
        sd = float(np.std(ours[name], ddof=1))
        assert abs(np.mean(ours[name]) - np.mean(jags[name])) <= MEAN_TOL_SD * sd, name
        for bound_ours, bound_jags in zip(hdi(ours[name]), hdi(jags[name]), strict=True):
            assert abs(bound_ours - bound_jags) <= HDI_TOL_SD * sd, name


def test_weak_prior_posterior_is_the_mle_without_random_effect() -> None:
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    rows = _grade_rows(n_patients=1500, visits=2, sd=0.0, seed=5)  # 3,000 independent rows
    predictors = ["treat", "time", "marker"]
    model = OrderedModel(rows["y"], rows[predictors], distr="logit")
    mle = model.fit(method="newton", disp=False, maxiter=200)
    assert mle.mle_retvals["converged"]
    fit = fit_cumulative_logit_bayes(rows, "y", predictors, None, BayesPriors(),
                                     SamplingSettings(chains=4, warmup=400, draws=500, seed=1))
    assert fit.diagnostics().passed, fit.diagnostics().reasons
    summary = fit.summary(include_thresholds=True).set_index("term")
    thresholds = model.transform_threshold_params(mle.params.to_numpy())[1:-1]
    expected = pd.Series([*mle.params[predictors], *thresholds],
                         index=[*predictors, *fit.threshold_names()])
    se = pd.Series([*mle.bse[predictors]], index=predictors)
    for term, value in expected.items():
        row = summary.loc[term]
        assert abs(row["posterior_mean"] - value) <= 0.1 * row["posterior_sd"], term
    for term in predictors:
        assert summary.loc[term, "posterior_sd"] == pytest.approx(se[term], rel=0.1), term


def test_same_seed_same_draws_and_one_compiled_sampler() -> None:
    rows = _grade_rows(n_patients=34, visits=4, sd=1.0, seed=3)
    predictors = ["treat", "time"]
    settings = SamplingSettings(chains=2, warmup=150, draws=100, seed=7)
    bayes_engine.clear_sampler_cache()
    first = fit_cumulative_logit_bayes(rows, "y", predictors, "group", sampling=settings)
    again = fit_cumulative_logit_bayes(rows, "y", predictors, "group", sampling=settings)
    assert bayes_engine.sampler_cache_size() == 1  # same form and shapes: compiled once
    other_rows = _grade_rows(n_patients=34, visits=4, sd=1.0, seed=4)
    other_seed = fit_cumulative_logit_bayes(other_rows, "y", predictors, "group",
                                            sampling=SamplingSettings(chains=2, warmup=150,
                                                                      draws=100, seed=8))
    assert bayes_engine.sampler_cache_size() == 1
    for a, b in ((first.coef_draws, again.coef_draws),
                 (first.threshold_draws, again.threshold_draws),
                 (first.random_sd_draws, again.random_sd_draws)):
        assert np.array_equal(a, b)
    assert not np.array_equal(first.coef_draws, other_seed.coef_draws)
    assert first.coef_draws.shape == (2, 100, 2) and first.threshold_draws.shape == (2, 100, 3)


def test_a_fit_short_of_draws_continues_its_chains_reproducibly() -> None:
    """With max_draws, a fit short of its ESS bar goes on from where each chain stopped: its
    first draws are the plain fit's, more follow in steps of half the draws up to the cap, and
    the same seed gives the same continued draws."""
    rows = _grade_rows(n_patients=34, visits=4, sd=1.0, seed=3)
    predictors = ["treat", "time"]
    plain = SamplingSettings(chains=2, warmup=150, draws=40, seed=7)
    capped = replace(plain, max_draws=100)
    short = fit_cumulative_logit_bayes(rows, "y", predictors, "group", sampling=plain)
    assert not short.diagnostics().passed  # 2 x 40 draws cannot give an ESS of 400
    longer = fit_cumulative_logit_bayes(rows, "y", predictors, "group", sampling=capped)
    again = fit_cumulative_logit_bayes(rows, "y", predictors, "group", sampling=capped)
    assert longer.sampling.draws == 100 and longer.coef_draws.shape == (2, 100, 2)
    assert np.array_equal(longer.coef_draws[:, :40], short.coef_draws)
    assert np.array_equal(longer.threshold_draws[:, :40], short.threshold_draws)
    assert not np.array_equal(longer.coef_draws[:, 40:80], short.coef_draws)
    assert np.array_equal(longer.coef_draws, again.coef_draws)
    assert np.array_equal(longer.random_sd_draws, again.random_sd_draws)
    # The cached sampler is left as it was: the next plain fit has its own warm-up and draws.
    assert np.array_equal(
        fit_cumulative_logit_bayes(rows, "y", predictors, "group", sampling=plain).coef_draws,
        short.coef_draws)


def test_bad_fit_fails_diagnostics_with_reasons() -> None:
    rows = _grade_rows(n_patients=34, visits=4, sd=1.0, seed=3)
    fit = fit_cumulative_logit_bayes(rows, "y", ["treat", "time"], "group",
                                     sampling=SamplingSettings(chains=2, warmup=1, draws=30))
    verdict = fit.diagnostics()
    assert not verdict.passed
    assert any("ESS below 400" in reason for reason in verdict.reasons), verdict.reasons
    assert set(verdict.table.columns) == {"fit", "parameter", "rhat", "ess_bulk", "ess_tail"}
    assert list(verdict.table["parameter"][:3]) == ["treat", "time", "sd(group)"]


def test_hdi_and_pd_equal_a_direct_computation() -> None:
    rng = np.random.default_rng(1)
    coef = np.stack([rng.normal(0.3, 1.0, (4, 500)), rng.gamma(2.0, 1.0, (4, 500)) - 0.2],
                    axis=-1)
    fit = _known_fit(coef, np.sort(rng.normal(size=(4, 500, 2)), axis=-1), ("a", "b"))
    summary = fit.summary(confidence=0.9).set_index("term")
    for j, term in enumerate(("a", "b")):
        flat = np.sort(coef[..., j].ravel())
        inside = int(np.floor(0.9 * flat.size))
        widths = flat[inside:] - flat[:flat.size - inside]
        start = int(np.argmin(widths))
        row = summary.loc[term]
        assert (row["hdi_low"], row["hdi_high"]) == (flat[start], flat[start + inside])
        direct_pd = max(np.mean(flat > 0), np.mean(flat < 0))
        assert row["p_direction"] == direct_pd == p_direction(coef[..., j])
        assert row["posterior_mean"] == pytest.approx(flat.mean(), rel=1e-12)
        assert row["posterior_sd"] == pytest.approx(flat.std(ddof=1), rel=1e-12)
    assert [direction_label(v) for v in (0.9995, 0.995, 0.98, 0.96, 0.95, 0.5)] == [
        "certain", "probable", "likely", "possible", "uncertain", "uncertain"]


def test_relative_explained_variation() -> None:
    rng = np.random.default_rng(2)
    mixing = np.array([[1.0, 0.3, 0.0], [0.0, 1.0, 0.2], [0.0, 0.0, 0.5]])
    coef = (rng.normal(size=(4, 400, 3)) @ mixing) + np.array([1.0, -0.5, 0.8])
    fit = _known_fit(coef, np.zeros((4, 400, 1)), ("a", "b1", "b2"))
    rev = fit.relative_explained_variation({"a": ["a"], "b": ["b1", "b2"],
                                            "all": ["a", "b1", "b2"]}).set_index("term")
    assert ((rev[["rev_mean", "rev_median", "hdi_low", "hdi_high"]] >= 0).all().all()
            and (rev[["rev_mean", "rev_median", "hdi_low", "hdi_high"]] <= 1 + 1e-12).all().all())
    assert rev.loc["all", "rev_mean"] == pytest.approx(1.0, abs=1e-12)
    assert rev.loc["all", "hdi_low"] == pytest.approx(1.0, abs=1e-12)
    # Direct: per draw, b_j' V_j^-1 b_j over b' V^-1 b, V the posterior covariance.
    flat = coef.reshape(-1, 3)
    cov = np.cov(flat, rowvar=False)
    total = np.einsum("si,ij,sj->s", flat, np.linalg.inv(cov), flat)
    part = np.einsum("si,ij,sj->s", flat[:, 1:], np.linalg.inv(cov[1:, 1:]), flat[:, 1:])
    assert rev.loc["b", "rev_mean"] == pytest.approx(np.mean(part / total), rel=1e-10)
    assert rev.loc["b", "rev_median"] == pytest.approx(np.median(part / total), rel=1e-10)
    with pytest.raises(ValueError, match="unknown"):
        fit.relative_explained_variation({"c": ["c"]})


def test_mean_outcome_is_the_expected_category_value() -> None:
    rng = np.random.default_rng(3)
    coef = rng.normal(0.5, 0.1, (2, 300, 1))
    thresholds = np.sort(rng.normal(0.0, 1.0, (2, 300, 3)), axis=-1)
    fit = _known_fit(coef, thresholds, ("x",))
    values = [10.0, 20.0, 50.0, 400.0]
    x_rows = pd.DataFrame({"x": [-1.0, 0.0, 2.0]}, index=["low", "mid", "high"])
    got = fit.mean_outcome(x_rows, values).set_index("row")
    for label, x in x_rows["x"].items():
        cumulative = 1.0 / (1.0 + np.exp(-(thresholds - coef * x)))
        cells = np.diff(np.concatenate([np.zeros((2, 300, 1)), cumulative,
                                        np.ones((2, 300, 1))], axis=-1), axis=-1)
        per_draw = (cells * np.array(values)).sum(axis=-1)
        assert got.loc[label, "posterior_mean"] == pytest.approx(per_draw.mean(), rel=1e-10)
        assert (got.loc[label, "hdi_low"], got.loc[label, "hdi_high"]) == pytest.approx(
            hdi(per_draw), rel=1e-10)
    assert got["posterior_mean"].is_monotonic_increasing  # beta > 0: higher x, higher Y
    with pytest.raises(ValueError, match="one value per category"):
        fit.mean_outcome(x_rows, values[:3])


def test_stacking_keeps_diagnostics_per_fit_and_arrays_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    good = _known_fit(rng.normal(size=(4, 1000, 1)), rng.normal(size=(4, 1000, 1)), ("x",),
                      sd=np.abs(rng.normal(size=(4, 1000))))
    shifted = rng.normal(size=(4, 1000, 1)) + np.array([0.0, 0.0, 0.0, 3.0])[:, None, None]
    bad = _known_fit(shifted, rng.normal(size=(4, 1000, 1)), ("x",),
                     sd=np.abs(rng.normal(size=(4, 1000))))
    assert good.diagnostics().passed and not bad.diagnostics().passed
    stacked = stack_fits([good, bad])
    assert stacked.coef_draws.shape == (8, 1000, 1) and stacked.n_fits == 2
    verdict = stacked.diagnostics()
    assert list(verdict.table["fit"].unique()) == [0, 1]
    assert not verdict.passed and all(r.startswith("fit 1: ") for r in verdict.reasons)
    assert stack_fits([good, good]).diagnostics().passed  # R-hat never taken over the stack
    np.savez(tmp_path / "fit.npz", **stacked.to_arrays())
    with np.load(tmp_path / "fit.npz", allow_pickle=False) as arrays:
        back = BayesFit.from_arrays(arrays)
    assert back.coef_names == stacked.coef_names and back.priors == stacked.priors
    assert back.sampling == stacked.sampling and back.group_col == stacked.group_col
    for field in ("coef_draws", "threshold_draws", "random_sd_draws", "diverging", "chain_fit",
                  "predictor_means"):
        assert np.array_equal(getattr(back, field), getattr(stacked, field)), field
    pd.testing.assert_frame_equal(back.summary(), stacked.summary())


def test_settings_report_themselves_and_refuse_nonsense() -> None:
    assert BayesPriors().as_dict()["coef_scale"] == 100.0
    assert BayesPriors().concentration(400) == pytest.approx(1 / (0.8 + 0.35 * 400))
    assert BayesPriors().concentration(2) == pytest.approx(1 / (0.8 + 0.35 * 3))
    assert SamplingSettings().as_dict()["ess_target"] == 400
    with pytest.raises(ValueError, match="coef_family"):
        BayesPriors(coef_family="cauchy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chains"):
        SamplingSettings(chains=1)
    rows = _grade_rows(n_patients=5, visits=2, sd=1.0, seed=1)
    rows.loc[0, "time"] = np.nan
    with pytest.raises(ValueError, match="present and finite"):
        fit_cumulative_logit_bayes(rows, "y", ["time"], "group")
