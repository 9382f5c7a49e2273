"""Study A (AI-ECG for LVD in IMNM): its parameters and its analyses as pure functions."""

from typing import Final

# Every released result table of study A, in report order: results.study_a_<name>[_history].
RESULT_TABLES: Final[tuple[str, ...]] = (
    "attrition", "accuracy", "roc_curve", "score_by_echo", "logistic", "table1",
    "early_detection", "serial_ecgs", "trajectory", "trajectory_phases", "cox", "km",
    "logrank", "patients",
)
