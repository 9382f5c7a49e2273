"""Where the platform keeps its files, resolved once at the edge from arguments and environment.

Everything below the data directory is derived here; nothing deeper reads the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "IMNM_DATA_DIR"
PSEUDONYM_KEY_ENV = "IMNM_PSEUDONYM_KEY"
PSEUDONYM_KEY_FILE_ENV = "IMNM_PSEUDONYM_KEY_FILE"
DEFAULT_DATA_DIR = Path("data")
REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "config"


class ConfigurationError(ValueError):
    """A setting is missing or wrong; the message names the file (or variable) and the key."""


@dataclass(frozen=True)
class DataPaths:
    """The data directory's layout: landing zone, warehouse, waveforms, models, releases."""

    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def results(self) -> Path:
        """The published results file, replaced atomically at each release."""
        return self.root / "published.duckdb"

    @property
    def waveforms(self) -> Path:
        return self.root / "waveforms"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    def release_reports(self, release_id: str) -> Path:
        """Where a release's data-quality report and Data Docs are written."""
        return self.releases / release_id / "reports"

    @property
    def training_archive(self) -> Path:
        """The synthetic demo training archive (its own warehouse and waveform shards)."""
        return self.root / "training_archive"

    def site_landing(self, site: str) -> Path:
        return self.landing / site


def resolve_data_paths(data_dir: str | os.PathLike[str] | None = None) -> DataPaths:
    """The data directory from the argument, else `$IMNM_DATA_DIR`, else `./data`."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return DataPaths(Path(chosen).resolve())


def pseudonym_key(explicit: str | None = None) -> bytes:
    """The HMAC key for pseudonyms: given explicitly, from `$IMNM_PSEUDONYM_KEY`, or read from
    the file `$IMNM_PSEUDONYM_KEY_FILE` names (a mounted secret); never stored anywhere."""
    key = explicit or os.environ.get(PSEUDONYM_KEY_ENV)
    key_file = os.environ.get(PSEUDONYM_KEY_FILE_ENV)
    if not key and key_file:
        try:
            key = Path(key_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigurationError(
                f"{PSEUDONYM_KEY_FILE_ENV}={key_file} cannot be read ({exc.strerror or exc})"
            ) from exc
    if not key:
        raise ConfigurationError(
            f"no pseudonymization key: set {PSEUDONYM_KEY_ENV} (any secret string of 16+ "
            f"characters) or {PSEUDONYM_KEY_FILE_ENV} (a file holding it); keep it outside "
            "the data directory"
        )
    if len(key) < 16:
        raise ConfigurationError("the pseudonymization key must be at least 16 characters long")
    return key.encode("utf-8")
