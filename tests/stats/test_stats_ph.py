"""Tests for imnm.stats.survival.proportional_hazards_test against R 4.2.2 with survival 3.5-3.

Each pinned number is R's ``cox.zph(fit, transform = tr)$table`` for

    fit <- coxph(formula, data = d, control = ctl, x = TRUE, y = TRUE, model = TRUE)

with `d`, `ctl` and the lung / STUDY data as described in tests/test_stats_survival.py
(with the default ``coxph.control()`` every chi-square below moves by < 1e-9 relative).
R is not needed to run these tests; tests/test_stats_r_survival.py re-derives them live.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.statistics import proportional_hazard_test

from imnm.stats.survival import PhTest, proportional_hazards_test
from tests.stats.test_stats_survival import LUNG_CSV, STUDY

# Observed agreement is ~1e-12; the bound leaves room for Newton-Raphson stopping points.
REL = 1e-8
LUNG_TERMS = ["female", "age", "ph_ecog"]


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    d = pd.read_csv(LUNG_CSV)
    d["female"] = (d["sex"] == 2).astype(int)
    return d


def _check(res: PhTest, expected: dict[str, float], global_df: int) -> None:
    """`expected` maps each term (and "GLOBAL") to R's chisq; p follows from chisq and df."""
    assert [t.term for t in res.terms] + ["GLOBAL"] == list(expected)
    for t in res.terms:
        assert t.df == 1
        assert t.chi2 == pytest.approx(expected[t.term], rel=REL), t.term
    assert res.global_df == global_df
    assert res.global_chi2 == pytest.approx(expected["GLOBAL"], rel=REL)


# --------------------------------------------------------------------------- lung


def test_ph_lung_km_transform(lung: pd.DataFrame) -> None:
    """cox.zph(coxph(Surv(time, status) ~ female + age + ph_ecog, ...), transform = "km")
    #                     chisq df                 p
    # female  2.305437226774795  1 0.128921998863250
    # age     0.187987673560504  1 0.664596763193249
    # ph_ecog 2.054248773862773  1 0.151782098927200
    # GLOBAL  4.463657588161990  3 0.215554945395770
    """
    res = proportional_hazards_test(lung, "time", "status", LUNG_TERMS)
    _check(res, {"female": 2.305437226774795, "age": 0.187987673560504,
                 "ph_ecog": 2.054248773862773, "GLOBAL": 4.463657588161990}, 3)  # fmt: skip
    assert [t.p_value for t in res.terms] == pytest.approx(
        [0.128921998863250, 0.664596763193249, 0.151782098927200], rel=REL
    )
    assert res.global_p_value == pytest.approx(0.215554945395770, rel=REL)
    assert (res.n, res.n_events, res.transform) == (227, 164, "km")
    assert res.term("age").chi2 == res.terms[1].chi2
    with pytest.raises(KeyError):
        res.term("GLOBAL")


@pytest.mark.parametrize(
    ("transform", "expected"),
    [
        ("rank", {"female": 2.044694679623341, "age": 0.117291506918404,
                  "ph_ecog": 2.544878392388523, "GLOBAL": 4.710680140719001}),
        ("identity", {"female": 2.491913216508259, "age": 0.152350317151019,
                      "ph_ecog": 1.578235238252599, "GLOBAL": 4.119382950936367}),
        ("log", {"female": 2.034936878357805, "age": 3.373634010897425,
                 "ph_ecog": 0.370496324734145, "GLOBAL": 5.389821427641349}),
    ],
)  # fmt: skip
def test_ph_lung_other_transforms(
    lung: pd.DataFrame, transform: str, expected: dict[str, float]
) -> None:
    """cox.zph(coxph(Surv(time, status) ~ female + age + ph_ecog, ...), transform = tr)
    for tr in "rank", "identity", "log" (chisq column quoted in the parameters).
    """
    res = proportional_hazards_test(lung, "time", "status", LUNG_TERMS, transform=transform)  # type: ignore[arg-type]
    _check(res, expected, 3)


def test_ph_lung_single_term_and_complete_cases(lung: pd.DataFrame) -> None:
    """cox.zph(coxph(Surv(time, status) ~ female, ...))
    # female 2.86323515262166  1 0.0906250640670469   (GLOBAL identical)
    cox.zph(coxph(Surv(time, status) ~ female + wt_loss, ...))          # n 214, events 152
    # female  2.82511603563264169  1 0.0928001851894451
    # wt_loss 0.00173381889793645  1 0.9667863622896238
    # GLOBAL  2.82950884300575956  2 0.2429852780816808
    """
    res = proportional_hazards_test(lung, "time", "status", ["female"])
    _check(res, {"female": 2.86323515262166, "GLOBAL": 2.86323515262166}, 1)
    assert res.global_p_value == pytest.approx(0.0906250640670469, rel=REL)

    res = proportional_hazards_test(lung, "time", "status", ["female", "wt_loss"])
    _check(res, {"female": 2.82511603563264169, "wt_loss": 0.00173381889793645,
                 "GLOBAL": 2.82950884300575956}, 2)  # fmt: skip
    assert res.global_p_value == pytest.approx(0.2429852780816808, rel=REL)
    assert (res.n, res.n_events) == (214, 152)


# --------------------------------------------------------------------------- study-shaped


def test_ph_study_models_with_tied_deaths() -> None:
    """cox.zph(coxph(Surv(months, died) ~ high_lvd, ...))
    # high_lvd 0.187251229995288  1 0.665214309882468   (GLOBAL identical)
    cox.zph(coxph(Surv(months, died) ~ high_lvd + age, ...))
    # high_lvd 0.183078123151075 age 0.204777083122328
    # GLOBAL 0.529776503065549 (p 0.767291688855317)
    cox.zph(coxph(Surv(months, died) ~ high_lvd + ascvd, ...))
    # high_lvd 0.193187733110868 ascvd 2.753524571123436 GLOBAL 2.988601135677858
    cox.zph(coxph(Surv(months, died) ~ high_lvd + age + ascvd, ...))
    # high_lvd 0.191209349689442 age 0.206856803344692 ascvd 2.679295239491537
    # GLOBAL 3.068336613037746 (p 0.381208552495544)
    cox.zph(coxph(Surv(months, died) ~ high_lvd + age, ...), transform = "rank")
    # high_lvd 0.274211371928591 age 0.322954978873175 GLOBAL 0.824812754166186
    """
    res = proportional_hazards_test(STUDY, "months", "died", ["high_lvd"])
    _check(res, {"high_lvd": 0.187251229995288, "GLOBAL": 0.187251229995288}, 1)
    assert res.terms[0].p_value == pytest.approx(0.665214309882468, rel=REL)
    assert (res.n, res.n_events) == (30, 13)

    res = proportional_hazards_test(STUDY, "months", "died", ["high_lvd", "age"])
    _check(res, {"high_lvd": 0.183078123151075, "age": 0.204777083122328,
                 "GLOBAL": 0.529776503065549}, 2)  # fmt: skip
    assert res.global_p_value == pytest.approx(0.767291688855317, rel=REL)

    res = proportional_hazards_test(STUDY, "months", "died", ["high_lvd", "ascvd"])
    _check(res, {"high_lvd": 0.193187733110868, "ascvd": 2.753524571123436,
                 "GLOBAL": 2.988601135677858}, 2)  # fmt: skip

    res = proportional_hazards_test(STUDY, "months", "died", ["high_lvd", "age", "ascvd"])
    _check(res, {"high_lvd": 0.191209349689442, "age": 0.206856803344692,
                 "ascvd": 2.679295239491537, "GLOBAL": 3.068336613037746}, 3)  # fmt: skip
    assert res.global_p_value == pytest.approx(0.381208552495544, rel=REL)

    res = proportional_hazards_test(STUDY, "months", "died", ["high_lvd", "age"], "rank")
    _check(res, {"high_lvd": 0.274211371928591, "age": 0.322954978873175,
                 "GLOBAL": 0.824812754166186}, 2)  # fmt: skip


# --------------------------------------------------------------------------- properties


def test_ph_km_and_rank_depend_on_time_only_through_its_order() -> None:
    """The KM and rank transforms see only the order of times: a monotone rescaling of the
    time axis leaves them unchanged, while the identity transform moves."""
    stretched = STUDY.assign(months=np.log(STUDY["months"]) * 7 + 3)
    for tr in ("km", "rank"):
        assert proportional_hazards_test(
            stretched, "months", "died", ["high_lvd", "age"], tr
        ) == proportional_hazards_test(STUDY, "months", "died", ["high_lvd", "age"], tr)
    ident = proportional_hazards_test(STUDY, "months", "died", ["high_lvd"], "identity")
    ident_s = proportional_hazards_test(stretched, "months", "died", ["high_lvd"], "identity")
    assert ident.global_chi2 != pytest.approx(ident_s.global_chi2, rel=1e-3)


def test_ph_invariant_to_covariate_coding() -> None:
    """Affine recoding of a covariate (age in decades from 60) and bool vs 0/1 exposure
    change no test statistic."""
    base = proportional_hazards_test(STUDY, "months", "died", ["high_lvd", "age"])
    recoded = STUDY.assign(age=(STUDY["age"] - 60) / 10, high_lvd=STUDY["high_lvd"] == 1)
    other = proportional_hazards_test(recoded, "months", "died", ["high_lvd", "age"])
    for a, b in zip(base.terms, other.terms, strict=True):
        assert a.chi2 == pytest.approx(b.chi2, rel=1e-9)
    assert base.global_chi2 == pytest.approx(other.global_chi2, rel=1e-9)


def test_ph_is_not_lifelines_older_approximation(lung: pd.DataFrame) -> None:
    """lifelines' proportional_hazard_test is the pre-3.0 cox.zph (scaled Schoenfeld residuals
    with an averaged variance): for age it gives chi2 0.029 where survival 3.x gives 0.188."""
    data = lung[["time", "status", *LUNG_TERMS]].dropna().astype(float)
    fitter = CoxPHFitter().fit(data, "time", "status")
    old = proportional_hazard_test(fitter, data, time_transform="km").summary
    ours = proportional_hazards_test(lung, "time", "status", LUNG_TERMS)
    assert float(old.loc["age", "test_statistic"]) == pytest.approx(0.0287, abs=1e-3)
    assert ours.term("age").chi2 == pytest.approx(0.187987673560504, rel=REL)


def test_ph_strong_time_varying_effect_is_detected() -> None:
    """Hazards that cross (HR 2 before t = 0.5, 0.25 after) give a tiny p-value."""
    rng = np.random.default_rng(7)
    n = 300
    x = rng.integers(0, 2, n)
    early = rng.exponential(1.0 / np.where(x == 1, 2.0, 1.0))
    late = 0.5 + rng.exponential(1.0 / np.where(x == 1, 0.25, 1.0))
    t = np.where(early < 0.5, early, late)
    frame = pd.DataFrame({"t": np.minimum(t, 4.0), "e": (t < 4.0).astype(int), "x": x})
    res = proportional_hazards_test(frame, "t", "e", ["x"])
    assert res.terms[0].p_value < 1e-6


# --------------------------------------------------------------------------- errors


def test_ph_errors() -> None:
    with pytest.raises(ValueError, match="transform"):
        proportional_hazards_test(STUDY, "months", "died", ["high_lvd"], "loglog")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one term"):
        proportional_hazards_test(STUDY, "months", "died", [])
    with pytest.raises(ValueError, match="strictly positive"):
        proportional_hazards_test(STUDY.assign(months=STUDY["months"] - 6), "months", "died",
                                  ["high_lvd"], "log")  # fmt: skip
    with pytest.raises(ValueError, match="not in data frame"):
        proportional_hazards_test(STUDY, "months", "died", ["ldl"])
    with pytest.raises(ValueError, match="no events"):
        proportional_hazards_test(STUDY.assign(died=0), "months", "died", ["high_lvd"])
    with pytest.raises(ValueError, match="all events fall in one level"):
        proportional_hazards_test(STUDY.assign(died=STUDY["high_lvd"]), "months", "died",
                                  ["high_lvd"])  # fmt: skip
    with pytest.raises(ValueError, match="did not converge"):
        proportional_hazards_test(STUDY.assign(age2=STUDY["age"] * 2.0), "months", "died",
                                  ["high_lvd", "age", "age2"])  # fmt: skip
