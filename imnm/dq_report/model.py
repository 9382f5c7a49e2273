"""The figures of a release's data-quality report, and the pure summaries built from them.

Everything here is computed from rows read out of the audit tables (`read.py` reads
them); layers, suites and categories are taken as they come, so new suites (the core
layer's, for example) appear without code changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from imnm.quality.checks import CheckOutcome
from imnm.releases import ReleaseInfo

CATEGORY_ORDER: Final[tuple[str, ...]] = ("conformance", "completeness", "plausibility")
LAYER_ORDER: Final[tuple[str, ...]] = ("staging", "core")
SEVERITY_ORDER: Final[tuple[str, ...]] = ("blocking", "warning")
EXAMPLES_PER_CHECK: Final[int] = 5
TREND_RELEASES: Final[int] = 5


def _rank(order: Sequence[str], value: str) -> tuple[int, str]:
    """Sort key: known values in their documented order, others after them by name."""
    return (order.index(value), "") if value in order else (len(order), value)


@dataclass(frozen=True)
class ExampleRow:
    """A failing row, pseudonymized: patient key, file, row, column and its (masked) value."""

    layer: str
    site: str
    record_kind: str
    check_name: str
    relative_path: str | None
    file_id: int
    source_row: int
    column_name: str | None
    value: str | None
    patient_key: str | None


@dataclass(frozen=True)
class QuarantinedFile:
    """A delivered file the run could not read, with the reason."""

    site: str
    relative_path: str
    reason: str | None


@dataclass(frozen=True)
class UnmappedCount:
    """How many values of one column did not cast or map, and why."""

    site: str
    record_kind: str
    column_name: str
    reason: str
    count: int


@dataclass(frozen=True)
class ReportData:
    """Everything a release's data-quality report shows."""

    release: ReleaseInfo
    outcomes: tuple[CheckOutcome, ...]
    examples: tuple[ExampleRow, ...] = ()
    recent_releases: tuple[str, ...] = ()  # oldest first, ending with this release
    trend: tuple[CheckOutcome, ...] = ()  # outcomes with their release_id set
    quarantined: tuple[QuarantinedFile, ...] = ()
    unmapped: tuple[UnmappedCount, ...] = ()
    generated_at: datetime | None = None


@dataclass(frozen=True)
class SiteSummary:
    """A centre's checks in the release's run; held_back lists the blocking checks named."""

    site: str
    checks_run: int
    checks_failed: int
    blocking_failed: int
    rows_failed: int
    held_back: tuple[str, ...] = ()


@dataclass(frozen=True)
class CategoryRow:
    """Checks of one category at one centre and layer."""

    site: str
    layer: str
    category: str
    checks_run: int
    checks_passed: int
    rows_tested: int
    rows_failed: int

    @property
    def pass_rate_pct(self) -> float:
        """Passed checks as a percentage, one decimal."""
        return round(100.0 * self.checks_passed / self.checks_run, 1) if self.checks_run else 0.0


@dataclass(frozen=True)
class FailingCheck:
    """A check that did not pass at a centre and layer: its outcome summed over the run's
    batches, with a few pseudonymized example rows. Reads as its outcome (`f.check_name`,
    `f.rows_failed`, ...)."""

    outcome: CheckOutcome
    examples: tuple[ExampleRow, ...] = field(default_factory=tuple)

    def __getattr__(self, name: str) -> Any:
        if name == "outcome":  # not set yet (copying): no delegation
            raise AttributeError(name)
        return getattr(self.outcome, name)


@dataclass(frozen=True)
class TrendRow:
    """A check at one centre over the recent releases: failing rows per release (None = not
    run in that release's refresh)."""

    site: str
    layer: str
    suite: str
    check_name: str
    severity: str
    cells: tuple[tuple[str, int | None, bool | None], ...]  # (release_id, rows_failed, passed)


def site_names(release: ReleaseInfo, outcomes: Iterable[CheckOutcome]) -> list[str]:
    """Centres to show: held back first, then those with blocking failures, then the rest."""
    outcomes = list(outcomes)
    names = {o.site for o in outcomes} | set(release.included_sites) | set(release.held_back)
    blocking = {o.site for o in outcomes if not o.passed and o.severity == "blocking"}
    return sorted(names, key=lambda s: (s not in release.held_back, s not in blocking, s))


def summarize_sites(release: ReleaseInfo, outcomes: Iterable[CheckOutcome]) -> list[SiteSummary]:
    """Per centre: checks run, failed, blocking failed and failing rows (held back first)."""
    outcomes = list(outcomes)
    by_site: dict[str, list[CheckOutcome]] = defaultdict(list)
    for outcome in outcomes:
        by_site[outcome.site].append(outcome)
    return [
        SiteSummary(
            site=site,
            checks_run=len(by_site[site]),
            checks_failed=sum(not o.passed for o in by_site[site]),
            blocking_failed=sum(not o.passed and o.severity == "blocking" for o in by_site[site]),
            rows_failed=sum(o.rows_failed for o in by_site[site]),
            held_back=tuple(release.held_back.get(site, ())),
        )
        for site in site_names(release, outcomes)
    ]


def category_rows(outcomes: Iterable[CheckOutcome], sites: Sequence[str]) -> list[CategoryRow]:
    """Per centre (in `sites` order), layer and category: checks run and passed, rows."""
    groups: dict[tuple[str, str, str], list[CheckOutcome]] = defaultdict(list)
    for outcome in outcomes:
        groups[(outcome.site, outcome.layer, outcome.category)].append(outcome)
    site_rank = {site: i for i, site in enumerate(sites)}
    keys = sorted(groups, key=lambda k: (site_rank.get(k[0], len(site_rank)), k[0],
                                         _rank(LAYER_ORDER, k[1]), _rank(CATEGORY_ORDER, k[2])))
    return [CategoryRow(site, layer, category, len(groups[(site, layer, category)]),
                        sum(o.passed for o in groups[(site, layer, category)]),
                        sum(o.rows_tested for o in groups[(site, layer, category)]),
                        sum(o.rows_failed for o in groups[(site, layer, category)]))
            for site, layer, category in keys]


def failing_checks(outcomes: Iterable[CheckOutcome], examples: Iterable[ExampleRow] = (),
                   per_check: int = EXAMPLES_PER_CHECK) -> list[FailingCheck]:
    """Checks that did not pass, blocking first, then by centre, layer, suite and name."""
    samples: dict[tuple[str, str, str, str], list[ExampleRow]] = defaultdict(list)
    for example in examples:
        samples[(example.layer, example.site, example.record_kind, example.check_name)].append(
            example)
    merged: dict[tuple[str, str, str, str, str], list[CheckOutcome]] = defaultdict(list)
    for o in outcomes:
        merged[(o.layer, o.site, o.record_kind, o.suite, o.check_name)].append(o)
    failing = []
    for (layer, site, kind, _suite, check), group in merged.items():
        if all(o.passed for o in group):
            continue
        first = group[0]
        rows = sorted(samples[(layer, site, kind, check)],
                      key=lambda e: (e.file_id, e.source_row))[:per_check]
        severity = ("blocking" if any(o.severity == "blocking" for o in group)
                    else first.severity)
        summed = CheckOutcome(
            check=replace(first.check, severity=severity),
            rows_tested=sum(o.rows_tested for o in group),
            rows_failed=sum(o.rows_failed for o in group), passed=False,
            layer=layer, site=site, record_kind=kind)
        failing.append(FailingCheck(summed, tuple(rows)))
    return sorted(failing, key=lambda f: (_rank(SEVERITY_ORDER, f.severity), f.site,
                                          _rank(LAYER_ORDER, f.layer), f.suite, f.check_name))


def trend_rows(recent_releases: Sequence[str], points: Iterable[CheckOutcome],
               sites: Sequence[str] = ()) -> list[TrendRow]:
    """Checks with failing rows in any of the recent releases, one cell per release
    (`points`: outcomes with their release_id)."""
    grouped: dict[tuple[str, str, str, str], dict[str, CheckOutcome]] = defaultdict(dict)
    severity: dict[tuple[str, str, str, str], str] = {}
    for p in points:
        key = (p.site, p.layer, p.suite, p.check_name)
        release_id = str(p.release_id)
        previous = grouped[key].get(release_id)
        if previous is not None:  # the same check twice in one run: add the rows up
            p = replace(p, rows_tested=previous.rows_tested + p.rows_tested,
                        rows_failed=previous.rows_failed + p.rows_failed,
                        passed=previous.passed and p.passed)
        grouped[key][release_id] = p
        if p.severity == "blocking" or key not in severity:
            severity[key] = p.severity
    site_rank = {site: i for i, site in enumerate(sites)}
    rows = []
    for key in sorted(grouped, key=lambda k: (site_rank.get(k[0], len(site_rank)), k[0],
                                              _rank(SEVERITY_ORDER, severity[k]),
                                              _rank(LAYER_ORDER, k[1]), k[2], k[3])):
        cells = grouped[key]
        if not any(c.rows_failed > 0 or not c.passed for c in cells.values()):
            continue
        rows.append(TrendRow(*key, severity=severity[key], cells=tuple(
            (rid, cells[rid].rows_failed, cells[rid].passed) if rid in cells
            else (rid, None, None) for rid in recent_releases)))
    return rows


def blocking_failures(outcomes: Iterable[CheckOutcome]) -> list[CheckOutcome]:
    """Blocking checks that failed in the release's run, by centre, layer and check."""
    return sorted((o for o in outcomes if not o.passed and o.severity == "blocking"),
                  key=lambda o: (o.site, o.layer, o.suite, o.check_name))
