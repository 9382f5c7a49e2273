"""Study statistics: diagnostic accuracy (ROC/DeLong, 2x2 at a cutoff, odds ratio), group
comparisons, regression, pooling over imputations (Rubin's rules) and survival (Cox hazard
ratios, Kaplan-Meier with log-rank). Pure functions returning frozen dataclasses, with one call
shape for every test and model over rows: a frame, the names of its columns in their roles, and
`confidence` (see `wald.py`)."""

from imnm.stats.ascvd import AscvdRisk, ascvd_risk_frame, pooled_cohort_risk
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
from imnm.stats.group_compare import (
    GroupComparison,
    MeanSd,
    compare_binary,
    compare_continuous,
    group_summary,
    mean_sd,
)
from imnm.stats.imputation import PooledEstimate, rubin_pool
from imnm.stats.regression import LinearTrend, OddsRatioTerm, linear_trend, logistic_odds_ratios
from imnm.stats.survival import (
    HazardRatio,
    KaplanMeierCurve,
    KaplanMeierResult,
    cox_hazard_ratios,
    kaplan_meier_by_group,
)

__all__ = [
    "AscvdRisk",
    "ConfusionAtCutoff",
    "GroupComparison",
    "HazardRatio",
    "KaplanMeierCurve",
    "KaplanMeierResult",
    "LinearTrend",
    "MannWhitney",
    "MeanSd",
    "MedianIqr",
    "OddsRatio",
    "OddsRatioTerm",
    "PooledEstimate",
    "Proportion",
    "RocAuc",
    "RocCurve",
    "ascvd_risk_frame",
    "compare_binary",
    "compare_continuous",
    "confusion_at_cutoff",
    "cox_hazard_ratios",
    "group_summary",
    "kaplan_meier_by_group",
    "linear_trend",
    "logistic_odds_ratios",
    "mann_whitney",
    "mean_sd",
    "median_iqr",
    "odds_ratio_2x2",
    "pooled_cohort_risk",
    "roc_auc_delong",
    "roc_curve",
    "rubin_pool",
    "wilson_interval",
    "youden_cutoff",
]
