"""Study statistics: diagnostic accuracy (ROC/DeLong, 2x2 at a cutoff, odds ratio) and survival
(Cox hazard ratios, Kaplan-Meier with log-rank). Pure functions returning frozen dataclasses."""

from imnm.stats.diagnostic import (
    ConfusionAtCutoff,
    MannWhitney,
    MedianIqr,
    OddsRatio,
    Proportion,
    RocAuc,
    RocCurve,
    confusion_at_cutoff,
    mann_whitney,
    median_iqr,
    odds_ratio_2x2,
    roc_auc_delong,
    roc_curve,
    wilson_interval,
    youden_cutoff,
)
from imnm.stats.survival import (
    HazardRatio,
    KaplanMeierCurve,
    KaplanMeierResult,
    cox_hazard_ratios,
    kaplan_meier_by_group,
)

__all__ = [
    "ConfusionAtCutoff",
    "HazardRatio",
    "KaplanMeierCurve",
    "KaplanMeierResult",
    "MannWhitney",
    "MedianIqr",
    "OddsRatio",
    "Proportion",
    "RocAuc",
    "RocCurve",
    "confusion_at_cutoff",
    "cox_hazard_ratios",
    "kaplan_meier_by_group",
    "mann_whitney",
    "median_iqr",
    "odds_ratio_2x2",
    "roc_auc_delong",
    "roc_curve",
    "wilson_interval",
    "youden_cutoff",
]
