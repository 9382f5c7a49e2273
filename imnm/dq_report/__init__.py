"""Data-quality reports of a release: the HTML report, the Data Docs index, the terminal summary.

Pure rendering here (`model`, `html`, `terminal`): the figures come in as `ReportData`, the
pages go out as strings. `read` reads a release's figures from the audit tables; `write` writes
the pages and Data Docs under the release's report folder.
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
    QuarantinedFile,
    ReportData,
    SiteSummary,
    UnmappedCount,
    summarize_sites,
)
from imnm.dq_report.terminal import format_dq_summary

__all__ = [
    "DATA_DOCS_DIR",
    "REPORT_FILE",
    "DataDocsPage",
    "ExampleRow",
    "QuarantinedFile",
    "ReportData",
    "SiteSummary",
    "UnmappedCount",
    "format_dq_summary",
    "render_data_docs_index",
    "render_report",
    "summarize_sites",
]
