"""Reading a centre's table files (CSV, Excel, Parquet) as delivered, values untouched.

Every reader returns a polars DataFrame whose row i is data row i+1 of the file; CSV and Excel
cells come back as strings (or None for empty), Parquet keeps its own types.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import polars as pl

from imnm.siteconfig import KindMapping


class TableFileError(ValueError):
    """A table file cannot be read as its site configuration says it should be."""


def _read_csv(path: Path, mapping: KindMapping) -> pl.DataFrame:
    if mapping.csv_encoding == "utf-8":
        source: Path | bytes = path
    else:  # polars reads UTF-8 only: decode the site's encoding (latin-1, cp1252) first
        source = path.read_bytes().decode(mapping.csv_encoding).encode("utf-8")
    return pl.read_csv(source, separator=mapping.csv_delimiter, infer_schema=False,
                       encoding="utf8")


def _excel_cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date) or value is None:
        return value
    return str(value)


def _read_xlsx(path: Path, mapping: KindMapping) -> pl.DataFrame:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook[mapping.sheet] if mapping.sheet else workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise TableFileError(f"{path}: the sheet is empty")
        names = [str(h) if h is not None else f"column_{i + 1}" for i, h in enumerate(header)]
        data = [[_excel_cell(v) for v in row] for row in rows if any(v is not None for v in row)]
    finally:
        workbook.close()
    columns = {name: [row[i] if i < len(row) else None for row in data]
               for i, name in enumerate(names)}
    return pl.DataFrame(columns, strict=False)


def _read_parquet(path: Path, mapping: KindMapping) -> pl.DataFrame:
    return pl.read_parquet(path)


TABLE_READERS: dict[str, Callable[[Path, KindMapping], pl.DataFrame]] = {
    "csv": _read_csv,
    "xlsx": _read_xlsx,
    "parquet": _read_parquet,
}


def read_table_file(path: Path, mapping: KindMapping) -> pl.DataFrame:
    """The file's rows as delivered; a file that cannot be parsed raises TableFileError."""
    try:
        reader = TABLE_READERS[mapping.format]
    except KeyError:
        raise TableFileError(f"{path}: no table reader for format {mapping.format!r}") from None
    try:
        return reader(path, mapping)
    except TableFileError:
        raise
    except Exception as exc:  # the parsers raise many types; the file is what is wrong
        raise TableFileError(f"{path}: cannot be read as {mapping.format}: {exc}") from exc
