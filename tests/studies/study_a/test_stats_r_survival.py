"""Live cross-checks against R 4.2.2 (survival 3.5-3, pROC 1.18) on the same rows.

Part 1 runs tests/stats/r/survival_reference.R (coxph with Efron ties and default control,
cox.zph(transform = "km"), survfit with log-log CIs, survdiff) on lung and on a seeded
study-shaped data set and compares with imnm.stats.survival. Part 2 runs Study A's R
reference (r/study_a_reference.R via study_a_reference.py, beside this file) on a seeded
synthetic cohort and compares what imnm.stats computes on the same rows.

Tolerances (relative): Cox HR, CI and p 1e-6 and PH chi-square/p 1e-6, because R's default
coxph stops at a relative log-likelihood change of 1e-9 (observed differences ~1e-9);
Kaplan-Meier tables and log-rank 1e-9; closed-form statistics (AUC, DeLong CI, Wilson CIs,
odds ratios, Fisher, Wilcoxon, OLS, t, chi-square, Shapiro-Wilk) 1e-9 or 1e-6 where a
different numerical route is taken (Fisher and Shapiro-Wilk p: 1e-6). R writes 15
significant digits, so nothing can agree better than ~1e-14.
Without Rscript the tests skip (and fail under CI=1, see tests/rscript.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from imnm.stats import (
    confusion_at_cutoff,
    cox_hazard_ratios,
    kaplan_meier_by_group,
    mann_whitney,
    odds_ratio_2x2,
    roc_auc_delong,
    roc_curve,
    youden_cutoff,
)
from imnm.stats.survival import proportional_hazards_test
from tests.stats.test_stats_survival import LUNG_CSV
from tests.studies.study_a.study_a_reference import run_study_a_in_r
from tests.support.frames import scored
from tests.support.rscript import run_r_script

STATS_R_DIR = Path(__file__).resolve().parents[2] / "stats" / "r"

COX_REL = 1e-6
KM_REL = 1e-9
CLOSED_REL = 1e-9


# =========================================================================== part 1: survival


def _study_shaped(seed: int = 20240611, n: int = 120) -> pd.DataFrame:
    """Months to death with ties (whole months), a binary exposure, age and a skewed score."""
    rng = np.random.default_rng(seed)
    exposed = rng.integers(0, 2, n)
    age = rng.normal(58, 12, n).round()
    ascvd = np.exp(rng.normal(2.0, 0.8, n)).round(1)
    hazard = 0.01 * np.exp(0.9 * exposed + 0.02 * (age - 58) + 0.01 * ascvd)
    death = rng.exponential(1.0 / hazard)
    censor = rng.uniform(12, 120, n)
    return pd.DataFrame(
        {
            "time": np.ceil(np.minimum(death, censor)),
            "event": (death <= censor).astype(int),
            "group": exposed,
            "exposed": exposed,
            "age": age,
            "ascvd": ascvd,
        }
    )


def _lung() -> pd.DataFrame:
    d = pd.read_csv(LUNG_CSV)
    d["female"] = (d["sex"] == 2).astype(int)
    return d.rename(columns={"status": "event"}).assign(group=d["female"])


DATASETS = {
    "lung": (_lung, {"sex": ["female"], "sex_age_ecog": ["female", "age", "ph_ecog"],
                     "sex_weight": ["female", "wt_loss"]}),
    "study": (_study_shaped, {"exposed": ["exposed"], "exposed_age": ["exposed", "age"],
                              "exposed_age_ascvd": ["exposed", "age", "ascvd"]}),
}  # fmt: skip


@pytest.mark.parametrize("name", list(DATASETS))
def test_survival_matches_r(name: str, tmp_path: Path) -> None:
    make, models = DATASETS[name]
    data = make()
    spec = pd.DataFrame({"model": list(models), "terms": ["+".join(t) for t in models.values()]})
    r = run_r_script(STATS_R_DIR / "survival_reference.R", {"data": data, "models": spec}, tmp_path)

    for model, terms in models.items():
        r_cox = r["cox"][r["cox"]["model"] == model].set_index("term")
        ours = cox_hazard_ratios(data, "time", "event", terms[0], terms[1:])
        for hr in ours:
            row = r_cox.loc[hr.term]
            got = (hr.hazard_ratio, hr.ci_low, hr.ci_high, hr.p_value)
            want = (row["hr"], row["lower"], row["upper"], row["p"])
            assert got == pytest.approx(want, rel=COX_REL), (model, hr.term)
            assert (hr.n, hr.n_events) == (row["n"], row["events"])

        r_zph = r["zph"][r["zph"]["model"] == model].set_index("term")
        ph = proportional_hazards_test(data, "time", "event", terms)
        for t in ph.terms:
            assert (t.chi2, t.p_value) == pytest.approx(
                (r_zph.loc[t.term, "chisq"], r_zph.loc[t.term, "p"]), rel=COX_REL
            ), (model, t.term)
        assert (ph.global_chi2, ph.global_df, ph.global_p_value) == pytest.approx(
            tuple(r_zph.loc["GLOBAL", ["chisq", "df", "p"]]), rel=COX_REL
        )

    km = kaplan_meier_by_group(data, "time", "event", "group")
    for curve in km.curves:
        want = r["km"][r["km"]["group"] == curve.group]
        want = want[["time", "n_risk", "n_event", "n_censor", "surv", "lower", "upper"]]
        got = curve.table[["time", "n_at_risk", "n_events", "n_censored", "survival", "ci_low",
                           "ci_high"]]  # fmt: skip
        assert len(got) == len(want) > 0
        np.testing.assert_allclose(got.to_numpy(float), want.to_numpy(float), rtol=KM_REL)
    lr = r["logrank"].iloc[0]
    assert (km.logrank_chi2, km.logrank_df, km.logrank_p_value) == pytest.approx(
        (lr["chisq"], lr["df"], lr["p"]), rel=KM_REL
    )


# =========================================================================== part 2: study A

CUTOFF, CONFIDENCE, NORMALITY_ALPHA = 0.01, 0.95, 0.05
SEROTYPES = np.array(["anti-HMGCR", "anti-SRP", "seronegative", "other_msa"])
StudyA = tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]  # cohort, serial, R results


def synthetic_study_a(seed: int = 7, n: int = 90, n_serial: int = 40
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """A cohort shaped like study A's (one row per patient, gaps included) and serial ECGs."""
    rng = np.random.default_rng(seed)
    echo = rng.random(n) < 0.35
    p_lvd = 1.0 / (1.0 + np.exp(-rng.normal(-5.0 + 1.6 * echo, 1.2)))

    def maybe(values: np.ndarray, missing: float) -> pd.Series:
        return pd.Series(values, dtype=object).where(rng.random(n) >= missing, None)

    serotype = rng.choice(SEROTYPES, n, p=[0.45, 0.2, 0.25, 0.1])
    predicts = p_lvd > CUTOFF
    ascvd = np.exp(rng.normal(1.7, 0.9, n)).round(1)
    hazard = 0.04 * np.exp(1.0 * predicts)
    death = rng.exponential(1.0 / hazard)
    censor = rng.uniform(0.5, 12.0, n)
    followup = np.minimum(death, censor).round(2)
    followup[:2] = 0.0  # known but zero follow-up: left out of survival analyses
    cohort = pd.DataFrame(
        {
            "patient_key": [f"P{i:03d}" for i in range(n)],
            "p_lvd": p_lvd,
            "model_predicts_lvd": predicts,
            "echo_lvd_flag": maybe(echo, 0.1),
            "age_at_diagnosis": rng.normal(55, 13, n).round(),
            "sex": np.where(rng.random(n) < 0.4, "male", "female"),
            "hypertension": maybe(rng.random(n) < 0.3 + 0.2 * predicts, 0.05),
            "diabetes": maybe(rng.random(n) < 0.15, 0.05),
            "hdl_c_mg_dl": maybe(rng.normal(52, 12, n).round(1), 0.15).astype(float),
            "ascvd_10y_risk_percent": maybe(ascvd, 0.1).astype(float),
            "statin_use": maybe(rng.random(n) < 0.25, 0.05),
            "serotype": maybe(serotype, 0.08),
            "respiratory_involvement": maybe(rng.random(n) < 0.2 + 0.2 * predicts, 0.05),
            "restrictive_pulmonary": maybe(rng.random(n) < 0.1, 0.2),
            "followup_years": followup,
            "died": death <= censor,
        }
    )
    cohort["seropositive"] = cohort["serotype"].map(
        lambda s: None if s is None else s != "seronegative"
    )
    rows = []
    for key in rng.choice(cohort["patient_key"], n_serial, replace=False):
        years = np.r_[-rng.uniform(0.1, 3.0, rng.integers(1, 4)),
                      rng.uniform(0.0, 5.0, rng.integers(1, 4))]  # fmt: skip
        level = rng.normal(-4.0, 1.0)
        for y in years:
            p = 1.0 / (1.0 + np.exp(-(level - 0.15 * y + rng.normal(0, 0.4))))
            phase = "before_treatment" if y < 0 else "on_treatment"
            rows.append((key, round(float(y), 3), phase, p))
    serial = pd.DataFrame(rows, columns=["patient_key", "years_from_treatment_onset", "phase",
                                         "p_lvd"])  # fmt: skip
    return cohort, serial


@pytest.fixture(scope="module")
def study_a(tmp_path_factory: pytest.TempPathFactory) -> StudyA:
    cohort, serial = synthetic_study_a()
    r = run_study_a_in_r(cohort, serial, CUTOFF, CONFIDENCE, NORMALITY_ALPHA,
                         tmp_path_factory.mktemp("study_a_r"))  # fmt: skip
    return cohort, serial, r


def _with_echo(cohort: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    rows = cohort[cohort["echo_lvd_flag"].notna()]
    return rows["echo_lvd_flag"].astype(bool).to_numpy(), rows["p_lvd"].to_numpy(float)


def test_study_a_synthetic_cohort_is_study_shaped(study_a: StudyA) -> None:
    cohort, serial, _ = study_a
    lvd, _ = _with_echo(cohort)
    assert len(cohort) == 90 and serial["patient_key"].nunique() == 40
    assert 60 < lvd.size < 90 and 15 < lvd.sum() < 45
    assert set(serial["phase"]) == {"before_treatment", "on_treatment"}
    assert 0 < cohort["model_predicts_lvd"].mean() < 1


def test_study_a_accuracy_agrees(study_a: StudyA) -> None:
    cohort, _, r = study_a
    lvd, score = _with_echo(cohort)
    acc = r["accuracy"].set_index("cutoff_rule")
    auc = roc_auc_delong(scored(lvd, score), "lvd", "score", CONFIDENCE)
    assert 0.5 < auc.auc < 1.0
    for rule in acc.index:
        row = acc.loc[rule]
        assert (row["auc"], row["auc_ci_low"], row["auc_ci_high"]) == pytest.approx(
            (auc.auc, auc.ci_low, auc.ci_high), rel=CLOSED_REL
        )
        assert (row["n_patients"], row["n_lvd"]) == (lvd.size, lvd.sum())

    youden = youden_cutoff(roc_curve(scored(lvd, score), "lvd", "score"))
    assert acc.loc["youden", "youden_cutoff_observed"] == pytest.approx(youden, rel=1e-14)
    for rule, cutoff in (("configured", CUTOFF), ("youden", youden)):
        row = acc.loc[rule]
        c = confusion_at_cutoff(scored(lvd, score), "lvd", "score", cutoff, CONFIDENCE)
        assert (c.tp, c.fp, c.fn, c.tn) == tuple(
            row[["true_positive", "false_positive", "false_negative", "true_negative"]]
        ), rule
        for measure in ("sensitivity", "specificity", "ppv", "npv"):
            p = getattr(c, measure)
            assert (p.estimate, p.ci_low, p.ci_high) == pytest.approx(
                tuple(row[[measure, f"{measure}_ci_low", f"{measure}_ci_high"]]),
                rel=CLOSED_REL,
            ), (rule, measure)
        odds = odds_ratio_2x2(c.tp, c.fp, c.fn, c.tn, CONFIDENCE)
        assert (odds.odds_ratio, odds.ci_low, odds.ci_high) == pytest.approx(
            tuple(row[["odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high"]]),
            rel=CLOSED_REL,
        ), rule
        assert odds.fisher_p_value == pytest.approx(row["odds_ratio_p_fisher"], rel=1e-6)
        assert odds.corrected == bool(row["odds_ratio_haldane_corrected"])

    # pROC's curve has the same (sensitivity, specificity) points as ours
    ours = roc_curve(scored(lvd, score), "lvd", "score")
    got = sorted(zip(ours.sensitivity.round(12), ours.specificity.round(12), strict=True))
    want = sorted(zip(r["roc"]["sensitivity"].round(12), r["roc"]["specificity"].round(12),
                      strict=True))  # fmt: skip
    assert got == want


def test_study_a_accuracy_with_a_zero_cell(tmp_path: Path) -> None:
    """A cutoff at the highest non-LVD score leaves no false positive: both sides then add 0.5
    to every cell for the odds ratio and its CI, and Fisher's p uses the raw counts."""
    cohort, serial = synthetic_study_a()
    lvd, score = _with_echo(cohort)
    cutoff = float(score[~lvd].max())
    r = run_study_a_in_r(cohort, serial, cutoff, CONFIDENCE, NORMALITY_ALPHA, tmp_path)
    row = r["accuracy"].set_index("cutoff_rule").loc["configured"]
    c = confusion_at_cutoff(scored(lvd, score), "lvd", "score", cutoff, CONFIDENCE)
    assert c.fp == row["false_positive"] == 0 and c.tp == row["true_positive"] > 0
    odds = odds_ratio_2x2(c.tp, c.fp, c.fn, c.tn, CONFIDENCE)
    assert odds.corrected and bool(row["odds_ratio_haldane_corrected"])
    assert (odds.odds_ratio, odds.ci_low, odds.ci_high) == pytest.approx(
        tuple(row[["odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high"]]), rel=CLOSED_REL
    )
    assert odds.fisher_p_value == pytest.approx(row["odds_ratio_p_fisher"], rel=1e-6)
    assert (c.specificity.estimate, c.specificity.ci_high) == (1.0, row["specificity_ci_high"])
    assert c.specificity.ci_low == pytest.approx(row["specificity_ci_low"], rel=CLOSED_REL)


def test_study_a_score_by_echo_agrees(study_a: StudyA) -> None:
    cohort, _, r = study_a
    lvd, score = _with_echo(cohort)
    mw = mann_whitney(scored(lvd, score), "lvd", "score")
    by = r["score_by_echo"].set_index("echo_group")
    for group, summary in (("lvd", mw.positive), ("no_lvd", mw.negative)):
        row = by.loc[group]
        assert row["n_patients"] == summary.n
        assert (summary.median, summary.q1, summary.q3) == pytest.approx(
            tuple(row[["p_lvd_median", "p_lvd_q1", "p_lvd_q3"]]), rel=CLOSED_REL
        )
    assert mw.u_statistic == by.loc["lvd", "mann_whitney_u"]
    assert mw.p_value == pytest.approx(by.loc["lvd", "mann_whitney_p"], rel=CLOSED_REL)


def test_study_a_logistic_is_sane(study_a: StudyA) -> None:
    cohort, _, r = study_a
    lg = r["logistic"]
    assert list(zip(lg["model"], lg["term"], strict=True)) == [
        ("univariable", "model_predicts_lvd"), ("adjusted", "model_predicts_lvd"),
        ("adjusted", "seropositive"), ("adjusted", "ascvd_10y_risk_percent"),
    ]  # fmt: skip
    assert (lg["ci_low"] < lg["odds_ratio"]).all() and (lg["odds_ratio"] < lg["ci_high"]).all()
    uni = lg.iloc[0]
    lvd, score = _with_echo(cohort)
    tp, fp = int((lvd & (score > CUTOFF)).sum()), int((~lvd & (score > CUTOFF)).sum())
    fn, tn = int((lvd & (score <= CUTOFF)).sum()), int((~lvd & (score <= CUTOFF)).sum())
    # a single binary predictor: the logistic OR is the 2x2 sample odds ratio
    assert uni["odds_ratio"] == pytest.approx(tp * tn / (fp * fn), rel=1e-6)
    assert (uni["n_patients"], uni["n_lvd"]) == (lvd.size, lvd.sum())
    assert lg.iloc[1]["n_patients"] < uni["n_patients"]  # adjusted: complete cases only


TABLE1_COLUMNS = {"abnormal_echo": "echo_lvd_flag", "male": "sex"}


def test_study_a_table1_follows_the_test_rules(study_a: StudyA) -> None:
    cohort, _, r = study_a
    t1 = r["table1"]
    group = cohort["model_predicts_lvd"].astype(bool)
    assert t1["p_value"].between(0, 1).all()
    assert set(t1.loc[t1["variable"] == "serotype", "level"]) == set(SEROTYPES)
    for _, row in t1.iterrows():
        values = cohort[TABLE1_COLUMNS.get(row["variable"], row["variable"])]
        if row["test"] in ("welch_t", "mann_whitney"):
            a = values[~group].dropna().to_numpy(float)
            b = values[group].dropna().to_numpy(float)
            normal = min(stats.shapiro(a).pvalue, stats.shapiro(b).pvalue) > NORMALITY_ALPHA
            assert row["test"] == ("welch_t" if normal else "mann_whitney"), row["variable"]
            p = (stats.ttest_ind(a, b, equal_var=False).pvalue if normal else
                 stats.mannwhitneyu(a, b, method="asymptotic").pvalue)  # fmt: skip
        else:
            keep = values.notna()
            level = row["level"] if isinstance(row["level"], str) else None
            yes = values[keep].astype(str).eq(level) if level else values[keep].astype(bool)
            table = pd.crosstab(yes, group[keep])
            table = table.reindex(index=[True, False], columns=[False, True], fill_value=0)
            expected = stats.contingency.expected_freq(table.to_numpy())
            chi = bool((expected >= 5).all())
            assert row["test"] == ("chi_square" if chi else "fisher_exact"), row["variable"]
            p = (stats.chi2_contingency(table, correction=False).pvalue if chi else
                 stats.fisher_exact(table).pvalue)  # fmt: skip
        assert row["p_value"] == pytest.approx(p, rel=1e-6), (row["variable"], row["level"])


def test_study_a_trajectory_agrees(study_a: StudyA) -> None:
    _, serial, r = study_a
    years = serial["years_from_treatment_onset"].to_numpy(float)
    percent = 100 * serial["p_lvd"].to_numpy(float)
    fit = stats.linregress(years, percent)
    tr = r["trajectory"].iloc[0]
    assert (tr["n_patients"], tr["n_ecgs"]) == (40, len(serial))
    assert (fit.slope, fit.intercept, fit.rvalue, fit.pvalue) == pytest.approx(
        tuple(tr[["slope_percent_per_year", "intercept_percent", "pearson_r", "p_value"]]),
        rel=CLOSED_REL,
    )
    assert tr["slope_ci_low"] < tr["slope_percent_per_year"] < tr["slope_ci_high"]
    slopes = [np.polyfit(g["years_from_treatment_onset"], 100 * g["p_lvd"], 1)[0]
              for _, g in serial.groupby("patient_key")]  # fmt: skip
    assert tr["median_patient_slope"] == pytest.approx(np.median(slopes), rel=1e-9)
    phases = r["trajectory_phases"].set_index("phase")
    for phase, rows in serial.groupby("phase"):
        v = 100 * rows["p_lvd"]
        assert phases.loc[phase, "n_ecgs"] == len(rows)
        assert tuple(phases.loc[phase, ["mean_p_lvd_percent", "sd_p_lvd_percent",
                                        "median_p_lvd_percent"]]) == pytest.approx(
            (v.mean(), v.std(), v.median()), rel=CLOSED_REL)  # fmt: skip


def test_study_a_mortality_agrees(study_a: StudyA) -> None:
    cohort, _, r = study_a
    data = cohort[cohort["followup_years"] > 0].copy()
    data["model_predicts_lvd"] = data["model_predicts_lvd"].astype(int)
    data["died"] = data["died"].astype(int)
    cox = r["cox"]
    assert list(cox["model"].unique()) == ["unadjusted", "adjusted_age", "adjusted_ascvd"]
    for model, covariates in (("unadjusted", []), ("adjusted_age", ["age_at_diagnosis"]),
                              ("adjusted_ascvd", ["ascvd_10y_risk_percent"])):  # fmt: skip
        rows = cox[cox["model"] == model].set_index("term")
        terms = ["model_predicts_lvd", *covariates]
        ph = proportional_hazards_test(data, "followup_years", "died", terms)
        for hr in cox_hazard_ratios(data, "followup_years", "died", terms[0], covariates):
            row = rows.loc[hr.term]
            assert (hr.hazard_ratio, hr.ci_low, hr.ci_high, hr.p_value) == pytest.approx(
                tuple(row[["hazard_ratio", "ci_low", "ci_high", "p_value"]]), rel=COX_REL
            ), (model, hr.term)
            assert (hr.n, hr.n_events) == (row["n_patients"], row["n_events"])
            assert (ph.term(hr.term).chi2, ph.term(hr.term).p_value) == pytest.approx(
                tuple(row[["ph_chi2", "ph_p_value"]]), rel=COX_REL
            )
            assert ph.global_p_value == pytest.approx(row["ph_global_p_value"], rel=COX_REL)
    assert cox.iloc[0]["hazard_ratio"] > 1  # the simulated hazard is e^1 higher if predicted

    data["model_group"] = np.where(data["model_predicts_lvd"] == 1, "predicts_lvd",
                                   "predicts_no_lvd")  # fmt: skip
    km = kaplan_meier_by_group(data, "followup_years", "died", "model_group")
    for curve in km.curves:
        want = r["km"][r["km"]["model_group"] == curve.group].drop(columns="model_group")
        got = curve.table.rename(columns={"time": "time_years"})[want.columns]
        assert len(got) == len(want) > 0
        np.testing.assert_allclose(got.to_numpy(float), want.to_numpy(float), rtol=KM_REL)
    lr = r["logrank"].iloc[0]
    assert (lr["n_patients"], lr["n_events"]) == (len(data), data["died"].sum())
    assert (km.logrank_chi2, km.logrank_p_value) == pytest.approx(
        (lr["chi2"], lr["p_value"]), rel=KM_REL
    )
