"""Study A's analysis parameters: config/studies/study_a.toml, recorded with every release."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from imnm.settings import ConfigurationError
from imnm.typed_settings import table_settings

STUDY: Final[str] = "study_a"
# The harmonized echo findings (core.echos.echo_findings) that make an echo LVD in study A's
# broad definition: any one of them.
LVD_FINDINGS: Final[tuple[str, ...]] = (
    "diastolic_dysfunction", "hypokinesis", "mildly_abnormal_systolic", "regional_wall_motion",
    "systolic_dysfunction",
)


@dataclass(frozen=True)
class StudyAParameters:
    """Cutoff, selection windows, the LVD definition and test choices (the published cutoff
    is 1%)."""

    cutoff: float = 0.01
    ecg_window_days: int = 365
    echo_window_days: int = 365
    baseline_window_days: int = 365
    confidence: float = 0.95
    normality_alpha: float = 0.05
    trajectory_window_years: float = 10.0
    early_detection_window_years: float = 5.0
    lvd_findings: tuple[str, ...] = LVD_FINDINGS

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
        if not self.lvd_findings:
            raise ConfigurationError("study A parameter lvd_findings must name at least one "
                                     "echo finding")

    def as_dict(self) -> dict[str, Any]:
        """The values a release records (lists for tuples, as JSON has them)."""
        values = asdict(self)
        values["lvd_findings"] = list(self.lvd_findings)
        return values


def load_parameters(path: Path, overrides: Mapping[str, Any] | None = None
                    ) -> StudyAParameters:
    """Parameters from `path`'s [study_a] table (defaults where absent), `overrides` (from
    `imnm refresh --set study_a.NAME=VALUE`) applied over them."""
    return table_settings(StudyAParameters, path, STUDY, overrides)
