"""Checking a study report rendered in a browser against its tables: every tagged value on the
page (imnm/studies/report_html.py) equals its row, exactly, and is shown rounded as its style
says."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb

from tests.quality.test_dq_report import Node

_NUMBER = re.compile(r"-?\d+(?:\.(\d+))?")
Rows = dict[str, dict[str, dict[str, Any]]]


def release_rows(database: Path, study: str, tables: Iterable[str], release_id: str,
                 row_key: Callable[[str, Mapping[str, Any]], str]) -> Rows:
    """{table: {row key: row}} of one release's rows of a study's history tables."""
    out: Rows = {}
    with duckdb.connect(str(database), read_only=True) as con:
        for table in tables:
            cursor = con.execute(f"SELECT * FROM results.{study}_{table}_history "
                                 "WHERE release_id = ?", [release_id])
            columns = [d[0] for d in cursor.description]
            rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
            out[table] = {row_key(table, row): row for row in rows}
    return out


def assert_shown(node: Node, value: Any) -> None:
    """The shown text is the stored value, rounded as shown (percent, p-value, integer)."""
    shown, style = node.text(), node.attrs["data_style"]
    if value is None:
        assert shown == "n/a"
        return
    if isinstance(value, bool):
        assert shown == ("yes" if value else "no")
        return
    if style == "p" and shown == "<0.001":
        assert value < 0.001
        return
    match = _NUMBER.fullmatch(shown.removesuffix("%"))
    assert match, shown
    scale = 100.0 if style == "pct" else 1.0
    assert shown.endswith("%") == (style == "pct"), shown
    decimals = len(match.group(1) or "")
    assert abs(float(shown.removesuffix("%")) - value * scale) <= 0.5 * 10 ** -decimals + 1e-9


def assert_numbers_match(dom: Node, tables: Rows) -> set[tuple[str, str]]:
    """Every tagged value on the page equals its row; returns the (table, row key) seen."""
    seen = set()
    for node in dom.find_all(data_table=None):
        table, key, column = (node.attrs["data_table"], node.attrs["data_row"],
                              node.attrs["data_column"])
        value = tables[table][key][column]
        seen.add((table, key))
        if "data_value" not in node.attrs:  # text
            expected = "-" if value is None else " ".join(str(value).split())
            assert node.text() == expected, (table, key, column)
            continue
        raw = node.attrs["data_value"]
        if value is None or isinstance(value, bool):
            assert raw == ("" if value is None else str(value).lower())
        else:
            assert float(raw) == value, (table, key, column, raw, value)  # exact
        assert_shown(node, value)
    return seen
