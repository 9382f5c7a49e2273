"""Row-level differences between a delivered file and its corrected re-delivery (pure).

Centre extracts have no reliable row key, so rows are compared as sequences of their staged
values: unchanged runs are aligned (difflib's longest-matching-blocks), rows only in the new
file are `added`, rows only in the old one `removed`, and rows replaced in place are paired in
order as `changed`, with the columns whose values differ.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher

import polars as pl

# Lineage and storage location are not content: they always differ between two deliveries.
NOT_COMPARED = frozenset({"site", "file_id", "source_row", "waveform_shard", "waveform_row"})


@dataclass(frozen=True)
class RowChange:
    """One row that differs between two deliveries of the same file."""

    change: str  # added | removed | changed
    previous_source_row: int | None
    source_row: int | None
    changed_columns: tuple[str, ...] = ()


def _row_keys(frame: pl.DataFrame, columns: list[str]) -> list[str]:
    """A comparable text key per row: the staged values, typed, in column order."""
    if frame.height == 0:
        return []
    return [repr(row) for row in frame.select(columns).iter_rows()]


def _changed_columns(previous: dict[str, object], current: dict[str, object],
                     columns: list[str]) -> tuple[str, ...]:
    return tuple(c for c in columns if previous.get(c) != current.get(c))


def diff_deliveries(previous: pl.DataFrame, current: pl.DataFrame) -> list[RowChange]:
    """Rows added, removed and changed from `previous` to `current` (staging rows of one kind).

    Both frames carry `source_row`; the compared columns are those they share, less lineage
    and storage. Changes come in file order.
    """
    columns = [c for c in current.columns if c in previous.columns and c not in NOT_COMPARED]
    previous = previous.sort("source_row")
    current = current.sort("source_row")
    old_keys, new_keys = _row_keys(previous, columns), _row_keys(current, columns)
    old_rows, new_rows = previous["source_row"].to_list(), current["source_row"].to_list()
    matcher = SequenceMatcher(a=old_keys, b=new_keys, autojunk=False)
    changes: list[RowChange] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for offset in range(paired):
            before = previous.row(i1 + offset, named=True)
            after = current.row(j1 + offset, named=True)
            changes.append(RowChange("changed", old_rows[i1 + offset], new_rows[j1 + offset],
                                     _changed_columns(before, after, columns)))
        changes.extend(RowChange("removed", old_rows[i], None) for i in range(i1 + paired, i2))
        changes.extend(RowChange("added", None, new_rows[j]) for j in range(j1 + paired, j2))
    return changes


def summarize_changes(changes: list[RowChange]) -> str:
    """'2 changed, 1 added, 0 removed' for the file's audit event."""
    counts = Counter(change.change for change in changes)
    return ", ".join(f"{counts[kind]} {kind}" for kind in ("changed", "added", "removed"))
