"""Pure harmonization rules: site spellings to platform codes, one unit per quantity, pseudonyms.

Input is staging as parsed (site codes, site units, local record numbers); output is the core
layer's rows. Every value that cannot be mapped is returned as an `Unmapped` finding, never
silently dropped; rows keep their lineage (site, file_id, source_row).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import polars as pl

from imnm.pseudonym import pseudonymize
from imnm.settings import CONFIG_DIR
from imnm.siteconfig import SiteConfig, normalize_spelling

LINEAGE = ("site", "file_id", "source_row")

COLUMN_VOCABULARIES: Mapping[str, Mapping[str, str]] = {
    "patients": {"sex": "sex", "race": "race", "hypertension": "yes_no", "diabetes": "yes_no",
                 "smoker": "yes_no", "bp_treated": "yes_no",
                 "statin_exposure": "statin_exposure"},
    "diagnoses": {"diagnosis": "diagnosis", "respiratory_involvement": "yes_no",
                  "restrictive_pulmonary": "yes_no", "cardiorespiratory_symptoms": "yes_no"},
    "serology": {"antigen": "antigen", "result": "serology_result"},
    "treatments": {"drug": "drug", "route": "route", "dose_unit": "unit"},
    "labs": {"analyte": "analyte", "unit": "unit"},
    "strength": {"muscle_group": "muscle_group", "side": "side"},
    "echos": {"diastolic_grade": "diastolic_grade"},
    "outcomes": {"death_cause": "death_cause"},
}
BOOLEAN_CODES = {"true": True, "false": False}

# Factor from (analyte, unit as sent) to the core unit of that analyte.
LAB_CORE_UNITS = {"ck": "U/L", "hdl_c": "mg/dL", "total_cholesterol": "mg/dL"}
LAB_UNIT_FACTORS: Mapping[tuple[str, str], float] = {
    ("ck", "U/L"): 1.0,
    ("ck", "ukat/L"): 60.0,  # 1 ukat/L = 60 U/L
    ("hdl_c", "mg/dL"): 1.0,
    ("hdl_c", "mmol/L"): 38.67,  # cholesterol molar mass 386.7 g/mol
    ("total_cholesterol", "mg/dL"): 1.0,
    ("total_cholesterol", "mmol/L"): 38.67,
}
DOSE_MG_FACTORS: Mapping[str, float] = {"mg": 1.0, "g": 1000.0}
MRC_PATTERN = re.compile(r"^([0-5])\s*([+-]?)$")


@dataclass(frozen=True)
class Unmapped:
    """A delivered value the platform could not map, with where it came from."""

    site: str
    record_kind: str
    file_id: int
    source_row: int
    column: str
    value: str | None
    reason: str


@dataclass(frozen=True)
class HarmonizeInput:
    """Staging rows per kind, the vocabularies, the site configs and the pseudonym key."""

    staging: Mapping[str, pl.DataFrame]
    vocabularies: Mapping[str, Mapping[str, str]]
    sites: Mapping[str, SiteConfig]
    key: bytes


@dataclass
class Harmonized:
    """Core rows per kind plus everything that could not be mapped."""

    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    unmapped: list[Unmapped] = field(default_factory=list)
    duplicates_removed: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class EchoFindingRules:
    """How echo reports become findings, loaded from config/echo_findings.toml."""

    ef_severely_reduced_at_or_below: float
    ef_mildly_abnormal_below: float
    diastolic_dysfunction_grades: frozenset[str]
    text_patterns: Mapping[str, tuple[re.Pattern[str], ...]]
    ef_from_text: re.Pattern[str]


@cache
def load_echo_finding_rules(path: Path = CONFIG_DIR / "echo_findings.toml") -> EchoFindingRules:
    """The echo LVD rules from configuration (cached)."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return EchoFindingRules(
        ef_severely_reduced_at_or_below=float(raw["thresholds"]["ef_severely_reduced_at_or_below"]),
        ef_mildly_abnormal_below=float(raw["thresholds"]["ef_mildly_abnormal_below"]),
        diastolic_dysfunction_grades=frozenset(raw["diastolic_grades"]["dysfunction"]),
        text_patterns={name: tuple(re.compile(p, re.IGNORECASE) for p in patterns)
                       for name, patterns in raw["text_findings"].items()},
        ef_from_text=re.compile(raw["ef_from_text"]["pattern"], re.IGNORECASE),
    )


def _normalized(column: str) -> pl.Expr:
    return (pl.col(column).cast(pl.String).str.strip_chars().str.to_lowercase()
            .str.replace_all(r"\s+", " "))


def _site_lookup(inputs: HarmonizeInput, site: str, kind: str, column: str, vocabulary: str
                 ) -> dict[str, str]:
    lookup = dict(inputs.vocabularies.get(vocabulary, {}))
    config = inputs.sites.get(site)
    mapping = config.kinds.get(kind) if config else None
    if mapping is not None:
        for spelling, canonical in mapping.codes.get(column, {}).items():
            lookup[normalize_spelling(spelling)] = canonical
    return lookup


def map_codes(frame: pl.DataFrame, kind: str, inputs: HarmonizeInput, out: Harmonized
              ) -> pl.DataFrame:
    """Replace each coded column's site spellings by platform codes; report what is unmapped."""
    columns = COLUMN_VOCABULARIES.get(kind, {})
    parts = []
    for (site,), part in frame.group_by(["site"], maintain_order=True):
        replacements = []
        for column, vocabulary in columns.items():
            lookup = _site_lookup(inputs, site, kind, column, vocabulary)
            mapped = _normalized(column).replace_strict(lookup, default=None,
                                                        return_dtype=pl.String)
            replacements.append(mapped.alias(column))
            unmapped = part.filter(pl.col(column).is_not_null() & mapped.is_null())
            for row in unmapped.select(*LINEAGE, column).iter_rows():
                out.unmapped.append(Unmapped(
                    site, kind, row[1], row[2], column, str(row[3]),
                    f"no mapping in vocabularies.toml [{vocabulary}] or "
                    f"{site}.toml kinds.{kind}.codes.{column}"))
        parts.append(part.with_columns(replacements) if replacements else part)
    return pl.concat(parts) if parts else frame


def _to_boolean(columns: list[str]) -> list[pl.Expr]:
    return [pl.col(c).replace_strict(BOOLEAN_CODES, default=None, return_dtype=pl.Boolean)
            .alias(c) for c in columns]


def with_patient_keys(frame: pl.DataFrame, kind: str, inputs: HarmonizeInput, out: Harmonized
                      ) -> pl.DataFrame:
    """Replace local record numbers by keyed pseudonyms; rows without one are reported."""
    missing = frame.filter(pl.col("local_id").is_null())
    for site, file_id, source_row in missing.select(*LINEAGE).iter_rows():
        out.unmapped.append(Unmapped(site, kind, file_id, source_row, "local_id", None,
                                     "no local record number: row cannot be linked"))
    present = frame.filter(pl.col("local_id").is_not_null())
    keys = [pseudonymize(inputs.key, site, local_id)
            for site, local_id in present.select("site", "local_id").iter_rows()]
    return present.with_columns(pl.Series("patient_key", keys, dtype=pl.String)).drop("local_id")


def _drop_duplicates(frame: pl.DataFrame, kind: str, out: Harmonized,
                     one_per_patient: bool = False) -> pl.DataFrame:
    """Exact repeats of a record are kept once (the first delivered); per-patient kinds keep the
    newest file's row, so a corrected re-delivery wins."""
    if one_per_patient:
        ordered = frame.sort(["file_id", "source_row"], descending=[True, False])
        deduped = ordered.unique(subset=["patient_key"], keep="first", maintain_order=True)
    else:
        content = [c for c in frame.columns if c not in ("file_id", "source_row")]
        deduped = frame.sort(["file_id", "source_row"]).unique(
            subset=content, keep="first", maintain_order=True)
    out.duplicates_removed[kind] = frame.height - deduped.height
    return deduped.sort(["site", "file_id", "source_row"])


def harmonize_patients(inputs: HarmonizeInput, out: Harmonized) -> pl.DataFrame:
    """Sex, race and risk factors as platform codes; birth date reduced to its year."""
    frame = map_codes(inputs.staging["patients"], "patients", inputs, out)
    frame = with_patient_keys(frame, "patients", inputs, out)
    frame = frame.with_columns(
        pl.col("birth_date").dt.year().cast(pl.Int32).alias("birth_year"),
        *_to_boolean(["hypertension", "diabetes", "smoker", "bp_treated"]),
    ).drop("patient_name", "birth_date")
    return _drop_duplicates(frame, "patients", out, one_per_patient=True)


def harmonize_diagnoses(inputs: HarmonizeInput, out: Harmonized) -> pl.DataFrame:
    """Diagnosis codes and age at diagnosis."""
    births = (inputs.staging["patients"].filter(pl.col("local_id").is_not_null())
              .sort(["file_id", "source_row"], descending=[True, False])
              .unique(subset=["site", "local_id"], keep="first")
              .select("site", "local_id", "birth_date"))
    frame = inputs.staging["diagnoses"].join(births, on=["site", "local_id"], how="left")
    frame = map_codes(frame, "diagnoses", inputs, out)
    frame = with_patient_keys(frame, "diagnoses", inputs, out)
    frame = frame.with_columns(
        ((pl.col("diagnosis_date") - pl.col("birth_date")).dt.total_days() / 365.25)
        .alias("age_at_diagnosis"),
        *_to_boolean(["respiratory_involvement", "restrictive_pulmonary",
                      "cardiorespiratory_symptoms"]),
    ).drop("birth_date")
    return _drop_duplicates(frame, "diagnoses", out, one_per_patient=True)


NECROTIZING_PATTERN = r"(?i)necroti[sz]ing"


def harmonize_biopsies(inputs: HarmonizeInput, out: Harmonized) -> pl.DataFrame:
    """Biopsy reports, flagged when the histology names necrotizing myopathy."""
    frame = with_patient_keys(inputs.staging["biopsies"], "biopsies", inputs, out)
    frame = frame.with_columns(
        pl.col("histology_text").str.contains(NECROTIZING_PATTERN).alias("necrotizing_myopathy"))
    return _drop_duplicates(frame, "biopsies", out)


def harmonize_serology(inputs: HarmonizeInput, out: Harmonized) -> pl.DataFrame:
    """Antigen names and results (negative / borderline / positive) as platform codes."""
    frame = map_codes(inputs.staging["serology"], "serology", inputs, out)
    return _drop_duplicates(with_patient_keys(frame, "serology", inputs, out), "serology", out)


def _split_drug(frame: pl.DataFrame) -> pl.DataFrame:
    parts = pl.col("drug_code").str.split_exact(":", 1)
    return frame.with_columns(parts.struct.field("field_0").alias("drug_class"),
                              parts.struct.field("field_1").alias("agent"))


def harmonize_treatments(inputs: HarmonizeInput, out: Harmonized) -> pl.DataFrame:
    """Drug spellings to class and agent; doses converted to mg."""
    staged = inputs.staging["treatments"].with_columns(pl.col("drug").alias("drug_as_sent"))
    frame = map_codes(staged, "treatments", inputs, out).rename({"drug": "drug_code"})
    factor = pl.col("dose_unit").replace_strict(DOSE_MG_FACTORS, default=None,
                                                return_dtype=pl.Float64)
    frame = _split_drug(frame).with_columns((pl.col("dose") * factor).alias("dose_mg"))
    bad_dose = frame.filter(pl.col("dose").is_not_null() & pl.col("dose_mg").is_null())
    for site, file_id, source_row, unit in bad_dose.select(*LINEAGE, "dose_unit").iter_rows():
        out.unmapped.append(Unmapped(site, "treatments", file_id, source_row, "dose_unit",
                                     unit, "dose unit has no conversion to mg"))
    frame = frame.drop("drug_code", "dose", "dose_unit")
    return _drop_duplicates(with_patient_keys(frame, "treatments", inputs, out), "treatments", out)


def harmonize_labs(inputs: HarmonizeInput, out: Harmonized) -> pl.DataFrame:
    """Analytes to platform codes and values to one unit each (CK U/L, lipids mg/dL)."""
    staged = inputs.staging["labs"].with_columns(pl.col("value").alias("value_as_sent"),
                                                 pl.col("unit").alias("unit_as_sent"))
    frame = map_codes(staged, "labs", inputs, out)
    factors = pl.DataFrame(
        [(a, u, f, LAB_CORE_UNITS[a]) for (a, u), f in LAB_UNIT_FACTORS.items()],
        schema={"analyte": pl.String, "unit": pl.String, "factor": pl.Float64,
                "core_unit": pl.String}, orient="row")
    frame = frame.join(factors, on=["analyte", "unit"], how="left")
    no_factor = frame.filter(pl.col("analyte").is_not_null() & pl.col("unit").is_not_null()
                             & pl.col("factor").is_null())
    for site, file_id, source_row, analyte, unit in no_factor.select(
            *LINEAGE, "analyte", "unit_as_sent").iter_rows():
        out.unmapped.append(Unmapped(site, "labs", file_id, source_row, "unit", unit,
                                     f"no conversion of {unit} for {analyte}"))
    frame = frame.with_columns((pl.col("value") * pl.col("factor")).alias("value"),
                               pl.col("core_unit").alias("unit")).drop("factor", "core_unit")
    return _drop_duplicates(with_patient_keys(frame, "labs", inputs, out), "labs", out)


def harmonize_vitals(inputs: HarmonizeInput, out: Harmonized) -> pl.DataFrame:
    """Blood pressure in mmHg, pseudonymized."""
    frame = with_patient_keys(inputs.staging["vitals"], "vitals", inputs, out).rename(
        {"systolic_bp": "systolic_bp_mmhg", "diastolic_bp": "diastolic_bp_mmhg"})
    return _drop_duplicates(frame, "vitals", out)


def parse_mrc_grade(grade: str | None) -> tuple[int | None, str | None]:
    """'4-' -> (4, '-'); '5' -> (5, None); anything else -> (None, None)."""
    if grade is None:
        return None, None
    match = MRC_PATTERN.match(grade.strip())
    if not match:
        return None, None
    return int(match.group(1)), match.group(2) or None


def harmonize_strength(inputs: HarmonizeInput, out: Harmonized) -> pl.DataFrame:
    """MRC grade spellings (the site's own and the platform's) to a 0-5 grade and a +/- modifier."""
    staged = inputs.staging["strength"].with_columns(pl.col("mrc_grade").alias("mrc_grade_as_sent"))
    frame = map_codes(staged, "strength", inputs, out)
    lookups = {site: _site_lookup(inputs, site, "strength", "mrc_grade", "mrc_grade")
               for site in frame.get_column("site").unique().to_list()}
    grades, modifiers = [], []
    for site, file_id, source_row, sent in frame.select(*LINEAGE, "mrc_grade_as_sent").iter_rows():
        spelled = None if sent is None else lookups[site].get(normalize_spelling(sent), sent)
        grade, modifier = parse_mrc_grade(spelled)
        if sent is not None and grade is None:
            out.unmapped.append(Unmapped(site, "strength", file_id, source_row, "mrc_grade", sent,
                                         "not an MRC grade 0-5 with an optional +/-"))
        grades.append(grade)
        modifiers.append(modifier)
    frame = frame.drop("mrc_grade").with_columns(
        pl.Series("mrc_grade", grades, dtype=pl.Int32),
        pl.Series("mrc_modifier", modifiers, dtype=pl.String),
    )
    return _drop_duplicates(with_patient_keys(frame, "strength", inputs, out), "strength", out)


def echo_findings(lvef: float | None, diastolic_grade: str | None, text: str | None,
                  rules: EchoFindingRules) -> list[str]:
    """The findings of one echo report (config/echo_findings.toml), from its fields and its
    free text; which of them count as LVD is a study's parameter."""
    findings: set[str] = set()
    if lvef is not None:
        if lvef <= rules.ef_severely_reduced_at_or_below:
            findings.add("systolic_dysfunction")
        elif lvef < rules.ef_mildly_abnormal_below:
            findings.add("mildly_abnormal_systolic")
    if diastolic_grade in rules.diastolic_dysfunction_grades:
        findings.add("diastolic_dysfunction")
    if text:
        for finding, patterns in rules.text_patterns.items():
            if any(_affirmed(p, text) for p in patterns):
                findings.add(finding)
    return sorted(findings)


NEGATION = re.compile(r"\b(no|not|without|absence of|negative for)\b[^.;]*$", re.IGNORECASE)


def _affirmed(pattern: re.Pattern[str], text: str) -> bool:
    """True if the pattern occurs in a clause not negated before it ("no wall motion ...")."""
    for match in pattern.finditer(text):
        clause_start = max(text.rfind(".", 0, match.start()), text.rfind(";", 0, match.start()))
        if not NEGATION.search(text[clause_start + 1:match.start()]):
            return True
    return False


def lvef_from_text(text: str | None, rules: EchoFindingRules) -> float | None:
    """The LVEF percentage a conclusion states, for centres that send the text only."""
    match = rules.ef_from_text.search(text) if text else None
    return float(match.group(1).replace(",", ".")) if match else None


def harmonize_echos(inputs: HarmonizeInput, out: Harmonized) -> pl.DataFrame:
    """Echo reports with their findings and EF <= 35%.

    A missing structured LVEF is read from the conclusion; `lvef_source` says which it was.
    """
    rules = load_echo_finding_rules()
    frame = map_codes(inputs.staging["echos"], "echos", inputs, out)
    stated = pl.Series([lvef_from_text(t, rules) for t in frame["conclusion_text"].to_list()],
                       dtype=pl.Float64)
    frame = frame.with_columns(
        pl.when(pl.col("lvef_percent").is_not_null()).then(pl.lit("structured"))
        .when(stated.is_not_null()).then(pl.lit("text")).otherwise(None).alias("lvef_source"),
        pl.col("lvef_percent").fill_null(stated),
    )
    findings = [echo_findings(ef, grade, text, rules) for ef, grade, text in
                frame.select("lvef_percent", "diastolic_grade", "conclusion_text").iter_rows()]
    frame = frame.with_columns(
        pl.Series("echo_findings", [",".join(f) or None for f in findings], dtype=pl.String),
        (pl.col("lvef_percent") <= rules.ef_severely_reduced_at_or_below).alias("ef_le_35"),
    )
    return _drop_duplicates(with_patient_keys(frame, "echos", inputs, out), "echos", out)


def harmonize_outcomes(inputs: HarmonizeInput, out: Harmonized) -> pl.DataFrame:
    """Death (cause as a platform code, the site's text beside it) and last follow-up, one row
    per patient (newest delivery wins)."""
    staged = inputs.staging["outcomes"].with_columns(
        pl.col("death_cause").alias("death_cause_as_sent"))
    frame = map_codes(staged, "outcomes", inputs, out)
    frame = with_patient_keys(frame, "outcomes", inputs, out)
    return _drop_duplicates(frame, "outcomes", out, one_per_patient=True)


def harmonize_ecgs(inputs: HarmonizeInput, out: Harmonized) -> pl.DataFrame:
    """ECG metadata keyed by patient pseudonym, one row per distinct ECG."""
    frame = with_patient_keys(inputs.staging["ecgs"], "ecgs", inputs, out)
    frame = frame.sort(["file_id"]).unique(subset=["ecg_id"], keep="first", maintain_order=True)
    return frame.select("ecg_id", "patient_key", "site", "acquired_at", "source_format",
                        "waveform_shard", "waveform_row", "file_id", "source_row")


HARMONIZERS: Mapping[str, Callable[[HarmonizeInput, Harmonized], pl.DataFrame]] = {
    "patients": harmonize_patients,
    "diagnoses": harmonize_diagnoses,
    "biopsies": harmonize_biopsies,
    "serology": harmonize_serology,
    "treatments": harmonize_treatments,
    "labs": harmonize_labs,
    "vitals": harmonize_vitals,
    "strength": harmonize_strength,
    "echos": harmonize_echos,
    "outcomes": harmonize_outcomes,
    "ecgs": harmonize_ecgs,
}


def harmonize(inputs: HarmonizeInput) -> Harmonized:
    """All core tables from all staging rows: deterministic, so rebuilding is idempotent."""
    out = Harmonized()
    for kind, harmonizer in HARMONIZERS.items():
        out.tables[kind] = harmonizer(inputs, out)
    return out
