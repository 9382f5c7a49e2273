"""Known data defects, injected into synthetic deliveries at documented, configurable rates.

Every injected defect is recorded (site, file, 1-based data row, column, kind, original and
injected value) so that the platform's data-quality checks can be verified against the truth.
Default plan, per table file: 2% duplicated rows, 3% missing required values, 1% out-of-range
values; plus one batch of CK values sent in U/L under a ukat/L label (60x too high), one ECG
file truncated mid-file and one unmapped drug spelling.

Defects are drawn on each table's planned form (every planned record, every value recorded) and
then land on the rows the centre delivers, so study B's missing-at-random gaps (a visit not
done, a dose not recorded) move no defect; one drawn on a record or value not delivered is
dropped, and rows delivered beyond the plan (biopsy-only people) carry none.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from imnm.demo.tables import Cell, SiteTable, format_number

# Canonical columns a record cannot do without; a missing one is a data-quality failure.
REQUIRED_ROLES: dict[str, tuple[str, ...]] = {
    "patients": ("birth_date", "sex"),
    "diagnoses": ("diagnosis", "diagnosis_date"),
    "biopsies": ("biopsy_date",),
    "serology": ("result",),
    "treatments": ("start_date", "dose"),
    # An empty cell of a wide lab layout means "not measured", so only long layouts get one.
    "labs": ("sample_date", "value"),
    "vitals": ("measured_date", "systolic_bp"),
    "strength": ("mrc_grade",),
    "echos": ("echo_date",),
    "outcomes": ("last_followup_date",),
}
# Values no real record can hold: (record kind, role) -> injected value. "ck" means CK cells.
OUT_OF_RANGE_VALUES: dict[tuple[str, str], Cell] = {
    ("labs", "ck"): -5.0,
    ("echos", "lvef_percent"): 140.0,
    ("strength", "mrc_grade"): "7",
    ("vitals", "systolic_bp"): 400.0,
}
# Real-looking drug names that neither the vocabularies nor any site file map.
UNMAPPED_DRUG_SPELLINGS = ("Predisone", "Imurek", "Metotrexate", "Kiovig 10%")
DEFECT_KINDS = ("duplicate_row", "missing_value", "out_of_range", "unit_mixup",
                "truncated_file", "unmapped_code")
MANIFEST_COLUMNS = ("site", "file", "row", "column", "kind", "original_value", "injected_value")


@dataclass(frozen=True)
class DefectPlan:
    """How many defects of each kind to inject; rates are per data row of each table file."""

    duplicate_row_rate: float = 0.02
    missing_value_rate: float = 0.03
    out_of_range_rate: float = 0.01
    unit_mixup_batches: int = 1
    unit_mixup_batch_size: int = 8
    truncated_ecg_files: int = 1
    unmapped_drug_spellings: int = 1

    @classmethod
    def none(cls) -> DefectPlan:
        """A plan that injects nothing: clean deliveries."""
        return cls(0.0, 0.0, 0.0, 0, 0, 0, 0)


@dataclass(frozen=True)
class InjectedDefect:
    """One injected defect; `row` is the 1-based data row (None for a whole-file defect)."""

    site: str
    file: str  # relative to the landing zone, e.g. "riverside/export_labs_20261101.xlsx"
    row: int | None
    column: str
    kind: str
    original_value: str
    injected_value: str


def _text(value: Cell, decimal_comma: bool = False) -> str:
    """A cell as the file shows it (the manifest states values as delivered)."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return format_number(value, decimal_comma)
    return str(value)


@dataclass
class _Edit:
    row: int  # index before duplication
    column: int
    kind: str
    original: Cell
    injected: Cell


def inject_table_defects(
    tables: Sequence[SiteTable], plan: DefectPlan, rng: np.random.Generator,
    planned: Sequence[SiteTable] | None = None,
) -> tuple[list[SiteTable], list[InjectedDefect]]:
    """Apply the plan to delivered tables; return the damaged tables and what was done where.

    With `planned` (each table's planned form, in the same order) the defects are drawn on it
    and carried to the delivered rows (`align_rows`), so what a delivery leaves out moves none.
    """
    basis = list(tables if planned is None else planned)
    if len(basis) != len(tables):
        raise ValueError(f"{len(basis)} planned tables for {len(tables)} delivered ones")
    edits: dict[int, list[_Edit]] = {i: [] for i in range(len(basis))}
    _plan_unit_mixups(basis, plan, rng, edits)
    _plan_unmapped_drugs(basis, plan, rng, edits)
    damaged: list[SiteTable] = []
    defects: list[InjectedDefect] = []
    for index, (table, drawn_on) in enumerate(zip(tables, basis, strict=True)):
        _plan_missing_values(drawn_on, plan.missing_value_rate, rng, edits[index])
        _plan_out_of_range(drawn_on, plan.out_of_range_rate, rng, edits[index])
        duplicated = _plan_duplicates(drawn_on, edits[index], plan.duplicate_row_rate, rng)
        if drawn_on is not table:
            edits[index], duplicated = _carry(drawn_on, table, edits[index], duplicated)
        new_table, found = _apply(table, edits[index], duplicated)
        damaged.append(new_table)
        defects.extend(found)
    return damaged, defects


def align_rows(planned: SiteTable, delivered: SiteTable) -> list[int | None]:
    """For each planned row, the delivered row it became (None: not delivered).

    Delivered rows are the planned ones in order, some left out, some cells emptied, and maybe
    extra rows at the end; anything else is refused."""
    target: list[int | None] = []
    j = 0
    for row in planned.rows:
        if j < len(delivered.rows) and _delivered_as(row, delivered.rows[j]):
            target.append(j)
            j += 1
        else:
            target.append(None)
    extra = delivered.rows[j:]
    if any(_delivered_as(row, later) for row in planned.rows for later in extra):
        raise ValueError(f"{delivered.relative_path}: delivered rows are not the planned ones "
                         "in their order")
    return target


def _delivered_as(planned: tuple[Cell, ...], delivered: tuple[Cell, ...]) -> bool:
    return len(planned) == len(delivered) and all(
        d == p or d is None for p, d in zip(planned, delivered, strict=True))


def _carry(planned: SiteTable, delivered: SiteTable, edits: list[_Edit], duplicated: set[int]
           ) -> tuple[list[_Edit], set[int]]:
    """The edits and duplicates drawn on the planned rows, on the delivered rows they became;
    those on a row or value not delivered are dropped, and unit mix-ups that lost rows become
    one run over the next delivered CK values from the first of them, so they keep their
    number."""
    target = align_rows(planned, delivered)
    carried = []
    for edit in edits:
        row = target[edit.row]
        if row is None:
            continue
        original = delivered.rows[row][edit.column]
        if edit.kind == "missing_value" and original is None:
            continue
        carried.append(replace(edit, row=row, original=original))
    kept = {target[r] for r in duplicated if target[r] is not None}
    mixups = [edit for edit in edits if edit.kind == "unit_mixup"]
    if any(target[edit.row] is None for edit in mixups):
        carried = [edit for edit in carried if edit.kind != "unit_mixup"]
        first = min(edit.row for edit in mixups)
        start = next((t for t in target[first:] if t is not None), len(delivered.rows))
        busy = {edit.row for edit in carried} | kept
        cells = [(r, c) for r, c, unit in delivered.ck_cells()
                 if r not in busy and unit.replace("µ", "u") == "ukat/L"]
        later = [cell for cell in cells if cell[0] >= start]
        earlier = [cell for cell in cells if cell[0] < start]
        batch = later[:len(mixups)]
        short = len(mixups) - len(batch)  # at the end of the file the batch reaches back
        if short:
            batch = earlier[max(0, len(earlier) - short):] + batch
        for r, c in batch:
            original = delivered.rows[r][c]
            carried.append(_Edit(r, c, "unit_mixup", original, float(round(float(original) * 60))))
    return carried, kept


def _free_rows(table: SiteTable, taken: list[_Edit]) -> list[int]:
    used = {edit.row for edit in taken}
    return [r for r in range(len(table.rows)) if r not in used]


def _plan_unit_mixups(tables: Sequence[SiteTable], plan: DefectPlan, rng: np.random.Generator,
                      edits: dict[int, list[_Edit]]) -> None:
    targets = [(i, cells) for i, t in enumerate(tables)
               if (cells := [c for c in t.ck_cells() if c[2].replace("µ", "u") == "ukat/L"])]
    # A whole batch where one fits: the defect is a run of rows, as a mislabelled upload is.
    roomy = [t for t in targets if len(t[1]) >= plan.unit_mixup_batch_size]
    targets = roomy or targets
    for _ in range(plan.unit_mixup_batches if targets else 0):
        index, cells = targets[int(rng.integers(len(targets)))]
        taken = {edit.row for edit in edits[index]}
        cells = [c for c in cells if c[0] not in taken]
        size = min(plan.unit_mixup_batch_size, len(cells))
        first = int(rng.integers(0, len(cells) - size + 1)) if size else 0
        for row, column, _ in cells[first:first + size]:
            original = tables[index].rows[row][column]
            # The U/L number, sent under the ukat/L label.
            injected = round(float(original) * 60.0)
            edits[index].append(_Edit(row, column, "unit_mixup", original, float(injected)))


def _plan_unmapped_drugs(tables: Sequence[SiteTable], plan: DefectPlan,
                         rng: np.random.Generator, edits: dict[int, list[_Edit]]) -> None:
    targets = [i for i, t in enumerate(tables)
               if t.kind == "treatments" and t.column_of("drug") is not None and t.rows]
    for _ in range(plan.unmapped_drug_spellings if targets else 0):
        index = targets[int(rng.integers(len(targets)))]
        free = _free_rows(tables[index], edits[index])
        if not free:
            continue
        row = free[int(rng.integers(len(free)))]
        column = tables[index].column_of("drug")
        spelling = UNMAPPED_DRUG_SPELLINGS[int(rng.integers(len(UNMAPPED_DRUG_SPELLINGS)))]
        edits[index].append(_Edit(row, column, "unmapped_code",
                                  tables[index].rows[row][column], spelling))


def _plan_missing_values(table: SiteTable, rate: float, rng: np.random.Generator,
                         edits: list[_Edit]) -> None:
    columns = [c for role in REQUIRED_ROLES.get(table.kind, ())
               if (c := table.column_of(role)) is not None]
    if not columns or rate <= 0:
        return
    free = _free_rows(table, edits)
    count = min(int(rng.binomial(len(table.rows), rate)), len(free))
    for row in sorted(rng.choice(free, size=count, replace=False).tolist()) if count else []:
        present = [c for c in columns if table.rows[row][c] is not None]
        if present:
            column = present[int(rng.integers(len(present)))]
            edits.append(_Edit(row, column, "missing_value", table.rows[row][column], None))


def _plan_out_of_range(table: SiteTable, rate: float, rng: np.random.Generator,
                       edits: list[_Edit]) -> None:
    cells: list[tuple[int, int, Cell]] = []
    for (kind, role), value in OUT_OF_RANGE_VALUES.items():
        if kind != table.kind:
            continue
        if role == "ck":
            cells.extend((r, c, value) for r, c, _ in table.ck_cells())
        elif (column := table.column_of(role)) is not None:
            cells.extend((r, column, value) for r, row in enumerate(table.rows)
                         if row[column] is not None)
    taken = {edit.row for edit in edits}
    cells = [cell for cell in cells if cell[0] not in taken]
    if not cells or rate <= 0:
        return
    count = min(int(rng.binomial(len(table.rows), rate)), len(cells))
    for pick in sorted(rng.choice(len(cells), size=count, replace=False).tolist()):
        row, column, value = cells[pick]
        edits.append(_Edit(row, column, "out_of_range", table.rows[row][column], value))


def _plan_duplicates(table: SiteTable, edits: list[_Edit], duplicate_rate: float,
                     rng: np.random.Generator) -> set[int]:
    free = _free_rows(table, edits)
    count = min(int(rng.binomial(len(table.rows), duplicate_rate)) if duplicate_rate > 0 else 0,
                len(free))
    return set(rng.choice(free, size=count, replace=False).tolist()) if count else set()


def _apply(table: SiteTable, edits: list[_Edit], duplicated: set[int]
           ) -> tuple[SiteTable, list[InjectedDefect]]:
    rows = [list(row) for row in table.rows]
    for edit in edits:
        rows[edit.row][edit.column] = edit.injected
    final: list[tuple[Cell, ...]] = []
    analytes: list[str | None] = []
    position: dict[int, int] = {}
    defects: list[InjectedDefect] = []
    for index, row in enumerate(rows):
        final.append(tuple(row))
        analytes.append(table.analytes[index] if table.analytes else None)
        position[index] = len(final)
        if index in duplicated:
            final.append(tuple(row))
            analytes.append(analytes[-1])
            defects.append(InjectedDefect(table.site, table.relative_path, len(final), "",
                                          "duplicate_row", f"duplicate of row {len(final) - 1}",
                                          ""))
    for edit in edits:
        defects.append(InjectedDefect(
            table.site, table.relative_path, position[edit.row], table.columns[edit.column],
            edit.kind, _text(edit.original, table.decimal_comma),
            _text(edit.injected, table.decimal_comma),
        ))
    defects.sort(key=lambda d: (d.row or 0, d.column))
    new_analytes = tuple(analytes) if table.analytes else ()
    return replace(table, rows=tuple(final), analytes=new_analytes), defects


def choose_truncated_ecgs(accessions: Sequence[str], plan: DefectPlan,
                          rng: np.random.Generator) -> set[str]:
    """Which ECG accessions to deliver as files cut off mid-way."""
    count = min(plan.truncated_ecg_files, len(accessions))
    if count <= 0:
        return set()
    return {accessions[i] for i in rng.choice(len(accessions), size=count, replace=False)}


def truncate_file_content(content: bytes) -> bytes:
    """The first half of a file, as an interrupted transfer leaves it."""
    return content[: len(content) // 2]


def defects_csv(defects: Sequence[InjectedDefect]) -> bytes:
    """The defect manifest as CSV, one row per injected defect."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for d in defects:
        writer.writerow([d.site, d.file, "" if d.row is None else d.row, d.column, d.kind,
                         d.original_value, d.injected_value])
    return buffer.getvalue().encode("utf-8")
