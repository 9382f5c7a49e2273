"""Study A's analysis parameters: config/study_a.toml, recorded with every release."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Final

from imnm.settings import CONFIG_DIR, ConfigurationError

STUDY_A_CONFIG_FILE: Final[Path] = CONFIG_DIR / "study_a.toml"


@dataclass(frozen=True)
class StudyAParameters:
    """Cutoff, selection windows and test choices (the published cutoff is 1%)."""

    cutoff: float = 0.01
    ecg_window_days: int = 365
    echo_window_days: int = 365
    baseline_window_days: int = 365
    confidence: float = 0.95
    normality_alpha: float = 0.05
    trajectory_window_years: float = 10.0
    early_detection_window_years: float = 5.0

    def __post_init__(self) -> None:
        for name in ("cutoff", "confidence", "normality_alpha"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ConfigurationError(f"study A parameter {name} must be strictly between "
                                         f"0 and 1, got {value!r}")
        for name in ("ecg_window_days", "echo_window_days", "baseline_window_days",
                     "trajectory_window_years", "early_detection_window_years"):
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"study A parameter {name} must be positive")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_study_a_parameters(path: Path = STUDY_A_CONFIG_FILE, cutoff: float | None = None
                            ) -> StudyAParameters:
    """Parameters from `path` (defaults where absent); `cutoff`, when given, overrides."""
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = dict(tomllib.loads(path.read_text(encoding="utf-8")).get("study_a", {}))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{path}: {exc}") from exc
    types = {f.name: f.type for f in fields(StudyAParameters)}
    unknown = sorted(set(raw) - set(types))
    if unknown:
        raise ConfigurationError(f"{path}: unknown study A parameters {unknown}")
    for name, value in raw.items():
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric or (types[name] == "int" and not isinstance(value, int)):
            raise ConfigurationError(f"{path}: study A parameter {name} must be "
                                     f"{types[name]}, got {value!r}")
    params = StudyAParameters(**{k: (float(v) if types[k] == "float" else v)
                                 for k, v in raw.items()})
    return params if cutoff is None else replace(params, cutoff=cutoff)
