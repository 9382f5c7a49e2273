"""Study B's visits: per patient and visit (baseline, 3 and 6 months after baseline), the CK
and hip-flexor exam closest to the visit's target day inside its window (ties: the earlier),
the oral prednisone dose in effect, and what is missing; then the baseline values per patient.
Pure functions over the frames inputs.py reads."""

from __future__ import annotations

import numpy as np
import pandas as pd

from imnm.studies.study_b.cohort import hip_flexor_grade
from imnm.studies.study_b.parameters import VISITS, StudyBParameters

VISIT_COLUMNS = (
    "patient_key", "visit", "visit_index", "target_date", "ck_date", "ck_u_l",
    "ck_reduction_percent", "hip_exam_date", "hip_flexor_mrc", "hip_flexor_grade",
    "prednisone_mg", "ck_missing", "hip_flexor_missing", "prednisone_missing",
)


def visit_grid(baselines: pd.DataFrame, params: StudyBParameters) -> pd.DataFrame:
    """One row per patient and visit with the visit's target date and window half-width."""
    targets = params.visit_targets()
    frames = []
    for index, visit in enumerate(VISITS):
        day, half_width = targets[visit]
        frames.append(pd.DataFrame({
            "patient_key": baselines["patient_key"].to_numpy(), "visit": visit,
            "visit_index": np.int32(index),
            "target_date": pd.to_datetime(baselines["baseline_date"]) + pd.Timedelta(days=day),
            "half_width": half_width}))
    return pd.concat(frames, ignore_index=True)


def closest_in_window(grid: pd.DataFrame, measurements: pd.DataFrame, date_col: str,
                      value_cols: list[str]) -> pd.DataFrame:
    """For each grid row, the measurement closest to its target date within its half-width
    (the earlier one on a tie); NaN/NaT where none falls inside."""
    m = measurements[["patient_key", date_col, *value_cols]].copy()
    m[date_col] = pd.to_datetime(m[date_col])
    pairs = grid[["patient_key", "visit", "target_date", "half_width"]].merge(
        m, on="patient_key")
    distance = (pairs[date_col] - pairs["target_date"]).abs().dt.days
    pairs = pairs[distance <= pairs["half_width"]].assign(distance=distance)
    best = (pairs.sort_values(["patient_key", "visit", "distance", date_col])
            .drop_duplicates(["patient_key", "visit"]))
    return grid[["patient_key", "visit"]].merge(
        best[["patient_key", "visit", date_col, *value_cols]], on=["patient_key", "visit"],
        how="left")


def prednisone_in_effect(grid: pd.DataFrame, treatments: pd.DataFrame) -> pd.Series:
    """The oral glucocorticoid dose (mg/day) of the latest-started period covering each grid
    row's target date; 0 for a treated patient with none in effect."""
    oral = treatments[treatments["drug_class"] == "oral_glucocorticoid"].copy()
    oral["start_date"] = pd.to_datetime(oral["start_date"])
    oral["stop_date"] = pd.to_datetime(oral["stop_date"])
    pairs = grid[["patient_key", "visit", "target_date"]].merge(oral, on="patient_key")
    covering = pairs[(pairs["start_date"] <= pairs["target_date"])
                     & (pairs["stop_date"].isna() | (pairs["stop_date"] >= pairs["target_date"]))]
    latest = (covering.sort_values(["patient_key", "visit", "start_date"])
              .drop_duplicates(["patient_key", "visit"], keep="last"))
    dose = grid[["patient_key", "visit"]].merge(
        latest[["patient_key", "visit", "dose_mg"]], on=["patient_key", "visit"], how="left")
    return dose["dose_mg"].fillna(0.0).astype(float)


def build_visits(baselines: pd.DataFrame, ck: pd.DataFrame, hip_flexors: pd.DataFrame,
                 treatments: pd.DataFrame, params: StudyBParameters) -> pd.DataFrame:
    """The long visit table of the cohort (VISIT_COLUMNS): the measurements at each visit,
    the CK reduction from baseline (%), and flags for what is missing."""
    grid = visit_grid(baselines, params)
    keys = set(baselines["patient_key"])
    ck_at = closest_in_window(grid, ck[ck["patient_key"].isin(keys)], "sample_date", ["ck_u_l"])
    hip_at = closest_in_window(grid, hip_flexors[hip_flexors["patient_key"].isin(keys)],
                               "exam_date", ["weaker_mrc_grade"])
    visits = grid.drop(columns="half_width")
    visits["ck_date"] = ck_at["sample_date"].dt.date
    visits["ck_u_l"] = ck_at["ck_u_l"].astype(float)
    visits["hip_exam_date"] = hip_at["exam_date"].dt.date
    visits["hip_flexor_mrc"] = hip_at["weaker_mrc_grade"].astype("Int64")
    visits["hip_flexor_grade"] = hip_flexor_grade(visits["hip_flexor_mrc"])
    dose = prednisone_in_effect(grid, treatments)
    initial = visits["patient_key"].map(
        baselines.set_index("patient_key")["initial_prednisone_mg"])
    # Baseline dose is the initial oral dose (an IVMP pulse may start a day or two before it).
    visits["prednisone_mg"] = dose.where(visits["visit"] != "baseline", initial)
    baseline_ck = visits["patient_key"].map(
        visits[visits["visit"] == "baseline"].set_index("patient_key")["ck_u_l"])
    visits["ck_reduction_percent"] = 100.0 * (1.0 - visits["ck_u_l"] / baseline_ck)
    visits["ck_missing"] = visits["ck_u_l"].isna()
    visits["hip_flexor_missing"] = visits["hip_flexor_grade"].isna()
    visits["prednisone_missing"] = visits["prednisone_mg"].isna()
    visits["target_date"] = visits["target_date"].dt.date
    return visits[list(VISIT_COLUMNS)].sort_values(["patient_key", "visit_index"],
                                                    ignore_index=True)
