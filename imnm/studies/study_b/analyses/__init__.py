"""All of study B on its inputs: selection with attrition, baseline and visits, then every
analysis as result tables (docs/study-b.md).

An analysis the data cannot support (too few patients, a constant predictor) is left out with
a note saying why; the others still run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from imnm.studies.base import StudyResults, attempt
from imnm.studies.study_b.analyses.bayesian import BayesOutputs, bayesian_analyses
from imnm.studies.study_b.analyses.ck import (
    ck_by_visit,
    ck_reduction,
    follow_up_frame,
    imputed_cohorts,
    multivariable_models,
    univariable_models,
)
from imnm.studies.study_b.analyses.comparisons import (
    baseline_comparisons,
    hip_flexor_by_group,
    prednisone_by_early_ivig,
)
from imnm.studies.study_b.analyses.missing import missing_data
from imnm.studies.study_b.analyses.ordinal import ordinal_models
from imnm.studies.study_b.analyses.table1 import table1
from imnm.studies.study_b.baseline import build_cohort
from imnm.studies.study_b.cohort import initial_treatment, select_cohort
from imnm.studies.study_b.inputs import StudyBInputs
from imnm.studies.study_b.parameters import StudyBParameters
from imnm.studies.study_b.visits import build_visits

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudyBResults:
    """Study B's result tables (keyed by result table name), its analysis-ready tables and
    notes on analyses left out."""

    tables: dict[str, pd.DataFrame]
    cohort: pd.DataFrame
    visits: pd.DataFrame
    notes: tuple[str, ...]
    bayes: BayesOutputs | None = None


def _numbered(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame.insert(0, "row_order", np.arange(len(frame), dtype=np.int32))
    return frame


def prepare(inputs: StudyBInputs, params: StudyBParameters
            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The analysis-ready data: (cohort with baseline, visits, attrition)."""
    initial = initial_treatment(inputs.treatments, inputs.patients, params)
    keys, attrition = select_cohort(inputs.candidates, pd.Index(initial["patient_key"]),
                                    params)
    selected = initial[initial["patient_key"].isin(keys)]
    visits = build_visits(selected, inputs.ck, inputs.hip_flexors, inputs.treatments, params)
    cohort = build_cohort(keys, inputs.candidates, inputs.patients, selected, visits, params)
    return cohort, visits, attrition


def run_study_b(inputs: StudyBInputs, params: StudyBParameters, *, bayesian: bool = True
                ) -> StudyBResults:
    """Select the cohort and run every analysis of study B on it (the Bayesian engine's fits
    too, unless `bayesian` is False)."""
    notes: list[str] = []
    cohort, visits, attrition = prepare(inputs, params)
    tables: dict[str, pd.DataFrame] = {"attrition": attrition}
    if len(cohort) < 3:
        notes.append(f"{len(cohort)} patients selected: too few for any analysis")
        return StudyBResults(tables, cohort, visits, tuple(notes))
    simple: dict[str, Callable[[], pd.DataFrame]] = {
        "table1": lambda: table1(cohort, params),
        "missing_data": lambda: missing_data(cohort, visits),
        "baseline_comparisons": lambda: baseline_comparisons(cohort, params),
        "ck_reduction": lambda: ck_reduction(visits, params.confidence),
        "ck_by_visit": lambda: ck_by_visit(cohort, visits),
        "hip_flexor": lambda: hip_flexor_by_group(cohort, visits, params),
        "prednisone": lambda: prednisone_by_early_ivig(cohort, visits, params),
    }
    for table, compute in simple.items():
        frame = attempt(table.replace("_", " "), notes, compute)
        if frame is not None:
            tables[table] = frame
    frame = follow_up_frame(cohort, visits)
    terms, levels, model_notes, _ = univariable_models(frame, params)
    notes.extend(model_notes)
    completed = imputed_cohorts(cohort, visits, params)
    multivariable, explained, mv_notes = multivariable_models(completed, visits, params)
    notes.extend(mv_notes)
    ordinal, ordinal_notes = ordinal_models(cohort, visits, params)
    notes.extend(ordinal_notes)
    bayes = None
    if bayesian:
        bayes = bayesian_analyses(cohort, visits, completed, params, inputs.bayes_fits,
                                  progress=LOGGER.info)
        notes.extend(bayes.notes)
    by_engine = {"ck_models": [*terms, *multivariable, *(bayes.ck_models if bayes else [])],
                 "ck_level_means": [*levels, *(bayes.ck_level_means if bayes else [])],
                 "ordinal_models": [*ordinal.to_dict("records"),
                                    *(bayes.ordinal_models if bayes else [])],
                 "ck_explained_variation": [*explained,
                                            *(bayes.explained_variation if bayes else [])],
                 "bayes_diagnostics": bayes.diagnostics if bayes else []}
    for table, rows in by_engine.items():
        if rows:
            tables[table] = _numbered(rows)
    return StudyBResults(tables, cohort, visits, tuple(notes), bayes)


def headline(results: StudyBResults) -> tuple[str, ...]:
    """What the refresh summary prints for study B: the cohort and the CK reduction."""
    lines = []
    reduction = results.tables.get("ck_reduction")
    if reduction is not None and not reduction.empty:
        parts = [f"{row.visit.replace('_', ' ')} {row.mean_reduction_percent:.0f}% (n={row.n})"
                 for row in reduction.itertuples()]
        lines.append("mean CK reduction from baseline: " + ", ".join(parts))
    if results.bayes is not None:
        diagnostics = results.tables.get("bayes_diagnostics")
        failed = 0 if diagnostics is None else int((~diagnostics["passed"]).sum())
        lines.append(f"Bayesian fits: {results.bayes.fitted} fitted "
                     f"({results.bayes.fit_seconds:.0f} s), {results.bayes.reused} reused "
                     f"unchanged; {failed} failed diagnostics")
    lines.append(f"{len(results.cohort)} cohort patients, {len(results.tables)} result tables")
    return tuple(lines)


def fit_cache_table(results: StudyBResults) -> pd.DataFrame:
    """analysis.study_b_bayes_fits: every Bayesian fit this refresh used, for the next one."""
    entries = results.bayes.cache if results.bayes is not None else {}
    return pd.DataFrame({
        "fit_key": list(entries), "fit_id": [e["fit_id"] for e in entries.values()],
        "fit_seconds": [float(e["fit_seconds"]) for e in entries.values()],
        "outputs": [json.dumps(e["outputs"], sort_keys=True) for e in entries.values()]})


def run_analyses(inputs: StudyBInputs, params: StudyBParameters, model_version: str
                 ) -> StudyResults:
    """Study B in full, in the shape every study returns to the refresh."""
    del model_version  # study B uses no ECG scores
    results = run_study_b(inputs, params)
    return StudyResults(
        tables=results.tables,
        analysis_tables={"cohort": results.cohort, "visits": results.visits,
                         "attrition": results.tables["attrition"],
                         "bayes_fits": fit_cache_table(results)},
        notes=results.notes, headline=headline(results))
