"""10-year ASCVD risk by the ACC/AHA 2013 Pooled Cohort Equations (PCE).

Goff DC Jr et al., 2013 ACC/AHA Guideline on the Assessment of Cardiovascular Risk,
Circulation 2014;129(25 Suppl 2):S49-73, Appendix 7 Table A: sex- and race-specific
coefficients, the group mean of coefficient x value, and the 10-year baseline survival S0.
Risk = 1 - S0 ** exp(individual_sum - group_mean), in percent.

The equations were derived for white and African-American adults; the guideline advises the
white equations for other groups, so race ``'other'`` uses them. Outside the validated
ranges (age 40-79 y, total cholesterol 130-320 mg/dL, HDL-C 20-100 mg/dL, systolic BP
90-200 mmHg) or with a missing input, no risk is returned, only a note saying why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["AscvdRisk", "ascvd_risk_frame", "pooled_cohort_risk"]


@dataclass(frozen=True)
class AscvdRisk:
    """PCE 10-year risk (percent) and the individual sum of coefficient x value.

    ``equation`` names the set used (e.g. ``"white_male"``); it is None only when sex or
    race is missing. ``note`` is None exactly when a risk was computed; otherwise it names
    each missing or out-of-range input.
    """

    risk_percent: float | None
    individual_sum: float | None
    equation: str | None
    note: str | None


@dataclass(frozen=True)
class _Equation:
    """One column of Table A (terms absent from an equation are 0)."""

    ln_age: float
    ln_age_sq: float
    ln_tc: float
    ln_age_ln_tc: float
    ln_hdl: float
    ln_age_ln_hdl: float
    ln_treated_sbp: float
    ln_age_ln_treated_sbp: float
    ln_untreated_sbp: float
    ln_age_ln_untreated_sbp: float
    smoker: float
    ln_age_smoker: float
    diabetes: float
    mean_sum: float
    baseline_survival: float


# Goff et al. 2014, Appendix 7, Table A, as printed.
_EQUATIONS: dict[str, _Equation] = {
    "white_female": _Equation(
        ln_age=-29.799, ln_age_sq=4.884, ln_tc=13.540, ln_age_ln_tc=-3.114,
        ln_hdl=-13.578, ln_age_ln_hdl=3.149, ln_treated_sbp=2.019, ln_age_ln_treated_sbp=0.0,
        ln_untreated_sbp=1.957, ln_age_ln_untreated_sbp=0.0, smoker=7.574,
        ln_age_smoker=-1.665, diabetes=0.661, mean_sum=-29.18, baseline_survival=0.9665,
    ),
    "african_american_female": _Equation(
        ln_age=17.114, ln_age_sq=0.0, ln_tc=0.940, ln_age_ln_tc=0.0,
        ln_hdl=-18.920, ln_age_ln_hdl=4.475, ln_treated_sbp=29.291,
        ln_age_ln_treated_sbp=-6.432, ln_untreated_sbp=27.820, ln_age_ln_untreated_sbp=-6.087,
        smoker=0.691, ln_age_smoker=0.0, diabetes=0.874, mean_sum=86.61,
        baseline_survival=0.9533,
    ),
    "white_male": _Equation(
        ln_age=12.344, ln_age_sq=0.0, ln_tc=11.853, ln_age_ln_tc=-2.664,
        ln_hdl=-7.990, ln_age_ln_hdl=1.769, ln_treated_sbp=1.797, ln_age_ln_treated_sbp=0.0,
        ln_untreated_sbp=1.764, ln_age_ln_untreated_sbp=0.0, smoker=7.837,
        ln_age_smoker=-1.795, diabetes=0.658, mean_sum=61.18, baseline_survival=0.9144,
    ),
    "african_american_male": _Equation(
        ln_age=2.469, ln_age_sq=0.0, ln_tc=0.302, ln_age_ln_tc=0.0,
        ln_hdl=-0.307, ln_age_ln_hdl=0.0, ln_treated_sbp=1.916, ln_age_ln_treated_sbp=0.0,
        ln_untreated_sbp=1.809, ln_age_ln_untreated_sbp=0.0, smoker=0.549,
        ln_age_smoker=0.0, diabetes=0.645, mean_sum=19.54, baseline_survival=0.8954,
    ),
}  # fmt: skip

# Validated input ranges (inclusive), in the order notes list them.
VALID_RANGES: dict[str, tuple[float, float, str]] = {
    "age": (40.0, 79.0, "years"),
    "total_cholesterol_mg_dl": (130.0, 320.0, "mg/dL"),
    "hdl_c_mg_dl": (20.0, 100.0, "mg/dL"),
    "systolic_bp_mmhg": (90.0, 200.0, "mmHg"),
}
_SEXES = ("male", "female")
_RACES = ("white", "black", "other")

# Input columns of ascvd_risk_frame -> argument of pooled_cohort_risk.
FRAME_COLUMNS: dict[str, str] = {
    "age_at_diagnosis": "age",
    "sex": "sex",
    "race": "race",
    "total_cholesterol_mg_dl": "total_cholesterol_mg_dl",
    "hdl_c_mg_dl": "hdl_c_mg_dl",
    "systolic_bp_mmhg": "systolic_bp_mmhg",
    "bp_treated": "bp_treated",
    "smoker": "smoker",
    "diabetes": "diabetes",
}


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _equation_name(sex: str, race: str) -> str:
    if sex not in _SEXES:
        raise ValueError(f"sex must be one of {_SEXES} or missing, got {sex!r}")
    if race not in _RACES:
        raise ValueError(f"race must be one of {_RACES} or missing, got {race!r}")
    group = "african_american" if race == "black" else "white"
    return f"{group}_{sex}"


def _flag(name: str, value: object) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating) and float(value) in (0.0, 1.0):
        return bool(value)
    raise ValueError(f"{name} must be boolean or 0/1, got {value!r}")


def _individual_sum(
    c: _Equation,
    age: float,
    tc: float,
    hdl: float,
    sbp: float,
    treated: bool,
    smoker: bool,
    diabetes: bool,
) -> float:
    """Sum of coefficient x value of one Table A equation (inputs already checked)."""
    la, ltc, lhdl, lsbp = math.log(age), math.log(tc), math.log(hdl), math.log(sbp)
    if treated:
        sbp_term = (c.ln_treated_sbp + c.ln_age_ln_treated_sbp * la) * lsbp
    else:
        sbp_term = (c.ln_untreated_sbp + c.ln_age_ln_untreated_sbp * la) * lsbp
    return (
        c.ln_age * la
        + c.ln_age_sq * la * la
        + (c.ln_tc + c.ln_age_ln_tc * la) * ltc
        + (c.ln_hdl + c.ln_age_ln_hdl * la) * lhdl
        + sbp_term
        + (c.smoker + c.ln_age_smoker * la) * float(smoker)
        + c.diabetes * float(diabetes)
    )


def pooled_cohort_risk(
    age: float | None,
    sex: str | None,
    race: str | None,
    total_cholesterol_mg_dl: float | None,
    hdl_c_mg_dl: float | None,
    systolic_bp_mmhg: float | None,
    bp_treated: bool | None,
    smoker: bool | None,
    diabetes: bool | None,
) -> AscvdRisk:
    """10-year ASCVD risk (percent) of one person by the Pooled Cohort Equations.

    ``race`` is 'white', 'black' (African-American equations) or 'other' (white equations).
    Missing (None/NaN) or out-of-range inputs give ``risk_percent=None`` and a note.
    """
    problems = [f"{k} missing" for k, v in (("sex", sex), ("race", race)) if _missing(v)]
    equation = None if problems else _equation_name(str(sex), str(race))
    measured = {
        "age": age,
        "total_cholesterol_mg_dl": total_cholesterol_mg_dl,
        "hdl_c_mg_dl": hdl_c_mg_dl,
        "systolic_bp_mmhg": systolic_bp_mmhg,
    }
    values: dict[str, float] = {}
    for name, raw in measured.items():
        low, high, unit = VALID_RANGES[name]
        if _missing(raw):
            problems.append(f"{name} missing")
            continue
        value = float(raw)
        if not low <= value <= high:
            problems.append(
                f"{name} {value:g} outside the equations' range {low:g}-{high:g} {unit}"
            )
        values[name] = value
    flags: dict[str, bool] = {}
    for name, raw_flag in (("bp_treated", bp_treated), ("smoker", smoker), ("diabetes", diabetes)):
        if _missing(raw_flag):
            problems.append(f"{name} missing")
        else:
            flags[name] = _flag(name, raw_flag)
    if problems or equation is None:
        return AscvdRisk(None, None, equation, "; ".join(problems))
    c = _EQUATIONS[equation]
    total = _individual_sum(
        c,
        values["age"],
        values["total_cholesterol_mg_dl"],
        values["hdl_c_mg_dl"],
        values["systolic_bp_mmhg"],
        flags["bp_treated"],
        flags["smoker"],
        flags["diabetes"],
    )
    risk = 1.0 - c.baseline_survival ** math.exp(total - c.mean_sum)
    return AscvdRisk(100.0 * risk, total, equation, None)


def ascvd_risk_frame(df: pd.DataFrame) -> pd.DataFrame:
    """PCE risk per row: columns ``ascvd_10y_risk_percent`` and ``ascvd_note``, same index.

    Input columns: age_at_diagnosis, sex, race, total_cholesterol_mg_dl, hdl_c_mg_dl,
    systolic_bp_mmhg, bp_treated, smoker, diabetes. Notes name age as ``age``.
    """
    absent = [c for c in FRAME_COLUMNS if c not in df.columns]
    if absent:
        raise ValueError(f"column(s) not in data frame: {absent}")
    risks: list[float] = []
    notes: list[str | None] = []
    for row in df.loc[:, list(FRAME_COLUMNS)].itertuples(index=False, name=None):
        result = pooled_cohort_risk(**dict(zip(FRAME_COLUMNS.values(), row, strict=True)))
        risks.append(math.nan if result.risk_percent is None else result.risk_percent)
        notes.append(result.note)
    return pd.DataFrame(
        {
            "ascvd_10y_risk_percent": pd.Series(risks, index=df.index, dtype=float),
            "ascvd_note": pd.Series(notes, index=df.index, dtype=object),
        }
    )
