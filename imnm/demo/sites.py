"""Write the synthetic network as the three demo centres deliver it, and the training centre.

Synthetic data only. `write_site_extracts` writes `<landing>/<site>/` for every site (one table
file per record kind, ECG files under `ecg/`) in the site's conventions (`site_conventions`),
injects the planned defects (drawn on the planned records, so study B's gaps move none),
records them in `<landing>/../demo_manifest/defects.csv`, and leaves files that already hold the
same bytes untouched, so reruns are idempotent.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from imnm.demo.cohort import Network
from imnm.demo.defects import (
    DefectPlan,
    InjectedDefect,
    choose_truncated_ecgs,
    defects_csv,
    inject_table_defects,
    truncate_file_content,
)
from imnm.demo.records import EcgRow
from imnm.demo.site_conventions import SiteConvention, convention_for, pivot_lab_visits
from imnm.demo.tables import SiteTable, materialize, serialize

DELIVERY_DATE = date(2026, 11, 1)
ECG_SAMPLING_HZ = 500.0
ECG_CHUNK = 250
MANIFEST_DIR = "demo_manifest"
_DEFECT_STREAM, _TRUNCATION_STREAM, _WAVEFORM_STREAM = 20, 21, 30


@dataclass(frozen=True)
class WrittenFile:
    """One delivered file: its place under the landing zone, what it holds, its digest."""

    site: str
    kind: str
    path: str  # relative to the landing zone, POSIX separators
    format: str
    rows: int | None  # data rows of a table; None for an ECG file
    sha256: str


@dataclass(frozen=True)
class DeliveryManifest:
    """What a synthetic delivery wrote and which defects it carries."""

    landing_dir: Path
    delivery_date: date
    n_patients: int
    n_ecgs: int
    files: tuple[WrittenFile, ...]
    defects: tuple[InjectedDefect, ...]
    files_changed: int  # delivered files written this time (the rest already held these bytes)

    @property
    def defects_path(self) -> Path:
        """Where the defect manifest CSV lies, outside the landing zone."""
        return manifest_path(self.landing_dir)

    @property
    def counts(self) -> dict[str, int]:
        """Rows written per record kind, plus ECG files, patients and defects."""
        counts: Counter[str] = Counter()
        for written in self.files:
            counts[written.kind] += written.rows if written.rows is not None else 1
        counts["patients_simulated"] = self.n_patients
        counts["defects"] = len(self.defects)
        return dict(sorted(counts.items()))

    def __str__(self) -> str:
        return (f"{self.n_patients} patients, {self.n_ecgs} ECGs, {len(self.files)} files "
                f"({self.files_changed} written, the rest unchanged), "
                f"{len(self.defects)} injected defects listed in {self.defects_path}")

    def files_of(self, site: str, kind: str) -> list[WrittenFile]:
        """The files one site delivered for one record kind."""
        return [f for f in self.files if f.site == site and f.kind == kind]


def build_site_tables(network: Network, site: str, delivery: date = DELIVERY_DATE, *,
                      planned: bool = False) -> list[SiteTable]:
    """Every table file one site delivers, in its columns, spellings, units and date formats.

    `planned=True`: the tables as planned (`Network.schedule`, no biopsy-only people), which the
    defects are drawn on."""
    convention = convention_for(site)
    tables = []
    for kind, specs in convention.tables.items():
        source = _source_rows(network, convention, kind, planned)
        keep = convention.row_filters.get(kind)
        source = [row for row in source if keep is None or keep(row)]
        long_labs = kind == "labs" and not convention.wide_labs
        tables.append(SiteTable(
            site=site, kind=kind, file_name=convention.file_name(kind, delivery),
            format=convention.table_format,
            columns=tuple(name for name, _, _ in specs),
            roles=tuple(role for _, role, _ in specs),
            rows=tuple(tuple(get(row) for _, _, get in specs) for row in source),
            units=convention.wide_lab_units if kind == "labs" else (),
            analytes=tuple(row.analyte for row in source) if long_labs else (),
            sheet=convention.sheets.get(kind),
            preface_sheet=convention.preface_sheets.get(kind),
            csv_delimiter=convention.csv_delimiter,
            csv_encoding=convention.csv_encoding,
            decimal_comma=convention.decimal_comma,
        ))
    return tables


def _source_rows(network: Network, convention: SiteConvention, kind: str, planned: bool
                 ) -> list[Any]:
    site = convention.site
    if kind in ("patients", "diagnoses", "outcomes"):
        return network.at_site(network.patients, site)
    plan = network.schedule
    labs = plan.labs if planned else network.labs
    if kind == "labs" and convention.wide_labs:
        return pivot_lab_visits(network.at_site(labs, site))
    unavailable = set(network.records_unavailable) if planned else set()
    rows_by_kind = {
        "biopsies": tuple(b for b in network.biopsies if b not in unavailable),
        "serology": network.serology,
        "treatments": plan.treatments if planned else network.treatments, "labs": labs,
        "vitals": network.vitals, "strength": plan.strength if planned else network.strength,
        "echos": network.echos,
    }
    if kind not in rows_by_kind:
        raise KeyError(f"no network rows for record kind {kind!r}")
    return network.at_site(rows_by_kind[kind], site)


def write_site_extracts(
    network: Network,
    landing_dir: Path,
    seed: int,
    defects: DefectPlan,
    *,
    delivery_date: date = DELIVERY_DATE,
    ecg_waveforms: bool = True,
) -> DeliveryManifest:
    """Write every site's delivery under `landing_dir` with the planned defects; say what was done.

    With `ecg_waveforms=False` the ECG files are skipped (tables only), for fast checks.
    Files of an earlier, different delivery in the same folders are left where they are.
    """
    landing_dir = Path(landing_dir)
    tables = [t for site in network.sites for t in build_site_tables(network, site, delivery_date)]
    planned = [t for site in network.sites
               for t in build_site_tables(network, site, delivery_date, planned=True)]
    tables, injected = inject_table_defects(
        tables, defects, np.random.default_rng([seed, _DEFECT_STREAM]), planned
    )
    written: list[WrittenFile] = []
    changed = 0
    for table in tables:
        content = serialize(table)
        changed += materialize(landing_dir / table.relative_path, content)
        written.append(WrittenFile(table.site, table.kind, table.relative_path, table.format,
                                   len(table.rows), hashlib.sha256(content).hexdigest()))
    n_ecgs = 0
    if ecg_waveforms and network.ecgs:
        truncated = choose_truncated_ecgs(
            [ecg.ecg_id for ecg in network.ecgs], defects,
            np.random.default_rng([seed, _TRUNCATION_STREAM]),
        )
        for ecg, relative, content in _ecg_files(network.ecgs, seed, truncated):
            if ecg.ecg_id in truncated and _is_signal_file(relative):
                whole = len(content)
                content = truncate_file_content(content)
                injected.append(InjectedDefect(ecg.site, relative, None, "", "truncated_file",
                                               f"{whole} bytes", f"{len(content)} bytes"))
            changed += materialize(landing_dir / relative, content)
            fmt = convention_for(ecg.site).ecg_format
            written.append(WrittenFile(ecg.site, "ecgs", relative, fmt, None,
                                       hashlib.sha256(content).hexdigest()))
        n_ecgs = len(network.ecgs)
    materialize(manifest_path(landing_dir), defects_csv(injected))
    return DeliveryManifest(
        landing_dir=landing_dir, delivery_date=delivery_date,
        n_patients=len(network.patients), n_ecgs=n_ecgs, files=tuple(written),
        defects=tuple(injected), files_changed=changed,
    )


def manifest_path(landing_dir: Path) -> Path:
    """Where the defect manifest of a landing zone lies: beside it, so it is never ingested."""
    return Path(landing_dir).parent / MANIFEST_DIR / "defects.csv"


def _is_signal_file(relative: str) -> bool:
    """The file of an ECG record that carries the samples (WFDB .dat, or the XML itself)."""
    return relative.endswith((".dat", ".xml"))


def _ecg_files(ecgs: Sequence[EcgRow], seed: int, truncated: set[str]
               ) -> Iterator[tuple[EcgRow, str, bytes]]:
    """(ECG, path relative to landing, file content) for every ECG, synthesized in chunks."""
    from imnm.ecg.synth import synthesize_ecgs

    with tempfile.TemporaryDirectory(prefix="imnm-demo-ecg-") as scratch:
        scratch_dir = Path(scratch)
        for chunk, start in enumerate(range(0, len(ecgs), ECG_CHUNK)):
            batch = ecgs[start:start + ECG_CHUNK]
            rng = np.random.default_rng([seed, _WAVEFORM_STREAM, chunk])
            waves = synthesize_ecgs(np.array([e.lv_impairment for e in batch]), rng)
            for ecg, signal in zip(batch, waves, strict=True):
                convention = convention_for(ecg.site)
                stem = f"{ecg.site}/{convention.ecg_path(ecg.ecg_id)}"
                writer = ECG_FILE_WRITERS[convention.ecg_format]
                for suffix, content in writer(scratch_dir, Path(stem).name, signal,
                                              ECG_SAMPLING_HZ, ecg.local_id, ecg.acquired_at):
                    yield ecg, f"{stem}{suffix}", content


def _write_wfdb(scratch: Path, name: str, signal: np.ndarray, hz: float, patient_id: str,
                acquired_at: datetime) -> list[tuple[str, bytes]]:
    from imnm.ecg.formats.wfdb_format import write_wfdb

    # The header names its signal file, so the record is written under its delivered name.
    paths = write_wfdb(scratch, name, signal, hz, patient_id, acquired_at)
    return [(path.suffix, path.read_bytes()) for path in paths]


def _write_xml_with(module: str, function: str) -> Callable[..., list[tuple[str, bytes]]]:
    def write(scratch: Path, name: str, signal: np.ndarray, hz: float, patient_id: str,
              acquired_at: datetime) -> list[tuple[str, bytes]]:
        import importlib

        writer = getattr(importlib.import_module(module), function)
        path = scratch / f"{name}.xml"
        writer(path, signal, hz, patient_id, acquired_at)
        return [(".xml", path.read_bytes())]

    return write


ECG_FILE_WRITERS: dict[str, Callable[..., list[tuple[str, bytes]]]] = {
    "wfdb": _write_wfdb,
    "hl7-aecg": _write_xml_with("imnm.ecg.formats.hl7_aecg", "write_hl7_aecg"),
    "ge-muse": _write_xml_with("imnm.ecg.formats.ge_muse", "write_ge_muse"),
    "philips-sierra": _write_xml_with("imnm.ecg.formats.philips_sierra", "write_philips_sierra"),
}
