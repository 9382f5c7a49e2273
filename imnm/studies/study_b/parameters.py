"""Study B's analysis parameters: config/studies/study_b.toml, recorded with every release."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

from imnm.settings import ConfigurationError
from imnm.typed_settings import table_settings

STUDY: Final[str] = "study_b"
# Final diagnoses that exclude a patient with necrotizing histology (the paper's list).
ALTERNATIVE_DIAGNOSES: Final[tuple[str, ...]] = (
    "antisynthetase_syndrome", "dermatomyositis", "overlap_myositis", "statin_rhabdomyolysis",
)
# The drug classes (core.treatments.drug_class) that make up initial treatment.
TREATMENT_CLASSES: Final[tuple[str, ...]] = ("oral_glucocorticoid", "ivmp", "ivig", "csdmard")
VISITS: Final[tuple[str, ...]] = ("baseline", "month_3", "month_6")
# The Bayesian engine's model families: the grade models, the per-predictor CK models, the
# multivariable CK models (with the relative explained variation).
BAYES_MODEL_FAMILIES: Final[tuple[str, ...]] = ("grade", "univariable", "multivariable")


@dataclass(frozen=True)
class StudyBParameters:
    """Selection window, visit windows, variable definitions, test choices, imputation and
    the Bayesian models' priors and sampling (docs/study-b.md, "Parameters")."""

    biopsy_from: str = "2005-01-01"
    biopsy_to: str = "2026-12-31"
    alternative_diagnoses: tuple[str, ...] = ALTERNATIVE_DIAGNOSES
    initial_treatment_window_days: int = 30
    early_ivig_days: int = 30
    month_3_day: int = 91
    month_6_day: int = 182
    baseline_window_days: int = 14
    month_3_window_days: int = 30
    month_6_window_days: int = 45
    age_cut_years: float = 60.0
    moderate_severe_max_grade: int = 1
    confidence: float = 0.95
    normality_alpha: float = 0.05
    imputations: int = 10
    imputation_seed: int = 20220127
    bayes_models: tuple[str, ...] = ("grade", "univariable", "multivariable")
    bayes_coefficient_prior_sd: float = 100.0
    bayes_random_sd_prior_scale: float = 1.0
    bayes_random_sd_prior_df: float = 4.0
    bayes_imputations: int = 5
    bayes_chains: int = 4
    bayes_warmup: int = 500
    bayes_draws: int = 1000
    bayes_target_accept: float = 0.9
    bayes_seed: int = 20220127
    bayes_min_ess: int = 400
    bayes_max_rhat: float = 1.01

    def __post_init__(self) -> None:
        for name in ("biopsy_from", "biopsy_to"):
            try:
                date.fromisoformat(getattr(self, name))
            except ValueError:
                raise ConfigurationError(f"study B parameter {name} must be an ISO date "
                                         f"(YYYY-MM-DD), got {getattr(self, name)!r}") from None
        if self.biopsy_from > self.biopsy_to:
            raise ConfigurationError("study B parameter biopsy_from is after biopsy_to")
        for name in ("confidence", "normality_alpha", "bayes_target_accept"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ConfigurationError(f"study B parameter {name} must be strictly between "
                                         f"0 and 1, got {getattr(self, name)!r}")
        for name in ("initial_treatment_window_days", "early_ivig_days", "month_3_day",
                     "month_6_day", "month_3_window_days", "month_6_window_days",
                     "age_cut_years", "imputations", "bayes_coefficient_prior_sd",
                     "bayes_random_sd_prior_scale", "bayes_random_sd_prior_df",
                     "bayes_imputations", "bayes_chains", "bayes_warmup",
                     "bayes_draws", "bayes_min_ess"):
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"study B parameter {name} must be positive")
        if self.baseline_window_days < 0:
            raise ConfigurationError("study B parameter baseline_window_days must be >= 0")
        if not self.month_3_day + self.month_3_window_days < (
                self.month_6_day - self.month_6_window_days):
            raise ConfigurationError("study B visit windows overlap: month_3_day + "
                                     "month_3_window_days must be before month_6_day - "
                                     "month_6_window_days")
        if not 0 <= self.moderate_severe_max_grade <= 3:
            raise ConfigurationError("study B parameter moderate_severe_max_grade must be a "
                                     "hip-flexor grade 0-3")
        unknown = set(self.bayes_models) - set(BAYES_MODEL_FAMILIES)
        if unknown:
            raise ConfigurationError(f"study B parameter bayes_models: unknown family "
                                     f"{sorted(unknown)}; known: {list(BAYES_MODEL_FAMILIES)}")
        if self.bayes_chains < 2:
            raise ConfigurationError("study B parameter bayes_chains must be at least 2 "
                                     "(R-hat compares chains)")
        if self.bayes_imputations > self.imputations:
            raise ConfigurationError("study B parameter bayes_imputations must not exceed "
                                     "imputations")
        if self.bayes_max_rhat < 1.0:
            raise ConfigurationError("study B parameter bayes_max_rhat must be >= 1")

    def visit_targets(self) -> dict[str, tuple[int, int]]:
        """Visit -> (target day after baseline, half-width of its window in days)."""
        return {"baseline": (0, self.baseline_window_days),
                "month_3": (self.month_3_day, self.month_3_window_days),
                "month_6": (self.month_6_day, self.month_6_window_days)}

    def as_dict(self) -> dict[str, Any]:
        """The values a release records (lists for tuples, as JSON has them)."""
        values = asdict(self)
        values["alternative_diagnoses"] = list(self.alternative_diagnoses)
        values["bayes_models"] = list(self.bayes_models)
        return values


def load_parameters(path: Path, overrides: Mapping[str, Any] | None = None
                    ) -> StudyBParameters:
    """Parameters from `path`'s [study_b] table (defaults where absent), `overrides` (from
    `imnm refresh --set study_b.NAME=VALUE`) applied over them."""
    return table_settings(StudyBParameters, path, STUDY, overrides)
