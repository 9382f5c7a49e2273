"""Study A's inputs from core and scores: the candidates of its selection and the serial ECGs
of its treatment trajectory (SQL in warehouse/sql/study_a/)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from imnm.studies.study_a.parameters import StudyAParameters
from warehouse.db import sql


@dataclass(frozen=True)
class StudyAInputs:
    """One row per diagnosed patient (`candidates`) and every scored ECG of the treated
    patients around treatment onset (`serial`)."""

    candidates: pd.DataFrame
    serial: pd.DataFrame


def read_inputs(con: duckdb.DuckDBPyConnection, model_version: str,
                params: StudyAParameters) -> StudyAInputs:
    """Study A's inputs for `model_version` under the parameters' windows and LVD findings."""
    candidates = con.execute(sql("study_a/select_candidates"), {
        "model_version": model_version,
        "ecg_window_days": params.ecg_window_days,
        "echo_window_days": params.echo_window_days,
        "baseline_window_days": params.baseline_window_days,
        "lvd_findings": list(params.lvd_findings),
    }).df()
    serial = con.execute(sql("study_a/select_serial_ecgs"), {
        "model_version": model_version, "window_years": params.trajectory_window_years,
    }).df()
    return StudyAInputs(candidates, serial)
