"""The data-quality suites: one Great Expectations suite per staged record kind.

Suites are JSON files in `suites/`, written in the form Great Expectations 1.x serializes an
`ExpectationSuite`. Every expectation carries Kahn-framework metadata in its `meta`
(`check_name`, `category`, `severity`, `threshold`); this module loads the files, checks that
metadata, and lists the checks.
"""

from __future__ import annotations

import copy
import json
import math
import re
from functools import cache
from pathlib import Path
from typing import Any, Final

import great_expectations as gx
from great_expectations.expectations.expectation import (
    ColumnMapExpectation,
    ColumnPairMapExpectation,
    MulticolumnMapExpectation,
)
from great_expectations.expectations.registry import get_expectation_impl

from imnm.quality.checks import Check

SUITES_DIR: Final[Path] = Path(__file__).resolve().parent / "suites"

RECORD_KINDS: Final[tuple[str, ...]] = (
    "patients", "diagnoses", "biopsies", "serology", "treatments", "labs", "vitals",
    "strength", "echos", "outcomes", "ecgs",
)
# Suites over the harmonized core (whole core, per site, every refresh); each is validated on
# the rows its warehouse/sql/select_dq_<suite>.sql returns.
CORE_SUITES: Final[tuple[str, ...]] = (
    "core_labs", "core_timeline", "core_event_dates", "core_completeness",
)
SUITE_NAMES: Final[tuple[str, ...]] = (*RECORD_KINDS, *CORE_SUITES)
CATEGORIES: Final[tuple[str, ...]] = ("conformance", "completeness", "plausibility")
SEVERITIES: Final[tuple[str, ...]] = ("blocking", "warning")
# Suite parameters the runner supplies at validation time ({"$PARAMETER": name} in kwargs).
SUITE_PARAMETERS: Final[tuple[str, ...]] = ("run_date", "run_date_end")
META_KEYS: Final[tuple[str, ...]] = ("check_name", "category", "severity", "threshold")
# Great Expectations' own severity field, kept consistent with ours.
GX_SEVERITY: Final[dict[str, str]] = {"blocking": "critical", "warning": "warning"}
_CHECK_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# Only row-level expectations: every outcome counts rows and names the failing ones.
_ROW_LEVEL = (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)


class SuiteError(ValueError):
    """A suite file is malformed or an expectation's metadata is missing or invalid."""


class UnknownRecordKindError(KeyError):
    """No suite exists for the requested record kind."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def suite_path(kind: str) -> Path:
    """The JSON file holding a record kind's or core suite; unknown names raise
    UnknownRecordKindError."""
    if kind not in SUITE_NAMES:
        raise UnknownRecordKindError(
            f"no expectation suite named {kind!r}; known suites: {', '.join(SUITE_NAMES)}"
        )
    return SUITES_DIR / f"{kind}.json"


def column_name_of(kwargs: dict[str, Any]) -> str | None:
    """The column an expectation checks; column pairs and lists are joined with commas."""
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_A" in kwargs and "column_B" in kwargs:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    if "column_list" in kwargs:
        return ",".join(str(c) for c in kwargs["column_list"])
    return None


def _check_expectation(where: str, kind: str, index: int, raw: Any, seen: set[str]) -> None:
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise SuiteError(f"{where}: expectation #{index} has no 'type'")
    meta = raw.get("meta")
    label = f"expectation #{index} ({raw['type']})"
    if not isinstance(meta, dict):
        raise SuiteError(f"{where}: {label} has no 'meta' with {', '.join(META_KEYS)}")
    missing = [key for key in META_KEYS if key not in meta]
    if missing:
        raise SuiteError(f"{where}: {label} lacks meta keys {', '.join(missing)}")
    name = meta["check_name"]
    label = f"expectation #{index} ({name!r})"
    if not isinstance(name, str) or not _CHECK_NAME.match(name):
        raise SuiteError(f"{where}: {label}: check_name must be snake_case")
    if not name.startswith(f"{kind}_"):
        raise SuiteError(f"{where}: {label}: check_name must start with '{kind}_'")
    if name in seen:
        raise SuiteError(f"{where}: {label}: check_name is used twice in the suite")
    seen.add(name)
    if meta["category"] not in CATEGORIES:
        raise SuiteError(
            f"{where}: {label}: category {meta['category']!r} not one of {', '.join(CATEGORIES)}"
        )
    if meta["severity"] not in SEVERITIES:
        raise SuiteError(
            f"{where}: {label}: severity {meta['severity']!r} not one of {', '.join(SEVERITIES)}"
        )
    threshold = meta["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not (
        0.0 <= threshold < 1.0
    ):
        raise SuiteError(f"{where}: {label}: threshold {threshold!r} must be a number in [0, 1)")
    kwargs = raw.get("kwargs")
    if not isinstance(kwargs, dict):
        raise SuiteError(f"{where}: {label} has no 'kwargs'")
    mostly = kwargs.get("mostly")
    expected_mostly = None if threshold == 0 else 1.0 - threshold
    if (mostly is None) != (expected_mostly is None) or (
        mostly is not None and not math.isclose(mostly, expected_mostly, abs_tol=1e-9)
    ):
        raise SuiteError(
            f"{where}: {label}: kwargs.mostly must be 1 - threshold "
            f"({expected_mostly}), or absent when threshold is 0; found {mostly!r}"
        )
    gx_severity = raw.get("severity", GX_SEVERITY[meta["severity"]])
    if gx_severity != GX_SEVERITY[meta["severity"]]:
        raise SuiteError(
            f"{where}: {label}: GX severity {gx_severity!r} contradicts meta.severity "
            f"{meta['severity']!r} (expected {GX_SEVERITY[meta['severity']]!r})"
        )
    for key, value in kwargs.items():
        is_parameter = isinstance(value, dict) and "$PARAMETER" in value
        parameter = value["$PARAMETER"] if is_parameter else None
        if is_parameter and parameter not in SUITE_PARAMETERS:
            raise SuiteError(
                f"{where}: {label}: kwargs.{key} uses unknown suite parameter {parameter!r}; "
                f"the runner supplies {', '.join(SUITE_PARAMETERS)}"
            )
    try:
        impl = get_expectation_impl(raw["type"])
    except Exception as exc:
        raise SuiteError(f"{where}: {label}: unknown expectation type {raw['type']!r}") from exc
    if not issubclass(impl, _ROW_LEVEL):
        raise SuiteError(
            f"{where}: {label}: {raw['type']} is not a row-level (map) expectation, "
            "so its failing rows cannot be reported"
        )
    if column_name_of(kwargs) is None:
        raise SuiteError(f"{where}: {label}: kwargs name no column")


def read_suite_file(path: Path, kind: str | None = None) -> dict[str, Any]:
    """Parse a suite file and check its metadata; errors name the file and the expectation."""
    kind = kind or path.stem
    where = str(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SuiteError(f"{where}: suite file is missing") from exc
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{where}: not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("name") != kind:
        raise SuiteError(f"{where}: the suite's 'name' must be {kind!r}")
    expectations = document.get("expectations")
    if not isinstance(expectations, list) or not expectations:
        raise SuiteError(f"{where}: the suite has no expectations")
    seen: set[str] = set()
    for index, raw in enumerate(expectations):
        _check_expectation(where, kind, index, raw, seen)
    try:
        gx.ExpectationSuite(**copy.deepcopy(document))
    except Exception as exc:
        raise SuiteError(f"{where}: Great Expectations rejects the suite: {exc}") from exc
    return document


@cache
def _suite_document(kind: str) -> dict[str, Any]:
    """The checked JSON of `kind`'s suite, read once per process."""
    return read_suite_file(suite_path(kind), kind)


def load_suite(kind: str) -> gx.ExpectationSuite:
    """A fresh ExpectationSuite for `kind`, built from its checked (and cached) JSON file."""
    return gx.ExpectationSuite(**copy.deepcopy(_suite_document(kind)))


def suite_checks(kind: str) -> list[Check]:
    """The checks of `kind`'s suite in file order, as recorded in the audit tables."""
    document = _suite_document(kind)
    return [
        Check(
            suite=document["name"],
            check_name=raw["meta"]["check_name"],
            expectation_type=raw["type"],
            column_name=column_name_of(raw["kwargs"]),
            category=raw["meta"]["category"],
            severity=raw["meta"]["severity"],
            threshold=float(raw["meta"]["threshold"]),
        )
        for raw in document["expectations"]
    ]
