"""Rows of the synthetic network, in canonical units and codes (the data are synthetic).

Each record kind is a frozen dataclass of plain values: CK in U/L, lipids in mg/dL, codes from
`config/vocabularies.toml`. Site writers translate these into each centre's own conventions.
`LatentState` is the simulation's truth about a patient; no site ever sends it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class LatentState:
    """The hidden truth about one patient's heart and disease course."""

    serotype: str  # anti_hmgcr | anti_srp | seronegative
    lv_impairment_at_diagnosis: float  # 0 normal .. 1 severe
    lvd_broad: bool  # abnormal echo by the broad definition, at diagnosis
    ef_le_35: bool  # severe systolic dysfunction at diagnosis
    lvd_phenotype: str  # normal | diastolic | mild_systolic | hypokinesis | regional | severe
    treatment_responder: bool
    residual_fraction: float  # responders: share of the impairment left after treatment
    recovery_years: float  # responders: time constant of recovery
    progression_per_year: float  # non-responders: yearly rise of the impairment
    treatment_start_date: date
    weight_kg: float
    has_serial_ecgs: bool
    moderate_severe_weakness: bool
    ivmp: bool
    early_ivig: bool
    csdmard: bool
    initial_prednisone_mg: float
    ck_patient_deviation: float  # log-CK random effect shared by the 3- and 6-month CK
    missed_visits: tuple[str, ...]  # follow-up visits not done (month_3, month_6): no CK, no MRC
    baseline_hip_flexors_missing: bool  # baseline hip-flexor exam not recorded
    prednisone_dose_missing: bool  # initial prednisone period delivered without its dose

    def lv_impairment_at(self, when: date) -> float:
        """The latent LV impairment on a day: near flat before treatment, then recovery or drift."""
        years = (when - self.treatment_start_date).days / DAYS_PER_YEAR
        base = self.lv_impairment_at_diagnosis
        if years <= 0:
            value = base - 0.004 * (-years)
        elif self.treatment_responder:
            left = self.residual_fraction + (1 - self.residual_fraction) * math.exp(
                -years / self.recovery_years
            )
            value = base * left
        else:
            value = base + self.progression_per_year * years
        return min(1.0, max(0.0, value))


@dataclass(frozen=True)
class Patient:
    """One patient as a centre knows them (identity, risk factors, diagnosis, outcome) + truth."""

    patient_index: int
    site: str
    local_id: str
    full_name: str
    birth_date: date
    sex: str  # male | female
    race: str  # white | black | other
    age_at_diagnosis: float
    hypertension: bool
    diabetes: bool
    smoker: bool
    bp_treated: bool
    statin_exposure: str  # current | previous | never
    diagnosis: str
    symptom_onset_date: date
    diagnosis_date: date
    symptom_duration_band: str  # <5 weeks | 5-24 weeks | 25-52 weeks | >1 year
    respiratory_involvement: bool
    restrictive_pulmonary: bool
    cardiorespiratory_symptoms: bool
    death_date: date | None
    death_cause: str | None  # cardiorespiratory | infection | malignancy | undetermined
    last_followup_date: date
    latent: LatentState

    @property
    def died(self) -> bool:
        """Whether the patient died during follow-up."""
        return self.death_date is not None


@dataclass(frozen=True)
class BiopsyRow:
    """One muscle biopsy report."""

    site: str
    local_id: str
    biopsy_date: date
    muscle: str
    histology_text: str


@dataclass(frozen=True)
class SerologyRow:
    """One antigen result: a line-immunoassay band or the separate HMGCR assay."""

    site: str
    local_id: str
    sample_date: date
    antigen: str
    result: str  # negative | borderline | positive
    band_intensity: float


@dataclass(frozen=True)
class TreatmentRow:
    """One prescription or administration period of one drug."""

    site: str
    local_id: str
    agent: str  # prednisone | methylprednisolone | immunoglobulin | methotrexate | ...
    drug_class: str  # oral_glucocorticoid | ivmp | ivig | csdmard | rituximab
    route: str  # oral | iv
    dose: float | None  # None: not recorded
    dose_unit: str  # mg | g
    start_date: date
    stop_date: date | None


@dataclass(frozen=True)
class LabRow:
    """One analyte result in canonical units (CK U/L, lipids mg/dL)."""

    site: str
    local_id: str
    sample_date: date
    analyte: str  # ck | hdl_c | total_cholesterol
    value: float
    unit: str
    visit: str  # baseline | month_3 | month_6


@dataclass(frozen=True)
class VitalRow:
    """One blood pressure measurement (mmHg)."""

    site: str
    local_id: str
    measured_date: date
    systolic_bp: float
    diastolic_bp: float


@dataclass(frozen=True)
class StrengthRow:
    """One manual muscle test on the MRC scale, with +/- modifier."""

    site: str
    local_id: str
    exam_date: date
    muscle_group: str  # hip_flexors | neck_flexors
    side: str  # left | right | both
    mrc_grade: str
    visit: str  # baseline | month_3 | month_6


@dataclass(frozen=True)
class EchoRow:
    """One echocardiogram report, with the latent impairment it was drawn from."""

    site: str
    local_id: str
    echo_date: date
    lvef_percent: float
    diastolic_grade: str  # normal | grade_1 | grade_2 | grade_3
    conclusion_text: str
    lv_impairment: float
    lvd_broad: bool
    within_year_of_onset: bool


@dataclass(frozen=True)
class EcgRow:
    """One 12-lead ECG acquisition and the latent impairment its waveform must carry."""

    site: str
    local_id: str
    ecg_id: str
    acquired_at: datetime
    lv_impairment: float
    is_index: bool  # the ECG closest to diagnosis, within 12 months of symptom onset
