"""How each demo centre writes its extracts: file format, names, columns, dates, units, spellings.

Synthetic centres with deliberately different conventions, mirrored by `config/sites/*.toml`:
lakeside sends CSV (ISO dates, CK U/L, lipids mg/dL, WFDB ECGs); riverside sends Excel
(day-first dates, CK ukat/L, lipids mmol/L, wide labs, brand names, HL7 aECG); hillcrest sends
Parquet (dd-Mon-yyyy dates, month-first lab dates, abbreviations, GE MUSE ECGs with 8 leads).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from imnm.demo.records import LabRow

U_L_PER_UKAT_L = 60.0
MG_DL_PER_MMOL_L = 38.67
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

Getter = Callable[[Any], Any]
ColumnSpec = tuple[str, str, Getter]  # (site column name, canonical role, value of a row)


@dataclass(frozen=True)
class LabVisit:
    """All analytes of one patient's blood sample, for centres that send one column per analyte."""

    site: str
    local_id: str
    sample_date: date
    values: tuple[tuple[str, float], ...]

    def value(self, analyte: str) -> float | None:
        """The canonical-unit value of one analyte, or None when it was not measured."""
        return dict(self.values).get(analyte)


@dataclass(frozen=True)
class SiteConvention:
    """One centre's delivery conventions, as data."""

    site: str
    display_name: str
    table_format: str
    ecg_format: str
    file_name: Callable[[str, date], str]  # (record kind, delivery date) -> file name
    ecg_path: Callable[[str], str]  # ECG accession -> path under the site folder (no suffix)
    tables: Mapping[str, tuple[ColumnSpec, ...]]
    wide_lab_units: tuple[tuple[str, str], ...] = ()  # (role, unit) when labs are wide
    row_filters: Mapping[str, Callable[[Any], bool]] = field(default_factory=dict)
    sheets: Mapping[str, str] = field(default_factory=dict)
    preface_sheets: Mapping[str, str] = field(default_factory=dict)
    csv_delimiter: str = ","
    csv_encoding: str = "utf-8"
    decimal_comma: bool = False

    @property
    def wide_labs(self) -> bool:
        """Whether labs arrive one column per analyte."""
        return bool(self.wide_lab_units)


def format_date(value: date | None, fmt: str) -> str | None:
    """A date in a site's format, with English month abbreviations whatever the locale."""
    if value is None:
        return None
    return value.strftime(fmt.replace("%b", _MONTHS[value.month - 1]))


def vary(options: Sequence[str], *key: object) -> str:
    """A stable choice among spellings, keyed by the record, so reruns spell alike."""
    digest = zlib.crc32("|".join(str(part) for part in key).encode("utf-8"))
    return options[digest % len(options)]


def pivot_lab_visits(labs: Sequence[LabRow]) -> list[LabVisit]:
    """Group long-format lab rows into one row per patient and sample date, in first-seen order."""
    grouped: dict[tuple[str, str, date], dict[str, float]] = {}
    for lab in labs:
        grouped.setdefault((lab.site, lab.local_id, lab.sample_date), {})[lab.analyte] = lab.value
    return [LabVisit(site, local_id, day, tuple(values.items()))
            for (site, local_id, day), values in grouped.items()]


def _mmol(mg_dl: float | None) -> float | None:
    return None if mg_dl is None else round(mg_dl / MG_DL_PER_MMOL_L, 2)


def _ukat(u_l: float | None) -> float | None:
    return None if u_l is None else round(u_l / U_L_PER_UKAT_L, 2)


def _yes_no(yes: str, no: str) -> Callable[[bool], str]:
    return lambda flag: yes if flag else no


def _lakeside() -> SiteConvention:
    def d(value: date | None) -> str | None:
        return format_date(value, "%Y-%m-%d")

    yn = _yes_no("Yes", "No")
    drugs = {
        "prednisone": ("Prednisone", "prednisone"), "methylprednisolone": ("Methylprednisolone",),
        "immunoglobulin": ("IVIG", "Intravenous immunoglobulin"), "methotrexate": ("Methotrexate",),
        "azathioprine": ("Azathioprine",), "mycophenolate": ("Mycophenolate mofetil",),
        "rituximab": ("Rituximab",),
    }
    diagnoses = {"imnm": "Immune-mediated necrotizing myopathy",
                 "antisynthetase_syndrome": "Anti-synthetase syndrome",
                 "dermatomyositis": "Dermatomyositis", "overlap_myositis": "Overlap myositis",
                 "statin_rhabdomyolysis": "Statin-induced rhabdomyolysis"}
    analytes = {"ck": "CK", "hdl_c": "HDL cholesterol", "total_cholesterol": "Total cholesterol"}
    causes = {"cardiorespiratory": "Cardiorespiratory failure", "infection": "Infection",
              "malignancy": "Malignancy", "undetermined": "Undetermined"}
    return SiteConvention(
        site="lakeside", display_name="Lakeside University Hospital", table_format="csv",
        ecg_format="wfdb", file_name=lambda kind, day: f"{kind}_{day:%Y-%m-%d}.csv",
        ecg_path=lambda accession: f"ecg/ecg_{accession}",
        tables={
            "patients": (
                ("MRN", "local_id", lambda p: p.local_id),
                ("Full name", "patient_name", lambda p: p.full_name),
                ("Date of birth", "birth_date", lambda p: d(p.birth_date)),
                ("Sex", "sex", lambda p: p.sex.capitalize()),
                ("Race", "race", lambda p: p.race.capitalize()),
                ("Hypertension", "hypertension", lambda p: yn(p.hypertension)),
                ("Diabetes", "diabetes", lambda p: yn(p.diabetes)),
                ("Current smoker", "smoker", lambda p: yn(p.smoker)),
                ("On BP treatment", "bp_treated", lambda p: yn(p.bp_treated)),
                ("Statin exposure", "statin_exposure", lambda p: p.statin_exposure.capitalize()),
            ),
            "diagnoses": (
                ("MRN", "local_id", lambda p: p.local_id),
                ("Diagnosis", "diagnosis", lambda p: diagnoses[p.diagnosis]),
                ("Symptom onset date", "symptom_onset_date", lambda p: d(p.symptom_onset_date)),
                ("Diagnosis date", "diagnosis_date", lambda p: d(p.diagnosis_date)),
                ("Respiratory muscle involvement", "respiratory_involvement",
                 lambda p: yn(p.respiratory_involvement)),
                ("Restrictive pulmonary disease", "restrictive_pulmonary",
                 lambda p: yn(p.restrictive_pulmonary)),
                ("Cardiorespiratory symptoms", "cardiorespiratory_symptoms",
                 lambda p: yn(p.cardiorespiratory_symptoms)),
            ),
            "biopsies": (
                ("MRN", "local_id", lambda b: b.local_id),
                ("Biopsy date", "biopsy_date", lambda b: d(b.biopsy_date)),
                ("Muscle", "muscle", lambda b: b.muscle),
                ("Histology", "histology_text", lambda b: b.histology_text),
            ),
            "serology": (
                ("MRN", "local_id", lambda s: s.local_id),
                ("Sample date", "sample_date", lambda s: d(s.sample_date)),
                ("Antigen", "antigen", lambda s: s.antigen),
                ("Result", "result", lambda s: s.result.capitalize()),
                ("Band intensity", "band_intensity", lambda s: s.band_intensity),
            ),
            "treatments": (
                ("MRN", "local_id", lambda t: t.local_id),
                ("Drug", "drug", lambda t: vary(drugs[t.agent], t.local_id, t.start_date)),
                ("Route", "route", lambda t: {"oral": "Oral", "iv": "Intravenous"}[t.route]),
                ("Dose", "dose", lambda t: t.dose),
                ("Dose unit", "dose_unit", lambda t: t.dose_unit),
                ("Start date", "start_date", lambda t: d(t.start_date)),
                ("Stop date", "stop_date", lambda t: d(t.stop_date)),
            ),
            "labs": (
                ("MRN", "local_id", lambda lab: lab.local_id),
                ("Sample date", "sample_date", lambda lab: d(lab.sample_date)),
                ("Test", "analyte", lambda lab: analytes[lab.analyte]),
                ("Result", "value", lambda lab: lab.value),
                ("Unit", "unit", lambda lab: lab.unit),
            ),
            "vitals": (
                ("MRN", "local_id", lambda v: v.local_id),
                ("Date", "measured_date", lambda v: d(v.measured_date)),
                ("Systolic BP", "systolic_bp", lambda v: v.systolic_bp),
                ("Diastolic BP", "diastolic_bp", lambda v: v.diastolic_bp),
            ),
            "strength": (
                ("MRN", "local_id", lambda s: s.local_id),
                ("Exam date", "exam_date", lambda s: d(s.exam_date)),
                ("Muscle group", "muscle_group",
                 lambda s: s.muscle_group.replace("_", " ").capitalize()),
                ("Side", "side", lambda s: s.side.capitalize()),
                ("MRC grade", "mrc_grade", lambda s: s.mrc_grade),
            ),
            "echos": (
                ("MRN", "local_id", lambda e: e.local_id),
                ("Echo date", "echo_date", lambda e: d(e.echo_date)),
                ("LVEF (%)", "lvef_percent", lambda e: e.lvef_percent),
                ("Diastolic function", "diastolic_grade",
                 lambda e: e.diastolic_grade.replace("_", " ").capitalize()),
                ("Conclusion", "conclusion_text", lambda e: e.conclusion_text),
            ),
            "outcomes": (
                ("MRN", "local_id", lambda p: p.local_id),
                ("Date of death", "death_date", lambda p: d(p.death_date)),
                ("Cause of death", "death_cause", lambda p: causes.get(p.death_cause)),
                ("Last follow-up", "last_followup_date", lambda p: d(p.last_followup_date)),
            ),
        },
    )


def _riverside() -> SiteConvention:
    def d(value: date | None) -> str | None:
        return format_date(value, "%d/%m/%Y")

    jn = _yes_no("J", "N")
    yn = _yes_no("yes", "no")
    drugs = {
        "prednisone": ("Deltasone", "pred", "Prednison"), "methylprednisolone": ("Solu-Medrol",),
        "immunoglobulin": ("Privigen", "Nanogam"), "methotrexate": ("Metoject",),
        "azathioprine": ("Imuran",), "mycophenolate": ("CellCept",), "rituximab": ("MabThera",),
    }
    diagnoses = {"imnm": "IMNM", "antisynthetase_syndrome": "ASS", "dermatomyositis": "DM",
                 "overlap_myositis": "Overlap myositis",
                 "statin_rhabdomyolysis": "Statin-induced rhabdomyolysis"}
    results = {"negative": "negative", "borderline": "weak positive", "positive": "positive"}
    causes = {"cardiorespiratory": "cardiorespiratory failure", "infection": "infection",
              "malignancy": "malignancy", "undetermined": "unknown"}
    return SiteConvention(
        site="riverside", display_name="Riverside General Hospital", table_format="xlsx",
        ecg_format="hl7-aecg", file_name=lambda kind, day: f"export_{kind}_{day:%Y%m%d}.xlsx",
        ecg_path=lambda accession: f"ecg/aecg_{accession}",
        tables={
            "patients": (
                ("Patient No", "local_id", lambda p: p.local_id),
                ("Patient name", "patient_name", lambda p: p.full_name),
                ("Date of birth", "birth_date", lambda p: d(p.birth_date)),
                ("Gender", "sex", lambda p: {"male": "M", "female": "V"}[p.sex]),
                ("Ethnicity", "race",
                 lambda p: {"white": "Caucasian", "black": "Black", "other": "Other"}[p.race]),
                ("Hypertension", "hypertension", lambda p: jn(p.hypertension)),
                ("Diabetes", "diabetes", lambda p: jn(p.diabetes)),
                ("Smoker", "smoker", lambda p: jn(p.smoker)),
                ("Antihypertensives", "bp_treated", lambda p: jn(p.bp_treated)),
                ("Statin", "statin_exposure",
                 lambda p: {"current": "current", "previous": "stopped",
                            "never": "never"}[p.statin_exposure]),
            ),
            "diagnoses": (
                ("Patient No", "local_id", lambda p: p.local_id),
                ("Diagnosis", "diagnosis", lambda p: diagnoses[p.diagnosis]),
                ("Onset", "symptom_onset_date", lambda p: d(p.symptom_onset_date)),
                ("Diagnosis date", "diagnosis_date", lambda p: d(p.diagnosis_date)),
                ("Respiratory involvement", "respiratory_involvement",
                 lambda p: yn(p.respiratory_involvement)),
                ("Restrictive lung disease", "restrictive_pulmonary",
                 lambda p: yn(p.restrictive_pulmonary)),
                ("Cardiorespiratory symptoms", "cardiorespiratory_symptoms",
                 lambda p: yn(p.cardiorespiratory_symptoms)),
            ),
            "biopsies": (
                ("Patient No", "local_id", lambda b: b.local_id),
                ("Biopsy date", "biopsy_date", lambda b: d(b.biopsy_date)),
                ("Site of biopsy", "muscle", lambda b: b.muscle),
                ("Pathology conclusion", "histology_text", lambda b: b.histology_text),
            ),
            "serology": (
                ("Patient No", "local_id", lambda s: s.local_id),
                ("Date", "sample_date", lambda s: d(s.sample_date)),
                ("Antibody", "antigen", lambda s: s.antigen),
                ("Result", "result", lambda s: results[s.result]),
                ("Intensity", "band_intensity", lambda s: s.band_intensity),
            ),
            "treatments": (
                ("Patient No", "local_id", lambda t: t.local_id),
                ("Medication", "drug", lambda t: vary(drugs[t.agent], t.local_id, t.start_date)),
                ("Route", "route", lambda t: {"oral": "PO", "iv": "IV"}[t.route]),
                ("Dose", "dose", lambda t: t.dose),
                ("Unit", "dose_unit", lambda t: t.dose_unit),
                ("Start", "start_date", lambda t: d(t.start_date)),
                ("Stop", "stop_date", lambda t: d(t.stop_date)),
            ),
            "labs": (
                ("Patient No", "local_id", lambda v: v.local_id),
                ("Date", "sample_date", lambda v: d(v.sample_date)),
                ("CK (ukat/L)", "wide:ck", lambda v: _ukat(v.value("ck"))),
                ("HDL (mmol/L)", "wide:hdl_c", lambda v: _mmol(v.value("hdl_c"))),
                ("Cholesterol (mmol/L)", "wide:total_cholesterol",
                 lambda v: _mmol(v.value("total_cholesterol"))),
            ),
            "vitals": (
                ("Patient No", "local_id", lambda v: v.local_id),
                ("Date", "measured_date", lambda v: d(v.measured_date)),
                ("RR systolic", "systolic_bp", lambda v: v.systolic_bp),
                ("RR diastolic", "diastolic_bp", lambda v: v.diastolic_bp),
            ),
            "strength": (
                ("Patient No", "local_id", lambda s: s.local_id),
                ("Date", "exam_date", lambda s: d(s.exam_date)),
                ("Side", "side", lambda s: {"left": "L", "right": "R"}[s.side]),
                ("MRC", "mrc_grade", lambda s: s.mrc_grade),
            ),
            "echos": (
                ("Patient No", "local_id", lambda e: e.local_id),
                ("Echo date", "echo_date", lambda e: d(e.echo_date)),
                ("Conclusion", "conclusion_text", lambda e: e.conclusion_text),
            ),
            "outcomes": (
                ("Patient No", "local_id", lambda p: p.local_id),
                ("Deceased date", "death_date", lambda p: d(p.death_date)),
                ("Cause of death", "death_cause", lambda p: causes.get(p.death_cause)),
                ("Last contact", "last_followup_date", lambda p: d(p.last_followup_date)),
            ),
        },
        wide_lab_units=(("wide:ck", "ukat/L"), ("wide:hdl_c", "mmol/L"),
                        ("wide:total_cholesterol", "mmol/L")),
        # Riverside's strength extract holds hip flexors only; the muscle is implied.
        row_filters={"strength": lambda s: s.muscle_group == "hip_flexors"},
        sheets={"labs": "Lab results"},
        preface_sheets={"labs": "About"},
    )


def _hillcrest() -> SiteConvention:
    def d(value: date | None) -> str | None:
        return format_date(value, "%d-%b-%Y")

    yn = _yes_no("Y", "N")
    drugs = {"prednisone": "PRED", "methylprednisolone": "IVMP", "immunoglobulin": "IVIg",
             "methotrexate": "MTX", "azathioprine": "AZA", "mycophenolate": "MMF",
             "rituximab": "RTX"}
    diagnoses = {"imnm": "IMNM", "antisynthetase_syndrome": "ASyS", "dermatomyositis": "DM",
                 "overlap_myositis": "OM", "statin_rhabdomyolysis": "SIRM"}
    antigens = {"Mi-2": "Mi2", "TIF1-gamma": "TIF1g", "PM/Scl100": "PMScl100",
                "PM/Scl75": "PMScl75", "Jo-1": "Jo1", "PL-7": "PL7", "PL-12": "PL12"}
    results = {"negative": "NEG", "borderline": "EQV", "positive": "POS"}
    analytes = {"ck": "CK", "hdl_c": "HDL", "total_cholesterol": "CHOL"}
    causes = {"cardiorespiratory": "cardiac/respiratory", "infection": "infection",
              "malignancy": "cancer", "undetermined": "undetermined"}

    def lab_value(lab: LabRow) -> float | None:
        return lab.value if lab.analyte == "ck" else _mmol(lab.value)

    return SiteConvention(
        site="hillcrest", display_name="Hillcrest Neuromuscular Centre", table_format="parquet",
        ecg_format="ge-muse", file_name=lambda kind, day: f"hc_{kind}_{day:%Y_%m}.parquet",
        ecg_path=lambda accession: f"ecg/MUSE_{accession}",
        tables={
            "patients": (
                ("pid", "local_id", lambda p: p.local_id),
                ("name", "patient_name", lambda p: p.full_name),
                ("dob", "birth_date", lambda p: d(p.birth_date)),
                ("sex", "sex", lambda p: {"male": "1", "female": "2"}[p.sex]),
                ("race", "race", lambda p: {"white": "W", "black": "B", "other": "O"}[p.race]),
                ("htn", "hypertension", lambda p: yn(p.hypertension)),
                ("dm", "diabetes", lambda p: yn(p.diabetes)),
                ("smoker", "smoker", lambda p: yn(p.smoker)),
                ("bp_meds", "bp_treated", lambda p: yn(p.bp_treated)),
                ("statin", "statin_exposure",
                 lambda p: {"current": "current", "previous": "former",
                            "never": "never"}[p.statin_exposure]),
            ),
            "diagnoses": (
                ("pid", "local_id", lambda p: p.local_id),
                ("dx", "diagnosis", lambda p: diagnoses[p.diagnosis]),
                ("onset_dt", "symptom_onset_date", lambda p: d(p.symptom_onset_date)),
                ("dx_dt", "diagnosis_date", lambda p: d(p.diagnosis_date)),
                ("resp_inv", "respiratory_involvement", lambda p: yn(p.respiratory_involvement)),
                ("rpd", "restrictive_pulmonary", lambda p: yn(p.restrictive_pulmonary)),
                ("cr_sx", "cardiorespiratory_symptoms",
                 lambda p: yn(p.cardiorespiratory_symptoms)),
            ),
            "biopsies": (
                ("pid", "local_id", lambda b: b.local_id),
                ("bx_dt", "biopsy_date", lambda b: d(b.biopsy_date)),
                ("muscle", "muscle", lambda b: b.muscle),
                ("path_text", "histology_text", lambda b: b.histology_text),
            ),
            "serology": (
                ("pid", "local_id", lambda s: s.local_id),
                ("drawn_dt", "sample_date", lambda s: d(s.sample_date)),
                ("ag", "antigen", lambda s: antigens.get(s.antigen, s.antigen)),
                ("res", "result", lambda s: results[s.result]),
                ("intensity", "band_intensity", lambda s: s.band_intensity),
            ),
            "treatments": (
                ("pid", "local_id", lambda t: t.local_id),
                ("agent", "drug", lambda t: drugs[t.agent]),
                ("route", "route", lambda t: {"oral": "PO", "iv": "IV"}[t.route]),
                ("dose", "dose", lambda t: t.dose),
                ("dose_units", "dose_unit", lambda t: t.dose_unit),
                ("start_dt", "start_date", lambda t: d(t.start_date)),
                ("end_dt", "stop_date", lambda t: d(t.stop_date)),
            ),
            "labs": (
                ("pid", "local_id", lambda lab: lab.local_id),
                ("collected", "sample_date", lambda lab: format_date(lab.sample_date, "%m/%d/%Y")),
                ("test", "analyte", lambda lab: analytes[lab.analyte]),
                ("result", "value", lab_value),
                ("units", "unit", lambda lab: "U/L" if lab.analyte == "ck" else "mmol/L"),
            ),
            "vitals": (
                ("pid", "local_id", lambda v: v.local_id),
                ("visit_dt", "measured_date", lambda v: d(v.measured_date)),
                ("sbp", "systolic_bp", lambda v: v.systolic_bp),
                ("dbp", "diastolic_bp", lambda v: v.diastolic_bp),
            ),
            "strength": (
                ("pid", "local_id", lambda s: s.local_id),
                ("exam_dt", "exam_date", lambda s: d(s.exam_date)),
                ("muscle", "muscle_group",
                 lambda s: {"hip_flexors": "HF", "neck_flexors": "NF"}[s.muscle_group]),
                ("side", "side", lambda s: {"left": "L", "right": "R", "both": "B"}[s.side]),
                ("mrc", "mrc_grade", lambda s: s.mrc_grade),
            ),
            "echos": (
                ("pid", "local_id", lambda e: e.local_id),
                ("echo_dt", "echo_date", lambda e: d(e.echo_date)),
                ("lvef", "lvef_percent", lambda e: e.lvef_percent),
                ("dd_grade", "diastolic_grade",
                 lambda e: {"normal": "0", "grade_1": "1", "grade_2": "2",
                            "grade_3": "3"}[e.diastolic_grade]),
                ("impression", "conclusion_text", lambda e: e.conclusion_text),
            ),
            "outcomes": (
                ("pid", "local_id", lambda p: p.local_id),
                ("dod", "death_date", lambda p: d(p.death_date)),
                ("cod", "death_cause", lambda p: causes.get(p.death_cause)),
                ("last_seen", "last_followup_date", lambda p: d(p.last_followup_date)),
            ),
        },
    )


def _northgate() -> SiteConvention:
    """Semicolon CSV in Latin-1 with decimal commas and dd.mm.yyyy dates; MRC as '4+/5';
    brand drug names; CK in ukat/L and lipids in mmol/L (long); ECGs as Philips Sierra XML."""

    def d(value: date | None) -> str | None:
        return format_date(value, "%d.%m.%Y")

    flag = _yes_no("1", "0")
    drugs = {
        "prednisone": ("Decortin", "Prednison"), "methylprednisolone": ("Urbason solubile",),
        "immunoglobulin": ("Intratect", "Privigen"), "methotrexate": ("Lantarel",),
        "azathioprine": ("Azafalk",), "mycophenolate": ("CellCept",), "rituximab": ("MabThera",),
    }
    diagnoses = {"imnm": "IMNM", "antisynthetase_syndrome": "Antisynthetase-Syndrom",
                 "dermatomyositis": "Dermatomyositis", "overlap_myositis": "Overlap-Myositis",
                 "statin_rhabdomyolysis": "Statin-Rhabdomyolyse"}
    results = {"negative": "neg.", "borderline": "grenzwertig", "positive": "pos."}
    analytes = {"ck": "CK", "hdl_c": "HDL-Cholesterin", "total_cholesterol": "Cholesterin"}
    causes = {"cardiorespiratory": "kardiorespiratorisch", "infection": "Infektion",
              "malignancy": "Malignom", "undetermined": "unklar"}

    def lab_value(lab: LabRow) -> float | None:
        return _ukat(lab.value) if lab.analyte == "ck" else _mmol(lab.value)

    return SiteConvention(
        site="northgate", display_name="Northgate Myositis Clinic", table_format="csv",
        ecg_format="philips-sierra",
        file_name=lambda kind, day: f"NG_{kind.upper()}_{day:%Y%m%d}.csv",
        ecg_path=lambda accession: f"ecg/PH_{accession}",
        csv_delimiter=";", csv_encoding="latin-1", decimal_comma=True,
        tables={
            "patients": (
                ("PatNr", "local_id", lambda p: p.local_id),
                ("Name", "patient_name", lambda p: p.full_name),
                ("Geburtsdatum", "birth_date", lambda p: d(p.birth_date)),
                ("Geschlecht", "sex", lambda p: {"male": "m", "female": "w"}[p.sex]),
                ("Herkunft", "race",
                 lambda p: {"white": "kaukasisch", "black": "afrikanisch",
                            "other": "andere"}[p.race]),
                ("Hypertonie", "hypertension", lambda p: flag(p.hypertension)),
                ("Diabetes", "diabetes", lambda p: flag(p.diabetes)),
                ("Raucher", "smoker", lambda p: flag(p.smoker)),
                ("Antihypertensiva", "bp_treated", lambda p: flag(p.bp_treated)),
                ("Statin", "statin_exposure",
                 lambda p: {"current": "aktuell", "previous": "früher",
                            "never": "nie"}[p.statin_exposure]),
            ),
            "diagnoses": (
                ("PatNr", "local_id", lambda p: p.local_id),
                ("Diagnose", "diagnosis", lambda p: diagnoses[p.diagnosis]),
                ("Symptombeginn", "symptom_onset_date", lambda p: d(p.symptom_onset_date)),
                ("Diagnosedatum", "diagnosis_date", lambda p: d(p.diagnosis_date)),
                ("Atemmuskulatur", "respiratory_involvement",
                 lambda p: flag(p.respiratory_involvement)),
                ("Restriktive Lungenerkrankung", "restrictive_pulmonary",
                 lambda p: flag(p.restrictive_pulmonary)),
                ("Kardiorespiratorische Symptome", "cardiorespiratory_symptoms",
                 lambda p: flag(p.cardiorespiratory_symptoms)),
            ),
            "biopsies": (
                ("PatNr", "local_id", lambda b: b.local_id),
                ("Biopsiedatum", "biopsy_date", lambda b: d(b.biopsy_date)),
                ("Muskel", "muscle", lambda b: b.muscle),
                ("Befund", "histology_text", lambda b: b.histology_text),
            ),
            "serology": (
                ("PatNr", "local_id", lambda s: s.local_id),
                ("Abnahme", "sample_date", lambda s: d(s.sample_date)),
                ("Antikörper", "antigen", lambda s: s.antigen),
                ("Ergebnis", "result", lambda s: results[s.result]),
                ("Bandenintensität", "band_intensity", lambda s: s.band_intensity),
            ),
            "treatments": (
                ("PatNr", "local_id", lambda t: t.local_id),
                ("Präparat", "drug", lambda t: vary(drugs[t.agent], t.local_id, t.start_date)),
                ("Applikation", "route", lambda t: {"oral": "p.o.", "iv": "i.v."}[t.route]),
                ("Dosis", "dose", lambda t: t.dose),
                ("Einheit", "dose_unit", lambda t: t.dose_unit),
                ("Beginn", "start_date", lambda t: d(t.start_date)),
                ("Ende", "stop_date", lambda t: d(t.stop_date)),
            ),
            "labs": (
                ("PatNr", "local_id", lambda lab: lab.local_id),
                ("Datum", "sample_date", lambda lab: d(lab.sample_date)),
                ("Parameter", "analyte", lambda lab: analytes[lab.analyte]),
                ("Wert", "value", lab_value),
                ("Einheit", "unit", lambda lab: "µkat/L" if lab.analyte == "ck" else "mmol/L"),
            ),
            "vitals": (
                ("PatNr", "local_id", lambda v: v.local_id),
                ("Datum", "measured_date", lambda v: d(v.measured_date)),
                ("RR sys", "systolic_bp", lambda v: v.systolic_bp),
                ("RR dia", "diastolic_bp", lambda v: v.diastolic_bp),
            ),
            "strength": (
                ("PatNr", "local_id", lambda s: s.local_id),
                ("Datum", "exam_date", lambda s: d(s.exam_date)),
                ("Muskelgruppe", "muscle_group",
                 lambda s: {"hip_flexors": "Hüftbeuger", "neck_flexors": "Nackenbeuger"}[
                     s.muscle_group]),
                ("Seite", "side", lambda s: {"left": "li", "right": "re", "both": "bds"}[s.side]),
                ("Kraftgrad", "mrc_grade", lambda s: f"{s.mrc_grade}/5"),
            ),
            "echos": (
                ("PatNr", "local_id", lambda e: e.local_id),
                ("Untersuchung", "echo_date", lambda e: d(e.echo_date)),
                ("LVEF", "lvef_percent", lambda e: e.lvef_percent),
                ("Beurteilung", "conclusion_text", lambda e: e.conclusion_text),
            ),
            "outcomes": (
                ("PatNr", "local_id", lambda p: p.local_id),
                ("Todesdatum", "death_date", lambda p: d(p.death_date)),
                ("Todesursache", "death_cause", lambda p: causes.get(p.death_cause)),
                ("Letzter Kontakt", "last_followup_date", lambda p: d(p.last_followup_date)),
            ),
        },
    )


CONVENTIONS: Mapping[str, SiteConvention] = {
    convention.site: convention
    for convention in (_lakeside(), _riverside(), _hillcrest(), _northgate())
}


def convention_for(site: str) -> SiteConvention:
    """The conventions of a demo centre; raises KeyError naming the known centres."""
    try:
        return CONVENTIONS[site]
    except KeyError:
        raise KeyError(f"no delivery conventions for site {site!r}; "
                       f"known: {', '.join(CONVENTIONS)}") from None
