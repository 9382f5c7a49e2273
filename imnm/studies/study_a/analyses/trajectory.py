"""Treatment trajectory: P(LVD) of serial ECGs against years from treatment onset, for cohort
patients with ECGs both before and on immunotherapy (pooled regression, per-phase summaries)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from imnm.stats.regression import linear_trend
from imnm.studies.study_a.parameters import StudyAParameters

PHASES = ("before_treatment", "on_treatment")


@dataclass(frozen=True)
class Trajectory:
    """The serial ECGs analysed, the pooled trend, and per-phase summaries."""

    serial_ecgs: pd.DataFrame
    trend: pd.DataFrame
    phases: pd.DataFrame


def eligible_serial_ecgs(serial: pd.DataFrame, cohort_keys: pd.Series) -> pd.DataFrame:
    """Cohort patients' ECGs, phased, for patients with at least one ECG in each phase."""
    ecgs = serial[serial["patient_key"].isin(set(cohort_keys))].copy()
    ecgs["phase"] = np.where(ecgs["years_from_treatment_onset"] < 0, PHASES[0], PHASES[1])
    phases_seen = ecgs.groupby("patient_key")["phase"].nunique()
    both = phases_seen[phases_seen == len(PHASES)].index
    ecgs = ecgs[ecgs["patient_key"].isin(both)].reset_index(drop=True)
    return ecgs[["patient_key", "ecg_id", "ecg_date", "treatment_onset_date",
                 "years_from_treatment_onset", "phase", "p_lvd"]]


def _patient_slope(group: pd.DataFrame) -> float:
    years = group["years_from_treatment_onset"].to_numpy(dtype=float)
    if np.unique(years).size < 2:
        return float("nan")
    return float(np.polyfit(years, 100.0 * group["p_lvd"].to_numpy(dtype=float), 1)[0])


def treatment_trajectory(serial: pd.DataFrame, cohort_keys: pd.Series,
                         params: StudyAParameters) -> Trajectory:
    """Pooled OLS of P(LVD) % on years from treatment onset, the median per-patient slope,
    and P(LVD) % per phase."""
    ecgs = eligible_serial_ecgs(serial, cohort_keys)
    if ecgs.empty:
        raise ValueError("no cohort patient has scored ECGs both before and on treatment")
    percent = pd.DataFrame({
        "years": ecgs["years_from_treatment_onset"].to_numpy(dtype=float),
        "p_lvd_percent": 100.0 * ecgs["p_lvd"].to_numpy(dtype=float)})
    trend = linear_trend(percent, "years", "p_lvd_percent", params.confidence)
    slopes = [_patient_slope(g) for _, g in ecgs.groupby("patient_key")]
    trend_row = pd.DataFrame([{
        "n_patients": int(ecgs["patient_key"].nunique()), "n_ecgs": len(ecgs),
        "slope_percent_per_year": trend.slope, "slope_ci_low": trend.slope_ci_low,
        "slope_ci_high": trend.slope_ci_high, "intercept_percent": trend.intercept,
        "pearson_r": trend.pearson_r, "p_value": trend.p_value,
        "median_patient_slope": float(np.nanmedian(slopes)),
        "window_years": params.trajectory_window_years}])
    phase_rows = []
    for phase in PHASES:
        rows = ecgs[ecgs["phase"] == phase]
        values = 100.0 * rows["p_lvd"].to_numpy(dtype=float)
        phase_rows.append({
            "phase": phase, "n_patients": int(rows["patient_key"].nunique()),
            "n_ecgs": len(rows), "mean_p_lvd_percent": float(values.mean()),
            "sd_p_lvd_percent": float(values.std(ddof=1)) if values.size > 1 else None,
            "median_p_lvd_percent": float(np.median(values))})
    return Trajectory(ecgs, trend_row, pd.DataFrame(phase_rows))
