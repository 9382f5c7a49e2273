"""The refresh summary as the data engineer reads it in the terminal (`imnm refresh`, `make
run`): per-site files and rows, scoring, the release, each study's headline and report."""

from __future__ import annotations

from imnm.refresh.runs import RefreshSummary
from imnm.studies.registry import all_studies

# Example queries printed after every refresh: the platform's own, then each study's first.
PLATFORM_SQL_EXAMPLES = (
    "SELECT release_id, published_at, model_version FROM results.releases "
    "ORDER BY published_at DESC",
)


def format_summary(summary: RefreshSummary) -> str:
    """A terminal report: per-site files and rows, ECGs scored, release, each study's headline
    and report, example queries."""
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
    for study in summary.studies:
        lines.append(f"{study.title}:")
        lines += [f"  {line}" for line in study.headline]
        if study.report:
            lines.append(f"  report: {study.report}")
    lines.append("Demo model and synthetic data: figures are not clinical evidence.")
    if summary.dq_report:
        lines.append(f"Data quality: {summary.dq_checks_failed} check(s) failed "
                     f"({summary.dq_blocking_failed} blocking); report: {summary.dq_report}")
    examples = [*PLATFORM_SQL_EXAMPLES,
                *(q for study in all_studies() for q in study.sql_examples[:1])]
    lines += ["", f"Results file: {summary.results_file}", "Try:",
              *(f'  imnm sql "{query}"' for query in examples),
              "  imnm dq                  # data-quality summary of the latest release",
              "  imnm report --study NAME # a study's report of the latest release, in a browser"]
    return "\n".join(lines)
