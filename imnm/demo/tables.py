"""One delivered table file (rows in a site's own columns and spellings) and its serialization.

Serialization is deterministic: the same table gives the same bytes (fixed workbook times, fixed
zip entry times), so regenerating a synthetic delivery never changes files that did not change.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq

from warehouse.files import write_bytes_atomically

Cell = str | float | int | None
NUMERIC_ROLES = frozenset({
    "band_intensity", "dose", "value", "systolic_bp", "diastolic_bp", "lvef_percent",
    "wide:ck", "wide:hdl_c", "wide:total_cholesterol",
})
_FIXED_TIME = datetime(2026, 1, 1)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


@dataclass(frozen=True)
class SiteTable:
    """One table of one record kind as a site delivers it.

    `roles` names the canonical column each file column carries ("wide:ck" for a wide-layout
    analyte column); `analytes` gives, for long-format labs, each row's canonical analyte.
    """

    site: str
    kind: str
    file_name: str
    format: str
    columns: tuple[str, ...]
    roles: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    units: tuple[tuple[str, str], ...] = ()  # (role, unit) of wide-layout analyte columns
    analytes: tuple[str | None, ...] = ()
    sheet: str | None = None
    preface_sheet: str | None = None  # an extra first sheet (xlsx), as some exports carry
    csv_delimiter: str = ","
    csv_encoding: str = "utf-8"
    decimal_comma: bool = False

    def column_of(self, role: str) -> int | None:
        """Index of the column carrying a canonical role, or None when the site omits it."""
        return self.roles.index(role) if role in self.roles else None

    def ck_cells(self) -> list[tuple[int, int, str]]:
        """(row index, column index, unit as labelled) of every CK value in the table."""
        wide = self.column_of("wide:ck")
        if wide is not None:
            unit = dict(self.units)["wide:ck"]
            return [(r, wide, unit) for r, row in enumerate(self.rows) if row[wide] is not None]
        value, unit_col = self.column_of("value"), self.column_of("unit")
        if self.kind != "labs" or value is None or unit_col is None:
            return []
        return [(r, value, str(row[unit_col])) for r, row in enumerate(self.rows)
                if self.analytes[r] == "ck" and row[value] is not None]

    @property
    def relative_path(self) -> str:
        """Path of the file relative to the landing zone, e.g. 'lakeside/labs_2026-11-01.csv'."""
        return f"{self.site}/{self.file_name}"


def format_number(value: float | int, decimal_comma: bool = False) -> str:
    """Text of a number as a CSV carries it: integers without a decimal point."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = repr(round(value, 4)) if isinstance(value, float) else str(value)
    return text.replace(".", ",") if decimal_comma else text


def to_csv_bytes(table: SiteTable) -> bytes:
    """The table as CSV with a header row, in the site's delimiter, encoding and decimal mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=table.csv_delimiter, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if c is None
                         else format_number(c, table.decimal_comma) if isinstance(c, int | float)
                         else c for c in row])
    return buffer.getvalue().encode(table.csv_encoding)


def to_xlsx_bytes(table: SiteTable) -> bytes:
    """The table as one worksheet of an .xlsx workbook, with fixed document and zip times."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if table.preface_sheet is not None:
        sheet.title = table.preface_sheet
        sheet.append(["Export", f"{table.kind} ({len(table.rows)} rows)"])
        sheet.append(["Note", "Synthetic data generated for the platform's demo network."])
        sheet = workbook.create_sheet()
    sheet.title = table.sheet or table.kind.capitalize()
    sheet.append(list(table.columns))
    for row in table.rows:
        sheet.append(list(row))
    workbook.properties.created = _FIXED_TIME
    workbook.properties.modified = _FIXED_TIME
    workbook.properties.creator = "imnm demo"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _normalize_zip(buffer.getvalue())


def _normalize_zip(data: bytes) -> bytes:
    """Rewrite a zip archive with fixed entry times so equal content gives equal bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps the save time into the workbook; pin it.
                content = _MODIFIED.sub(rb"\g<1>2026-01-01T00:00:00Z\g<2>", content)
            target.writestr(entry, content)
    return out.getvalue()


def to_parquet_bytes(table: SiteTable) -> bytes:
    """The table as Parquet: numeric roles as float64, everything else as strings."""
    arrays = []
    for index, role in enumerate(table.roles):
        values = [row[index] for row in table.rows]
        if role in NUMERIC_ROLES:
            arrays.append(pa.array([None if v is None else float(v) for v in values],
                                   type=pa.float64()))
        else:
            arrays.append(pa.array([None if v is None else str(v) for v in values],
                                   type=pa.string()))
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(arrays, names=list(table.columns)), buffer,
                   compression="zstd")
    return buffer.getvalue()


SERIALIZERS: dict[str, Callable[[SiteTable], bytes]] = {
    "csv": to_csv_bytes,
    "xlsx": to_xlsx_bytes,
    "parquet": to_parquet_bytes,
}


def serialize(table: SiteTable) -> bytes:
    """The table's file content in its format; raises KeyError for an unknown format."""
    try:
        return SERIALIZERS[table.format](table)
    except KeyError:
        raise KeyError(f"no writer for table format {table.format!r}; "
                       f"known: {', '.join(sorted(SERIALIZERS))}") from None


def materialize(path: Path, content: bytes) -> bool:
    """Write `content` to `path` unless the file already holds exactly it; True if written."""
    if path.is_file() and path.stat().st_size == len(content) and path.read_bytes() == content:
        return False
    write_bytes_atomically(path, content)
    return True

