"""Checks a refresh makes before it starts anything heavy, each failing with one line that says
what to do."""

from __future__ import annotations

from imnm.settings import ConfigurationError, DataPaths


def check_something_delivered(paths: DataPaths) -> None:
    """ConfigurationError when the data directory has never received a file: no warehouse yet
    and no file under landing/ (a refresh would have nothing to stage or release)."""
    if paths.warehouse.exists():
        return  # earlier deliveries are staged; a refresh with no new file is normal
    landing = paths.landing
    if landing.is_dir() and any(p.is_file() for p in landing.rglob("*")):
        return
    raise ConfigurationError(
        f"nothing delivered yet: {landing} holds no file; put each centre's extracts under "
        f"{landing}/<site>/ (docs/site-config.md), or write the demo network there with "
        "`imnm demo-data`")
