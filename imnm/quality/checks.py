"""The one check record: what a check is (`Check`, as its suite declares it) and what it found
on one site's batch (`CheckOutcome`, a row of `audit.validation_results`), from the suite
registry through validation and the audit tables to the reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One expectation of a suite, described by its Kahn-framework metadata."""

    suite: str
    check_name: str
    expectation_type: str
    column_name: str | None
    category: str  # conformance | completeness | plausibility
    severity: str  # blocking | warning
    threshold: float  # fraction of failing rows allowed


@dataclass(frozen=True)
class CheckOutcome:
    """A check's result on one site's batch of one layer.

    `failed_rows` are (file_id, source_row, value) and are known right after validation, not
    when the outcome is read back from the audit tables; `release_id` is set on outcomes read
    with the release their run published (the trend over releases).
    """

    check: Check
    rows_tested: int
    rows_failed: int
    passed: bool
    layer: str = "staging"  # staging (a new batch as delivered) | core (the harmonized core)
    site: str = ""
    record_kind: str = ""
    failed_rows: tuple[tuple[int, int, str | None], ...] = ()
    release_id: str | None = None

    @property
    def suite(self) -> str:
        return self.check.suite

    @property
    def check_name(self) -> str:
        return self.check.check_name

    @property
    def expectation_type(self) -> str:
        return self.check.expectation_type

    @property
    def column_name(self) -> str | None:
        return self.check.column_name

    @property
    def category(self) -> str:
        return self.check.category

    @property
    def severity(self) -> str:
        return self.check.severity

    @property
    def threshold(self) -> float:
        return self.check.threshold

    @property
    def blocks(self) -> bool:
        """True for a failed blocking check: it keeps the site's new files out of a release."""
        return not self.passed and self.check.severity == "blocking"


def outcome_from_row(row: tuple[object, ...]) -> CheckOutcome:
    """An outcome from a row of (layer, site, record_kind, suite, check_name, expectation_type,
    column_name, category, severity, threshold, rows_tested, rows_failed, passed) - the
    column order of `select_dq_outcomes.sql`."""
    (layer, site, record_kind, suite, check_name, expectation_type, column_name, category,
     severity, threshold, rows_tested, rows_failed, passed) = row
    return CheckOutcome(
        check=Check(str(suite), str(check_name), str(expectation_type),
                    None if column_name is None else str(column_name), str(category),
                    str(severity), float(threshold)),  # type: ignore[arg-type]
        rows_tested=int(rows_tested), rows_failed=int(rows_failed),  # type: ignore[call-overload]
        passed=bool(passed), layer=str(layer), site=str(site), record_kind=str(record_kind))
