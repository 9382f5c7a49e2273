"""Pure staging rules: rename a site's columns to canonical names and cast their values.

Staging renames and casts only; units and code spellings stay the site's. A value that does
not cast is kept out of the typed column and reported (file row, column, value, reason).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from imnm.siteconfig import DATE_COLUMNS, NUMBER_COLUMNS, STAGING_COLUMNS, KindMapping

SOURCE_ROW = "source_row"


class MappingMismatchError(ValueError):
    """The file lacks a column its site configuration names."""


@dataclass(frozen=True)
class UncastValue:
    """A delivered value that could not be cast to its canonical column's type."""

    source_row: int
    column: str
    value: str
    reason: str


@dataclass(frozen=True)
class StagedTable:
    """Canonical, typed rows of one file plus the values that did not cast."""

    rows: pl.DataFrame
    uncast: tuple[UncastValue, ...]


def _with_source_row(raw: pl.DataFrame) -> pl.DataFrame:
    return raw.with_row_index(SOURCE_ROW, offset=1).with_columns(pl.col(SOURCE_ROW).cast(pl.Int32))


def _require_columns(raw: pl.DataFrame, needed: dict[str, str], mapping: KindMapping) -> None:
    missing = [f"{source!r} (columns.{canonical})" for canonical, source in needed.items()
               if source not in raw.columns]
    if missing:
        raise MappingMismatchError(
            f"file has no column {', '.join(missing)} named by kinds.{mapping.kind}; "
            f"it has {', '.join(map(repr, raw.columns))}")


def _is_empty(column: str) -> pl.Expr:
    return pl.col(column).is_null() | (pl.col(column).cast(pl.String).str.strip_chars() == "")


def _melt_wide_labs(raw: pl.DataFrame, selected: pl.DataFrame, mapping: KindMapping
                    ) -> pl.DataFrame:
    """One row per analyte a visit row holds. An empty analyte cell means "not measured" and
    gives no row; a visit row with no analyte at all keeps one row with analyte and value
    empty, so the completeness checks see it."""
    _require_columns(raw, {f"wide.{w.analyte}": w.column for w in mapping.wide}, mapping)
    cells = pl.concat([
        selected.with_columns(
            raw.get_column(w.column).alias("value"),
            pl.lit(w.analyte).alias("analyte"),
            pl.lit(w.unit).alias("unit"),
        ) for w in mapping.wide
    ], how="diagonal_relaxed")
    measured = cells.filter(~_is_empty("value"))
    unmeasured_rows = selected.join(measured.select(SOURCE_ROW).unique(), on=SOURCE_ROW,
                                    how="anti")
    return pl.concat([measured, unmeasured_rows], how="diagonal_relaxed").sort(
        SOURCE_ROW, maintain_order=True)


def rename_to_canonical(raw: pl.DataFrame, mapping: KindMapping) -> pl.DataFrame:
    """Select and rename the mapped columns; wide lab layouts become one row per analyte."""
    raw = _with_source_row(raw)
    _require_columns(raw, dict(mapping.columns), mapping)
    selected = raw.select(
        pl.col(SOURCE_ROW),
        *(pl.col(source).alias(canonical) for canonical, source in mapping.columns.items()),
    )
    if mapping.wide:
        selected = _melt_wide_labs(raw, selected, mapping)
    if mapping.fixed:
        selected = selected.with_columns(pl.lit(v).alias(k) for k, v in mapping.fixed.items())
    for column in STAGING_COLUMNS[mapping.kind]:
        if column not in selected.columns:
            selected = selected.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    return selected.select(SOURCE_ROW, *STAGING_COLUMNS[mapping.kind])


def _parse_date(value: object, fmt: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    return datetime.strptime(text, fmt).date()


def _parse_number(value: object, decimal_comma: bool = False) -> float | None:
    """A finite number; with `decimal_comma` the text is "12,5" and a "." is refused (it would
    be a thousands separator or a mix-up, never silently read as a decimal point)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        if not text:
            return None
        if decimal_comma:
            if "." in text:
                raise ValueError(f"{text!r} has a '.' where a decimal comma is expected")
            text = text.replace(",", ".")
        number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _cast_column(values: list[object], column: str, mapping: KindMapping, rows: list[int]
                 ) -> tuple[list[object], list[UncastValue]]:
    cast: list[object] = []
    problems: list[UncastValue] = []
    for row, value in zip(rows, values, strict=True):
        try:
            if column in DATE_COLUMNS:
                cast.append(_parse_date(value, mapping.date_format))
            elif column in NUMBER_COLUMNS:
                cast.append(_parse_number(value, mapping.decimal_comma))
            else:
                text = None if value is None else str(value).strip()
                cast.append(text or None)
        except (ValueError, TypeError):
            expected = (f"a date like {mapping.date_format}" if column in DATE_COLUMNS
                        else "a number with a decimal comma" if mapping.decimal_comma
                        else "a number")
            problems.append(UncastValue(row, column, str(value), f"not {expected}"))
            cast.append(None)
    return cast, problems


_DTYPES = {**{c: pl.Date for c in DATE_COLUMNS}, **{c: pl.Float64 for c in NUMBER_COLUMNS}}


def stage_table(raw: pl.DataFrame, mapping: KindMapping) -> StagedTable:
    """Canonical typed rows for one delivered table, with every value that failed to cast."""
    renamed = rename_to_canonical(raw, mapping)
    rows = renamed.get_column(SOURCE_ROW).to_list()
    columns: dict[str, pl.Series] = {SOURCE_ROW: renamed.get_column(SOURCE_ROW)}
    problems: list[UncastValue] = []
    for column in STAGING_COLUMNS[mapping.kind]:
        values, bad = _cast_column(renamed.get_column(column).to_list(), column, mapping, rows)
        problems.extend(bad)
        columns[column] = pl.Series(column, values, dtype=_DTYPES.get(column, pl.String))
    return StagedTable(pl.DataFrame(columns), tuple(problems))
