"""Staging rules: canonical names, casts with the site's formats, every failed cast reported."""

from __future__ import annotations

from datetime import date
from types import MappingProxyType

import polars as pl
import pytest

from imnm.siteconfig import KindMapping, WideAnalyte
from imnm.staging.rules import MappingMismatchError, stage_table


def _mapping(**overrides: object) -> KindMapping:
    base = dict(kind="labs", pattern="labs*.csv", format="csv", date_format="%d/%m/%Y",
                datetime_format="%d/%m/%Y %H:%M",
                columns=MappingProxyType({"local_id": "Patient No", "sample_date": "Date",
                                          "analyte": "Test", "value": "Result",
                                          "unit": "Unit"}))
    base.update(overrides)
    return KindMapping(**base)


def test_rename_and_cast_long_labs() -> None:
    raw = pl.DataFrame({"Patient No": ["A1", "A2", "A3"], "Date": ["03/02/2020", "31/12/2019",
                        "2020-01-01"], "Test": ["CK", "HDL", "CK"], "Result": ["7.5", "x", ""],
                        "Unit": ["ukat/L", "mmol/L", "ukat/L"], "Ignored": ["1", "2", "3"]})
    staged = stage_table(raw, _mapping())
    rows = staged.rows
    assert rows.columns == ["source_row", "local_id", "sample_date", "analyte", "value", "unit"]
    assert rows.get_column("source_row").to_list() == [1, 2, 3]
    assert rows.get_column("sample_date").to_list() == [date(2020, 2, 3), date(2019, 12, 31), None]
    assert rows.get_column("value").to_list() == [7.5, None, None]
    problems = {(p.source_row, p.column, p.value) for p in staged.uncast}
    assert problems == {(2, "value", "x"), (3, "sample_date", "2020-01-01")}


def test_wide_labs_become_one_row_per_analyte() -> None:
    mapping = _mapping(columns=MappingProxyType({"local_id": "pid", "sample_date": "Date"}),
                       wide=(WideAnalyte("ck", "CK (ukat/L)", "ukat/L"),
                             WideAnalyte("hdl_c", "HDL mmol/L", "mmol/L")))
    raw = pl.DataFrame({"pid": ["A1", "A2", "A3"],
                        "Date": ["01/01/2020", "02/01/2020", "03/01/2020"],
                        "CK (ukat/L)": ["10", "20", None], "HDL mmol/L": ["1.2", " ", None]})
    rows = stage_table(raw, mapping).rows.sort(["source_row", "analyte"], nulls_last=True)
    # An empty analyte cell is "not measured"; a visit with nothing measured stays visible.
    assert rows.select("source_row", "analyte", "value", "unit").rows() == [
        (1, "ck", 10.0, "ukat/L"), (1, "hdl_c", 1.2, "mmol/L"),
        (2, "ck", 20.0, "ukat/L"), (3, None, None, None)]


def test_missing_mapped_column_names_the_config_key() -> None:
    raw = pl.DataFrame({"Patient No": ["A1"], "Date": ["01/01/2020"], "Test": ["CK"]})
    with pytest.raises(MappingMismatchError, match=r"'Result' \(columns\.value\)"):
        stage_table(raw, _mapping())
