"""What a data-quality report may show of a failing value.

Reports show example rows by pseudonym, file and row number. A value from a column that
identifies a person (local record number, name) is never shown, and a birth date only by its
year. The same rule is applied to Great Expectations results before Data Docs are rendered.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any, Final

IDENTIFIER_COLUMNS: Final[frozenset[str]] = frozenset({"local_id", "patient_name"})
YEAR_ONLY_COLUMNS: Final[frozenset[str]] = frozenset({"birth_date"})
WITHHELD: Final[str] = "(identifier withheld)"
DATE_WITHHELD: Final[str] = "(date withheld)"
_YEAR = re.compile(r"^\s*(\d{4})\b")
# GX result entries that carry failing values: plain lists, {value, count} pairs, index dicts.
_VALUE_LISTS: Final[tuple[str, ...]] = ("partial_unexpected_list", "unexpected_list")
_INDEX_LISTS: Final[tuple[str, ...]] = ("partial_unexpected_index_list", "unexpected_index_list")


def is_sensitive(column: str | None) -> bool:
    """True when values of `column` (or of any column of a pair "a,b") are masked."""
    return any(part.strip() in IDENTIFIER_COLUMNS | YEAR_ONLY_COLUMNS
               for part in (column or "").split(","))


def mask_value(column: str | None, value: Any) -> Any:
    """The value as a report may show it: identifiers withheld, birth dates as their year."""
    if value is None:
        return None
    name = (column or "").strip()
    if name in IDENTIFIER_COLUMNS:
        return WITHHELD
    if name in YEAR_ONLY_COLUMNS:
        match = _YEAR.match(str(value))
        return match.group(1) if match else DATE_WITHHELD
    return value


def mask_text_value(column: str | None, value: str | None) -> str | None:
    """An audit.failed_rows value masked; pair checks ("a,b") hold both values joined by ","."""
    if value is None:
        return None
    columns = [part.strip() for part in (column or "").split(",")]
    if len(columns) == 1:
        masked = mask_value(columns[0], value)
        return None if masked is None else str(masked)
    if not any(is_sensitive(c) for c in columns):
        return value
    parts = value.split(",")
    if len(parts) != len(columns):
        return WITHHELD  # a value holding a comma: cannot tell which part is which
    return ",".join("" if p == "" else str(mask_value(c, p)) for c, p in zip(columns, parts,
                                                                         strict=True))


def _mask_sequence(columns: Sequence[str], value: Any) -> Any:
    """A failing value of a one-column check, or a pair/tuple of a multi-column check."""
    if len(columns) == 1:
        return mask_value(columns[0], value)
    if isinstance(value, list | tuple) and len(value) == len(columns):
        return [mask_value(c, v) for c, v in zip(columns, value, strict=True)]
    if isinstance(value, dict):
        return {k: mask_value(k, v) for k, v in value.items()}
    return WITHHELD if any(is_sensitive(c) for c in columns) else value


def _expectation_columns(kwargs: dict[str, Any]) -> list[str]:
    if kwargs.get("column"):
        return [str(kwargs["column"])]
    pair = [kwargs.get("column_A"), kwargs.get("column_B")]
    if all(pair):
        return [str(c) for c in pair]
    return [str(c) for c in kwargs.get("column_list") or []]


def _regroup_counts(counts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge {value, count} entries whose values became equal once masked."""
    merged: dict[str, dict[str, Any]] = {}
    for entry in counts:
        key = repr(entry.get("value"))
        if key in merged:
            merged[key]["count"] = merged[key].get("count", 0) + entry.get("count", 0)
        else:
            merged[key] = dict(entry)
    return list(merged.values())


def sanitize_gx_result(result: dict[str, Any]) -> dict[str, Any]:
    """A copy of a GX suite validation result (JSON dict) with sensitive failing values masked."""
    cleaned = copy.deepcopy(result)
    for evr in cleaned.get("results") or []:
        config = evr.get("expectation_config") or {}
        columns = _expectation_columns(config.get("kwargs") or {})
        outcome = evr.get("result") or {}
        if not any(is_sensitive(c) for c in columns):
            continue
        for key in _VALUE_LISTS:
            if isinstance(outcome.get(key), list):
                outcome[key] = [_mask_sequence(columns, v) for v in outcome[key]]
        if isinstance(outcome.get("partial_unexpected_counts"), list):
            outcome["partial_unexpected_counts"] = _regroup_counts([
                {**entry, "value": _mask_sequence(columns, entry.get("value"))}
                for entry in outcome["partial_unexpected_counts"]])
        for key in _INDEX_LISTS:
            if isinstance(outcome.get(key), list):
                outcome[key] = [{k: mask_value(k, v) for k, v in entry.items()}
                                if isinstance(entry, dict) else entry
                                for entry in outcome[key]]
    return cleaned
