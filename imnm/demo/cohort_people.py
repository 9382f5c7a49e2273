"""Synthetic people: names, local record numbers, demographics, risk factors and serology.

Everything here is synthetic; distributions follow the margins the two studies report
(age 62 +/- 13, 52% men, 44% hypertension, 30% diabetes, 56/11/33% serotypes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

FIRST_NAMES_MALE = (
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas",
    "Charles", "Daniel", "Matthew", "Anthony", "Mark", "Paul", "Steven", "Andrew", "Kenneth",
    "Pieter", "Jan", "Henk", "Omar", "Rahul", "Kwame",
)
FIRST_NAMES_FEMALE = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica",
    "Sarah", "Karen", "Nancy", "Lisa", "Margaret", "Sandra", "Ashley", "Emily", "Donna",
    "Anna", "Maria", "Johanna", "Fatima", "Priya", "Amara", "Ingrid",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark",
    "Lewis", "Walker", "Hall", "Young", "de Vries", "Jansen", "Bakker", "Visser", "Meijer",
    "Mulder", "Okafor", "Mensah", "Patel", "Khan", "Nguyen", "Lindqvist", "Novak", "Rossi",
)

LIA_ANTIGENS = (
    "Mi-2", "TIF1-gamma", "MDA5", "NXP2", "SAE1", "Ku", "PM/Scl100", "PM/Scl75", "Jo-1", "SRP",
    "PL-7", "PL-12", "OJ", "EJ", "Ro52",
)
SEROTYPES = ("anti_hmgcr", "anti_srp", "seronegative")
SEROTYPE_SHARES = (0.56, 0.11, 0.33)
# Alternative diagnoses (study B's exclusions) arise among HMGCR/SRP-negative patients, each
# with the antibody that defines it on the line immunoassay.
ALTERNATIVE_DIAGNOSES = {
    "antisynthetase_syndrome": (0.09, ("Jo-1", "PL-7", "PL-12")),
    "dermatomyositis": (0.04, ("Mi-2", "TIF1-gamma", "MDA5", "NXP2", "SAE1")),
    "overlap_myositis": (0.03, ("Ku", "PM/Scl100", "PM/Scl75")),
    "statin_rhabdomyolysis": (0.03, ()),
}


@dataclass(frozen=True)
class Person:
    """Identity, demographics and cardiovascular risk factors of one synthetic patient."""

    full_name: str
    sex: str
    race: str
    age_at_diagnosis: float
    hypertension: bool
    diabetes: bool
    smoker: bool
    bp_treated: bool
    statin_exposure: str
    serotype: str
    diagnosis: str
    defining_antigen: str | None
    total_cholesterol_mg_dl: float
    hdl_c_mg_dl: float
    systolic_bp: float
    diastolic_bp: float
    weight_kg: float


def draw_person(rng: np.random.Generator) -> Person:
    """Draw one person's demographics, risk factors, serotype and diagnosis."""
    sex = "male" if rng.random() < 0.52 else "female"
    first = FIRST_NAMES_MALE if sex == "male" else FIRST_NAMES_FEMALE
    full_name = f"{first[rng.integers(len(first))]} {LAST_NAMES[rng.integers(len(LAST_NAMES))]}"
    age = float(np.clip(rng.normal(62.0, 13.0), 18.0, 90.0))
    race = ("white", "black", "other")[int(rng.choice(3, p=(0.82, 0.10, 0.08)))]
    hypertension = rng.random() < 0.44 + 0.008 * (age - 62.0)
    diabetes = rng.random() < 0.30
    smoker = rng.random() < 0.15
    bp_treated = bool(hypertension and rng.random() < 0.8)
    serotype = SEROTYPES[int(rng.choice(3, p=SEROTYPE_SHARES))]
    statin_p = (0.75, 0.12, 0.13) if serotype == "anti_hmgcr" else (0.38, 0.19, 0.43)
    statin = ("current", "previous", "never")[int(rng.choice(3, p=statin_p))]
    diagnosis, antigen = "imnm", None
    if serotype == "seronegative":
        roll = rng.random()
        for name, (share, antigens) in ALTERNATIVE_DIAGNOSES.items():
            if roll < share:
                diagnosis = name
                antigen = antigens[rng.integers(len(antigens))] if antigens else None
                break
            roll -= share
    female = sex == "female"
    total_chol = float(np.clip(rng.normal(196.0, 38.0) - 22.0 * (statin == "current"), 95, 340))
    hdl = float(np.clip(rng.normal(47.0 + 6.0 * female, 11.0), 20.0, 110.0))
    systolic = float(np.clip(rng.normal(126.0 + 12.0 * hypertension, 15.0), 88.0, 215.0))
    diastolic = float(np.clip(rng.normal(76.0 + 5.0 * hypertension, 9.0), 45.0, 125.0))
    weight = float(np.clip(rng.normal(70.0 + 12.0 * (not female), 14.0), 40.0, 150.0))
    return Person(
        full_name=full_name, sex=sex, race=race, age_at_diagnosis=age,
        hypertension=bool(hypertension), diabetes=bool(diabetes), smoker=bool(smoker),
        bp_treated=bp_treated, statin_exposure=statin, serotype=serotype, diagnosis=diagnosis,
        defining_antigen=antigen, total_cholesterol_mg_dl=round(total_chol),
        hdl_c_mg_dl=round(hdl), systolic_bp=round(systolic), diastolic_bp=round(diastolic),
        weight_kg=round(weight),
    )


def birth_date_for(age_years: float, on: date) -> date:
    """The birth date that makes someone `age_years` old (fractional) on day `on`."""
    return date.fromordinal(on.toordinal() - int(round(age_years * 365.25)))


def assign_local_ids(
    sites: Sequence[str], diagnosis_years: Sequence[int], rng: np.random.Generator
) -> list[str]:
    """Unique, site-style local record numbers for patients listed by site and diagnosis year."""
    ids: list[str] = []
    used: set[tuple[str, str]] = set()
    for site, year in zip(sites, diagnosis_years, strict=True):
        while True:
            candidate = _local_id(site, int(year), rng)
            if (site, candidate) not in used:
                used.add((site, candidate))
                ids.append(candidate)
                break
    return ids


def unused_local_id(site: str, year: int, used: set[tuple[str, str]],
                    rng: np.random.Generator) -> str:
    """A site-style local record number not in `used` (which it joins), for people added later."""
    candidate = _local_id(site, year, rng)
    while (site, candidate) in used:
        candidate = _local_id(site, year, rng)
    used.add((site, candidate))
    return candidate


def _local_id(site: str, year: int, rng: np.random.Generator) -> str:
    if site == "lakeside":
        return f"LK-{int(rng.integers(1, 1_000_000)):06d}"
    if site == "riverside":
        registered = year - int(rng.integers(0, 6))
        return f"{registered}/{int(rng.integers(1, 100_000)):05d}"
    if site == "hillcrest":
        return f"{int(rng.integers(0, 100_000_000)):08d}"
    # Any other centre: a three-letter prefix and six digits.
    return f"{site[:3].upper()}{int(rng.integers(1, 1_000_000)):06d}"


def serology_panel(
    person: Person, rng: np.random.Generator
) -> list[tuple[str, str, float]]:
    """(antigen, result, band intensity) for the 15-antigen line immunoassay and the HMGCR assay.

    Line-immunoassay intensities use the 0-150 band scale: < 6 negative, 6-10 borderline.
    The HMGCR assay reports a titre in CU/mL: >= 20 positive.
    """
    results: list[tuple[str, str, float]] = []
    for antigen in LIA_ANTIGENS:
        if antigen == "SRP" and person.serotype == "anti_srp":
            intensity = float(rng.integers(35, 130))
        elif antigen == person.defining_antigen:
            intensity = float(rng.integers(25, 110))
        elif antigen == "Ro52":
            roll = rng.random()
            ro52_positive = 0.35 if person.serotype == "anti_srp" else 0.18
            if roll < ro52_positive:
                intensity = float(rng.integers(11, 90))
            elif roll < ro52_positive + 0.05:
                intensity = float(rng.integers(6, 11))
            else:
                intensity = float(rng.integers(0, 6))
        else:
            intensity = float(rng.integers(6, 11)) if rng.random() < 0.015 else float(
                rng.integers(0, 6)
            )
        results.append((antigen, _band_result(intensity), intensity))
    if person.serotype == "anti_hmgcr":
        titre = float(np.clip(round(rng.lognormal(np.log(150.0), 0.7)), 21, 1000))
    else:
        titre = float(round(rng.uniform(1.0, 14.0), 1))
    results.append(("HMGCR", "positive" if titre >= 20 else "negative", titre))
    return results


def _band_result(intensity: float) -> str:
    if intensity < 6:
        return "negative"
    return "borderline" if intensity <= 10 else "positive"
