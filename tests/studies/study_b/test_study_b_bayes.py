"""Study B's Bayesian engine on the demo release: every released Bayesian fit passed its
diagnostics and says so; under the weak configured priors the grade models' posterior means
agree with the frequentist maximum-likelihood fits (ordinal::clmm's, checked against R in
test_study_b_r_models.py) on the same rows; and a refresh whose inputs did not change reuses
every cached fit (none refitted) with the same numbers."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from imnm.studies.parameters import load_study_parameters
from imnm.studies.study_b.analyses import run_study_b
from imnm.studies.study_b.inputs import read_inputs

# Posterior mean against the MLE, in posterior SDs: the priors are weak (Normal(0, 100)), the
# posterior near normal at 177 patients, and Monte Carlo error about 0.03 SD at ESS >= 1000.
BAYES_VS_MLE_SD = 0.25


def _released(demo_network: Any, table: str) -> pd.DataFrame:
    with duckdb.connect(str(demo_network.paths.results), read_only=True) as con:
        return con.execute(f"SELECT * FROM results.study_b_{table}").df()


def test_every_released_bayesian_fit_passed_its_diagnostics(demo_network: Any) -> None:
    """One diagnostics row per configured fit, each passed (R-hat <= 1.01, ESS >= 400, no
    divergence), with its numbers."""
    params = load_study_parameters()["study_b"]  # the suite's: grade models only
    diagnostics = _released(demo_network, "bayes_diagnostics")
    assert "grade" in params.bayes_models
    assert sorted(diagnostics["fit_id"]) == sorted(
        f"grade|{m}" for m in ("grade_early_ivig", "grade_early_ivig_moderate_severe",
                               "grade_ivmp"))
    assert diagnostics["passed"].all(), diagnostics[["fit_id", "reasons"]].to_dict("records")
    assert (diagnostics["max_rhat"] <= params.bayes_max_rhat).all()
    assert (diagnostics[["min_ess_bulk", "min_ess_tail"]] >= params.bayes_min_ess).all().all()
    assert (diagnostics["divergences"] == 0).all() and diagnostics["reasons"].isna().all()


def test_bayesian_grade_models_agree_with_the_frequentist_fits(demo_network: Any) -> None:
    """Every coefficient, threshold and the random SD: |posterior mean - MLE| within
    BAYES_VS_MLE_SD posterior SDs; the frequentist 95% CI and the HDI overlap heavily."""
    rows = _released(demo_network, "ordinal_models")
    rows = rows[rows["model"] != "grade_month_6_polr"]
    paired = rows[rows["engine"] == "bayesian"].merge(
        rows[rows["engine"] == "frequentist"], on=["model", "term"], suffixes=("", "_mle"))
    assert len(paired) == 3 * 9
    gap = (paired["estimate"] - paired["estimate_mle"]).abs() / paired["se"]
    assert gap.max() < BAYES_VS_MLE_SD, paired.loc[gap.idxmax(), ["model", "term"]].tolist()
    coefficients = paired[paired["kind"] == "coefficient"]
    assert coefficients["p_direction"].between(0.5, 1.0).all()
    assert coefficients["direction_label"].notna().all()


def test_an_unchanged_cohort_refits_nothing(demo_network: Any) -> None:
    """The analyses rerun on the same inputs (the cache as the refresh left it) reuse every
    Bayesian fit and give the released rows again."""
    params = load_study_parameters()["study_b"]
    with duckdb.connect(str(demo_network.paths.warehouse), read_only=True) as con:
        inputs = read_inputs(con, demo_network.model_version, params)
    assert len(inputs.bayes_fits) == 3
    results = run_study_b(inputs, params)
    assert results.bayes is not None
    assert (results.bayes.fitted, results.bayes.reused) == (0, 3)
    again = results.tables["ordinal_models"].drop(columns="row_order")
    released = _released(demo_network, "ordinal_models")[list(again.columns)]

    def plain(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return frame.astype(object).where(frame.notna(), None).to_dict("records")

    assert plain(again) == plain(released)
