"""Study B's frequentist fits equal R's on the release's own rows: the demo network's
analysis-ready tables are read back, every univariable CK mixed model is refitted with
lme4::lmer (1.1-31, REML) and the hip-flexor grade models with ordinal::clmm (2022.11.16,
nAGQ = 10) and MASS::polr (7.3-58), and R's numbers are compared with the released
results.study_b_ck_models and results.study_b_ordinal_models rows.

CK model tolerances: fixed effects 5e-6 absolute (both optimizers stop at their own
tolerances on the REML criterion; the platform polishes its optimum by BFGS to a gradient of
1e-10, without which the multivariable percentage-reduction model was 4e-5 off), SEs and
variance components 1e-4 relative. The multivariable models are refitted with lmer on
each of the release's imputed data sets and pooled with mice::pool.scalar; their relative
explained variation is recomputed in R from the pooled Wald chi-squares.
Without Rscript the test skips (and fails under CI=1, see tests/support/rscript.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from imnm.studies.base import STUDY_CONFIG_DIR
from imnm.studies.study_b.analyses.ck import (
    OUTCOMES,
    TIME_COLUMNS,
    follow_up_frame,
    imputed_cohorts,
    multivariable_terms,
)
from imnm.studies.study_b.parameters import load_parameters
from imnm.studies.study_b.variables import MULTIVARIABLE, PREDICTORS, predictor
from tests.support.rscript import run_r_script

R_DIR = Path(__file__).resolve().parent / "r"
STATS_R_DIR = Path(__file__).resolve().parents[2] / "stats" / "r"
FIXED_ABS = 5e-6
SE_REL = 1e-4


def _released(demo_network: Any, table: str) -> pd.DataFrame:
    con = duckdb.connect(str(demo_network.paths.results), read_only=True)
    try:
        return con.execute(f"SELECT * FROM results.study_b_{table}").df()
    finally:
        con.close()


def _analysis(demo_network: Any, table: str) -> pd.DataFrame:
    con = duckdb.connect(str(demo_network.paths.warehouse), read_only=True)
    try:
        return con.execute(f"SELECT * FROM analysis.study_b_{table}").df()
    finally:
        con.close()


def _named_back(r_terms: pd.DataFrame, design: list[str]) -> pd.DataFrame:
    """R's terms (c0..cK, "(Intercept)") under the platform's column names."""
    back = {f"c{i}": column for i, column in enumerate(design)}
    return r_terms.assign(term=r_terms["term"].map(
        lambda t: "intercept" if t == "(Intercept)" else back[t]))


def _frequentist_ck_models(demo_network: Any, model: str) -> pd.DataFrame:
    """The released frequentist CK model rows of one kind (univariable, multivariable)."""
    released = _released(demo_network, "ck_models")
    return released[(released["engine"] == "frequentist") & (released["model"] == model)]


def test_univariable_ck_models_equal_lme4_on_the_release_rows(
        demo_network: Any, tmp_path: Path) -> None:
    """Every released univariable CK model: R's fixed effects, SEs and variances match."""
    cohort, visits = _analysis(demo_network, "cohort"), _analysis(demo_network, "visits")
    frame = follow_up_frame(cohort, visits)
    design = [c for c in frame.columns if c not in ("patient_key", "visit")]
    names = {column: f"c{i}" for i, column in enumerate(design)}
    specs = []
    for outcome, column, adjust in OUTCOMES:
        for p in PREDICTORS:
            predictors = [*TIME_COLUMNS, *adjust, *p.design_columns()]
            specs.append({"model_id": f"{outcome}|{p.name}", "outcome": names[column],
                          "predictors": "+".join(names[c] for c in predictors)})
    out = run_r_script(R_DIR / "lmer_reference.R",
                       {"frame": frame.rename(columns=names), "specs": pd.DataFrame(specs)},
                       tmp_path)
    r_fixed = _named_back(out["fixed"], design)
    released = _frequentist_ck_models(demo_network, "univariable")
    released = released.assign(model_id=released["outcome"] + "|" + released["variable"])
    merged = released.merge(r_fixed, on=["model_id", "term"], suffixes=("", "_r"))
    assert len(merged) == len(released) == len(r_fixed) > 0
    np.testing.assert_allclose(merged["estimate"], merged["estimate_r"], atol=FIXED_ABS)
    np.testing.assert_allclose(merged["se"], merged["se_r"], rtol=SE_REL)
    variance = released.drop_duplicates("model_id").merge(out["variance"], on="model_id",
                                                          suffixes=("", "_r"))
    assert len(variance) == len(specs)
    np.testing.assert_allclose(variance["residual_variance"], variance["residual_variance_r"],
                               rtol=SE_REL)
    np.testing.assert_allclose(variance["group_variance"], variance["group_variance_r"],
                               rtol=SE_REL, atol=1e-8)
    assert (variance["n_obs"] == variance["n_obs_r"]).all()


def test_multivariable_models_equal_lmer_pooled_by_mice_on_the_release_rows(
        demo_network: Any, tmp_path: Path) -> None:
    """Both released multivariable CK models: lmer on each imputed data set (the release's
    parameters rebuild the same imputations), pooled by mice::pool.scalar, gives the released
    estimates, SEs and p-values; the relative explained variation from R's pooled covariance
    equals the released frequentist REV."""
    params = load_parameters(STUDY_CONFIG_DIR / "study_b.toml")
    cohort, visits = _analysis(demo_network, "cohort"), _analysis(demo_network, "visits")
    completed = imputed_cohorts(cohort, visits, params)
    assert len(completed) == params.imputations > 1  # the demo has missing covariates
    frames = [follow_up_frame(filled, visits).assign(imputation=i + 1)
              for i, filled in enumerate(completed)]
    frame = pd.concat(frames, ignore_index=True)
    design = [c for c in frame.columns if c not in ("patient_key", "visit", "imputation")]
    names = {column: f"c{i}" for i, column in enumerate(design)}
    columns = [c for name in MULTIVARIABLE for c in predictor(name).design_columns()]
    specs, terms = [], []
    for outcome, column, adjust in OUTCOMES:
        predictors = [*TIME_COLUMNS, *adjust, *columns]
        specs.append({"model_id": outcome, "outcome": names[column],
                      "predictors": "+".join(names[c] for c in predictors)})
        terms.extend({"model_id": outcome, "term": term,
                      "columns": "+".join(names[c] for c in cols)}
                     for term, cols in multivariable_terms(adjust).items())
    out = run_r_script(R_DIR / "multivariable_reference.R",
                       {"frame": frame.rename(columns=names), "specs": pd.DataFrame(specs),
                        "terms": pd.DataFrame(terms)}, tmp_path)
    r_pooled = _named_back(out["pooled"], design)
    released = _frequentist_ck_models(demo_network, "multivariable")
    assert (released["imputations"] == params.imputations).all()
    merged = released.merge(r_pooled, left_on=["outcome", "term"],
                            right_on=["model_id", "term"], suffixes=("", "_r"))
    assert len(merged) == len(released) == len(r_pooled) > 0
    np.testing.assert_allclose(merged["estimate"], merged["estimate_r"], atol=FIXED_ABS)
    np.testing.assert_allclose(merged["se"], merged["se_r"], rtol=SE_REL)
    # p on the -log10 scale: an SE 1e-4 off moves a tiny p by far more than 1e-4 relative.
    np.testing.assert_allclose(-np.log10(merged["p_value"]), -np.log10(merged["p_value_r"]),
                               rtol=1e-3, atol=1e-4)
    rev = _released(demo_network, "ck_explained_variation")
    rev = rev[rev["engine"] == "frequentist"].merge(
        out["rev"], left_on=["outcome", "term"], right_on=["model_id", "term"],
        suffixes=("", "_r"))
    assert len(rev) == len(terms)
    np.testing.assert_allclose(rev["rev_mean"], rev["rev"], rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(rev["chi_square"], rev["chi_square_r"], rtol=1e-3)
    assert (rev["df"] == rev["df_r"]).all()


@pytest.mark.parametrize("table", ["attrition", "table1", "missing_data", "ck_models",
                                   "ordinal_models", "ck_by_visit", "ck_level_means",
                                   "ck_explained_variation",
                                   "hip_flexor", "prednisone", "baseline_comparisons"])
def test_released_tables_have_rows(demo_network: Any, table: str) -> None:
    """make run's release holds every frequentist study B table with rows."""
    assert len(_released(demo_network, table)) > 0


def test_ordinal_models_equal_clmm_and_polr_on_the_release_rows(
        demo_network: Any, tmp_path: Path) -> None:
    """The released grade models: ordinal::clmm (nAGQ = 10, convergence code 0) and
    MASS::polr on the same rows give the same thresholds, coefficients and SEs.

    Tolerances as tests/stats/test_stats_ordinal.py measured them: clmm estimates 2e-5
    absolute and SEs 5e-5 relative; polr estimates 2e-6 absolute and SEs 1e-5 relative. The
    random-effect SD is compared on R's log scale (clmm reports log SD with its SE)."""
    from imnm.studies.study_b.analyses.ordinal import (
        GRADE_MODELS,
        GRADE_TERMS,
        grade_frame,
        month_6_frame,
    )

    cohort, visits = _analysis(demo_network, "cohort"), _analysis(demo_network, "visits")
    inputs = {"settings": pd.DataFrame({"nagq": [10]})}
    for model in GRADE_MODELS:
        frame = grade_frame(model, cohort, visits)
        inputs[f"data_{model.name}"] = frame[["patient_key", "grade", *GRADE_TERMS]].rename(
            columns={"patient_key": "group", "grade": "y"})
    clmm = run_r_script(STATS_R_DIR / "clmm_reference.R", inputs, tmp_path / "clmm")["clmm"]
    clmm = clmm[clmm["case"] != "wine"]
    assert (clmm["convergence"] == 0).all()
    released = _released(demo_network, "ordinal_models")
    released = released[released["engine"] == "frequentist"]
    for model in GRADE_MODELS:
        ours = released[released["model"] == model.name].set_index("term")
        theirs = clmm[clmm["case"] == model.name].set_index("term")
        fixed = [t for t in ours.index if not t.startswith("sd(")]
        np.testing.assert_allclose(ours.loc[fixed, "estimate"], theirs.loc[fixed, "estimate"],
                                   atol=2e-5)
        np.testing.assert_allclose(ours.loc[fixed, "se"], theirs.loc[fixed, "se"], rtol=5e-5)
        sd = ours.loc["sd(patient_key)", "estimate"]
        np.testing.assert_allclose(np.log(sd), theirs.loc["log_sd", "estimate"], atol=2e-5)
    polr_rows = month_6_frame(cohort, visits).rename(columns={"grade_month_6": "y"})
    polr = run_r_script(STATS_R_DIR / "polr_reference.R", {"data_month_6": polr_rows},
                        tmp_path / "polr")["polr"].set_index("term")
    ours = released[released["model"] == "grade_month_6_polr"].set_index("term")
    np.testing.assert_allclose(ours["estimate"], polr.loc[ours.index, "estimate"], atol=2e-6)
    np.testing.assert_allclose(ours["se"], polr.loc[ours.index, "se"], rtol=1e-5)
