"""Analyse: for every registered study, read its inputs from core and scores, run its
analyses, and rebuild its analysis-ready tables (`analysis.<study>_*`) in one transaction with
what built them (`analysis.study_builds`). The released copies are written by publish.

A study whose inputs, parameters, model version, statistics code and libraries are those of
its kept results (`imnm/studies/result_sets.py`) is not analysed again: its kept results are
used, and the summary says from which run."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator, Mapping

import duckdb
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from imnm.refresh.context import RunContext
from imnm.refresh.retries import IO_RETRIES
from imnm.studies.base import Study, StudyParameters, StudyResults
from imnm.studies.registry import get_study
from imnm.studies.result_sets import (
    keep_results,
    read_kept_results,
    results_fingerprint,
    reused_headline,
)
from warehouse.db import insert_frame, open_warehouse, sql, transaction


def write_analysis_tables(con: duckdb.DuckDBPyConnection, run_id: str, study: Study,
                          model_version: str, params: StudyParameters,
                          results: StudyResults, kept: tuple[str, float] | None = None
                          ) -> None:
    """Replace the study's analysis-ready rows in one transaction, with what built them (and,
    given `kept` = (fingerprint, seconds), the results kept for the next refresh)."""
    with transaction(con):
        for name in study.analysis_tables:
            table = study.analysis_table(name)
            con.execute(f"DELETE FROM {table}")  # a name from the study's fixed table list
            insert_frame(con, table, results.analysis_tables[name])
        record_study_build(con, run_id, study, model_version, params)
        if kept is not None:
            keep_results(con, study.name, kept[0], run_id, kept[1], results)


def record_study_build(con: duckdb.DuckDBPyConnection, run_id: str, study: Study,
                       model_version: str, params: StudyParameters) -> None:
    """Record which run, model and parameters the study's analysis-ready tables stand for."""
    con.execute(sql("insert_study_build"),
                [study.name, run_id, model_version, json.dumps(params.as_dict())])


def analyse_study(con: duckdb.DuckDBPyConnection, run_id: str, study: Study,
                  model_version: str, params: StudyParameters) -> StudyResults:
    """One study's results on the current core: its kept results when nothing they depend on
    changed, else its analyses run again (and kept)."""
    started = time.perf_counter()
    inputs = study.read_inputs(con, model_version, params)
    fingerprint = results_fingerprint(study.name, inputs, params.as_dict(), model_version)
    kept = read_kept_results(con, study.name, fingerprint)
    if kept is not None:  # its analysis-ready tables are those of the run that kept them
        record_study_build(con, run_id, study, model_version, params)
        return StudyResults(kept.results.tables, {}, kept.results.notes,
                            reused_headline(kept))
    results = study.run_analyses(inputs, params, model_version)
    write_analysis_tables(con, run_id, study, model_version, params, results,
                          kept=(fingerprint, time.perf_counter() - started))
    return results


# The studies' own progress (each model they fit, say) is logged here.
STUDIES_LOGGER = "imnm.studies"


class _ToRunLogger(logging.Handler):
    """Hands each record of the studies' logger on to the run's logger."""

    def __init__(self, run_logger: logging.Logger | logging.LoggerAdapter) -> None:
        super().__init__(logging.INFO)
        self.run_logger = run_logger

    def emit(self, record: logging.LogRecord) -> None:
        self.run_logger.log(record.levelno, "%s", record.getMessage())


@contextlib.contextmanager
def studies_logging_to(run_logger: logging.Logger | logging.LoggerAdapter) -> Iterator[None]:
    """While inside, the studies' INFO and louder records reach the run's log."""
    studies = logging.getLogger(STUDIES_LOGGER)
    handler, level, propagate = _ToRunLogger(run_logger), studies.level, studies.propagate
    studies.addHandler(handler)
    studies.setLevel(logging.INFO)
    studies.propagate = False  # once, through the run's logger
    try:
        yield
    finally:
        studies.removeHandler(handler)
        studies.setLevel(level)
        studies.propagate = propagate


@task(name="run study analyses", cache_policy=NO_CACHE, **IO_RETRIES)
def run_study_analyses(ctx: RunContext, model_version: str,
                       params: Mapping[str, StudyParameters]) -> dict[str, StudyResults]:
    """Every registered study in full on the current core and the current model's scores."""
    logger = get_run_logger()
    analysed: dict[str, StudyResults] = {}
    with open_warehouse(ctx.paths.warehouse) as con, studies_logging_to(logger):
        for name, study_params in params.items():
            study = get_study(name)
            started = time.perf_counter()
            results = analyse_study(con, ctx.run_id, study, model_version, study_params)
            for note in results.notes:
                logger.warning("%s: %s", study.name, note)
            for line in results.headline:
                logger.info("%s: %s", study.name, line)
            logger.info("%s analysed in %.1f s", study.name, time.perf_counter() - started)
            analysed[name] = results
    return analysed
