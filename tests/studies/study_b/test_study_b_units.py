"""Study B's selection, visits, baseline and tables on small hand-made inputs: each rule and
each window does what docs/study-b.md says."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from imnm.settings import ConfigurationError
from imnm.stats.bayes import BayesFit, BayesPriors, SamplingSettings, continue_draws
from imnm.studies.study_b.analyses import prepare
from imnm.studies.study_b.analyses.bayesian import MAX_DRAWS_FACTOR, sampling_of
from imnm.studies.study_b.analyses.table1 import table1
from imnm.studies.study_b.cohort import duration_band, hip_flexor_grade
from imnm.studies.study_b.inputs import StudyBInputs
from imnm.studies.study_b.parameters import StudyBParameters
from imnm.studies.study_b.variables import predictor

PARAMS = StudyBParameters()


def _inputs() -> StudyBInputs:
    """Six necrotizing biopsies: one without records, two alternative diagnoses, one without
    a diagnosis, one untreated and two treated IMNM patients (P1, P2)."""
    candidates = pd.DataFrame({
        "patient_key": ["P0", "P1", "P2", "P3", "P4", "P5", "P6"],
        "site": ["a"] * 7,
        "biopsy_date": [date(2020, 1, 1)] * 7, "n_biopsies": [1] * 7,
        "has_clinical_record": [False, True, True, True, True, True, True],
        "diagnosis": [None, "imnm", "imnm", "dermatomyositis", "antisynthetase_syndrome",
                      None, "imnm"]})
    patients = pd.DataFrame({
        "patient_key": ["P1", "P2", "P3", "P4", "P5", "P6"], "site": ["a"] * 6,
        "sex": ["female", "male", "male", "female", "male", None],
        "age_at_diagnosis": [70.0, 50.0, 60.0, 40.0, 55.0, 65.0],
        "symptom_onset_date": [date(2019, 12, 1), date(2018, 1, 1), None, None, None, None],
        "diagnosis_date": [date(2020, 1, 10)] * 6,
        "statin_exposure": ["current", "never", "never", "never", "never", "never"],
        "serotype": ["anti-HMGCR", "other_msa", None, None, None, None]})
    treatments = pd.DataFrame({
        "patient_key": ["P1", "P1", "P1", "P1", "P2", "P2", "P2"],
        "drug_class": ["ivmp", "oral_glucocorticoid", "oral_glucocorticoid", "ivig",
                       "oral_glucocorticoid", "csdmard", "oral_glucocorticoid"],
        "agent": ["m", "p", "p", "i", "p", "mtx", "p"],
        "dose_mg": [1000.0, 60.0, 30.0, 1.0, 40.0, 20.0, 20.0],
        "start_date": [date(2020, 1, 11), date(2020, 1, 12), date(2020, 4, 12),
                       date(2020, 2, 1), date(2020, 1, 15), date(2020, 2, 1),
                       date(2020, 3, 15)],
        "stop_date": [date(2020, 1, 13), date(2020, 4, 11), None, date(2020, 2, 5),
                      date(2020, 3, 14), None, None]})
    ck = pd.DataFrame({
        "patient_key": ["P1", "P1", "P1", "P1", "P2", "P2"],
        "sample_date": [date(2020, 1, 9), date(2020, 4, 5), date(2020, 4, 20),
                        date(2020, 7, 12), date(2020, 1, 14), date(2020, 9, 30)],
        "ck_u_l": [10000.0, 1000.0, 900.0, 500.0, 4000.0, 100.0]})
    hips = pd.DataFrame({
        "patient_key": ["P1", "P1", "P2"],
        "exam_date": [date(2020, 1, 9), date(2020, 7, 10), date(2020, 1, 14)],
        "weaker_mrc_grade": [2, 5, 4], "sides_graded": [2, 2, 1]})
    return StudyBInputs(candidates, patients, treatments, ck, hips)


def test_attrition_counts_each_rule_and_each_excluded_diagnosis() -> None:
    """46 -> 34 in the paper; here 7 -> 2, every step and diagnosis counted."""
    cohort, _, attrition = prepare(_inputs(), PARAMS)
    assert list(cohort["patient_key"]) == ["P1", "P2"]
    rules = attrition[attrition["detail"].isna()]
    assert list(rules["n_remaining"]) == [7, 6, 4, 3, 2]
    assert list(rules["n_removed"].iloc[1:]) == [1, 2, 1, 1]
    details = attrition[attrition["detail"].notna()].set_index("detail")["n_removed"]
    assert details.to_dict() == {"antisynthetase_syndrome": 1, "dermatomyositis": 1,
                                 "none recorded": 1}


def test_baseline_is_initial_treatment_and_visits_take_the_closest_in_window() -> None:
    """P1's baseline is the IVMP pulse; its 3-month CK is the one closest to day 91 (Apr 5 is
    6 days from Apr 11, Apr 20 nine); P2's 6-month CK (day 259) falls outside the window."""
    cohort, visits, _ = prepare(_inputs(), PARAMS)
    p1 = cohort.set_index("patient_key").loc["P1"]
    assert p1["baseline_date"] == date(2020, 1, 11)
    assert p1["initial_treatment"] == "gc_ivig" and p1["initial_ivmp"] and p1["early_ivig"]
    assert p1["initial_prednisone_mg"] == 60.0 and p1["baseline_ck_u_l"] == 10000.0
    assert p1["baseline_hip_flexor_grade"] == 0 and p1["moderate_severe"]
    assert p1["symptom_duration_band"] == "5-24 weeks"
    v = visits.set_index(["patient_key", "visit"])
    assert v.loc[("P1", "month_3"), "ck_u_l"] == 1000.0
    assert v.loc[("P1", "month_3"), "ck_reduction_percent"] == pytest.approx(90.0)
    assert v.loc[("P1", "month_6"), "hip_flexor_grade"] == 3
    assert v.loc[("P1", "month_3"), "hip_flexor_missing"]
    assert v.loc[("P1", "month_3"), "prednisone_mg"] == 60.0  # Apr 11 is in the first period
    assert v.loc[("P1", "month_6"), "prednisone_mg"] == 30.0
    assert v.loc[("P2", "month_6"), "ck_missing"]
    assert v.loc[("P2", "month_3"), "prednisone_mg"] == 20.0  # the latest-started period
    p2 = cohort.set_index("patient_key").loc["P2"]
    assert p2["initial_treatment"] == "gc_csdmard" and not p2["early_ivig"]
    assert p2["symptom_duration_band"] == ">1 year"


def test_table1_blocks_add_up_with_other_and_missing_rows() -> None:
    """Every categorical block sums to the cohort; other_msa is 'other', NULL 'missing'."""
    cohort, _, _ = prepare(_inputs(), PARAMS)
    cohort = pd.concat([cohort, cohort.iloc[[0]].assign(patient_key="P9", serotype=None,
                                                         sex=None)])
    table = table1(cohort, PARAMS)
    blocks = table[~table["variable"].isin(["patients", "initial_ck_u_l"])]
    assert (blocks.groupby("variable")["n"].sum() == len(cohort)).all()
    serotype = table[table["variable"] == "antibody_status"].set_index("level")["n"]
    assert serotype["other"] == 1 and serotype["missing"] == 1


def test_grade_bands_and_predictor_design() -> None:
    """MRC -> 4 levels, duration bands at their edges, and a categorical's dummies."""
    assert list(hip_flexor_grade(pd.Series([0, 1, 2, 3, 4, 5]))) == [0, 0, 0, 1, 2, 3]
    bands = duration_band(pd.Series([0, 34, 35, 168, 169, 364, 365, np.nan]))
    assert list(bands[:7]) == ["<5 weeks", "<5 weeks", "5-24 weeks", "5-24 weeks",
                               "25-52 weeks", "25-52 weeks", ">1 year"]
    assert pd.isna(bands.iloc[7])
    design = predictor("serotype").design(pd.DataFrame(
        {"serotype": ["anti-HMGCR", "anti-SRP", "other_msa", None]}))
    assert design.iloc[1].tolist() == [1.0, 0.0] and design.iloc[0].tolist() == [0.0, 0.0]
    assert design.iloc[2:].isna().all().all()


def test_parameters_refuse_overlapping_windows_and_bad_dates() -> None:
    """A configuration error names the parameter."""
    with pytest.raises(ConfigurationError, match="overlap"):
        StudyBParameters(month_3_window_days=60, month_6_window_days=60)
    with pytest.raises(ConfigurationError, match="biopsy_from"):
        StudyBParameters(biopsy_from="2020-13-01")


def _fit_with_draws(coef: np.ndarray, divergences: int = 0) -> BayesFit:
    """A BayesFit over given coefficient draws (chains, draws, 1), thresholds from them."""
    chains, draws, _ = coef.shape
    diverging = np.zeros((chains, draws), dtype=bool)
    diverging.flat[:divergences] = True
    sampling = SamplingSettings(chains=chains, warmup=100, draws=draws, seed=1)
    return BayesFit(coef_names=("x",), coef_draws=coef, threshold_draws=coef + 1.0,
                    random_sd_draws=None, diverging=diverging,
                    chain_fit=np.zeros(chains, dtype=np.int64),
                    predictor_means=np.zeros(1), group_col=None, n_obs=100, n_groups=0,
                    priors=BayesPriors(), sampling=sampling)


def _autocorrelated(phi: float, chains: int = 4, draws: int = 1000) -> np.ndarray:
    """AR(1) chains with autocorrelation `phi` (ESS about chains x draws x (1-phi)/(1+phi))."""
    rng = np.random.default_rng(3)
    out = np.zeros((chains, draws, 1))
    out[:, 0, 0] = rng.normal(size=chains)
    for t in range(1, draws):
        out[:, t, 0] = phi * out[:, t - 1, 0] + np.sqrt(1 - phi**2) * rng.normal(size=chains)
    return out


def test_a_fit_short_of_its_ess_target_continues_by_what_its_ess_says() -> None:
    """Well mixed: no more draws. ESS about 40 of 400: up to the cap (four times the draws).
    Short by a little: whole steps of half the draws. A divergence: none (more draws do not
    cure it). At the cap: none."""
    base = replace(sampling_of(StudyBParameters()), draws=1000, max_draws=MAX_DRAWS_FACTOR * 1000)
    assert continue_draws(_fit_with_draws(_autocorrelated(0.0)), base) == 0
    assert continue_draws(_fit_with_draws(_autocorrelated(0.98)), base) == 3000
    fit = _fit_with_draws(_autocorrelated(0.85))  # ESS about 320
    assert not fit.diagnostics().passed
    assert fit.diagnostics() is fit.diagnostics()  # computed once per fit
    more = continue_draws(fit, base)
    assert 500 <= more <= 3000 and more % 500 == 0
    assert continue_draws(_fit_with_draws(_autocorrelated(0.95), divergences=1), base) == 0
    assert continue_draws(_fit_with_draws(_autocorrelated(0.98, draws=4000)), base) == 0
    assert continue_draws(_fit_with_draws(_autocorrelated(0.98)),
                          replace(base, max_draws=None)) == 0


def test_imputations_start_at_the_first_ones_draws_and_stack_at_the_most(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The first imputation's draws (after it continued) are where the others start; one that
    needed more than the rest makes the rest fitted again at that many, so every stacked fit has
    the same draws per chain."""
    from imnm.studies.study_b.analyses import bayesian

    needs = {1: 1500, 2: 2000, 3: 1500}  # draws per chain each imputation ends with
    calls: list[tuple[int, int, int | None]] = []

    def fake_fit(spec: bayesian.FitSpec, priors: BayesPriors, sampling: SamplingSettings
                 ) -> BayesFit:
        calls.append((spec.imputation, sampling.draws, sampling.max_draws))
        draws = (sampling.draws if sampling.max_draws is None
                 else max(sampling.draws, needs[spec.imputation]))
        return _fit_with_draws(np.zeros((4, draws, 1)))

    monkeypatch.setattr(bayesian, "_fit", fake_fit)
    runner = bayesian.FitRunner(StudyBParameters(), {})
    specs = [bayesian.FitSpec("ck|log_ck|multivariable", pd.DataFrame(), ("x",), (0.0, 1.0), i)
             for i in (1, 2, 3)]
    stacked = runner._fit_stacked(specs)
    assert calls == [(1, 1000, 4000), (2, 1500, 4000), (3, 1500, 4000),
                     (1, 2000, None), (3, 2000, None)]
    assert stacked.n_fits == 3 and stacked.coef_draws.shape == (12, 2000, 1)
