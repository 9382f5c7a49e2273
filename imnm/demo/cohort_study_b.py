"""What study B's analyses need beyond the course itself: a CK random effect, gaps, lost records.

Synthetic truth, each part drawn from random streams of its own, so adding it moved no earlier
draw of any patient (`cohort.py` seeds them; rates measured on 2 000 patients in
`tests/demo/test_study_b_truth.py`):

- **CK random effect**: u ~ N(0, `CK_PATIENT_SD` = 0.5) on the log scale, added to both
  follow-up CKs of the patient (`cohort_clinical.ck_course`, `LatentState.ck_patient_deviation`).
- **Follow-up visits not done** (missing at random given age, which the centres send): each of
  month 3 and month 6 independently, with probability expit(-2.65 + 0.6 (age - 62) / 10), ~8%
  overall, ~2.5% at 45 and ~17% at 80 (`follow_up_missing_probability`). A visit not done has
  no CK and no hip-flexor exam; blood pressure, taken at other appointments, is still sent.
  `LatentState.missed_visits` names them (drawn for every patient; a visit after the end of
  follow-up is absent anyway).
- **Covariates not recorded** (missing completely at random): the baseline hip-flexor exam
  (both sides) for 4% (`BASELINE_HIP_MISSING_SHARE`; the neck-flexor exam stays), the initial
  prednisone period's dose for 5% (`PREDNISONE_DOSE_MISSING_SHARE`: the period is sent, its dose
  cell empty, which the staging check `treatments_dose_not_null` rightly reports). The symptom
  onset date, and with it the duration band, is always sent: study A's cohort needs it.
- **Records unavailable**: next to patient k, with probability `RECORDS_UNAVAILABLE_SHARE` =
  0.14, a person of whom a centre holds only a biopsy report with necrotizing-myopathy
  histology and no other record (no patient, diagnosis, serology, treatment, lab, strength,
  echo, ECG or outcome row): ~12% of all necrotizing biopsy reports (the paper: 6 of 46). Their
  biopsy dates are uniform over 2005-01-01 .. 90 days before the data cutoff; their reports
  are delivered after the patients' and carry no injected defect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from imnm.demo.cohort_clinical import BIOPSY_MUSCLES, CK_PATIENT_SD, HISTOLOGY

FOLLOW_UP_VISITS = ("month_3", "month_6")
FOLLOW_UP_MISSING_LOGIT = -2.65  # at age 62
FOLLOW_UP_MISSING_LOGIT_PER_DECADE = 0.6
BASELINE_HIP_MISSING_SHARE = 0.04
PREDNISONE_DOSE_MISSING_SHARE = 0.05
RECORDS_UNAVAILABLE_SHARE = 0.14


@dataclass(frozen=True)
class StudyBDraws:
    """One patient's CK random effect and which of their records are missing."""

    ck_patient_deviation: float
    missed_visits: tuple[str, ...]
    baseline_hip_flexors_missing: bool
    prednisone_dose_missing: bool


def follow_up_missing_probability(age: float) -> float:
    """Chance that one follow-up visit is not done: rises with age (missing at random)."""
    logit = FOLLOW_UP_MISSING_LOGIT + FOLLOW_UP_MISSING_LOGIT_PER_DECADE * (age - 62.0) / 10.0
    return float(1.0 / (1.0 + np.exp(-logit)))


def draw_study_b(age: float, rng: np.random.Generator) -> StudyBDraws:
    """The patient's CK random effect and missing records, always five draws from `rng`."""
    deviation = float(rng.normal(0.0, CK_PATIENT_SD))
    p_missing = follow_up_missing_probability(age)
    missed = tuple(visit for visit, roll in zip(FOLLOW_UP_VISITS, rng.random(2), strict=True)
                   if roll < p_missing)
    return StudyBDraws(
        ck_patient_deviation=deviation, missed_visits=missed,
        baseline_hip_flexors_missing=bool(rng.random() < BASELINE_HIP_MISSING_SHARE),
        prednisone_dose_missing=bool(rng.random() < PREDNISONE_DOSE_MISSING_SHARE),
    )


def draw_biopsy_only(sites: tuple[str, ...], first: date, last: date,
                     rng: np.random.Generator) -> tuple[str, date, str, str] | None:
    """(site, biopsy date, muscle, necrotizing histology) of a person with no other record at
    the centre, or None (most draws): study B's "records unavailable"."""
    if rng.random() >= RECORDS_UNAVAILABLE_SHARE:
        return None
    site = sites[int(rng.integers(len(sites)))]
    when = first + timedelta(days=int(rng.integers(0, (last - first).days + 1)))
    texts = HISTOLOGY["imnm"]
    return (site, when, BIOPSY_MUSCLES[int(rng.integers(len(BIOPSY_MUSCLES)))],
            texts[int(rng.integers(len(texts)))])
