"""Scoring settings: config/scoring.toml, with environment overrides for deployments.

Read once at the edge (the flow); tasks receive a `ScoringSettings` value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from imnm.settings import CONFIG_DIR, ConfigurationError
from imnm.typed_settings import read_toml, typed_settings

SCORING_CONFIG_FILE: Final[Path] = CONFIG_DIR / "scoring.toml"
ENGINE_ENV: Final[str] = "IMNM_SCORING_ENGINE"
DASK_ADDRESS_ENV: Final[str] = "IMNM_DASK_ADDRESS"
ENGINES: Final[tuple[str, ...]] = ("dask", "in-process")
PRECISIONS: Final[tuple[str, ...]] = ("float32", "mixed_bfloat16", "mixed_float16")


@dataclass(frozen=True)
class ScoringSettings:
    """Engine, batching, precision and (for Dask) where the cluster is."""

    engine: str = "dask"
    batch_size: int = 128
    prefetch_batches: int = 2
    preprocess_threads: int = 1
    precision: str = "float32"
    dask_address: str = ""
    dask_local_workers: int = 2
    dask_threads_per_worker: int = 1
    dask_min_ecgs: int = 40000

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigurationError(f"scoring engine must be one of {ENGINES}, "
                                     f"got {self.engine!r}")
        if self.precision not in PRECISIONS:
            raise ConfigurationError(f"scoring precision must be one of {PRECISIONS}, "
                                     f"got {self.precision!r}")
        for name in ("batch_size", "prefetch_batches", "preprocess_threads",
                     "dask_local_workers", "dask_threads_per_worker", "dask_min_ecgs"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"scoring setting {name} must be >= 1")


def load_scoring_settings(path: Path = SCORING_CONFIG_FILE,
                          environ: dict[str, str] | None = None) -> ScoringSettings:
    """Settings from `path` (defaults where absent), then `$IMNM_SCORING_ENGINE` and
    `$IMNM_DASK_ADDRESS` when set."""
    environ = dict(os.environ) if environ is None else environ
    section = dict(read_toml(path, missing_ok=True).get("scoring", {}))
    dask = section.pop("dask", {})
    raw: dict[str, Any] = {**section, **{f"dask_{key}": value for key, value in dask.items()}}
    if environ.get(ENGINE_ENV):
        raw["engine"] = environ[ENGINE_ENV]
    if environ.get(DASK_ADDRESS_ENV):
        raw["dask_address"] = environ[DASK_ADDRESS_ENV]
    return typed_settings(ScoringSettings, raw, where=f"{path} [scoring]")
