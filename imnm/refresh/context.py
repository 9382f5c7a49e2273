"""What every stage of one refresh run needs to know, resolved once by the flow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from imnm.settings import DataPaths
from imnm.siteconfig import SiteConfig


@dataclass(frozen=True)
class RunContext:
    """One refresh run: its id and date, the data directory and the centres' configurations."""

    run_id: str
    run_date: date
    paths: DataPaths
    sites: tuple[SiteConfig, ...]
    vocabularies: dict[str, dict[str, str]]

    def site(self, name: str) -> SiteConfig:
        for config in self.sites:
            if config.site == name:
                return config
        raise KeyError(f"no configuration for site {name!r}")
