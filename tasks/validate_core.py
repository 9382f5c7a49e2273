"""Validate the harmonized core: cross-record and temporal checks, per site, every refresh.

Each core suite (`expectations/suites/core_*.json`) runs on the rows its
`warehouse/sql/select_dq_<suite>.sql` returns, split by site. Unlike the staging checks, which
see one new batch, these see everything a site has in core, so they can compare records of
different kinds and dates (CK against the patient's earlier CK, events against follow-up).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import duckdb
import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from imnm.refresh.context import RunContext
from imnm.siteconfig import RECORD_KINDS
from tasks.harmonize import HarmonizeSummary, hold_back_site_run_files, rebuild_core
from tasks.validate import record_outcomes
from warehouse.db import open_warehouse, sql, transaction


@dataclass(frozen=True)
class CoreSiteValidation:
    """One site's core checks of one pass: outcomes per suite and the blocking failures."""

    site: str
    outcomes: dict[str, list]  # suite -> CheckOutcome list
    gx_results: dict[str, object]  # suite -> GX ExpectationSuiteValidationResult
    patient_keys: dict[str, dict[tuple[int, int], str | None]]  # suite -> lineage -> pseudonym

    @property
    def blocking_failures(self) -> tuple[str, ...]:
        return tuple(sorted(o.check_name for outcomes in self.outcomes.values()
                            for o in outcomes if not o.passed and o.severity == "blocking"))


def core_batch(con: duckdb.DuckDBPyConnection, suite: str) -> pd.DataFrame:
    """The rows a core suite checks, with lineage and patient pseudonym."""
    from expectations.registry import CORE_SUITES

    if suite not in CORE_SUITES:
        raise KeyError(f"{suite!r} is not a core suite")
    return con.execute(sql(f"select_dq_{suite}")).df()


def validate_core(con: duckdb.DuckDBPyConnection, ctx: RunContext,
                  sites: tuple[str, ...] | None = None) -> dict[str, CoreSiteValidation]:
    """Run every core suite on every site's core rows (or only `sites`); nothing is stored."""
    from expectations.registry import CORE_SUITES
    from expectations.runner import validate_batch

    per_site: dict[str, CoreSiteValidation] = {}
    for suite in CORE_SUITES:
        batch = core_batch(con, suite)
        for site, rows in batch.groupby("site", sort=True):
            if sites is not None and site not in sites:
                continue
            result = validate_batch(suite, rows.reset_index(drop=True), ctx.run_date)
            entry = per_site.setdefault(str(site), CoreSiteValidation(str(site), {}, {}, {}))
            entry.outcomes[suite] = result.outcomes
            entry.gx_results[suite] = result.gx_result
            entry.patient_keys[suite] = {
                (int(f), int(r)): k for f, r, k in
                zip(rows["file_id"], rows["source_row"], rows["patient_key"], strict=True)}
    return per_site


def record_core_validation(con: duckdb.DuckDBPyConnection, ctx: RunContext,
                           validation: CoreSiteValidation) -> None:
    """Store one site's core outcomes (layer 'core') with each failing row's pseudonym, and
    GX's own results for the release's Data Docs."""
    from imnm.quality.gx_results import gx_results_dir, save_gx_result

    for suite, outcomes in validation.outcomes.items():
        record_outcomes(con, ctx, validation.site, suite, outcomes, "core",
                        validation.patient_keys[suite])
        save_gx_result(gx_results_dir(ctx.paths, ctx.run_id), "core", validation.site, suite,
                       validation.gx_results[suite])


@dataclass(frozen=True)
class CorePolicyOutcome:
    """What the core checks decided: sites held back (new files) or excluded (all data)."""

    validations: dict[str, CoreSiteValidation]  # the outcomes recorded, per site
    held_back: dict[str, tuple[str, ...]]  # site -> blocking core checks (its new files out)
    excluded: dict[str, tuple[str, ...]]  # site -> blocking checks its published data fails


def apply_core_policy(con: duckdb.DuckDBPyConnection, ctx: RunContext, key: bytes
                      ) -> CorePolicyOutcome:
    """Validate core; a site failing a blocking check loses this run's files and core is
    rebuilt without them. A site still failing (its earlier data fails, e.g. after a check
    changed) is left out of core altogether, so no release includes data that fails a
    blocking check. The first failing pass of a site is what is recorded for it."""
    first = validate_core(con, ctx)
    blocked = {site: v.blocking_failures for site, v in first.items() if v.blocking_failures}
    recorded = dict(first)
    held: dict[str, tuple[str, ...]] = {}
    excluded: dict[str, tuple[str, ...]] = {}
    if blocked:
        for site, checks in blocked.items():
            reason = "blocking core data-quality failure: " + ", ".join(checks)
            if hold_back_site_run_files(con, ctx, site, reason):
                held[site] = checks
            else:
                excluded[site] = checks
        rebuild_core(con, ctx, key, frozenset(excluded), record_unmapped=False)
        second = validate_core(con, ctx)
        still_failing = [site for site in held if second.get(site) is not None
                         and second[site].blocking_failures]
        for site in still_failing:
            excluded[site] = held.pop(site)
        if still_failing:
            rebuild_core(con, ctx, key, frozenset(excluded), record_unmapped=False)
        recorded.update({site: v for site, v in second.items() if site not in blocked})
    with transaction(con):
        for validation in recorded.values():
            record_core_validation(con, ctx, validation)
    return CorePolicyOutcome(recorded, held, excluded)


@task(name="validate core", cache_policy=NO_CACHE)
def validate_core_and_apply_policy(ctx: RunContext, key: bytes, harmonized: HarmonizeSummary
                                   ) -> HarmonizeSummary:
    """Run the core suites, keep failing sites' data out of core, and say who was held back."""
    logger = get_run_logger()
    with open_warehouse(ctx.paths.warehouse) as con:
        outcome = apply_core_policy(con, ctx, key)
        core_rows = {kind: con.execute(f"SELECT count(*) FROM core.{kind}").fetchone()[0]
                     for kind in harmonized.core_rows if kind in RECORD_KINDS}
    for site, validation in sorted(outcome.validations.items()):
        checks = [o for outcomes in validation.outcomes.values() for o in outcomes]
        logger.info("%s core: %d checks, %d failed", site, len(checks),
                    sum(not o.passed for o in checks))
    held = dict(harmonized.held_back_sites)
    for site, checks in {**outcome.held_back, **outcome.excluded}.items():
        logger.warning("%s held back by core checks: %s", site, ", ".join(checks))
        held[site] = tuple(sorted({*held.get(site, ()), *checks}))
    return replace(harmonized, core_rows=core_rows, held_back_sites=held)
