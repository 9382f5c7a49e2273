"""What every study's HTML report shares: stored numbers shown formatted and tagged with where
they came from, and matplotlib figures as inline SVG.

Every number taken from a result table is a `<span>` carrying `data-table`, `data-row` (the
row's key columns joined by "|"), `data-column`, `data-value` (the exact stored value, Python's
repr for floats, "" for NULL) and `data-style` (how the shown text derives from it: `int`,
`num`, `pct` = value x 100 with "%", `p`); text values carry the first three. A browser test
can then check every shown number against its table.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
from markupsafe import Markup
from matplotlib import rc_context
from matplotlib.figure import Figure

Row = Mapping[str, Any]
STYLES: Final[frozenset[str]] = frozenset({"int", "num", "pct", "p"})
SVG_RC: Final[Mapping[str, Any]] = {"svg.fonttype": "none", "font.size": 9,
                                    "axes.spines.top": False, "axes.spines.right": False}
# Inline SVG in HTML needs neither namespace declarations nor matplotlib's RDF metadata; without
# them the page names no URL at all.
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
_NAMESPACE = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')
_ID = re.compile(r'(\bid="|xlink:href="#|url\(#)([^")]+)')


def format_p(p: float | None) -> str:
    """A p-value as the reports write it: "<0.001", else three decimals."""
    if p is None or not np.isfinite(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def p_phrase(p: float | None) -> str:
    """A p-value in a sentence: "p = 0.012", "p < 0.001" or "p = n/a"."""
    shown = format_p(p)
    return f"p < {shown[1:]}" if shown.startswith("<") else f"p = {shown}"


def raw_value(value: Any) -> str:
    """A stored value exactly, for `data-value` (floats round-trip through repr)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def shown_value(value: Any, style: str = "num", digits: int = 2) -> str:
    """A stored number as the reports show it (None and NaN as "n/a")."""
    if style not in STYLES:
        raise ValueError(f"unknown number style {style!r}")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if style == "int":
        return f"{int(value)}"
    if style == "pct":
        return f"{value * 100:.{digits}f}%"
    if style == "p":
        return format_p(float(value))
    return f"{value:.{digits}f}"


def key_part(value: Any) -> str:
    """One key column's value in a `data-row` key."""
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else str(value)


class CellWriter:
    """Tags shown values with their table, row key and column, for one study's row keys."""

    def __init__(self, row_keys: Mapping[str, tuple[str, ...]]) -> None:
        self.row_keys = dict(row_keys)

    def row_key(self, table: str, row: Row) -> str:
        """The identifier of a row within its table and release ("" for one-row tables)."""
        return "|".join(key_part(row.get(column)) for column in self.row_keys[table])

    def cell(self, table: str, row: Row, column: str, style: str = "num", digits: int = 2
             ) -> Markup:
        """One stored number, shown formatted and tagged with where it came from."""
        value = row.get(column)
        return Markup('<span class="v" data-table="{}" data-row="{}" data-column="{}" '
                      'data-value="{}" data-style="{}">{}</span>').format(
            table, self.row_key(table, row), column, raw_value(value), style,
            shown_value(value, style, digits))

    def text(self, table: str, row: Row, column: str) -> Markup:
        """One stored text value, escaped and tagged with where it came from."""
        value = row.get(column)
        return Markup('<span data-table="{}" data-row="{}" data-column="{}">{}</span>').format(
            table, self.row_key(table, row), column, "-" if value is None else value)

    def with_ci(self, table: str, row: Row, column: str, low: str, high: str,
                style: str = "num", digits: int = 2) -> Markup:
        """An estimate and its interval, "est (low to high)"; the interval left out when not
        stored."""
        shown = self.cell(table, row, column, style, digits)
        if row.get(low) is None or row.get(high) is None:
            return shown
        return Markup("{} ({} to {})").format(shown, self.cell(table, row, low, style, digits),
                                              self.cell(table, row, high, style, digits))

    def p_is(self, table: str, row: Row, column: str) -> Markup:
        """A stored p-value in a sentence: "p = 0.012", or "p <0.001" below the precision."""
        value = row.get(column)
        small = isinstance(value, float) and value < 0.001
        return Markup("p {}{}").format("" if small else "= ", self.cell(table, row, column, "p"))


def new_figure(width: float, height: float, ncols: int = 1) -> Figure:
    """A matplotlib figure (no pyplot, no global backend) with `ncols` axes in a row."""
    with rc_context(SVG_RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        fig.subplots(1, ncols) if ncols > 1 else fig.add_subplot()
    return fig


def figure_svg(fig: Figure, name: str, salt: str) -> str:
    """The figure as an <svg> element (no XML prolog), ids prefixed with the figure's name so
    several figures share one page, the same rows giving the same bytes."""
    buffer = io.BytesIO()
    with rc_context({**SVG_RC, "svg.hashsalt": f"{salt}-{name}"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue().decode("utf-8")
    text = _NAMESPACE.sub("", _METADATA.sub("", text[text.index("<svg"):]))
    return _ID.sub(lambda m: f"{m.group(1)}{name}-{m.group(2)}", text)
