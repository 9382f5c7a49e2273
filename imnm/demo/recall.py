"""Recall of the data-quality checks on the demo network's injected defects.

The demo generator (`imnm/demo/defects.py`) lists every defect it injects in
`<data dir>/demo_manifest/defects.csv`: site, file, 1-based data row, file column, kind, original
and injected value. `compute_recall` matches that truth against what a refresh recorded, in one
query over the warehouse (`warehouse/sql/select_demo_defect_catches.sql`):

- a cell defect (missing_value, out_of_range, unit_mixup) is caught when a check of any layer
  (staging or core) failed its file row, or a value of the row could not be cast or mapped;
- a duplicated row is caught when a uniqueness check (`<kind>_row_unique_within_file`,
  `patients_local_id_unique`) failed it; both rows of a pair are failed, and the manifest names
  the repeated one;
- an unmapped code is caught when `audit.unmapped_values` holds a value of its row;
- a damaged file (truncated_file) is caught when the file was quarantined (a WFDB signal file:
  when its record, registered under the header, was).

"In column" additionally requires the flag to name the canonical column the defect's file column
maps to (site configuration `columns` and `wide`); a core check that flags a derived column (a
CK fold change) counts at the row only. `format_recall` renders the result for the terminal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import duckdb
import polars as pl

from imnm.demo.defects import DEFECT_KINDS, MANIFEST_COLUMNS
from imnm.settings import CONFIG_DIR, DataPaths
from imnm.siteconfig import SiteConfig, load_site_configs
from warehouse.db import open_warehouse, sql

# Which suites ran, in which layer: tells whether a layer's checks had their chance at all.
SELECT_VALIDATED_SUITES: Final[str] = (
    "SELECT DISTINCT layer, suite FROM audit.validation_results ORDER BY layer, suite"
)


@dataclass(frozen=True)
class DefectCatch:
    """One injected defect and whether, and by what, the platform caught it."""

    site: str
    file: str  # relative to the landing zone, e.g. "riverside/export_labs_20261101.xlsx"
    row: int | None  # 1-based data row of the delivered file; None for a whole-file defect
    column: str  # the file's column name; "" for a whole row or file
    kind: str
    original_value: str
    injected_value: str
    file_id: int | None  # the registered delivery matched; None if it was never registered
    canonical_columns: tuple[str, ...]  # what `column` maps to in the site configuration
    caught: bool  # flagged at the right file and row (a whole file: quarantined)
    caught_in_column: bool  # ... by a flag naming the defect's canonical column
    found_by: tuple[str, ...]  # check names, "unmapped_value" or "quarantined"
    found_in: tuple[str, ...]  # layers: "staging", "core", "unmapped", "quarantine"

    def describe(self) -> str:
        """One line for a failing test or a report: where the defect is and what caught it."""
        where = self.file if self.row is None else f"{self.file} row {self.row}"
        column = f" [{self.column}]" if self.column else ""
        values = f" {self.original_value!r} -> {self.injected_value!r}"
        verdict = ", ".join(self.found_by) or "not caught"
        return f"{self.kind}: {where}{column}{values}: {verdict}"


@dataclass(frozen=True)
class Recall:
    """How many defects were injected and how many of them were caught."""

    injected: int
    caught: int
    caught_in_column: int

    @property
    def rate(self) -> float | None:
        """Caught at the right row (None when nothing was injected)."""
        return self.caught / self.injected if self.injected else None

    @property
    def column_rate(self) -> float | None:
        """Caught at the right row and column (None when nothing was injected)."""
        return self.caught_in_column / self.injected if self.injected else None


@dataclass(frozen=True)
class RecallReport:
    """Every injected defect with its verdict, and the recall overall, per kind and per site."""

    manifest: Path
    defects: tuple[DefectCatch, ...]
    overall: Recall
    by_kind: dict[str, Recall]  # in DEFECT_KINDS order, kinds the manifest holds
    by_site: dict[str, Recall]
    validated_suites: tuple[tuple[str, str], ...]  # (layer, suite) pairs the warehouse ran

    @property
    def misses(self) -> tuple[DefectCatch, ...]:
        """The defects no check caught at their row."""
        return tuple(d for d in self.defects if not d.caught)

    def misses_of(self, kind: str) -> tuple[DefectCatch, ...]:
        return tuple(d for d in self.misses if d.kind == kind)

    def ran(self, suite: str) -> bool:
        """Whether the warehouse holds outcomes of `suite` (e.g. "core_labs")."""
        return any(name == suite for _, name in self.validated_suites)


def default_manifest(paths: DataPaths) -> Path:
    """Where `imnm demo-data` writes the defect manifest of a data directory."""
    from imnm.demo.sites import manifest_path

    return manifest_path(paths.landing)


def column_map(sites: Iterable[SiteConfig]) -> list[tuple[str, str, str, str]]:
    """(site, record kind, file column, canonical column) from each kind's `columns` and, for
    wide lab layouts, each analyte's column (canonical `value`)."""
    entries = []
    for site in sites:
        for kind, mapping in site.kinds.items():
            entries.extend((site.site, kind, file_column, canonical)
                           for canonical, file_column in mapping.columns.items())
            entries.extend((site.site, kind, wide.column, "value") for wide in mapping.wide)
    return entries


def read_manifest(manifest_csv: Path) -> pl.DataFrame:
    """The defect manifest, values as text and `row` as a number (null for a whole file)."""
    if not manifest_csv.is_file():
        raise FileNotFoundError(
            f"no defect manifest at {manifest_csv}: `imnm demo-data` writes it with the demo")
    frame = pl.read_csv(manifest_csv, infer_schema=False, schema_overrides={"row": pl.Int64})
    if tuple(frame.columns) != MANIFEST_COLUMNS:
        raise ValueError(f"{manifest_csv}: expected the columns {', '.join(MANIFEST_COLUMNS)}; "
                         f"found {', '.join(frame.columns) or 'none'}")
    return frame


def _recall(defects: Sequence[DefectCatch]) -> Recall:
    return Recall(len(defects), sum(d.caught for d in defects),
                  sum(d.caught_in_column for d in defects))


def _grouped(defects: Sequence[DefectCatch], key: str, order: Sequence[str]
             ) -> dict[str, Recall]:
    groups: dict[str, list[DefectCatch]] = {}
    for defect in defects:
        groups.setdefault(getattr(defect, key), []).append(defect)
    ordered = [k for k in order if k in groups] + sorted(set(groups) - set(order))
    return {k: _recall(groups[k]) for k in ordered}


def registered_path(file: str) -> str:
    """The path the registry knows a manifest file by: a WFDB record is one delivery registered
    under its header, so the demo's damaged signal file `<stem>.dat` is judged as `<stem>.hea`."""
    stem, dot, suffix = file.rpartition(".")
    return f"{stem}.hea" if dot and suffix.lower() == "dat" else file


def compute_recall(con: duckdb.DuckDBPyConnection, manifest_csv: Path | str, *,
                   sites: Sequence[SiteConfig] | None = None,
                   sites_dir: Path | None = None) -> RecallReport:
    """Match the defect manifest against the warehouse's audit tables (a read-only connection
    is enough). Column names map through `sites`, else the site files in `sites_dir` (default
    `config/sites/`)."""
    manifest_csv = Path(manifest_csv)
    manifest = read_manifest(manifest_csv)
    if sites is None:
        sites = load_site_configs(sites_dir or CONFIG_DIR / "sites")
    mapped = column_map(sites)
    parameters: dict[str, list] = {
        "defect_id": list(range(manifest.height)),
        **{name: manifest.get_column(column).to_list() for name, column in (
            ("site", "site"), ("row", "row"), ("file_column", "column"), ("kind", "kind"))},
        "file": [registered_path(file) for file in manifest.get_column("file").to_list()],
        **{name: [entry[i] for entry in mapped] for i, name in enumerate(
            ("map_site", "map_kind", "map_file_column", "map_column"))},
    }
    verdicts = con.execute(sql("select_demo_defect_catches"), parameters).fetchall()
    if len(verdicts) != manifest.height:
        raise RuntimeError(f"{len(verdicts)} verdicts for {manifest.height} injected defects")
    defects = tuple(
        DefectCatch(site=site, file=file, row=row, column=column or "", kind=kind,
                    original_value=original or "", injected_value=injected or "",
                    file_id=file_id, canonical_columns=tuple(canonical), caught=bool(caught),
                    caught_in_column=bool(in_column), found_by=tuple(found_by),
                    found_in=tuple(found_in))
        for (site, file, row, column, kind, original, injected),
            (_id, file_id, _record_kind, canonical, caught, in_column, found_by, found_in)
        in zip(manifest.iter_rows(), verdicts, strict=True)
    )
    validated = tuple((str(layer), str(suite))
                      for layer, suite in con.execute(SELECT_VALIDATED_SUITES).fetchall())
    return RecallReport(
        manifest=manifest_csv,
        defects=defects,
        overall=_recall(defects),
        by_kind=_grouped(defects, "kind", DEFECT_KINDS),
        by_site=_grouped(defects, "site", ()),
        validated_suites=validated,
    )


def demo_recall(paths: DataPaths, *, sites_dir: Path | None = None) -> RecallReport | None:
    """The recall on a data directory's demo defects; None when it holds no demo manifest or
    no warehouse (a real deployment, or no refresh yet). Opens the warehouse read-only, so call
    it after the refresh has closed its connection."""
    manifest = default_manifest(paths)
    if not manifest.is_file() or not paths.warehouse.exists():
        return None
    with open_warehouse(paths.warehouse, read_only=True) as con:
        return compute_recall(con, manifest, sites_dir=sites_dir)


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f}%"


def format_recall(report: RecallReport) -> str:
    """A short terminal table: recall per defect kind and overall, by site, and the misses."""
    source = f"{report.manifest.parent.name}/{report.manifest.name}"
    title = f"Data-quality recall on the demo's injected defects ({source})"
    if not report.defects:
        return f"{title}\n  no injected defects (clean demo data)"
    label = max(len("defect kind"), *(len(k) for k in report.by_kind))
    lines = [title, f"  {'defect kind':<{label}}  {'caught':>9}  {'recall':>7}  {'in column':>9}"]
    for name, recall in (*report.by_kind.items(), ("all", report.overall)):
        counts = f"{recall.caught}/{recall.injected}"
        lines.append(f"  {name:<{label}}  {counts:>9}  {_percent(recall.rate):>7}  "
                     f"{_percent(recall.column_rate):>9}")
    lines.append("  by site: " + ", ".join(f"{site} {_percent(recall.rate)}"
                                           for site, recall in report.by_site.items()))
    missed = Counter(d.kind for d in report.misses)
    detail = ", ".join(f"{kind} {missed[kind]}" for kind in report.by_kind if missed[kind])
    lines.append(f"  missed: {len(report.misses)}" + (f" ({detail})" if detail else ""))
    return "\n".join(lines)
