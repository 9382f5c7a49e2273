"""Tests for imnm.stats.ascvd: the ACC/AHA 2013 Pooled Cohort Equations.

Reference values:

* Goff et al., Circulation 2014;129(25 Suppl 2):S49-73, Appendix 7 Table A, worked example
  (age 55, total cholesterol 213 mg/dL, HDL-C 50 mg/dL, untreated SBP 120 mmHg, non-smoker,
  no diabetes): individual sums and 10-year risks per equation.
* The R package CVrisk (github.com/vcastro/CVrisk, tests/testthat/test-ascvd_10y_accaha.R):
  the same person with SBP 140; ``ascvd_10y_accaha`` rounds the risk to 2 decimals.
* The per-term increments below are the Table A coefficients, typed here independently.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from imnm.stats import AscvdRisk, ascvd_risk_frame, pooled_cohort_risk

EXAMPLE = dict(
    age=55,
    total_cholesterol_mg_dl=213,
    hdl_c_mg_dl=50,
    systolic_bp_mmhg=120,
    bp_treated=False,
    smoker=False,
    diabetes=False,
)
GROUPS = {  # equation name -> (sex, race)
    "white_female": ("female", "white"),
    "african_american_female": ("female", "black"),
    "white_male": ("male", "white"),
    "african_american_male": ("male", "black"),
}


def _risk(equation: str, **changes: object) -> AscvdRisk:
    sex, race = GROUPS[equation]
    inputs = {**EXAMPLE, **changes}
    return pooled_cohort_risk(sex=sex, race=race, **inputs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- published values


@pytest.mark.parametrize(
    ("equation", "published_sum", "published_risk"),
    [
        ("white_female", -29.67, 2.1),
        ("african_american_female", 86.16, 3.0),
        ("white_male", 60.69, 5.3),
        ("african_american_male", 18.97, 6.1),
    ],
)
def test_guideline_worked_example(
    equation: str, published_sum: float, published_risk: float
) -> None:
    """Sums agree to 0.01 (the guideline prints them truncated to 2 decimals: ours are
    -29.6767, 86.1677, 60.6995, 18.9728). The printed risks were computed from those
    truncated sums; from the exact sums the risks are 2.05, 3.03, 5.38 and 6.07 %, all within
    0.1 percentage point of the print (white men round to 5.4, the guideline prints 5.3)."""
    got = _risk(equation)
    assert got.equation == equation and got.note is None
    assert got.individual_sum == pytest.approx(published_sum, abs=0.01)
    assert got.individual_sum is not None and got.risk_percent is not None
    assert math.trunc(got.individual_sum * 100) / 100 == pytest.approx(published_sum, abs=1e-9)
    assert got.risk_percent == pytest.approx(published_risk, abs=0.1)


@pytest.mark.parametrize(
    ("equation", "cvrisk_percent"),
    [
        ("white_female", 2.76),
        ("african_american_female", 5.08),
        ("white_male", 7.01),
        ("african_american_male", 7.95),
    ],
)
def test_cvrisk_package_examples(equation: str, cvrisk_percent: float) -> None:
    """CVrisk ascvd_10y_accaha(race, gender, age = 55, totchol = 213, hdl = 50, sbp = 140,
    bp_med = 0, smoker = 0, diabetes = 0), rounded by CVrisk to 2 decimals."""
    got = _risk(equation, systolic_bp_mmhg=140)
    assert got.risk_percent is not None
    assert round(got.risk_percent, 2) == cvrisk_percent


# --------------------------------------------------------------------------- each term


@pytest.mark.parametrize(
    ("equation", "smoker", "diabetes", "treated_minus_untreated"),
    [
        ("white_female", 7.574 - 1.665 * math.log(55), 0.661, 2.019 - 1.957),
        ("african_american_female", 0.691, 0.874,
         29.291 - 6.432 * math.log(55) - (27.820 - 6.087 * math.log(55))),
        ("white_male", 7.837 - 1.795 * math.log(55), 0.658, 1.797 - 1.764),
        ("african_american_male", 0.549, 0.645, 1.916 - 1.809),
    ],
)  # fmt: skip
def test_binary_terms_add_their_table_a_coefficients(
    equation: str, smoker: float, diabetes: float, treated_minus_untreated: float
) -> None:
    base = _risk(equation)
    assert base.individual_sum is not None and base.risk_percent is not None
    for change, increment in (
        ({"smoker": True}, smoker),
        ({"diabetes": True}, diabetes),
        ({"bp_treated": True}, treated_minus_untreated * math.log(120)),
    ):
        got = _risk(equation, **change)
        assert got.individual_sum is not None and got.risk_percent is not None
        assert got.individual_sum - base.individual_sum == pytest.approx(increment, abs=1e-9)
        assert got.risk_percent > base.risk_percent, change


def _percent(equation: str, **changes: object) -> float:
    got = _risk(equation, **changes).risk_percent
    assert got is not None
    return got


@pytest.mark.parametrize("equation", list(GROUPS))
def test_continuous_inputs_move_risk_the_expected_way(equation: str) -> None:
    base = _percent(equation)
    assert _percent(equation, age=65) > base
    assert _percent(equation, total_cholesterol_mg_dl=260) > base
    assert _percent(equation, hdl_c_mg_dl=70) < base
    assert _percent(equation, systolic_bp_mmhg=150) > base


def test_flags_accept_zero_one_and_numpy_bools() -> None:
    assert _risk("white_male", smoker=1, diabetes=0) == _risk("white_male", smoker=True)
    assert _risk("white_male", smoker=np.bool_(True)) == _risk("white_male", smoker=True)
    with pytest.raises(ValueError, match="smoker must be boolean or 0/1"):
        _risk("white_male", smoker=2)


def test_other_race_uses_the_white_equations() -> None:
    for sex in ("female", "male"):
        other = pooled_cohort_risk(sex=sex, race="other", **EXAMPLE)  # type: ignore[arg-type]
        white = pooled_cohort_risk(sex=sex, race="white", **EXAMPLE)  # type: ignore[arg-type]
        assert other == white and other.equation == f"white_{sex}"


def test_unknown_sex_or_race_is_an_error() -> None:
    with pytest.raises(ValueError, match="race must be one of"):
        pooled_cohort_risk(sex="male", race="asian", **EXAMPLE)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sex must be one of"):
        pooled_cohort_risk(sex="M", race="white", **EXAMPLE)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- ranges, missing


@pytest.mark.parametrize(
    ("field", "inside", "outside", "note"),
    [
        ("age", (40, 79), (39.9, 80), "age {v:g} outside the equations' range 40-79 years"),
        ("total_cholesterol_mg_dl", (130, 320), (129, 321),
         "total_cholesterol_mg_dl {v:g} outside the equations' range 130-320 mg/dL"),
        ("hdl_c_mg_dl", (20, 100), (19.5, 101),
         "hdl_c_mg_dl {v:g} outside the equations' range 20-100 mg/dL"),
        ("systolic_bp_mmhg", (90, 200), (89, 201),
         "systolic_bp_mmhg {v:g} outside the equations' range 90-200 mmHg"),
    ],
)  # fmt: skip
def test_validated_ranges_are_inclusive_and_named_in_the_note(
    field: str, inside: tuple[float, float], outside: tuple[float, float], note: str
) -> None:
    for v in inside:
        got = _risk("white_female", **{field: v})
        assert got.risk_percent is not None and got.note is None
    for v in outside:
        got = _risk("african_american_male", **{field: v})
        assert got == AscvdRisk(None, None, "african_american_male", note.format(v=v))


@pytest.mark.parametrize("missing", [None, math.nan, pd.NA])
def test_missing_inputs_are_named(missing: object) -> None:
    got = _risk("white_male", hdl_c_mg_dl=missing, smoker=missing)
    assert got == AscvdRisk(None, None, "white_male", "hdl_c_mg_dl missing; smoker missing")
    no_sex = pooled_cohort_risk(sex=missing, race="white", **EXAMPLE)  # type: ignore[arg-type]
    assert no_sex == AscvdRisk(None, None, None, "sex missing")


def test_all_problems_are_listed() -> None:
    got = pooled_cohort_risk(
        age=35, sex="male", race=None, total_cholesterol_mg_dl=None, hdl_c_mg_dl=50,
        systolic_bp_mmhg=250, bp_treated=True, smoker=None, diabetes=True,
    )  # fmt: skip
    assert got.risk_percent is None
    assert got.note == (
        "race missing; age 35 outside the equations' range 40-79 years; "
        "total_cholesterol_mg_dl missing; systolic_bp_mmhg 250 outside the equations' range "
        "90-200 mmHg; smoker missing"
    )


# --------------------------------------------------------------------------- frame


def test_frame_version_matches_rows_and_keeps_the_index() -> None:
    df = pd.DataFrame(
        {
            "age_at_diagnosis": [55.0, 62.5, 30.0, 71.0],
            "sex": ["male", "female", "female", None],
            "race": ["white", "black", "other", "white"],
            "total_cholesterol_mg_dl": [213.0, 180.0, 200.0, 240.0],
            "hdl_c_mg_dl": [50.0, 61.0, np.nan, 45.0],
            "systolic_bp_mmhg": [120.0, 142.0, 118.0, 150.0],
            "bp_treated": pd.array([False, True, False, True], dtype="boolean"),
            "smoker": [0, 1, 0, 0],
            "diabetes": pd.array([False, True, pd.NA, False], dtype="boolean"),
        },
        index=pd.Index([101, 205, 307, 409], name="patient_id"),
    )
    out = ascvd_risk_frame(df)
    assert list(out.columns) == ["ascvd_10y_risk_percent", "ascvd_note"]
    assert out.index.equals(df.index)
    first = _risk("white_male")
    second = pooled_cohort_risk(62.5, "female", "black", 180, 61, 142, True, True, True)
    assert out.loc[101, "ascvd_10y_risk_percent"] == first.risk_percent
    assert out.loc[205, "ascvd_10y_risk_percent"] == second.risk_percent
    assert out.loc[101, "ascvd_note"] is None and out.loc[205, "ascvd_note"] is None
    assert np.isnan(out.loc[307, "ascvd_10y_risk_percent"])
    assert out.loc[307, "ascvd_note"] == (
        "age 30 outside the equations' range 40-79 years; hdl_c_mg_dl missing; diabetes missing"
    )
    assert out.loc[409, "ascvd_note"] == "sex missing"


def test_frame_missing_column_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"not in data frame: \['smoker'\]"):
        ascvd_risk_frame(pd.DataFrame({c: [1] for c in (
            "age_at_diagnosis", "sex", "race", "total_cholesterol_mg_dl", "hdl_c_mg_dl",
            "systolic_bp_mmhg", "bp_treated", "diabetes")}))  # fmt: skip
