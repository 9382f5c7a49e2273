"""A seeded, synthetic multicentre IMNM network and a synthetic ECG/echo training centre.

Pure simulation, no I/O. The data are synthetic: margins follow the two source studies so the
platform's pipelines have something realistic to run on, and nothing here has clinical validity.
Each patient is drawn from its own random stream (seed, patient number), so patient k is the
same whatever the cohort size; the truth (latent LV impairment, its course) stays in the result.
Study B's additions (a patient CK random effect, visits and values missing at random,
biopsy-only people whose records are unavailable; `cohort_study_b`) come from streams of their
own, per patient number too, so they changed no earlier draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np

from imnm.demo.cohort_clinical import (
    DiseaseCourse,
    biopsy_report,
    ck_course,
    draw_course,
    mrc_grade,
    strength_course,
    treatment_periods,
)
from imnm.demo.cohort_heart import (
    LVD_PHENOTYPE_SHARES,
    LVD_PHENOTYPES,
    LVD_THRESHOLD,
    SEVERE_THRESHOLD,
    draw_lv_at_diagnosis,
    draw_outcome,
    ecg_dates,
    echo_findings,
    lv_for_category,
)
from imnm.demo.cohort_people import (
    Person,
    assign_local_ids,
    birth_date_for,
    draw_person,
    serology_panel,
    unused_local_id,
)
from imnm.demo.cohort_study_b import StudyBDraws, draw_biopsy_only, draw_study_b
from imnm.demo.records import (
    BiopsyRow,
    EcgRow,
    EchoRow,
    LabRow,
    LatentState,
    Patient,
    SerologyRow,
    StrengthRow,
    TreatmentRow,
    VitalRow,
)

DEFAULT_SITES: tuple[str, ...] = ("lakeside", "riverside", "hillcrest", "northgate")
FIRST_ONSET = date(2005, 1, 1)
LAST_ONSET = date(2023, 12, 31)
DATA_CUTOFF = date(2026, 10, 15)
SERIAL_ECG_SHARE = 0.40
EARLY_ECHO_SHARE = 0.75

_PATIENT_STREAM, _ID_STREAM, _ECG_ID_STREAM, _TRAINING_STREAM = 1, 2, 3, 4
_STUDY_B_STREAM, _RECORDS_UNAVAILABLE_STREAM = 5, 6


@dataclass(frozen=True)
class Schedule:
    """Every planned lab, strength exam and treatment period, with every value recorded: the
    records before study B's missing-at-random gaps. Deliveries draw their defects on these, so
    a gap never moves a defect (`sites.write_site_extracts`)."""

    labs: tuple[LabRow, ...]
    strength: tuple[StrengthRow, ...]
    treatments: tuple[TreatmentRow, ...]


@dataclass(frozen=True)
class Network:
    """Every record of the synthetic network in canonical form, with each patient's truth.

    The record kinds hold what the centres send: `biopsies` ends with `records_unavailable`, the
    reports of people with no other record; `schedule` holds the records before the gaps."""

    seed: int
    sites: tuple[str, ...]
    data_cutoff: date
    patients: tuple[Patient, ...]
    biopsies: tuple[BiopsyRow, ...]
    serology: tuple[SerologyRow, ...]
    treatments: tuple[TreatmentRow, ...]
    labs: tuple[LabRow, ...]
    vitals: tuple[VitalRow, ...]
    strength: tuple[StrengthRow, ...]
    echos: tuple[EchoRow, ...]
    ecgs: tuple[EcgRow, ...]
    records_unavailable: tuple[BiopsyRow, ...]
    schedule: Schedule

    def at_site(self, rows: Sequence, site: str) -> list:
        """The rows of one record kind that belong to one site, in network order."""
        return [row for row in rows if row.site == site]


@dataclass(frozen=True, eq=False)
class TrainingCentre:
    """A general-cardiology population of ECG/echo pairs (synthetic), one ECG per patient."""

    ecg_ids: tuple[str, ...]
    patient_ids: tuple[str, ...]
    lv_impairment: np.ndarray
    ef_percent: np.ndarray
    lvd_broad: np.ndarray
    ef_le_35: np.ndarray

    def __len__(self) -> int:
        return len(self.ecg_ids)


@dataclass
class _Rows:
    biopsies: list[BiopsyRow] = field(default_factory=list)
    serology: list[SerologyRow] = field(default_factory=list)
    treatments: list[TreatmentRow] = field(default_factory=list)
    labs: list[LabRow] = field(default_factory=list)
    vitals: list[VitalRow] = field(default_factory=list)
    strength: list[StrengthRow] = field(default_factory=list)
    echos: list[EchoRow] = field(default_factory=list)
    ecgs: list[EcgRow] = field(default_factory=list)
    planned_labs: list[LabRow] = field(default_factory=list)
    planned_strength: list[StrengthRow] = field(default_factory=list)
    planned_treatments: list[TreatmentRow] = field(default_factory=list)


def simulate_network(
    n_patients: int, seed: int, sites: Sequence[str] = DEFAULT_SITES
) -> Network:
    """Simulate `n_patients` synthetic patients spread over `sites`; same seed, same network."""
    if n_patients < 1:
        raise ValueError(f"n_patients must be positive, got {n_patients}")
    if not sites or len(set(sites)) != len(sites):
        raise ValueError(f"sites must be distinct and non-empty, got {list(sites)}")
    drawn = []
    for index in range(n_patients):
        rng = np.random.default_rng([seed, _PATIENT_STREAM, index])
        site = sites[int(rng.integers(len(sites)))]
        person = draw_person(rng)
        course = draw_course(rng, FIRST_ONSET, LAST_ONSET, DATA_CUTOFF - timedelta(days=90))
        drawn.append((index, site, person, course, rng))
    local_ids = assign_local_ids(
        [site for _, site, *_ in drawn], [course.diagnosis.year for *_, course, _ in drawn],
        np.random.default_rng([seed, _ID_STREAM]),
    )
    rows = _Rows()
    patients = [
        _simulate_patient(index, site, local_id, person, course, rng, rows,
                          draw_study_b(person.age_at_diagnosis, np.random.default_rng(
                              [seed, _STUDY_B_STREAM, index])))
        for (index, site, person, course, rng), local_id in zip(drawn, local_ids, strict=True)
    ]
    ecgs = _name_ecgs(rows.ecgs, np.random.default_rng([seed, _ECG_ID_STREAM]))
    unavailable = _biopsy_only_people(n_patients, seed, tuple(sites),
                                      {(p.site, p.local_id) for p in patients})
    return Network(
        seed=seed, sites=tuple(sites), data_cutoff=DATA_CUTOFF, patients=tuple(patients),
        biopsies=(*rows.biopsies, *unavailable), serology=tuple(rows.serology),
        treatments=tuple(rows.treatments), labs=tuple(rows.labs), vitals=tuple(rows.vitals),
        strength=tuple(rows.strength), echos=tuple(rows.echos), ecgs=tuple(ecgs),
        records_unavailable=unavailable,
        schedule=Schedule(labs=tuple(rows.planned_labs), strength=tuple(rows.planned_strength),
                          treatments=tuple(rows.planned_treatments)),
    )


def _biopsy_only_people(n_patients: int, seed: int, sites: tuple[str, ...],
                        used: set[tuple[str, str]]) -> tuple[BiopsyRow, ...]:
    """The biopsy reports of people with no other record, one chance per patient number."""
    reports = []
    for index in range(n_patients):
        rng = np.random.default_rng([seed, _RECORDS_UNAVAILABLE_STREAM, index])
        drawn = draw_biopsy_only(sites, FIRST_ONSET, DATA_CUTOFF - timedelta(days=90), rng)
        if drawn is not None:
            site, when, muscle, text = drawn
            reports.append(BiopsyRow(site, unused_local_id(site, when.year, used, rng), when,
                                     muscle, text))
    return tuple(reports)


def _simulate_patient(index: int, site: str, local_id: str, person: Person,
                      course: DiseaseCourse, rng: np.random.Generator, rows: _Rows,
                      gaps: StudyBDraws) -> Patient:
    lv, phenotype = draw_lv_at_diagnosis(person.age_at_diagnosis, person.serotype, rng)
    lvd = lv >= LVD_THRESHOLD
    respiratory = rng.random() < (0.24 if lvd else 0.05)
    restrictive = bool(respiratory and lvd and rng.random() < 0.6)
    symptoms_p = 0.8 if lv >= SEVERE_THRESHOLD else (0.35 if lvd else 0.06)
    symptoms = rng.random() < min(1.0, symptoms_p + 0.3 * respiratory)
    death, cause, last_seen = draw_outcome(
        lv, person.age_at_diagnosis, course.diagnosis, DATA_CUTOFF, rng
    )
    responder = rng.random() < 0.72
    latent = LatentState(
        serotype=person.serotype, lv_impairment_at_diagnosis=lv, lvd_broad=bool(lvd),
        ef_le_35=lv >= SEVERE_THRESHOLD, lvd_phenotype=phenotype,
        treatment_responder=bool(responder), residual_fraction=float(rng.uniform(0.25, 0.6)),
        recovery_years=float(rng.uniform(0.5, 2.5)),
        progression_per_year=float(rng.uniform(0.01, 0.05)),
        treatment_start_date=course.treatment_start, weight_kg=person.weight_kg,
        has_serial_ecgs=bool(rng.random() < SERIAL_ECG_SHARE),
        moderate_severe_weakness=course.moderate_severe, ivmp=course.ivmp,
        early_ivig=course.early_ivig, csdmard=course.csdmard,
        initial_prednisone_mg=course.prednisone_mg,
        ck_patient_deviation=gaps.ck_patient_deviation, missed_visits=gaps.missed_visits,
        baseline_hip_flexors_missing=gaps.baseline_hip_flexors_missing,
        prednisone_dose_missing=gaps.prednisone_dose_missing,
    )
    patient = Patient(
        patient_index=index, site=site, local_id=local_id, full_name=person.full_name,
        birth_date=birth_date_for(person.age_at_diagnosis, course.diagnosis), sex=person.sex,
        race=person.race, age_at_diagnosis=person.age_at_diagnosis,
        hypertension=person.hypertension, diabetes=person.diabetes, smoker=person.smoker,
        bp_treated=person.bp_treated, statin_exposure=person.statin_exposure,
        diagnosis=person.diagnosis, symptom_onset_date=course.onset,
        diagnosis_date=course.diagnosis, symptom_duration_band=course.duration_band,
        respiratory_involvement=bool(respiratory), restrictive_pulmonary=restrictive,
        cardiorespiratory_symptoms=bool(symptoms), death_date=death, death_cause=cause,
        last_followup_date=last_seen, latent=latent,
    )
    _add_clinical_rows(patient, person, course, rng, rows, gaps)
    _add_cardiac_rows(patient, rng, rows)
    return patient


def _visit_day(anchor: date, days: int, jitter: int, rng: np.random.Generator) -> date:
    return anchor + timedelta(days=days + int(rng.integers(-jitter, jitter + 1)))


def _add_clinical_rows(patient: Patient, person: Person, course: DiseaseCourse,
                       rng: np.random.Generator, rows: _Rows, gaps: StudyBDraws) -> None:
    """The patient's clinical records, every one planned (`rows.planned_*`) and those the
    centre sends; the gaps (`gaps`) draw nothing from `rng`, so its draws stay as they were."""
    site, local_id, last = patient.site, patient.local_id, patient.last_followup_date
    when, muscle, text = biopsy_report(patient.diagnosis, course, rng)
    rows.biopsies.append(BiopsyRow(site, local_id, when, muscle, text))
    drawn = max(course.diagnosis - timedelta(days=int(rng.integers(0, 45))), course.onset)
    rows.serology.extend(SerologyRow(site, local_id, drawn, antigen, result, intensity)
                         for antigen, result, intensity in serology_panel(person, rng))
    for period in treatment_periods(course, person.weight_kg, last, rng):
        planned = TreatmentRow(site, local_id, *period)
        rows.planned_treatments.append(planned)
        initial = planned.agent == "prednisone" and planned.start_date == course.treatment_start
        rows.treatments.append(replace(planned, dose=None)
                               if initial and gaps.prednisone_dose_missing else planned)
    visits = (
        ("baseline", max(course.diagnosis - timedelta(days=int(rng.integers(0, 8))),
                         course.onset)),
        ("month_3", _visit_day(course.diagnosis, 91, 10, rng)),
        ("month_6", _visit_day(course.diagnosis, 182, 14, rng)),
    )
    ck = ck_course(course, person.sex == "female", person.age_at_diagnosis, rng,
                   patient_deviation=gaps.ck_patient_deviation)
    strength = strength_course(course, rng)
    asymmetry = rng.normal(0.0, 0.25, size=3) * (rng.random(3) < 0.35)
    for (visit, day), ck_value, hip, offset in zip(visits, ck, strength, asymmetry, strict=True):
        if day > last:
            continue
        done = visit not in gaps.missed_visits
        hips_recorded = done and not (visit == "baseline" and gaps.baseline_hip_flexors_missing)
        ck_row = LabRow(site, local_id, day, "ck", float(ck_value), "U/L", visit)
        _plan(rows.planned_labs, rows.labs, ck_row, done)
        for side, grade in (("left", mrc_grade(hip)), ("right", mrc_grade(hip + offset))):
            _plan(rows.planned_strength, rows.strength,
                  StrengthRow(site, local_id, day, "hip_flexors", side, grade, visit),
                  hips_recorded)
        if visit == "baseline":
            for analyte, value in (("hdl_c", person.hdl_c_mg_dl),
                                   ("total_cholesterol", person.total_cholesterol_mg_dl)):
                _plan(rows.planned_labs, rows.labs,
                      LabRow(site, local_id, day, analyte, value, "mg/dL", visit), True)
            _plan(rows.planned_strength, rows.strength,
                  StrengthRow(site, local_id, day, "neck_flexors", "both",
                              mrc_grade(hip + 0.7 + rng.normal(0, 0.4)), visit), True)
        if visit != "month_3":
            drift = rng.normal(0.0, 6.0)
            rows.vitals.append(VitalRow(site, local_id, day, float(round(person.systolic_bp
                                                                         + drift)),
                                        float(round(person.diastolic_bp + drift / 2))))


def _plan(planned: list, delivered: list, row: object, sent: bool) -> None:
    """Record a planned row, and deliver it unless a study B gap keeps it back."""
    planned.append(row)
    if sent:
        delivered.append(row)


def _add_cardiac_rows(patient: Patient, rng: np.random.Generator, rows: _Rows) -> None:
    latent, last = patient.latent, patient.last_followup_date
    echo_days: list[date] = []
    early = rng.random() < EARLY_ECHO_SHARE
    if early:
        delay = int(np.clip(rng.lognormal(np.log(120.0), 0.8), 7, 360))
        echo_days.append(patient.symptom_onset_date + timedelta(days=delay))
    later = int(rng.choice(3, p=(0.65, 0.25, 0.10))) if early else int(rng.random() < 0.4)
    for _ in range(later):
        echo_days.append(patient.diagnosis_date + timedelta(days=int(rng.integers(400, 2200))))
    onset = patient.symptom_onset_date
    for day in sorted(d for d in echo_days if d <= last):
        lv = float(np.clip(latent.lv_impairment_at(day) + rng.normal(0.0, 0.02), 0.0, 1.0))
        ef, grade, text = echo_findings(lv, latent.lvd_phenotype, rng)
        rows.echos.append(EchoRow(
            patient.site, patient.local_id, day, float(ef), grade, text, lv,
            lv >= LVD_THRESHOLD, (day - onset).days <= 365,
        ))
    for stamp, is_index in ecg_dates(onset, patient.diagnosis_date, latent.treatment_start_date,
                                     patient.birth_date, last, latent.has_serial_ecgs, rng):
        lv = float(np.clip(latent.lv_impairment_at(stamp.date()) + rng.normal(0.0, 0.02), 0, 1))
        rows.ecgs.append(EcgRow(patient.site, patient.local_id, "", stamp, lv, is_index))


def _name_ecgs(ecgs: list[EcgRow], rng: np.random.Generator) -> list[EcgRow]:
    """Give every ECG an opaque, network-unique accession id (12 hex digits)."""
    named: list[EcgRow] = []
    used: set[str] = set()
    for ecg in ecgs:
        while (accession := f"{int(rng.integers(0, 2**48)):012x}") in used:
            pass
        used.add(accession)
        named.append(EcgRow(ecg.site, ecg.local_id, accession, ecg.acquired_at,
                            ecg.lv_impairment, ecg.is_index))
    return named


def simulate_training_centre(n_ecgs: int, seed: int) -> TrainingCentre:
    """A synthetic general-cardiology population: EF <= 35% in ~7%, broad LVD in ~25%."""
    if n_ecgs < 1:
        raise ValueError(f"n_ecgs must be positive, got {n_ecgs}")
    rng = np.random.default_rng([seed, _TRAINING_STREAM])
    roll = rng.random(n_ecgs)
    lv = np.empty(n_ecgs)
    ef = np.empty(n_ecgs)
    for i in range(n_ecgs):
        if roll[i] < 0.07:
            category, phenotype = "severe", "severe"
        elif roll[i] < 0.25:
            category = "lvd"
            phenotype = LVD_PHENOTYPES[int(rng.choice(4, p=LVD_PHENOTYPE_SHARES))]
        else:
            category, phenotype = "normal", "normal"
        lv[i] = lv_for_category(category, rng)
        ef[i] = echo_findings(float(lv[i]), phenotype, rng)[0]
    # Training-centre ids carry their own prefix, so they can never collide with a network id.
    numbers = rng.permutation(n_ecgs) + 1
    return TrainingCentre(
        ecg_ids=tuple(f"TC-ECG-{k:07d}" for k in range(1, n_ecgs + 1)),
        patient_ids=tuple(f"TC-{int(k):07d}" for k in numbers),
        lv_impairment=lv, ef_percent=ef, lvd_broad=lv >= LVD_THRESHOLD, ef_le_35=ef <= 35.0,
    )
