"""The per-release HTML report of study A (AI-ECG P(LVD) against echo-defined LVD in IMNM).

Pure rendering: the release's result rows come in as `StudyReportData` (read by
imnm/studies/reports.py), the page goes out as a string with its figures inline as SVG.
"""

from imnm.studies.study_a.report.html import REPORT_FILE, render_report
from imnm.studies.study_a.report.model import (
    ROW_KEYS,
    numbers_at_risk,
    row_key,
    yearly_times,
)

__all__ = [
    "REPORT_FILE",
    "ROW_KEYS",
    "numbers_at_risk",
    "render_report",
    "row_key",
    "yearly_times",
]
