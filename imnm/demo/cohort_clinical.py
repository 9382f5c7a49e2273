"""Synthetic disease course: diagnosis timing, biopsy, treatments, CK and hip-flexor strength.

Synthetic data shaped after study B: symptom-duration bands, 47% IV methylprednisolone, 29%
early IVIG, 38% csDMARD; CK median ~6500 U/L falling ~83% by 3 and ~92% by 6 months (more with
IVMP, higher prednisone dose, female sex and older age); early IVIG lifting hip-flexor strength
most in moderate-severe weakness. Every histology text of the diagnostic biopsy, alternative
diagnoses' included, names necrotizing myopathy (study B's cohort starts from such reports).

The truth study B's analyses are tested against:

- CK: log CK(month m) = log CK(baseline) + log(0.12 | 0.05) + (1 | 1.2) x effect + u + e_m,
  with `effect` the fixed effects of `ck_course`, a patient random effect u ~ N(0, 0.5) shared
  by both follow-up visits (`CK_PATIENT_SD`; kept in `LatentState.ck_patient_deviation`) and
  independent visit noise e_3 ~ N(0, 0.33), e_6 ~ N(0, 0.49), so each visit's total spread
  stays N(0, 0.6) and N(0, 0.7) as before the random effect; the two follow-up deviations
  correlate 0.25 / (0.6 x 0.7) = 0.60. CK is floored at 20 U/L.
- Glucocorticoid taper: early IVIG lets clinicians taper prednisone faster. The dose kept is a
  uniform fraction of the initial dose (rounded to 5 mg, at least 5 mg): at 3 months
  U(0.35, 0.60) without and U(0.22, 0.46) with early IVIG, a mean reduction of ~52% vs ~66%
  (the paper's figures); at 6 months U(0.15, 0.35) vs U(0.08, 0.26), ~75% vs ~83%
  (`TAPER_KEPT`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

DURATION_BANDS = (
    ("<5 weeks", 0.21, (7, 34)),
    ("5-24 weeks", 0.38, (35, 168)),
    ("25-52 weeks", 0.15, (169, 364)),
    (">1 year", 0.26, (365, 1460)),
)
BIOPSY_MUSCLES = ("vastus lateralis", "deltoid", "biceps brachii", "quadriceps", "rectus femoris")
HISTOLOGY = {
    "imnm": (
        "Necrotizing myopathy with a paucity of inflammation.",
        "Scattered necrotic and regenerating fibres with minimal lymphocytic infiltrate; "
        "diffuse MHC class I upregulation. Consistent with necrotizing myopathy.",
        "Necrotizing myopathy; sarcolemmal MAC deposition on non-necrotic fibres, "
        "paucity of inflammation.",
    ),
    "antisynthetase_syndrome": (
        "Necrotizing myopathy with perifascicular necrosis and perimysial fragmentation.",
    ),
    "dermatomyositis": (
        "Necrotizing myopathy with perifascicular atrophy and perivascular inflammation.",
    ),
    "overlap_myositis": (
        "Necrotizing myopathy with prominent endomysial inflammatory infiltrates.",
    ),
    "statin_rhabdomyolysis": (
        "Acute necrotizing myopathy without inflammation, consistent with toxic myopathy.",
    ),
}
PREDNISONE_DOSES_MG = (25, 30, 40, 50, 60, 75, 80)
PREDNISONE_DOSE_SHARES = (0.06, 0.12, 0.22, 0.22, 0.26, 0.07, 0.05)
CSDMARDS = (("methotrexate", "oral", 20.0, "mg"), ("azathioprine", "oral", 150.0, "mg"),
            ("mycophenolate", "oral", 2000.0, "mg"))
CSDMARD_SHARES = (0.45, 0.25, 0.30)
# Share of the initial prednisone dose kept at 3 and at 6 months, uniform between the bounds,
# by early IVIG (False, True): early IVIG lets the dose come down faster.
TAPER_KEPT: dict[bool, tuple[tuple[float, float], tuple[float, float]]] = {
    False: ((0.35, 0.60), (0.15, 0.35)),
    True: ((0.22, 0.46), (0.08, 0.26)),
}
# Log-CK spread of the follow-up visits: the patient random effect shared by both, and each
# visit's total (random effect and visit noise together).
CK_PATIENT_SD = 0.5
CK_MONTH_3_SD = 0.6
CK_MONTH_6_SD = 0.7


@dataclass(frozen=True)
class DiseaseCourse:
    """Dates and treatment choices of one patient's first year of disease."""

    onset: date
    diagnosis: date
    duration_band: str
    treatment_start: date
    baseline_strength: float  # continuous MRC scale, 0-5
    moderate_severe: bool  # baseline hip flexors MRC 3 or weaker
    ivmp: bool
    early_ivig: bool
    late_ivig: bool
    csdmard: bool
    rituximab: bool
    prednisone_mg: float


def draw_course(rng: np.random.Generator, first_onset: date, last_onset: date,
                last_diagnosis: date) -> DiseaseCourse:
    """Onset, diagnosis delay band, baseline weakness and the initial treatment decisions."""
    shares = [share for _, share, _ in DURATION_BANDS]
    band, _, (low, high) = DURATION_BANDS[int(rng.choice(len(DURATION_BANDS), p=shares))]
    delay = timedelta(days=int(rng.integers(low, high + 1)))
    latest_onset = min(last_onset, last_diagnosis - delay)
    onset = date.fromordinal(int(rng.integers(first_onset.toordinal(),
                                              latest_onset.toordinal() + 1)))
    diagnosis = onset + delay
    strength = float(np.clip(rng.normal(3.0, 0.8), 0.0, 4.45))
    moderate_severe = _mrc_integer(strength) <= 3
    # Clinicians reach for IVMP and IVIG more often when weakness is worse.
    ivmp = rng.random() < (0.58 if moderate_severe else 0.12)
    early_ivig = rng.random() < (0.33 if moderate_severe else 0.16)
    return DiseaseCourse(
        onset=onset, diagnosis=diagnosis, duration_band=band,
        treatment_start=diagnosis + timedelta(days=int(rng.integers(0, 8))),
        baseline_strength=strength, moderate_severe=moderate_severe, ivmp=bool(ivmp),
        early_ivig=bool(early_ivig), late_ivig=bool(not early_ivig and rng.random() < 0.12),
        csdmard=bool(rng.random() < 0.38), rituximab=bool(rng.random() < 0.08),
        prednisone_mg=float(PREDNISONE_DOSES_MG[int(rng.choice(7, p=PREDNISONE_DOSE_SHARES))]),
    )


def biopsy_report(diagnosis_code: str, course: DiseaseCourse, rng: np.random.Generator
                  ) -> tuple[date, str, str]:
    """(date, muscle, histology text) of the diagnostic biopsy, a few weeks before diagnosis."""
    when = max(course.diagnosis - timedelta(days=int(rng.integers(0, 28))), course.onset)
    texts = HISTOLOGY[diagnosis_code]
    return when, BIOPSY_MUSCLES[int(rng.integers(len(BIOPSY_MUSCLES)))], texts[
        int(rng.integers(len(texts)))
    ]


def treatment_periods(course: DiseaseCourse, weight_kg: float, last_day: date,
                      rng: np.random.Generator) -> list[tuple]:
    """(agent, class, route, dose, unit, start, stop) periods; stop None while still ongoing.

    Prednisone comes first: the initial dose for 90 days, then the 3- and 6-month tapers,
    faster after early IVIG (`TAPER_KEPT`)."""
    start = course.treatment_start
    periods: list[tuple] = []
    kept_3, kept_6 = TAPER_KEPT[course.early_ivig]
    taper_3 = max(5.0, round(course.prednisone_mg * rng.uniform(*kept_3) / 5) * 5)
    taper_6 = max(5.0, round(course.prednisone_mg * rng.uniform(*kept_6) / 5) * 5)
    final_stop = start + timedelta(days=int(180 + rng.integers(90, 720)))
    for dose, first, last in ((course.prednisone_mg, start, start + timedelta(days=90)),
                              (taper_3, start + timedelta(days=90), start + timedelta(days=180)),
                              (taper_6, start + timedelta(days=180), final_stop)):
        if first <= last_day:
            periods.append(("prednisone", "oral_glucocorticoid", "oral", dose, "mg", first,
                            last if last <= last_day else None))
    if course.ivmp:
        pulse = start - timedelta(days=int(rng.integers(0, 3)))
        dose = 1000.0 if rng.random() < 0.8 else 500.0
        periods.append(("methylprednisolone", "ivmp", "iv", dose, "mg", pulse,
                        pulse + timedelta(days=2)))
    if course.early_ivig or course.late_ivig:
        offset = int(rng.integers(0, 29)) if course.early_ivig else int(rng.integers(35, 365))
        first = course.diagnosis + timedelta(days=offset)
        if first <= last_day:
            induction = float(round(2 * weight_kg / 5) * 5)
            periods.append(("immunoglobulin", "ivig", "iv", induction, "g", first,
                            first + timedelta(days=4)))
            maintenance_start = first + timedelta(days=28)
            maintenance_stop = maintenance_start + timedelta(days=int(rng.integers(90, 365)))
            if maintenance_start <= last_day:
                periods.append(("immunoglobulin", "ivig", "iv", float(round(weight_kg / 5) * 5),
                                "g", maintenance_start,
                                maintenance_stop if maintenance_stop <= last_day else None))
    if course.csdmard:
        agent, route, dose, unit = CSDMARDS[int(rng.choice(3, p=CSDMARD_SHARES))]
        if agent == "methotrexate":
            dose = float(rng.choice((15.0, 20.0, 25.0)))
        elif agent == "azathioprine":
            dose = float(rng.choice((100.0, 150.0)))
        first = course.diagnosis + timedelta(days=int(rng.integers(0, 45)))
        stop = first + timedelta(days=int(rng.integers(180, 1500)))
        if first <= last_day:
            periods.append((agent, "csdmard", route, dose, unit, first,
                            stop if stop <= last_day else None))
    if course.rituximab:
        first = course.diagnosis + timedelta(days=int(rng.integers(90, 730)))
        if first <= last_day:
            periods.append(("rituximab", "rituximab", "iv", 1000.0, "mg", first,
                            first + timedelta(days=14)))
    return periods


def ck_course(course: DiseaseCourse, female: bool, age: float, rng: np.random.Generator, *,
              patient_deviation: float) -> tuple[float, float, float]:
    """CK (U/L) at baseline, 3 and 6 months; falls faster with IVMP, prednisone, female, age.

    `patient_deviation` is the patient's log-CK random effect, shared by both follow-ups."""
    baseline = float(np.clip(rng.lognormal(np.log(6500.0), 1.3), 150.0, 250_000.0))
    effect = (-0.35 * (course.ivmp - 0.47) - 0.012 * (course.prednisone_mg - 50.0)
              - 0.30 * (female - 0.48) - 0.015 * (age - 62.0)
              + 0.15 * (course.csdmard - 0.38) - 0.10 * (course.early_ivig - 0.29))
    # One standard normal per visit, as before the random effect, scaled to the visit noise
    # left beside it, so every other draw of the patient's stream is unchanged.
    month_3 = baseline * np.exp(np.log(0.12) + effect + patient_deviation
                                + rng.normal(0.0, _visit_noise_sd(CK_MONTH_3_SD)))
    month_6 = baseline * np.exp(np.log(0.05) + 1.2 * effect + patient_deviation
                                + rng.normal(0.0, _visit_noise_sd(CK_MONTH_6_SD)))
    return round(baseline), round(max(month_3, 20.0)), round(max(month_6, 20.0))


def _visit_noise_sd(total_sd: float) -> float:
    return float(np.sqrt(total_sd**2 - CK_PATIENT_SD**2))


def strength_course(course: DiseaseCourse, rng: np.random.Generator
                    ) -> tuple[float, float, float]:
    """Hip-flexor strength (continuous MRC) at baseline, 3 and 6 months."""
    ivig_gain = course.early_ivig * (0.85 if course.moderate_severe else 0.15)
    month_3 = course.baseline_strength + 0.5 + 0.25 * ivig_gain + rng.normal(0.0, 0.45)
    month_6 = course.baseline_strength + 0.85 + ivig_gain + rng.normal(0.0, 0.55)
    return (course.baseline_strength, float(np.clip(month_3, 0, 5)),
            float(np.clip(month_6, 0, 5)))


def mrc_grade(strength: float) -> str:
    """The MRC grade with modifier nearest a continuous strength ('3', '4-', '4+', '5')."""
    thirds = int(round(float(np.clip(strength, 0.0, 5.0)) * 3))
    grade = int(round(thirds / 3))
    if grade in (0, 5):
        return str(grade)
    modifier = {-1: "-", 0: "", 1: "+"}[thirds - 3 * grade]
    return f"{grade}{modifier}"


def _mrc_integer(strength: float) -> int:
    return int(round(int(round(float(np.clip(strength, 0, 5)) * 3)) / 3))
