"""What a study's report of one release shows, as plain data (read by `imnm/studies/reports.py`,
rendered by the study's own `report/` package)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from imnm.quality.checks import CheckOutcome
from imnm.releases import ReleaseInfo

Row = Mapping[str, Any]
Rows = tuple[Row, ...]


@dataclass(frozen=True)
class StudyReportData:
    """One release's rows of a study's result tables, with what the page says around them.

    `tables`: result table name -> the release's rows, `None` when the results file has no
    such table (written before it existed), `()` when the analysis produced no rows.
    """

    study: str
    release: ReleaseInfo
    analysis_parameters: Mapping[str, Any]
    tables: Mapping[str, Rows | None]
    outcomes: tuple[CheckOutcome, ...] = ()  # data-quality outcomes of the release's run
    dq_report_href: str | None = None
    generated_at: datetime | None = None
    # The model card's word when the release did not record it (files published before
    # results.releases.model_synthetic) and the card was found in the data directory.
    model_card_synthetic: bool | None = None

    @property
    def synthetic(self) -> bool:
        """True when a demo model, or one trained on synthetic data, scored the ECGs."""
        return self.release.synthetic or bool(self.model_card_synthetic)

    def rows(self, name: str) -> Rows:
        """The table's rows for this release (empty when absent or not computed)."""
        return self.tables.get(name) or ()

    def history_table(self, name: str) -> str:
        """The released table a report table name stands for, as the page names it."""
        return f"results.{self.study}_{name}_history"

    def missing(self, *names: str) -> str | None:
        """Why a section built from these tables cannot be shown, or None when it can."""
        for name in names:
            rows = self.tables.get(name)
            shown = self.history_table(name)
            if rows is None:
                return (f"Not computed: the results file has no {shown} table "
                        f"(written by a later version of the platform).")
            if not rows:
                return (f"Not computed: {shown} has no rows for this release (the data "
                        f"could not support this analysis).")
        return None
