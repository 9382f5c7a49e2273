"""Study A computed independently in R (r/study_a_reference.R beside this file), for
cross-checks.

R sees the same rows as the platform and computes every result with R's own functions
(pROC, stats, survival); only the study's rules (cutoffs, test choices, model terms) are
shared. Results come back as data frames keyed like the R script's ``out_<name>.csv``:

- ``accuracy``: one row per cutoff_rule (configured, youden): AUC with DeLong CI, the 2x2,
  sensitivity/specificity/PPV/NPV with Wilson CIs, odds ratio (Woolf CI, Haldane +0.5 when
  a cell is 0) and Fisher p. ``cutoff`` for youden is pROC's midpoint threshold;
  ``youden_cutoff_observed`` is the largest observed score below it (same 2x2 with ``>``).
- ``roc``: pROC's curve points (threshold, sensitivity, specificity; thresholds are midpoints
  between distinct scores, with -inf and inf at the ends).
- ``score_by_echo``: P(LVD) n, median, quartiles (type 7) for lvd and no_lvd, Wilcoxon W, p.
- ``logistic``: echo LVD on the model's call, univariable and adjusted (OR, Wald CI and p).
- ``table1``: variable, level, test (welch_t, mann_whitney, chi_square, fisher_exact), p.
- ``trajectory`` (one row) and ``trajectory_phases`` (one row per phase) of the serial ECGs.
- ``cox`` (HR, CI, p, PH test per term), ``km`` (log-log CIs) and ``logrank``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.support.rscript import run_r_script

R_DIR = Path(__file__).resolve().parent / "r"

COHORT_COLUMNS = (
    "patient_key", "p_lvd", "model_predicts_lvd", "echo_lvd_flag", "age_at_diagnosis", "sex",
    "hypertension", "diabetes", "hdl_c_mg_dl", "ascvd_10y_risk_percent", "statin_use",
    "serotype", "seropositive", "respiratory_involvement", "restrictive_pulmonary",
    "followup_years", "died",
)  # fmt: skip
SERIAL_COLUMNS = ("patient_key", "years_from_treatment_onset", "phase", "p_lvd")
OUTPUTS = (
    "accuracy", "roc", "score_by_echo", "logistic", "table1", "trajectory",
    "trajectory_phases", "cox", "km", "logrank",
)  # fmt: skip


def run_study_a_in_r(
    cohort: pd.DataFrame,
    serial: pd.DataFrame,
    cutoff: float,
    confidence: float,
    normality_alpha: float,
    workdir: Path,
) -> dict[str, pd.DataFrame]:
    """Run r/study_a_reference.R on one row per cohort patient and the serial ECGs.

    Skips without Rscript (fails under CI=1); raises AssertionError if R fails or an output
    is missing. Extra columns are ignored; a missing one is a KeyError.
    """
    inputs = {
        "cohort": cohort.loc[:, list(COHORT_COLUMNS)],
        "serial": serial.loc[:, list(SERIAL_COLUMNS)],
        "params": pd.DataFrame(
            [{"cutoff": cutoff, "confidence": confidence, "normality_alpha": normality_alpha}]
        ),
    }
    out = run_r_script(R_DIR / "study_a_reference.R", inputs, workdir)
    missing = sorted(set(OUTPUTS) - set(out))
    assert not missing, f"study_a_reference.R wrote no {missing}"
    return out
