"""The data-quality summary `imnm dq` prints: per centre, held-back centres, top failures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

from imnm.dq_report.html import SYNTHETIC_NOTICE, format_threshold
from imnm.dq_report.model import failing_checks, summarize_sites
from imnm.quality.checks import CheckOutcome
from imnm.releases import ReleaseInfo

TOP_FAILING: Final[int] = 10


def _file_line(label: str, path: Path) -> str:
    state = "" if path.is_file() else "  (not written yet)"
    return f"{label:<11}{path}{state}"


def format_dq_summary(release: ReleaseInfo, outcomes: Sequence[CheckOutcome], report: Path,
                      data_docs: Path, source_note: str | None = None,
                      top: int = TOP_FAILING) -> str:
    """A terminal summary of a release's data-quality checks and where its reports are."""
    lines = [f"Data quality of release {release.release_id} "
             f"(published {release.published_at:%Y-%m-%d %H:%M:%S} UTC, run {release.run_id})",
             f"Model {release.model_version}, code {release.code_version}"]
    if release.synthetic:
        lines.append(SYNTHETIC_NOTICE)
    if source_note:
        lines.append(source_note)
    lines += ["", f"{'centre':<14}{'checks':>8}{'failed':>8}{'blocking':>10}{'failing rows':>14}"
                  "  status"]
    for s in summarize_sites(release, outcomes):
        status = ("HELD BACK" if s.held_back
                  else "included" if s.site in release.included_sites else "not in release")
        lines.append(f"{s.site:<14}{s.checks_run:>8}{s.checks_failed:>8}{s.blocking_failed:>10}"
                     f"{s.rows_failed:>14}  {status}")
    for site, checks in release.held_back.items():
        lines.append(f"Held back: {site} (blocking checks failed: {', '.join(checks)})")
    failing = failing_checks(outcomes, ())
    if failing:
        lines += ["", f"Failing checks ({len(failing)}; the {min(top, len(failing))} with most "
                      "failing rows, blocking first):"]
        ranked = sorted(failing, key=lambda f: (f.severity != "blocking", -f.rows_failed,
                                                f.site, f.check_name))[:top]
        for f in ranked:
            lines.append(f"  {f.severity:<9}{f.site:<12}{f.layer:<9}{f.check_name}  "
                         f"{f.rows_failed}/{f.rows_tested} rows "
                         f"(threshold {format_threshold(f.threshold)}%)")
    else:
        lines += ["", "No check failed in this release's refresh."]
    lines += ["", _file_line("Report:", report), _file_line("Data Docs:", data_docs)]
    return "\n".join(lines)
