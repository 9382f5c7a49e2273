"""The synthetic heart: latent LV impairment, echo reports drawn from it, outcomes and ECG dates.

Synthetic data. A latent impairment in [0, 1] drives everything cardiac: below 0.3 the echo is
normal; 0.3-0.75 shows one of the broad-LVD findings (diastolic dysfunction, mildly
abnormal systolic function, hypokinesis, regional wall-motion abnormality); from 0.75 the
ejection fraction is <= 35%.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

import numpy as np

LVD_THRESHOLD = 0.3
SEVERE_THRESHOLD = 0.75
LVD_PHENOTYPES = ("diastolic", "mild_systolic", "hypokinesis", "regional")
LVD_PHENOTYPE_SHARES = (0.42, 0.20, 0.22, 0.16)
SEVERE_SHARE_OF_LVD = 0.15

_NORMAL_TEXTS = (
    "Normal LV size and systolic function. LVEF {ef}%.",
    "Normal left ventricular size, wall thickness and systolic function (EF {ef}%). "
    "Normal diastolic function.",
    "LVEF {ef}%. Normal global and segmental LV function; normal diastolic filling.",
)
_FINDING_TEXTS = {
    "diastolic": (
        "Normal LV systolic function, LVEF {ef}%. Grade 1 diastolic dysfunction "
        "(abnormal relaxation).",
        "Preserved EF ({ef}%). Impaired LV relaxation, grade 1 diastolic dysfunction.",
        "LVEF {ef}%. Reduced LV distensibility consistent with diastolic stiffness.",
    ),
    "diastolic_grade_2": (
        "LVEF {ef}%. Grade 2 diastolic dysfunction (pseudonormal filling pattern).",
    ),
    "mild_systolic": (
        "Mildly abnormal LV systolic function, LVEF {ef}%.",
        "Mildly reduced left ventricular systolic function (EF {ef}%).",
    ),
    "hypokinesis": (
        "Mild global hypokinesis of the left ventricle, LVEF {ef}%.",
        "LV mildly hypokinetic; EF {ef}%.",
    ),
    "regional": (
        "Regional wall motion abnormality of the basal inferolateral segments. LVEF {ef}%.",
        "Regional wall motion abnormality (apical), otherwise preserved function, EF {ef}%.",
    ),
    "severe": (
        "Severely reduced LV systolic function, EF {ef}%. Global hypokinesis.",
        "Dilated LV with severely reduced systolic function, LVEF {ef}%.",
    ),
}


def draw_lv_at_diagnosis(age: float, serotype: str, rng: np.random.Generator
                         ) -> tuple[float, str]:
    """Latent LV impairment at diagnosis and its echo phenotype (seronegative, older: more LVD)."""
    logit = -0.9 + 0.8 * (serotype == "seronegative") + 0.035 * (age - 62.0)
    if rng.random() >= 1.0 / (1.0 + math.exp(-logit)):
        return lv_for_category("normal", rng), "normal"
    if rng.random() < SEVERE_SHARE_OF_LVD:
        return lv_for_category("severe", rng), "severe"
    phenotype = LVD_PHENOTYPES[int(rng.choice(len(LVD_PHENOTYPES), p=LVD_PHENOTYPE_SHARES))]
    return lv_for_category("lvd", rng), phenotype


def lv_for_category(category: str, rng: np.random.Generator) -> float:
    """A latent impairment inside the band of one category: normal, lvd or severe."""
    if category == "normal":
        return float(LVD_THRESHOLD * rng.beta(2.0, 3.0))
    if category == "lvd":
        return float(LVD_THRESHOLD + (SEVERE_THRESHOLD - LVD_THRESHOLD) * rng.beta(1.5, 2.0))
    if category == "severe":
        return float(SEVERE_THRESHOLD + (1 - SEVERE_THRESHOLD) * rng.beta(2.0, 2.0))
    raise KeyError(f"unknown LV category {category!r}")


def echo_findings(lv: float, phenotype: str, rng: np.random.Generator
                  ) -> tuple[int, str, str]:
    """(LVEF %, diastolic grade, conclusion text) of an echo of a heart with impairment `lv`."""
    if lv < LVD_THRESHOLD:
        ef = int(round(np.clip(rng.normal(62.0, 4.0), 53, 75)))
        return ef, "normal", _pick(_NORMAL_TEXTS, rng).format(ef=ef)
    if lv >= SEVERE_THRESHOLD:
        ef = int(round(np.clip(35.0 - (lv - SEVERE_THRESHOLD) * 80.0 + rng.normal(0, 1.5), 10, 35)))
        grade = "grade_3" if lv > 0.9 else "grade_2"
        return ef, grade, _pick(_FINDING_TEXTS["severe"], rng).format(ef=ef)
    finding = phenotype if phenotype in LVD_PHENOTYPES else "hypokinesis"
    if finding == "diastolic":
        ef = int(round(np.clip(rng.normal(60.0, 4.0), 52, 72)))
        second_grade = lv > 0.6 and rng.random() < 0.3
        grade = "grade_2" if second_grade else "grade_1"
        texts = _FINDING_TEXTS["diastolic_grade_2" if second_grade else "diastolic"]
        return ef, grade, _pick(texts, rng).format(ef=ef)
    low, high = {"mild_systolic": (45, 52), "hypokinesis": (40, 50), "regional": (42, 55)}[finding]
    ef = int(round(rng.uniform(low, high)))
    grade = "grade_1" if rng.random() < 0.4 else "normal"
    return ef, grade, _pick(_FINDING_TEXTS[finding], rng).format(ef=ef)


def _pick(options: tuple[str, ...], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]


def draw_outcome(
    lv: float, age: float, diagnosis_date: date, data_cutoff: date, rng: np.random.Generator
) -> tuple[date | None, str | None, date]:
    """(death date, cause, last follow-up): cardiorespiratory death rises steeply with the LV
    impairment; deaths from other causes (infection, malignancy, undetermined) do not."""
    followup_days = int(np.clip(rng.lognormal(np.log(36 * 30.4), 1.0), 60, 20 * 365))
    end = min(diagnosis_date + timedelta(days=followup_days), data_cutoff)
    cardiac = rng.random() < 1.0 / (1.0 + math.exp(-(-3.9 + 5.2 * lv + 0.03 * (age - 62.0))))
    other = rng.random() < 1.0 / (1.0 + math.exp(-(-2.7 + 0.03 * (age - 62.0))))
    if not (cardiac or other):
        return None, None, end
    span = max((end - diagnosis_date).days, 30)
    death = diagnosis_date + timedelta(days=int(14 + rng.uniform(0.05, 1.0) * (span - 14)))
    death = min(death, data_cutoff)
    if cardiac:
        cause = "cardiorespiratory"
    else:
        cause = ("infection", "malignancy", "undetermined")[int(rng.choice(3, p=(.3, .3, .4)))]
    return death, cause, death


def ecg_dates(
    onset: date,
    diagnosis: date,
    treatment_start: date,
    birth: date,
    last_followup: date,
    serial: bool,
    rng: np.random.Generator,
) -> list[tuple[datetime, bool]]:
    """(acquisition time, is index ECG): one near diagnosis within a year of onset, maybe serial.

    Serial ECGs (2-8 more) spread from up to 10 years before treatment to years after it.
    """
    if (diagnosis - onset).days <= 330:
        index_day = diagnosis + timedelta(days=int(rng.integers(-21, 8)))
        index_day = max(index_day, onset + timedelta(days=1))
    else:
        index_day = onset + timedelta(days=int(rng.integers(150, 360)))
    index_day = min(index_day, last_followup)
    days = [(index_day, True)]
    if serial:
        count = int(rng.choice(np.arange(2, 9), p=np.array([8, 7, 6, 4, 3, 2, 1]) / 31))
        earliest = max((birth + timedelta(days=int(18 * 365.25)) - treatment_start).days, -3650)
        latest = min((last_followup - treatment_start).days, 3650)
        after_possible = latest > 60
        for k in range(count):
            before = (k == 0) or not after_possible or (k > 1 and rng.random() < 0.4)
            if before and earliest < -30:
                offset = int(rng.integers(earliest, -30))
            elif after_possible:
                offset = int(rng.integers(30, latest))
            else:
                continue
            days.append((treatment_start + timedelta(days=offset), False))
    stamps = []
    for day, is_index in days:
        minute = int(rng.integers(7 * 60 + 30, 18 * 60))
        stamps.append((datetime.combine(day, time(minute // 60, minute % 60)), is_index))
    return sorted(stamps)
