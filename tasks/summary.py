"""The refresh summary shown to the data engineer and stored with the audit run."""

from __future__ import annotations

from imnm.study_a.analysis import StudyAResults
from tasks.context import RunContext
from tasks.dq_report import DqReport
from tasks.harmonize import HarmonizeSummary
from tasks.publish import ReleaseSummary
from tasks.run_log import RefreshSummary, site_summaries
from tasks.score import ScoreSummary
from tasks.study_a_report import StudyAReport

SQL_EXAMPLE = (
    'imnm sql "SELECT site, count(*) AS patients, round(avg(p_lvd) * 100, 2) AS mean_p_lvd_pct, '
    'sum(model_predicts_lvd::INT) AS model_flags FROM results.study_a_patients GROUP BY site '
    'ORDER BY site"'
)


def summarize_refresh(ctx: RunContext, scored: ScoreSummary, results: StudyAResults,
                      release: ReleaseSummary, harmonized: HarmonizeSummary,
                      report: DqReport | None = None,
                      study_report: StudyAReport | None = None) -> RefreshSummary:
    """Collect the run's figures from the stages' outcomes and the audit trail."""
    accuracy = results.accuracy or {}
    return RefreshSummary(
        run_id=ctx.run_id,
        sites=site_summaries(ctx),
        ecgs_scored=scored.scored_now,
        model_version=scored.model_version,
        scoring_engine=scored.engine if scored.scored_now else "",
        scoring_ecgs_per_second=round(scored.ecgs_per_second, 1),
        release_id=release.release_id,
        release_is_new=release.is_new,
        auc=accuracy.get("auc"),
        auc_ci=(accuracy.get("auc_ci_low"), accuracy.get("auc_ci_high")),
        n_patients=accuracy.get("n_patients", 0),
        held_back_sites={s: list(c) for s, c in harmonized.held_back_sites.items()},
        results_file=str(release.results_file),
        dq_report=str(report.html) if report else "",
        study_a_report=str(study_report.html) if study_report else "",
        dq_checks_failed=report.checks_failed if report else 0,
        dq_blocking_failed=report.blocking_failed if report else 0,
    )


def format_summary(summary: RefreshSummary) -> str:
    """A terminal report: per-site files and rows, ECGs scored, release, AUC, a SQL example."""
    lines = [f"Refresh {summary.run_id}", "",
             f"{'site':<12}{'loaded':>8}{'skipped':>9}{'quarant.':>10}{'rows':>8}{'rejected':>10}"]
    for s in summary.sites:
        lines.append(f"{s.site:<12}{s.files_loaded:>8}{s.files_skipped:>9}"
                     f"{s.files_quarantined:>10}{s.rows_staged:>8}{s.rows_rejected:>10}")
    lines.append("")
    engine = (f", {summary.scoring_engine}, {summary.scoring_ecgs_per_second:.0f} ECG/s"
              if summary.scoring_engine else "")
    lines.append(f"ECGs scored this run: {summary.ecgs_scored} (model {summary.model_version}"
                 f"{engine})")
    for site, checks in summary.held_back_sites.items():
        lines.append(f"Held back: {site} (blocking checks: {', '.join(checks)})")
    state = "new release" if summary.release_is_new else "no new input; latest release is"
    lines.append(f"Release: {state} {summary.release_id}")
    if summary.auc is not None:
        low, high = summary.auc_ci
        lines.append(f"Study A AUC for echo-defined LVD: {summary.auc:.3f} "
                     f"(95% CI {low:.3f}-{high:.3f}), n={summary.n_patients}")
    lines.append("Demo model and synthetic data: figures are not clinical evidence.")
    if summary.dq_report:
        lines.append(f"Data quality: {summary.dq_checks_failed} check(s) failed "
                     f"({summary.dq_blocking_failed} blocking); report: {summary.dq_report}")
    if summary.study_a_report:
        lines.append(f"Study A report: {summary.study_a_report}")
    lines += ["", f"Results file: {summary.results_file}", "Try:", f"  {SQL_EXAMPLE}",
              "  imnm dq        # data-quality summary of the latest release",
              "  imnm report    # study A's report of the latest release, in a browser"]
    return "\n".join(lines)
