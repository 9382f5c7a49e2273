"""Loading and checking the per-centre mapping files (`config/sites/*.toml`) and vocabularies.

A configuration error names the file and the key, so a data engineer can fix it without code.
"""

from __future__ import annotations

import codecs
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from imnm.settings import ConfigurationError
from imnm.typed_settings import typed_settings

TABLE_FORMATS = frozenset({"csv", "xlsx", "parquet"})
ECG_FORMATS = frozenset({
    "wfdb", "hl7-aecg", "ge-muse", "philips-sierra", "dicom", "scp-ecg",
})

STAGING_COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "patients": ("local_id", "patient_name", "birth_date", "sex", "race", "hypertension",
                 "diabetes", "smoker", "bp_treated", "statin_exposure"),
    "diagnoses": ("local_id", "diagnosis", "symptom_onset_date", "diagnosis_date",
                  "respiratory_involvement", "restrictive_pulmonary",
                  "cardiorespiratory_symptoms"),
    "biopsies": ("local_id", "biopsy_date", "muscle", "histology_text"),
    "serology": ("local_id", "sample_date", "antigen", "result", "band_intensity"),
    "treatments": ("local_id", "drug", "route", "dose", "dose_unit", "start_date", "stop_date"),
    "labs": ("local_id", "sample_date", "analyte", "value", "unit"),
    "vitals": ("local_id", "measured_date", "systolic_bp", "diastolic_bp"),
    "strength": ("local_id", "exam_date", "muscle_group", "side", "mrc_grade"),
    "echos": ("local_id", "echo_date", "lvef_percent", "diastolic_grade", "conclusion_text"),
    "outcomes": ("local_id", "death_date", "death_cause", "last_followup_date"),
})
ECG_KIND = "ecgs"
RECORD_KINDS: tuple[str, ...] = (*STAGING_COLUMNS, ECG_KIND)
DATE_COLUMNS = frozenset({
    "birth_date", "symptom_onset_date", "diagnosis_date", "biopsy_date", "sample_date",
    "start_date", "stop_date", "measured_date", "exam_date", "echo_date", "death_date",
    "last_followup_date",
})
NUMBER_COLUMNS = frozenset({
    "band_intensity", "dose", "value", "systolic_bp", "diastolic_bp", "lvef_percent",
})


class SiteConfigError(ValueError):
    """A site or vocabulary file is missing a key or has a wrong value; names file and key."""

    def __init__(self, path: Path, key: str, problem: str) -> None:
        super().__init__(f"{path}: [{key}] {problem}" if key else f"{path}: {problem}")
        self.path = path
        self.key = key


@dataclass(frozen=True)
class WideAnalyte:
    """One analyte sent as its own column in a wide lab layout."""

    analyte: str
    column: str
    unit: str


@dataclass(frozen=True)
class KindMapping:
    """How one record kind arrives from one site."""

    kind: str
    pattern: str
    format: str
    date_format: str
    datetime_format: str
    columns: Mapping[str, str] = field(default_factory=dict)
    fixed: Mapping[str, str] = field(default_factory=dict)
    codes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    wide: tuple[WideAnalyte, ...] = ()
    csv_delimiter: str = ","
    csv_encoding: str = "utf-8"
    decimal_comma: bool = False
    sheet: str | None = None

    @property
    def is_ecg(self) -> bool:
        return self.kind == ECG_KIND


@dataclass(frozen=True)
class SiteSettings:
    """A site file's top-level settings: its name and the defaults every record kind takes
    (read with imnm/typed_settings.py, like scoring and study parameters)."""

    site: str
    date_format: str
    name: str = ""
    datetime_format: str = ""  # default: date_format + " %H:%M:%S"
    csv_delimiter: str = ","
    csv_encoding: str = "utf-8"
    decimal_comma: bool = False


@dataclass(frozen=True)
class SiteConfig:
    """One centre's conventions: its folder name and a mapping per record kind."""

    site: str
    name: str
    path: Path
    kinds: Mapping[str, KindMapping]


def _require(table: Mapping[str, Any], key: str, path: Path, where: str, kind: type) -> Any:
    if key not in table:
        raise SiteConfigError(path, f"{where}.{key}" if where else key, "is required")
    value = table[key]
    if not isinstance(value, kind):
        raise SiteConfigError(path, f"{where}.{key}" if where else key,
                              f"must be a {kind.__name__}, got {type(value).__name__}")
    return value


def _require_bool(table: Mapping[str, Any], key: str, path: Path, where: str, default: bool
                  ) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise SiteConfigError(path, f"{where}.{key}".lstrip("."), "must be true or false")
    return value


def _string_table(table: Any, path: Path, where: str) -> dict[str, str]:
    if not isinstance(table, Mapping):
        raise SiteConfigError(path, where, "must be a table")
    for key, value in table.items():
        if not isinstance(value, str):
            raise SiteConfigError(path, f"{where}.{key}", "must be a string")
    return dict(table)


def _text_encoding(name: str, path: Path, where: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise SiteConfigError(path, where, f"{name!r} is not a known text encoding") from None


def _parse_kind(kind: str, raw: Mapping[str, Any], path: Path, site_defaults: Mapping[str, Any]
                ) -> KindMapping:
    where = f"kinds.{kind}"
    if kind not in RECORD_KINDS:
        raise SiteConfigError(path, where, f"unknown record kind; known: {', '.join(RECORD_KINDS)}")
    fmt = _require(raw, "format", path, where, str)
    allowed = ECG_FORMATS if kind == ECG_KIND else TABLE_FORMATS
    if fmt not in allowed:
        raise SiteConfigError(path, f"{where}.format",
                              f"{fmt!r} is not one of {', '.join(sorted(allowed))}")
    columns = _string_table(raw.get("columns", {}), path, f"{where}.columns")
    fixed = _string_table(raw.get("fixed", {}), path, f"{where}.fixed")
    known = set(STAGING_COLUMNS.get(kind, ()))
    for column in (*columns, *fixed):
        if column not in known:
            raise SiteConfigError(path, f"{where}.columns.{column}",
                                  f"not a canonical column of {kind}: {', '.join(sorted(known))}")
    codes_raw = raw.get("codes", {})
    if not isinstance(codes_raw, Mapping):
        raise SiteConfigError(path, f"{where}.codes", "must be a table of tables")
    codes = {col: _string_table(t, path, f"{where}.codes.{col}") for col, t in codes_raw.items()}
    wide = []
    for analyte, spec in raw.get("wide", {}).items():
        spec_where = f"{where}.wide.{analyte}"
        if not isinstance(spec, Mapping):
            raise SiteConfigError(path, spec_where, "must be a table with column and unit")
        wide.append(WideAnalyte(analyte, _require(spec, "column", path, spec_where, str),
                                _require(spec, "unit", path, spec_where, str)))
    if kind != ECG_KIND and not columns.get("local_id"):
        raise SiteConfigError(path, f"{where}.columns.local_id", "is required")
    return KindMapping(
        kind=kind,
        pattern=_require(raw, "pattern", path, where, str),
        format=fmt,
        date_format=raw.get("date_format", site_defaults["date_format"]),
        datetime_format=raw.get("datetime_format", site_defaults["datetime_format"]),
        columns=MappingProxyType(columns),
        fixed=MappingProxyType(fixed),
        codes=MappingProxyType({k: MappingProxyType(v) for k, v in codes.items()}),
        wide=tuple(wide),
        csv_delimiter=raw.get("csv_delimiter", site_defaults["csv_delimiter"]),
        csv_encoding=_text_encoding(raw.get("csv_encoding", site_defaults["csv_encoding"]),
                                    path, f"{where}.csv_encoding"),
        decimal_comma=_require_bool(raw, "decimal_comma", path, where,
                                    site_defaults["decimal_comma"]),
        sheet=raw.get("sheet"),
    )


def load_site_config(path: Path) -> SiteConfig:
    """Parse and check one site file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SiteConfigError(path, "", f"is not valid TOML: {exc}") from exc
    site = _require(raw, "site", path, "", str)
    if path.stem != site:
        raise SiteConfigError(path, "site", f"{site!r} must equal the file name {path.stem!r}")
    _require(raw, "date_format", path, "", str)
    kinds_raw = _require(raw, "kinds", path, "", dict)
    try:
        settings = typed_settings(SiteSettings, {k: v for k, v in raw.items() if k != "kinds"},
                                  where=str(path))
    except ConfigurationError as exc:
        raise SiteConfigError(path, "", str(exc).removeprefix(f"{path}: ")) from exc
    defaults = {
        "date_format": settings.date_format,
        "datetime_format": settings.datetime_format or f"{settings.date_format} %H:%M:%S",
        "csv_delimiter": settings.csv_delimiter,
        "csv_encoding": settings.csv_encoding,
        "decimal_comma": settings.decimal_comma,
    }
    kinds = {k: _parse_kind(k, v, path, defaults) for k, v in kinds_raw.items()}
    return SiteConfig(site=site, name=settings.name or site, path=path,
                      kinds=MappingProxyType(kinds))


def load_site_configs(directory: Path) -> list[SiteConfig]:
    """Every `*.toml` in the sites directory, sorted by site name."""
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise FileNotFoundError(f"no site configuration files in {directory}")
    return [load_site_config(p) for p in paths]


def load_vocabularies(path: Path) -> dict[str, dict[str, str]]:
    """Vocabulary name -> {normalized spelling: canonical code}; spellings compare case-blind."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SiteConfigError(path, "", f"is not valid TOML: {exc}") from exc
    vocabularies: dict[str, dict[str, str]] = {}
    for name, table in raw.items():
        entries = _string_table(table, path, name)
        vocab = {normalize_spelling(k): v for k, v in entries.items()}
        for canonical in set(entries.values()):
            vocab.setdefault(normalize_spelling(canonical), canonical)
        vocabularies[name] = vocab
    return vocabularies


def normalize_spelling(value: str) -> str:
    """The form spellings are compared in: trimmed, lower-cased, inner whitespace collapsed."""
    return " ".join(value.split()).lower()
