"""Analyse: build study A's analysis-ready tables from core and scores, and run its analyses.

The analysis layer (`analysis.study_a_*`) is rebuilt in the warehouse for the current model
version and parameters; the released copies are written by the publish stage.
"""

from __future__ import annotations

import json
import time

import duckdb
import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from imnm.study_a.analysis import StudyAResults, run_study_a
from imnm.study_a.parameters import StudyAParameters
from tasks.context import RunContext
from warehouse.db import open_warehouse, sql

# Analysis-ready tables rebuilt by every refresh (schema in migration 012).
ANALYSIS_TABLES = ("study_a_cohort", "study_a_serial_ecgs", "study_a_attrition")


def read_study_a_inputs(con: duckdb.DuckDBPyConnection, model_version: str,
                        params: StudyAParameters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(candidates, serial ECGs) for `model_version` under the parameters' windows."""
    candidates = con.execute(sql("select_study_a_candidates"), {
        "model_version": model_version,
        "ecg_window_days": params.ecg_window_days,
        "echo_window_days": params.echo_window_days,
        "baseline_window_days": params.baseline_window_days,
    }).df()
    serial = con.execute(sql("select_study_a_serial_ecgs"), {
        "model_version": model_version, "window_years": params.trajectory_window_years,
    }).df()
    return candidates, serial


def write_analysis_tables(con: duckdb.DuckDBPyConnection, ctx: RunContext, model_version: str,
                          params: StudyAParameters, results: StudyAResults) -> None:
    """Replace the analysis layer's rows in one transaction, with what built them."""
    frames = {"study_a_cohort": results.cohort, "study_a_serial_ecgs": results.serial_ecgs,
              "study_a_attrition": results.tables["study_a_attrition"]}
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ANALYSIS_TABLES:
            con.execute(f"DELETE FROM analysis.{table}")
            if len(frames[table]):
                con.register("analysis_rows", frames[table])
                con.execute(f"INSERT INTO analysis.{table} BY NAME SELECT * FROM analysis_rows")
                con.unregister("analysis_rows")
        con.execute("DELETE FROM analysis.study_a_build")
        con.execute(sql("insert_study_a_build"),
                    [ctx.run_id, model_version, json.dumps(params.as_dict())])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


@task(name="run study analyses", cache_policy=NO_CACHE)
def run_study_analyses(ctx: RunContext, model_version: str, params: StudyAParameters
                       ) -> StudyAResults:
    """Study A in full on the current core and the current model's scores."""
    logger = get_run_logger()
    started = time.perf_counter()
    with open_warehouse(ctx.paths.warehouse) as con:
        candidates, serial = read_study_a_inputs(con, model_version, params)
        results = run_study_a(candidates, serial, params, model_version)
        write_analysis_tables(con, ctx, model_version, params, results)
    for note in results.notes:
        logger.warning(note)
    accuracy = results.accuracy
    if accuracy:
        logger.info("study A: n=%d (LVD %d), AUC %.3f (%.3f-%.3f)", accuracy["n_patients"],
                    accuracy["n_lvd"], accuracy["auc"], accuracy["auc_ci_low"],
                    accuracy["auc_ci_high"])
    logger.info("study A: %d cohort patients, %d result tables in %.1f s", len(results.cohort),
                len(results.tables), time.perf_counter() - started)
    return results
