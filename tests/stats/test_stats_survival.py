"""Tests for imnm.stats.survival against values pinned from R 4.2.2 with survival 3.5-3.

R is not needed to run these tests; the R code that produced each pinned number is
quoted in the docstring of the test that uses it.

tests/stats/data/lung.csv is the `lung` data of the R survival package, exported with

    d <- survival::lung
    out <- data.frame(time = d$time, status = as.integer(d$status == 2), age = d$age,
                      sex = d$sex, ph_ecog = d$ph.ecog, ph_karno = d$ph.karno,
                      wt_loss = d$wt.loss)
    write.csv(out, "lung.csv", row.names = FALSE, na = "")

and read back in R as `d <- read.csv("lung.csv"); d$female <- as.integer(d$sex == 2)`.
`STUDY` below is a small study-shaped cohort (months to death, death, P(LVD) > 1%,
age, ASCVD score) with tied death times; in R it is `d` built from the same rows.
Cox fits use `ctl <- coxph.control(eps = 1e-12, toler.chol = 1e-14, iter.max = 100)`
(the defaults agree to ~1e-9) and `s <- summary(fit)`; HR, CI and Wald p are
`s$conf.int[, c(1, 3, 4)]` and `s$coefficients[, "Pr(>|z|)"]`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imnm.stats import HazardRatio, cox_hazard_ratios, kaplan_meier_by_group

LUNG_CSV = Path(__file__).parent / "data" / "lung.csv"

STUDY = pd.DataFrame(
    [
        (6, 1, 1, 62, 1.5), (84, 0, 1, 66, 12.0), (24, 1, 1, 58, 4.4), (72, 0, 1, 50, 4.4),
        (12, 1, 1, 56, 21.7), (42, 0, 1, 49, 9.5), (6, 1, 1, 63, 11.1), (30, 1, 1, 79, 11.3),
        (6, 1, 1, 56, 1.5), (12, 1, 1, 54, 11.7), (60, 1, 1, 68, 44.4), (78, 0, 1, 67, 2.6),
        (30, 1, 1, 63, 17.2), (42, 0, 1, 50, 18.6), (120, 0, 0, 62, 18.4), (66, 0, 0, 71, 5.2),
        (120, 0, 0, 45, 6.6), (72, 0, 0, 56, 2.7), (72, 0, 0, 37, 8.7), (114, 0, 0, 45, 26.0),
        (96, 0, 0, 38, 4.5), (78, 0, 0, 59, 1.0), (24, 1, 0, 46, 9.6), (108, 0, 0, 66, 18.7),
        (6, 1, 0, 64, 7.3), (114, 0, 0, 60, 33.4), (24, 0, 0, 29, 7.8), (60, 1, 0, 55, 9.4),
        (72, 0, 0, 61, 3.0), (66, 1, 0, 63, 6.8),
    ],
    columns=["months", "died", "high_lvd", "age", "ascvd"],
)  # fmt: skip

REL = 1e-6
KM_COLS = ["time", "n_at_risk", "n_events", "n_censored", "survival", "ci_low", "ci_high"]


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    d = pd.read_csv(LUNG_CSV)
    d["female"] = (d["sex"] == 2).astype(int)
    return d


def _check(hr: HazardRatio, term: str, expected: tuple[float, float, float, float]) -> None:
    est, lo, hi, p = expected
    assert hr.term == term
    assert hr.hazard_ratio == pytest.approx(est, rel=REL)
    assert hr.ci_low == pytest.approx(lo, rel=REL)
    assert hr.ci_high == pytest.approx(hi, rel=REL)
    assert hr.p_value == pytest.approx(p, rel=REL)


# --------------------------------------------------------------------------- Cox, study-shaped


def test_cox_study_unadjusted_age_and_ascvd_adjusted() -> None:
    """coxph(Surv(months, died) ~ high_lvd, data = d, control = ctl)
    #   4.11978413505948 1.23889376796964 13.6998197571882  p 0.020922075424725
    coxph(Surv(months, died) ~ high_lvd + age, data = d, control = ctl)
    #   high_lvd 3.62083958396872 1.035906203942007 12.65604862963900  p 0.0438822829832581
    #   age      1.02028292459484 0.963256871715583  1.08068499357373  p 0.4938032199872741
    coxph(Surv(months, died) ~ high_lvd + ascvd, data = d, control = ctl)
    #   high_lvd 4.157338198670544 1.245486203678996 13.87687864150744 p 0.0205077997294838
    #   ascvd    0.995807141002719 0.946904927045054  1.04723487411406 p 0.8700919223062936
    """
    (unadj,) = cox_hazard_ratios(STUDY, "months", "died", "high_lvd")
    _check(unadj, "high_lvd", (4.11978413505948, 1.23889376796964, 13.6998197571882,
                               0.020922075424725))  # fmt: skip
    assert (unadj.n, unadj.n_events) == (30, 13)

    lvd, age = cox_hazard_ratios(STUDY, "months", "died", "high_lvd", ["age"])
    _check(lvd, "high_lvd", (3.62083958396872, 1.035906203942007, 12.65604862963900,
                             0.0438822829832581))  # fmt: skip
    _check(age, "age", (1.02028292459484, 0.963256871715583, 1.08068499357373,
                        0.4938032199872741))  # fmt: skip

    lvd, ascvd = cox_hazard_ratios(STUDY, "months", "died", "high_lvd", ["ascvd"])
    _check(lvd, "high_lvd", (4.157338198670544, 1.245486203678996, 13.87687864150744,
                             0.0205077997294838))  # fmt: skip
    _check(ascvd, "ascvd", (0.995807141002719, 0.946904927045054, 1.04723487411406,
                            0.8700919223062936))  # fmt: skip


def test_cox_uses_efron_not_breslow_ties() -> None:
    """coxph(Surv(months, died) ~ high_lvd, data = d, ties = "breslow", control = ctl)
    #   3.93993746484703 (Efron: 4.11978413505948)
    """
    (hr,) = cox_hazard_ratios(STUDY, "months", "died", "high_lvd")
    assert hr.hazard_ratio != pytest.approx(3.93993746484703, rel=1e-3)
    assert hr.hazard_ratio == pytest.approx(4.11978413505948, rel=REL)


def test_cox_boolean_exposure_equals_integer() -> None:
    as_bool = STUDY.assign(high_lvd=STUDY["high_lvd"].astype(bool))
    assert cox_hazard_ratios(as_bool, "months", "died", "high_lvd") == cox_hazard_ratios(
        STUDY, "months", "died", "high_lvd"
    )


def test_cox_confidence_level() -> None:
    (hr95,) = cox_hazard_ratios(STUDY, "months", "died", "high_lvd")
    (hr90,) = cox_hazard_ratios(STUDY, "months", "died", "high_lvd", confidence=0.90)
    assert hr95.ci_low < hr90.ci_low < hr90.hazard_ratio < hr90.ci_high < hr95.ci_high
    # the log-scale CI is symmetric about log(HR)
    assert math.log(hr90.ci_low) + math.log(hr90.ci_high) == pytest.approx(
        2 * math.log(hr90.hazard_ratio)
    )


# --------------------------------------------------------------------------- Cox, lung


def test_cox_lung_matches_coxph(lung: pd.DataFrame) -> None:
    """coxph(Surv(time, status) ~ female, data = d)
    #   0.588002818563589 0.423717830353915 0.815984813171386  p 0.00149122920488075
    coxph(Surv(time, status) ~ female + age, data = d)
    #   female 0.598565980406792 0.431093578804223 0.83109851437396   p 0.00217844504671315
    #   age    1.017191432444874 0.998968580290331 1.03574669979965   p 0.06459101212954728
    coxph(Surv(time, status) ~ female + age + ph_ecog, data = d)       # n 227, events 164
    #   female  0.575444556190492 0.414213018549173 0.799435127387147 p 9.86051372138464e-04
    #   age     1.011128227722516 0.992928097169850 1.029661962242155 p 2.32415680999612e-01
    #   ph_ecog 1.589991190054285 1.272675177774297 1.986423581287591 p 4.44706665185678e-05
    """
    (sex,) = cox_hazard_ratios(lung, "time", "status", "female")
    _check(sex, "female", (0.588002818563589, 0.423717830353915, 0.815984813171386,
                           0.00149122920488075))  # fmt: skip
    assert (sex.n, sex.n_events) == (228, 165)

    sex, age = cox_hazard_ratios(lung, "time", "status", "female", ["age"])
    _check(sex, "female", (0.598565980406792, 0.431093578804223, 0.83109851437396,
                           0.00217844504671315))  # fmt: skip
    _check(age, "age", (1.017191432444874, 0.998968580290331, 1.03574669979965,
                        0.06459101212954728))  # fmt: skip

    sex, age, ecog = cox_hazard_ratios(lung, "time", "status", "female", ["age", "ph_ecog"])
    _check(sex, "female", (0.575444556190492, 0.414213018549173, 0.799435127387147,
                           9.86051372138464e-04))  # fmt: skip
    _check(age, "age", (1.011128227722516, 0.992928097169850, 1.029661962242155,
                        2.32415680999612e-01))  # fmt: skip
    _check(ecog, "ph_ecog", (1.589991190054285, 1.272675177774297, 1.986423581287591,
                             4.44706665185678e-05))  # fmt: skip
    assert (ecog.n, ecog.n_events) == (227, 164)


def test_cox_lung_complete_cases_and_breslow_contrast(lung: pd.DataFrame) -> None:
    """coxph(Surv(time, status) ~ female + wt_loss, data = d)          # n 214, events 152
    #   female  0.582063723825236 0.413805270470347 0.818738191053511 p 0.00187830142907946
    #   wt_loss 1.000827390353155 0.989044531132563 1.012750623204096 p 0.89113105191811948
    coxph(Surv(time, status) ~ female + age + ph_ecog, data = d, ties = "breslow")
    #   female  0.575860652793535 (Efron: 0.575444556190492)
    """
    sex, wt = cox_hazard_ratios(lung, "time", "status", "female", ["wt_loss"])
    _check(sex, "female", (0.582063723825236, 0.413805270470347, 0.818738191053511,
                           0.00187830142907946))  # fmt: skip
    _check(wt, "wt_loss", (1.000827390353155, 0.989044531132563, 1.012750623204096,
                           0.89113105191811948))  # fmt: skip
    assert (sex.n, sex.n_events) == (214, 152)

    sex = cox_hazard_ratios(lung, "time", "status", "female", ["age", "ph_ecog"])[0]
    assert sex.hazard_ratio != pytest.approx(0.575860652793535, rel=1e-4)


# --------------------------------------------------------------------------- Cox errors


def test_cox_no_events_raises() -> None:
    with pytest.raises(ValueError, match="no events"):
        cox_hazard_ratios(STUDY.assign(died=0), "months", "died", "high_lvd")


def test_cox_single_level_exposure_raises() -> None:
    with pytest.raises(ValueError, match="single level"):
        cox_hazard_ratios(STUDY.assign(high_lvd=1), "months", "died", "high_lvd")


def test_cox_single_level_after_complete_cases_raises() -> None:
    d = STUDY.assign(age=np.where(STUDY["high_lvd"] == 1, np.nan, STUDY["age"]))
    with pytest.raises(ValueError, match="exposure 'high_lvd' has a single level"):
        cox_hazard_ratios(d, "months", "died", "high_lvd", ["age"])


def test_cox_all_events_in_one_group_raises() -> None:
    d = STUDY.assign(died=STUDY["high_lvd"])
    with pytest.raises(ValueError, match="all events fall in one level"):
        cox_hazard_ratios(d, "months", "died", "high_lvd")


def test_cox_collinear_covariate_raises() -> None:
    d = STUDY.assign(age2=STUDY["age"] * 2.0)
    with pytest.raises(ValueError, match="did not converge"):
        cox_hazard_ratios(d, "months", "died", "high_lvd", ["age", "age2"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"died": [2] * 30}, "must be 0/1"),
        ({"months": [-1] + [5] * 29}, "negative"),
        ({"high_lvd": ["yes", "no"] * 15}, "numeric"),
    ],
)
def test_cox_bad_columns_raise(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cox_hazard_ratios(STUDY.assign(**change), "months", "died", "high_lvd")


def test_cox_missing_column_raises() -> None:
    with pytest.raises(ValueError, match="not in data frame"):
        cox_hazard_ratios(STUDY, "months", "died", "high_lvd", ["ldl"])


# --------------------------------------------------------------------------- Kaplan-Meier


def test_km_study_curves_and_logrank() -> None:
    """km <- survfit(Surv(months, died) ~ high_lvd, data = d, conf.type = "log-log")
    summary(km, censored = TRUE)       # rows quoted below as (time, n.risk, n.event,
                                       # n.censor, surv, lower, upper)
    survdiff(Surv(months, died) ~ high_lvd, data = d)$chisq   # 6.11554925930542
    pchisq(6.11554925930542, 1, lower.tail = FALSE)           # 0.0133997768137899
    """
    res = kaplan_meier_by_group(STUDY, "months", "died", "high_lvd")
    assert res.logrank_chi2 == pytest.approx(6.11554925930542, rel=1e-9)
    assert res.logrank_df == 1
    assert res.logrank_p_value == pytest.approx(0.0133997768137899, rel=1e-9)
    assert [c.group for c in res.curves] == [0, 1]

    high = res.curve(1)
    assert (high.n, high.n_events) == (14, 9)
    expected_high = [
        (6, 14, 3, 0, 0.785714285714286, 0.4724636799142607, 0.925365226255237),
        (12, 11, 2, 0, 0.642857142857143, 0.3433068778997128, 0.833106828191954),
        (24, 9, 1, 0, 0.571428571428571, 0.2840052825588111, 0.779742263661165),
        (30, 8, 2, 0, 0.428571428571429, 0.1772713285837871, 0.660365838238513),
        (42, 6, 0, 2, 0.428571428571429, 0.1772713285837871, 0.660365838238513),
        (60, 4, 1, 0, 0.321428571428571, 0.0949358716871447, 0.578624620148660),
        (72, 3, 0, 1, 0.321428571428571, 0.0949358716871447, 0.578624620148660),
        (78, 2, 0, 1, 0.321428571428571, 0.0949358716871447, 0.578624620148660),
        (84, 1, 0, 1, 0.321428571428571, 0.0949358716871447, 0.578624620148660),
    ]
    got = high.table[KM_COLS].to_numpy()
    np.testing.assert_allclose(got, np.array(expected_high), rtol=1e-9)

    low = res.curve(0).table
    assert len(low) == 10
    row = low.loc[low["time"] == 66].iloc[0]
    assert (row["n_at_risk"], row["n_events"], row["n_censored"]) == (12, 1, 1)
    assert (row["survival"], row["ci_low"], row["ci_high"]) == pytest.approx(
        (0.740384615384615, 0.4463921173419043, 0.894025207323247), rel=1e-9
    )


def test_km_lung_log_and_log_log_cis(lung: pd.DataFrame) -> None:
    """for (ct in c("log-log", "log")) summary(survfit(Surv(time, status) ~ female, data = d,
                                              conf.type = ct), censored = TRUE)
    female=1 rows 1, 2, 10, 30, 60 (time, n.risk, n.event, n.censor, surv, lower, upper);
    119 and 87 rows per group; log-rank survdiff(Surv(time, status) ~ female)$chisq
    10.3267419548856, p 0.00131116452035549.
    """
    common = [
        (5, 90, 1, 0, 0.988888888888889),
        (60, 89, 1, 0, 0.977777777777778),
        (107, 81, 1, 0, 0.910704546581387),
        (226, 59, 1, 0, 0.745238302979298),
        (376, 29, 0, 1, 0.508914262513042),
    ]
    cis = {
        "log-log": [
            (0.923743477867069, 0.998427343805424),
            (0.914060108992540, 0.994395519426605),
            (0.829351125507660, 0.954317514146673),
            (0.638871257468503, 0.824496630731681),
            (0.385793875274466, 0.619374577368936),
        ],
        "log": [
            (0.967468240209196, 1.0),
            (0.947793404602911, 1.0),
            (0.853516363916054, 0.971724510774093),
            (0.658432889625167, 0.843487828415787),
            (0.403497731590954, 0.641871580214355),
        ],
    }
    for conf_type, ci in cis.items():
        res = kaplan_meier_by_group(lung, "time", "status", "female", conf_type=conf_type)
        assert [len(c.table) for c in res.curves] == [119, 87]
        assert res.logrank_chi2 == pytest.approx(10.3267419548856, rel=1e-9)
        assert res.logrank_p_value == pytest.approx(0.00131116452035549, rel=1e-9)
        got = res.curve(1).table[KM_COLS].iloc[[0, 1, 9, 29, 59]].to_numpy()
        expected = np.array([(*row, lo, hi) for row, (lo, hi) in zip(common, ci, strict=True)])
        np.testing.assert_allclose(got, expected, rtol=1e-9, err_msg=conf_type)


def test_km_three_groups_logrank(lung: pd.DataFrame) -> None:
    """d3 <- subset(d, ph_ecog %in% c(0, 1, 2))
    survdiff(Surv(time, status) ~ ph_ecog, data = d3)$chisq   # 18.0120966946982, df 2
    pchisq(18.0120966946982, 2, lower.tail = FALSE)           # 0.000122665631501063
    """
    res = kaplan_meier_by_group(lung[lung["ph_ecog"] <= 2], "time", "status", "ph_ecog")
    assert [c.group for c in res.curves] == [0.0, 1.0, 2.0]
    assert res.logrank_df == 2
    assert res.logrank_chi2 == pytest.approx(18.0120966946982, rel=1e-9)
    assert res.logrank_p_value == pytest.approx(0.000122665631501063, rel=1e-9)


TINY = pd.DataFrame(
    {
        "t": [2, 3, 3, 5, 8, 1, 4, 6, 9, 9],
        "e": [0, 1, 1, 1, 1, 1, 0, 1, 0, 1],
        "g": ["a"] * 5 + ["b"] * 5,
    }
)


@pytest.mark.parametrize(
    ("conf_type", "expected_a", "expected_b"),
    [
        (
            "log-log",
            [(np.nan, np.nan), (0.05784708299514463, 0.844861281190374),
             (0.00894782441660317, 0.665325342788865), (np.nan, np.nan)],
            [(0.20380926326763926, 0.969179788866743), (0.20380926326763926, 0.969179788866743),
             (0.06833208784720288, 0.863071182738792), (0.00967700057888136, 0.686136279157012)],
        ),
        (
            "log",
            [(1.0, 1.0), (0.1876589287065883, 1.0), (0.0457907596660182, 1.0), (np.nan, np.nan)],
            [(0.5161257603421721, 1.0), (0.5161257603421721, 1.0), (0.2141834807413687, 1.0),
             (0.0507427651266712, 1.0)],
        ),
        (
            "plain",
            [(1.0, 1.0), (0.0100090038649866, 0.989990996135013), (0.0, 0.674344650278564),
             (np.nan, np.nan)],
            [(0.4493909837693675, 1.0), (0.4493909837693675, 1.0), (0.0467660878709485, 1.0),
             (0.0, 0.709128104085547)],
        ),
    ],
)  # fmt: skip
def test_km_ci_edges_where_survival_is_one_or_zero(
    conf_type: str, expected_a: list, expected_b: list
) -> None:
    """R gives NA for the log-log CI where S = 1 and for every CI where S = 0:

    t2 <- data.frame(t = c(2, 3, 3, 5, 8, 1, 4, 6, 9, 9), e = c(0, 1, 1, 1, 1, 1, 0, 1, 0, 1),
                     g = c(rep("a", 5), rep("b", 5)))
    summary(survfit(Surv(t, e) ~ g, data = t2, conf.type = ct), censored = TRUE)
    survdiff(Surv(t, e) ~ g, data = t2)$chisq   # 1.73175395094554, p 0.188187056731676
    """
    res = kaplan_meier_by_group(TINY, "t", "e", "g", conf_type=conf_type)
    a, b = res.curve("a").table, res.curve("b").table
    np.testing.assert_allclose(a["survival"], [1.0, 0.5, 0.25, 0.0], rtol=1e-12)
    np.testing.assert_allclose(b["survival"], [0.8, 0.8, 0.533333333333333, 0.266666666666667],
                               rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(a[["ci_low", "ci_high"]].to_numpy(), expected_a, rtol=1e-9,
                               atol=1e-15)  # fmt: skip
    np.testing.assert_allclose(b[["ci_low", "ci_high"]].to_numpy(), expected_b, rtol=1e-9,
                               atol=1e-15)  # fmt: skip
    assert res.logrank_chi2 == pytest.approx(1.73175395094554, rel=1e-9)
    assert res.logrank_p_value == pytest.approx(0.188187056731676, rel=1e-9)


def test_km_drops_incomplete_rows_and_validates() -> None:
    d = TINY.assign(g=TINY["g"].where(TINY.index != 0, None))
    res = kaplan_meier_by_group(d, "t", "e", "g")
    assert res.curve("a").n == 4 and res.curve("b").n == 5
    with pytest.raises(KeyError):
        res.curve("c")
    with pytest.raises(ValueError, match="single level"):
        kaplan_meier_by_group(TINY.assign(g="a"), "t", "e", "g")
    with pytest.raises(ValueError, match="no events"):
        kaplan_meier_by_group(TINY.assign(e=0), "t", "e", "g")
    with pytest.raises(ValueError, match="conf_type"):
        kaplan_meier_by_group(TINY, "t", "e", "g", conf_type="arcsine")  # type: ignore[arg-type]


def test_a_divergent_cox_fit_is_refused_not_overflowed() -> None:
    """Nearly separated data (every death in the exposed group but one late one) must give a
    clear error, never an OverflowError or an infinite hazard ratio."""
    rng = np.random.default_rng(1)
    exposed = np.r_[np.ones(20), np.zeros(20)]
    time = np.r_[rng.uniform(0.1, 1.0, 20), rng.uniform(5.0, 9.0, 20)]
    died = np.r_[np.ones(20), np.zeros(19), [1]]
    age = np.r_[rng.normal(80, 1, 20), rng.normal(40, 1, 20)]
    frame = pd.DataFrame({"t": time, "d": died, "x": exposed, "age": age})
    with pytest.raises(ValueError, match="cannot be estimated|did not converge"):
        cox_hazard_ratios(frame, "t", "d", "x", ["age"])
