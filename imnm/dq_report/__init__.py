"""Data-quality reports of a release: the HTML report, the Data Docs index, the terminal summary.

Pure rendering: the figures come in as `ReportData` (read from the audit tables by
`tasks/dq_report.py`), the pages go out as strings.
"""

from imnm.dq_report.html import (
    DATA_DOCS_DIR,
    REPORT_FILE,
    DataDocsPage,
    render_data_docs_index,
    render_report,
)
from imnm.dq_report.model import (
    ExampleRow,
    Outcome,
    QuarantinedFile,
    ReleaseInfo,
    ReportData,
    SiteSummary,
    TrendPoint,
    UnmappedCount,
    summarize_sites,
)
from imnm.dq_report.privacy import mask_text_value, sanitize_gx_result
from imnm.dq_report.terminal import format_dq_summary

__all__ = [
    "DATA_DOCS_DIR",
    "REPORT_FILE",
    "DataDocsPage",
    "ExampleRow",
    "Outcome",
    "QuarantinedFile",
    "ReleaseInfo",
    "ReportData",
    "SiteSummary",
    "TrendPoint",
    "UnmappedCount",
    "format_dq_summary",
    "mask_text_value",
    "render_data_docs_index",
    "render_report",
    "sanitize_gx_result",
    "summarize_sites",
]
