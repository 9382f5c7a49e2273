"""Cumulative-logit models (`imnm.stats.ordinal`) against R's MASS::polr and ordinal::clmm.

Data shaped like an IMNM outcome cohort: 34 and 240 patients, 3 visits each (baseline, months 3
and 6), a 4-level hip-flexor grade 0..3 drawn from a known cumulative-logit model with a normal
patient intercept (SD 1.5); predictors the two visit dummies, a binary treatment and the
treatment x visit interaction. Plus the published ``wine`` example of the ordinal package
(written out by the R script, so both sides fit the same rows).

Tolerances, measured (R 4.2, ordinal 2022.11.16, MASS 7.3), with the largest difference seen:

* polr, R run with BFGS ``reltol = 1e-14``: estimates absolute 2e-6 (seen 6e-7, wine),
  SEs relative 1e-5 (seen 1e-6; R's Hessian is optim's difference of its gradient),
  log-likelihood absolute 1e-8 (seen 1e-12).
* clmm nAGQ = 10 (R's defaults; convergence code 0 required): estimates absolute 2e-5
  (seen 6e-6), SEs relative 5e-5 (seen 9e-6), log-likelihood absolute 1e-6 (seen 1e-9), and
  our objective at R's estimates equals R's log-likelihood to 1e-8 (seen 4e-10). R stops
  nlminb with max |gradient| up to 3e-4; ours is below 1e-8, so the differences are R's.
* clmm nAGQ = 1 (Laplace): estimates absolute 5e-5 (seen 1.6e-5), SEs relative 5e-4 (seen
  1.7e-4), log-likelihood absolute 1e-4 (seen 3e-5). R finds each conditional mode only to
  |gradient| < 1e-4, which moves its Laplace objective by ~1e-5 (our value at R's estimates
  is that much above R's), and its Hessian differences that objective with step 1e-4.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from imnm.stats.ordinal import (
    _MixedProblem,
    cumulative_logit,
    cumulative_logit_mixed,
    predicted_category_probabilities,
)
from tests.support.ordinal_data import (
    PREDICTORS,
    TRUE_BETA,
    TRUE_SD,
    TRUE_THRESHOLDS,
    grade_visits,
)
from tests.support.rscript import run_r_script

R_DIR = Path(__file__).resolve().parent / "r"
WINE_PREDICTORS = ["tempwarm", "contactyes"]
CASES = {"n34": (34, 11), "n240": (240, 12)}


@pytest.fixture(scope="module")
def clmm_reference(tmp_path_factory: pytest.TempPathFactory
                   ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """R's clmm fits (nAGQ 1 and 10) of every case and of wine, and the cases' rows."""
    cases = {name: grade_visits(n, seed) for name, (n, seed) in CASES.items()}
    inputs = {f"data_{name}": frame for name, frame in cases.items()}
    inputs["settings"] = pd.DataFrame({"nagq": [1, 10]})
    out = run_r_script(R_DIR / "clmm_reference.R", inputs, tmp_path_factory.mktemp("clmm"))
    cases["wine"] = out["wine"].rename(columns={"judge": "group", "rating": "y"})
    return cases, out["clmm"]


def _predictors(case: str) -> list[str]:
    return WINE_PREDICTORS if case == "wine" else PREDICTORS


@pytest.mark.parametrize("nagq", [10, 1])
@pytest.mark.parametrize("case", ["n34", "n240", "wine"])
def test_mixed_matches_ordinal_clmm(clmm_reference: tuple[dict[str, pd.DataFrame],
                                                          pd.DataFrame],
                                    case: str, nagq: int) -> None:
    cases, reference = clmm_reference
    ref = reference[(reference["case"] == case) & (reference["nagq"] == nagq)]
    assert (ref["convergence"] == 0).all(), f"R's clmm did not converge on {case}"
    data = cases[case]
    fit = cumulative_logit_mixed(data, "y", _predictors(case), "group", n_quadrature=nagq)
    assert fit.converged, fit.message
    assert fit.max_gradient < 1e-6
    assert (fit.n_obs, fit.n_groups, fit.n_quadrature) == (
        len(data), data["group"].nunique(), nagq)
    est_tol, se_tol, ll_tol = (2e-5, 5e-5, 1e-6) if nagq == 10 else (5e-5, 5e-4, 1e-4)

    ref = ref.set_index("term")
    terms = fit.terms.set_index("term")
    fixed = [t for t in ref.index if t != "log_sd"]
    assert list(terms.index) == [*fixed, "sd(group)"]
    assert terms.loc[fixed, "estimate"].to_numpy() == pytest.approx(
        ref.loc[fixed, "estimate"].to_numpy(), abs=est_tol)
    assert terms.loc[fixed, "se"].to_numpy() == pytest.approx(
        ref.loc[fixed, "se"].to_numpy(), rel=se_tol)
    # The random-effect SD: R's vcov holds log SD; ours is on the SD scale (delta method).
    assert fit.log_sd == pytest.approx(ref.loc["log_sd", "estimate"], abs=est_tol)
    assert fit.log_sd_se == pytest.approx(ref.loc["log_sd", "se"], rel=se_tol)
    r_sd, r_log_se = math.exp(ref.loc["log_sd", "estimate"]), ref.loc["log_sd", "se"]
    assert fit.random_sd == pytest.approx(r_sd, abs=est_tol)
    assert fit.random_variance == pytest.approx(fit.random_sd**2)
    assert terms.loc["sd(group)", "se"] == pytest.approx(r_sd * r_log_se, rel=se_tol)
    assert fit.loglik == pytest.approx(ref["loglik"].iloc[0], abs=ll_tol)
    assert fit.loglik >= ref["loglik"].iloc[0] - 1e-9 or nagq == 1
    assert terms["kind"].value_counts().to_dict() == {
        "threshold": len(fit.levels) - 1, "coefficient": len(fit.predictors), "random_sd": 1}


def test_same_objective_as_clmm_at_r_estimates(
        clmm_reference: tuple[dict[str, pd.DataFrame], pd.DataFrame]) -> None:
    """At R's own estimates our quadrature log-likelihood is R's (nAGQ = 10)."""
    cases, reference = clmm_reference
    for case, data in cases.items():
        ref = reference[(reference["case"] == case) & (reference["nagq"] == 10)]
        y = data["y"].to_numpy() - data["y"].min()
        groups = pd.factorize(data["group"], sort=True)[0]
        order = np.argsort(groups, kind="stable")
        problem = _MixedProblem(y[order], data[_predictors(case)].to_numpy(float)[order],
                                groups[order], int(y.max()) + 1, 10)
        nll, _ = problem.evaluate(ref["estimate"].to_numpy())
        assert -nll == pytest.approx(ref["loglik"].iloc[0], abs=1e-8), case


def test_fixed_effects_match_mass_polr(
        clmm_reference: tuple[dict[str, pd.DataFrame], pd.DataFrame], tmp_path: Path) -> None:
    cases, _ = clmm_reference
    inputs = {f"data_{name}": frame.drop(columns="group") for name, frame in cases.items()}
    reference = run_r_script(R_DIR / "polr_reference.R", inputs, tmp_path)["polr"]
    assert sorted(reference["case"].unique()) == sorted(cases)
    for case, ref in reference.groupby("case"):
        assert (ref["convergence"] == 0).all()
        fit = cumulative_logit(cases[case], "y", _predictors(case))
        assert fit.converged, fit.message
        assert fit.n_groups is None and fit.random_sd is None
        assert list(fit.terms["term"]) == list(ref["term"])
        assert fit.terms["estimate"].to_numpy() == pytest.approx(ref["estimate"].to_numpy(),
                                                                 abs=2e-6), case
        assert fit.terms["se"].to_numpy() == pytest.approx(ref["se"].to_numpy(), rel=1e-5)
        assert fit.loglik == pytest.approx(ref["loglik"].iloc[0], abs=1e-8)


def test_wald_columns_and_covariance() -> None:
    fit = cumulative_logit_mixed(grade_visits(80, 3), "y", PREDICTORS, "group",
                                 confidence=0.9)
    z = 1.6448536269514722
    coef = fit.terms[fit.terms["kind"] == "coefficient"]
    assert coef["ci_low"].to_numpy() == pytest.approx(coef["estimate"] - z * coef["se"])
    assert coef["ci_high"].to_numpy() == pytest.approx(coef["estimate"] + z * coef["se"])
    assert coef["p_value"].to_numpy() == pytest.approx(
        2 * special.ndtr(-np.abs(coef["estimate"] / coef["se"])))
    assert fit.terms.loc[fit.terms["kind"] != "coefficient", "p_value"].isna().all()
    sd = fit.term("sd(group)")
    log_se = sd["se"] / sd["estimate"]
    assert (sd["ci_low"], sd["ci_high"]) == pytest.approx(
        (sd["estimate"] * math.exp(-z * log_se), sd["estimate"] * math.exp(z * log_se)))
    assert np.sqrt(np.diag(fit.covariance)) == pytest.approx(fit.terms["se"].to_numpy())
    assert list(fit.covariance.index) == list(fit.terms["term"])


def test_recovers_the_generating_model() -> None:
    fit = cumulative_logit_mixed(grade_visits(1000, 21), "y", PREDICTORS, "group")
    assert fit.converged, fit.message
    est = fit.terms.set_index("term")["estimate"]
    se = fit.terms.set_index("term")["se"]
    truth = dict(zip(["0|1", "1|2", "2|3", *PREDICTORS, "sd(group)"],
                     [*TRUE_THRESHOLDS, *TRUE_BETA, TRUE_SD], strict=True))
    for term, value in truth.items():
        assert abs(est[term] - value) < 4 * se[term], term


def test_laplace_differs_slightly_from_quadrature() -> None:
    data = grade_visits(120, 5)
    agq = cumulative_logit_mixed(data, "y", PREDICTORS, "group", n_quadrature=10)
    laplace = cumulative_logit_mixed(data, "y", PREDICTORS, "group", n_quadrature=1)
    assert agq.converged and laplace.converged
    diff = np.abs(agq.terms["estimate"].to_numpy() - laplace.terms["estimate"].to_numpy())
    assert 1e-4 < diff.max() < 0.1
    assert agq.loglik != pytest.approx(laplace.loglik, abs=1e-3)


def test_analytic_gradient_is_the_objectives() -> None:
    """The gradient follows the adaptive nodes as they move (central differences, 1e-6)."""
    data = grade_visits(30, 8)
    psi = np.array([-0.8, 0.4, 1.9, 0.4, 0.9, 0.6, 0.3, 0.7, math.log(1.1)])
    for nodes in (1, 3, 10):
        problem = _MixedProblem(data["y"].to_numpy(), data[PREDICTORS].to_numpy(float),
                                data["group"].to_numpy() - 1000, 4, nodes)
        _, grad = problem.evaluate(psi)
        h = 1e-6
        numeric = [(problem.evaluate(psi + h * e)[0] - problem.evaluate(psi - h * e)[0]) / (2 * h)
                   for e in np.eye(psi.size)]
        assert grad == pytest.approx(np.array(numeric), abs=1e-6), nodes


def test_separation_is_reported_not_estimated() -> None:
    data = grade_visits(60, 3)
    data.loc[data["treated"] == 1, "y"] = 3
    data.loc[(data["treated"] == 0) & (data["y"] == 3), "y"] = 2
    for fit in (cumulative_logit(data, "y", PREDICTORS),
                cumulative_logit_mixed(data, "y", PREDICTORS, "group")):
        assert not fit.converged
        assert "separation" in fit.message and "'treated'" in fit.message
        with pytest.raises(ValueError, match="did not converge"):
            predicted_category_probabilities(fit, data)


def test_no_between_group_variation_is_a_boundary() -> None:
    data = grade_visits(100, 4)
    data["y"] = np.random.default_rng(9).integers(0, 4, len(data))
    fit = cumulative_logit_mixed(data, "y", PREDICTORS, "group")
    assert fit.converged, fit.message
    assert "boundary" in fit.message
    assert fit.random_sd < 1e-3
    assert math.isnan(fit.term("sd(group)")["se"])
    assert fit.terms.loc[fit.terms["kind"] != "random_sd", "se"].notna().all()


def test_categorical_outcome_and_missing_rows() -> None:
    data = grade_visits(50, 6)
    labels = pd.Categorical.from_codes(data["y"], ["none", "weak", "fair", "strong"],
                                       ordered=True)
    as_codes = cumulative_logit_mixed(data, "y", PREDICTORS, "group")
    as_labels = cumulative_logit_mixed(data.assign(y=labels), "y", PREDICTORS, "group")
    assert as_labels.terms["estimate"].to_numpy() == pytest.approx(
        as_codes.terms["estimate"].to_numpy(), abs=1e-8)
    assert list(as_labels.terms["term"][:3]) == ["none|weak", "weak|fair", "fair|strong"]
    assert as_labels.levels == ("none", "weak", "fair", "strong")
    gappy = data.astype({"y": float, "treated": float})
    gappy.loc[[0, 5], "y"] = np.nan
    gappy.loc[7, "treated"] = np.nan
    fit = cumulative_logit_mixed(gappy, "y", PREDICTORS, "group")
    assert fit.n_obs == len(data) - 3 and fit.n_groups == 50


def test_predicted_category_probabilities() -> None:
    fit = cumulative_logit(grade_visits(200, 7), "y", PREDICTORS)
    rows = pd.DataFrame([dict.fromkeys(PREDICTORS, 0), {**dict.fromkeys(PREDICTORS, 0),
                                                        "month6": 1, "treated": 1,
                                                        "treated_month6": 1}])
    probs = predicted_category_probabilities(fit, rows)
    assert list(probs.columns) == [0, 1, 2, 3]
    assert probs.sum(axis=1).to_numpy() == pytest.approx([1.0, 1.0])
    theta = fit.terms.loc[fit.terms["kind"] == "threshold", "estimate"].to_numpy()
    assert probs.iloc[0].cumsum().to_numpy()[:3] == pytest.approx(special.expit(theta))
    est = fit.terms.set_index("term")["estimate"]
    eta = est["month6"] + est["treated"] + est["treated_month6"]
    assert probs.iloc[1].cumsum().to_numpy()[:3] == pytest.approx(special.expit(theta - eta))
    with pytest.raises(ValueError, match="lacks"):
        predicted_category_probabilities(fit, rows.drop(columns="month3"))


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.assign(y=2), "at least 2 levels"),
    (lambda d: d.assign(y=d["y"].replace({1: 0})), r"no rows at level\(s\) \[1\]"),
    (lambda d: d.assign(y=pd.Categorical(d["y"].clip(0, 2), categories=[0, 1, 2, 3],
                                         ordered=True)), r"no rows at level\(s\) \[3\]"),
    (lambda d: d.assign(y=pd.Categorical(d["y"])), "unordered categorical"),
    (lambda d: d.assign(y=d["y"] + 0.5), "whole numbers"),
    (lambda d: d.assign(y=d["y"].map("g{}".format)), "ordered integer code"),
    (lambda d: d.assign(treated=np.where(d["treated"] == 1, "yes", "no")),
     "predictor 'treated' must be numeric"),
    (lambda d: d.assign(month3=1), "'month3' is constant"),
    (lambda d: d.assign(group=d["group"].where(d.index != 4)), "missing value"),
    (lambda d: d.assign(group=1), "single level"),
    (lambda d: d.drop(columns="month6"), "not in data frame"),
])
def test_bad_input_is_refused(change, message: str) -> None:
    data = change(grade_visits(30, 2))
    with pytest.raises(ValueError, match=message):
        cumulative_logit_mixed(data, "y", PREDICTORS, "group")


def test_bad_settings_are_refused() -> None:
    data = grade_visits(30, 2)
    with pytest.raises(ValueError, match="confidence"):
        cumulative_logit(data, "y", PREDICTORS, confidence=1.0)
    with pytest.raises(ValueError, match="n_quadrature"):
        cumulative_logit_mixed(data, "y", PREDICTORS, "group", n_quadrature=0)
    with pytest.raises(ValueError, match="also a predictor"):
        cumulative_logit(data, "y", ["y", "month3"])
    with pytest.raises(ValueError, match="at least 2 levels"):
        cumulative_logit(data.assign(y=0), "y", PREDICTORS)
