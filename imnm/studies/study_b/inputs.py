"""Study B's inputs from core: the pathology-based candidates, the patients' facts, their
treatments, CK and hip-flexor exams (SQL in warehouse/sql/study_b/), and the Bayesian fits the
previous refresh cached. The cohort, baseline and visits are derived from these by pure
functions (cohort.py, visits.py, baseline.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from imnm.studies.study_b.parameters import TREATMENT_CLASSES, StudyBParameters
from warehouse.db import sql


@dataclass(frozen=True)
class StudyBInputs:
    """What study B reads from core, one frame per kind of record."""

    candidates: pd.DataFrame   # one row per patient with a necrotizing-myopathy biopsy
    patients: pd.DataFrame     # one row per patient with clinical records
    treatments: pd.DataFrame   # glucocorticoid, IVMP, IVIG and csDMARD periods
    ck: pd.DataFrame           # CK measurements
    hip_flexors: pd.DataFrame  # hip-flexor exams: weaker side's MRC grade per date
    # The fit cache: it saves refitting and never changes a result, so it is no part of the
    # results' fingerprint (imnm/studies/result_sets.py).
    bayes_fits: dict[str, dict[str, Any]] = field(default_factory=dict,
                                                  metadata={"fingerprint": False})


def read_inputs(con: duckdb.DuckDBPyConnection, model_version: str,
                params: StudyBParameters) -> StudyBInputs:
    """Study B's inputs under the parameters' biopsy window (the AI-ECG model plays no part)."""
    del model_version  # study B uses no ECG scores
    candidates = con.execute(sql("study_b/select_biopsy_candidates"), {
        "biopsy_from": params.biopsy_from, "biopsy_to": params.biopsy_to}).df()
    return StudyBInputs(
        candidates=candidates,
        patients=con.execute(sql("study_b/select_patients")).df(),
        treatments=con.execute(sql("study_b/select_treatments"),
                               {"drug_classes": list(TREATMENT_CLASSES)}).df(),
        ck=con.execute(sql("study_b/select_ck")).df(),
        hip_flexors=con.execute(sql("study_b/select_hip_flexor_exams")).df(),
        bayes_fits={key: {"fit_id": fit_id, "fit_seconds": seconds,
                          "outputs": json.loads(outputs)}
                    for key, fit_id, seconds, outputs in con.execute(
                        sql("study_b/select_bayes_fits")).fetchall()},
    )
