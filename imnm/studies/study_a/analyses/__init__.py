"""All of study A on its inputs: selection with attrition, then every analysis, as result tables.

An analysis the data cannot support (too few patients, a single group, separation) is left out
with a note saying why; the others still run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from imnm.studies.base import StudyResults, attempt
from imnm.studies.study_a.analyses.accuracy import (
    accuracy_rows,
    logistic_rows,
    roc_points,
    score_by_echo,
)
from imnm.studies.study_a.analyses.early_detection import early_detection
from imnm.studies.study_a.analyses.mortality import cox_rows, kaplan_meier_rows
from imnm.studies.study_a.analyses.table1 import table1
from imnm.studies.study_a.analyses.trajectory import treatment_trajectory
from imnm.studies.study_a.cohort import apply_selection
from imnm.studies.study_a.inputs import StudyAInputs
from imnm.studies.study_a.parameters import StudyAParameters

# Released per patient: the selection, the model's call, the gold standard and the outcome.
PATIENT_COLUMNS = (
    "patient_key", "site", "ecg_id", "ecg_date", "model_version", "p_lvd",
    "model_predicts_lvd", "echo_date", "echo_lvd_flag", "followup_years", "died",
    "age_at_diagnosis", "sex", "serotype", "ascvd_10y_risk_percent",
    "cardiorespiratory_symptoms", "death_cause",
)
SERIAL_ECG_COLUMNS = ("patient_key", "ecg_id", "years_from_treatment_onset", "phase", "p_lvd")


@dataclass(frozen=True)
class StudyAResults:
    """Study A's result tables (keyed by result table name), its analysis-ready tables and
    notes on analyses left out."""

    tables: dict[str, pd.DataFrame]
    cohort: pd.DataFrame
    serial_ecgs: pd.DataFrame
    notes: tuple[str, ...]

    @property
    def accuracy(self) -> dict[str, Any] | None:
        """The configured cutoff's accuracy row, if the accuracy analysis ran."""
        rows = self.tables.get("accuracy")
        if rows is None or rows.empty:
            return None
        return rows[rows["cutoff_rule"] == "configured"].iloc[0].to_dict()


def run_study_a(candidates: pd.DataFrame, serial: pd.DataFrame, params: StudyAParameters,
                model_version: str) -> StudyAResults:
    """Select the cohort and run every analysis of study A on it."""
    notes: list[str] = []
    cohort, attrition = apply_selection(candidates, params)
    tables: dict[str, pd.DataFrame] = {"attrition": attrition}
    simple: dict[str, Callable[[], pd.DataFrame]] = {
        "accuracy": lambda: accuracy_rows(cohort, params),
        "roc_curve": lambda: roc_points(cohort),
        "score_by_echo": lambda: score_by_echo(cohort),
        "table1": lambda: table1(cohort, params),
        "early_detection": lambda: early_detection(cohort, params),
    }
    for table, compute in simple.items():
        frame = attempt(table.replace("_", " "), notes, compute)
        if frame is not None:
            tables[table] = frame
    trajectory = attempt("treatment trajectory", notes,
                          lambda: treatment_trajectory(serial, cohort["patient_key"], params))
    serial_ecgs = pd.DataFrame(columns=list(SERIAL_ECG_COLUMNS))
    if trajectory is not None:
        serial_ecgs = trajectory.serial_ecgs
        tables["serial_ecgs"] = serial_ecgs[list(SERIAL_ECG_COLUMNS)]
        tables["trajectory"] = trajectory.trend
        tables["trajectory_phases"] = trajectory.phases
    for table, (frame, model_notes) in (("logistic", logistic_rows(cohort, params)),
                                        ("cox", cox_rows(cohort, params))):
        notes.extend(model_notes)
        if not frame.empty:
            tables[table] = frame
    km = attempt("Kaplan-Meier", notes, lambda: kaplan_meier_rows(cohort, params))
    if km is not None:
        tables["km"], tables["logrank"] = km
    tables["patients"] = cohort.assign(model_version=model_version)[
        list(PATIENT_COLUMNS)]
    return StudyAResults(tables, cohort, serial_ecgs, tuple(notes))



def headline(results: StudyAResults, params: StudyAParameters) -> tuple[str, ...]:
    """What the refresh summary prints for study A: the discrimination for echo-defined LVD
    and the cohort."""
    lines = []
    accuracy = results.accuracy
    if accuracy:
        lines.append(f"AUC for echo-defined LVD: {accuracy['auc']:.3f} "
                     f"({params.confidence:.0%} CI {accuracy['auc_ci_low']:.3f}-"
                     f"{accuracy['auc_ci_high']:.3f}), n={accuracy['n_patients']} "
                     f"(LVD {accuracy['n_lvd']})")
    lines.append(f"{len(results.cohort)} cohort patients, {len(results.tables)} result tables")
    return tuple(lines)


def run_analyses(inputs: StudyAInputs, params: StudyAParameters, model_version: str
                 ) -> StudyResults:
    """Study A in full, in the shape every study returns to the refresh."""
    results = run_study_a(inputs.candidates, inputs.serial, params, model_version)
    return StudyResults(
        tables=results.tables,
        analysis_tables={"cohort": results.cohort, "serial_ecgs": results.serial_ecgs,
                         "attrition": results.tables["attrition"]},
        notes=results.notes, headline=headline(results, params))
