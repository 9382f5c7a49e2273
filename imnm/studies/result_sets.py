"""A study's results kept by the fingerprint of what made them, so a refresh whose study
inputs, parameters, model version, statistics code and library versions did not change reuses
the last results instead of running every analysis again (`analysis.study_result_sets`).

The fingerprint covers every field of the study's inputs except those marked
`field(metadata={"fingerprint": False})`: caches that only save time (a study's own fit cache,
say) and never change a result. Result tables are kept as Arrow IPC streams, so they come back
with the column types they had; the analysis-ready tables the same run wrote stay in
`analysis.<study>_*` and are not rewritten when the results are reused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from imnm.settings import REPO_ROOT
from imnm.studies.base import StudyResults
from imnm.version import files_digest
from warehouse.db import sql

# The code a study's results depend on beyond its inputs: every study's package, the
# statistics, and the dependency lock (every library version). A change to any of these
# computes every study again; a change elsewhere (the CLI, ingestion) does not.
_PACKAGE_DIR: Final[Path] = Path(__file__).resolve().parents[1]
CODE_DIRS: Final[tuple[Path, ...]] = (_PACKAGE_DIR / "studies", _PACKAGE_DIR / "stats")
LOCK_FILE: Final[Path] = REPO_ROOT / "uv.lock"

# The kind of every kept table (the analysis-ready tables stay where they are).
RESULT = "result"


@dataclass(frozen=True)
class KeptResults:
    """A study's kept results: the run that computed them, how long it took, and the results."""

    run_id: str
    analysed_seconds: float
    results: StudyResults


@cache
def code_digest() -> str:
    """sha256 over the studies' and statistics' source files and the dependency lock."""
    return files_digest([*(p for d in CODE_DIRS for p in d.rglob("*.py")), LOCK_FILE])


def _frame_parts(frame: pd.DataFrame) -> Iterator[bytes]:
    yield json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode()
    try:
        hashed = pd.util.hash_pandas_object(frame, index=False)
    except TypeError:  # unhashable cells (lists, dicts): their JSON text instead
        yield frame.to_json(orient="split", index=False, date_format="iso").encode()
        return
    yield np.ascontiguousarray(hashed.to_numpy()).tobytes()


def _value_parts(value: Any) -> Iterator[bytes]:
    """Bytes that change whenever `value` does (frames, arrays, dataclasses, mappings,
    sequences and JSON scalars)."""
    if isinstance(value, pd.DataFrame):
        yield b"frame"
        yield from _frame_parts(value)
    elif isinstance(value, np.ndarray):
        yield f"array {value.dtype} {value.shape}".encode()
        yield np.ascontiguousarray(value).tobytes()
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield f"dataclass {type(value).__qualname__}".encode()
        for item in dataclasses.fields(value):
            if item.metadata.get("fingerprint", True):
                yield item.name.encode()
                yield from _value_parts(getattr(value, item.name))
    elif isinstance(value, Mapping):
        yield b"mapping"
        for key in sorted(value, key=str):
            yield str(key).encode()
            yield from _value_parts(value[key])
    elif isinstance(value, list | tuple):
        yield f"sequence {len(value)}".encode()
        for item in value:
            yield from _value_parts(item)
    else:
        yield json.dumps(value, default=str, sort_keys=True).encode()


def results_fingerprint(study: str, inputs: Any, parameters: Mapping[str, Any],
                        model_version: str) -> str:
    """sha256 of everything a study's results depend on: its inputs, parameters, the model
    version, the statistics code, the locked libraries and the Python that runs them."""
    digest = hashlib.sha256()
    for part in (study, model_version, code_digest(), sys.version.split()[0],
                 json.dumps(parameters, default=str, sort_keys=True)):
        digest.update(part.encode())
        digest.update(b"\0")
    for part in _value_parts(inputs):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def frame_to_ipc(frame: pd.DataFrame) -> bytes:
    """A frame as an Arrow IPC stream (pandas' column types kept in its schema)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def frame_from_ipc(blob: bytes) -> pd.DataFrame:
    """The frame frame_to_ipc wrote."""
    with pa.ipc.open_stream(pa.BufferReader(blob)) as reader:
        return reader.read_all().to_pandas()


def read_kept_results(con: duckdb.DuckDBPyConnection, study: str, fingerprint: str
                      ) -> KeptResults | None:
    """The study's kept results if they were made from `fingerprint`, else None."""
    row = con.execute(sql("select_study_result_set"), [study]).fetchone()
    if row is None or row[0] != fingerprint:
        return None
    _, run_id, seconds, notes, headline = row
    tables = {name: frame_from_ipc(blob) for kind, name, blob in con.execute(
        sql("select_study_result_set_tables"), [study]).fetchall() if kind == RESULT}
    return KeptResults(run_id, float(seconds), StudyResults(
        tables=tables, analysis_tables={}, notes=tuple(json.loads(notes)),
        headline=tuple(json.loads(headline))))


def keep_results(con: duckdb.DuckDBPyConnection, study: str, fingerprint: str, run_id: str,
                 analysed_seconds: float, results: StudyResults) -> None:
    """Replace the study's kept results (call inside the transaction that writes its
    analysis-ready tables, so the two always agree: those tables are not kept again here, the
    warehouse's copies are the kept ones)."""
    con.execute(sql("delete_study_result_set_tables"), [study])
    con.execute(sql("delete_study_result_set"), [study])
    con.execute(sql("insert_study_result_set"), [
        study, fingerprint, run_id, analysed_seconds, json.dumps(list(results.notes)),
        json.dumps(list(results.headline))])
    for name, frame in results.tables.items():
        con.execute(sql("insert_study_result_set_table"),
                    [study, RESULT, name, frame_to_ipc(frame)])


def reused_headline(kept: KeptResults) -> tuple[str, ...]:
    """The summary lines of a study whose results were reused: what was reused, then what the
    run that computed them reported."""
    return (f"inputs, parameters and code unchanged: results of run {kept.run_id} reused "
            f"(analysed there in {kept.analysed_seconds:.1f} s)",
            *(f"{line} [run {kept.run_id}]" for line in kept.results.headline))
