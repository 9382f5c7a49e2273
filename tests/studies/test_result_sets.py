"""Every study's results are kept by the fingerprint of what made them: the fingerprint moves
with any input cell, parameter, model version or marked-out field it should and no other;
kept tables come back with their column types; and on the demo warehouse a study whose inputs
did not change is not analysed again, its kept results equal to what was released."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from imnm.studies.parameters import load_study_parameters
from imnm.studies.registry import all_studies
from imnm.studies.result_sets import (
    frame_from_ipc,
    frame_to_ipc,
    read_kept_results,
    results_fingerprint,
)
from tasks.analyse import analyse_study


@dataclass(frozen=True)
class _Inputs:
    visits: pd.DataFrame
    cache: dict[str, Any] = field(default_factory=dict, metadata={"fingerprint": False})


def _inputs(**cache: Any) -> _Inputs:
    return _Inputs(pd.DataFrame({"patient": ["p1", "p2"], "ck": [1200.0, np.nan],
                                 "visit": pd.to_datetime(["2020-01-02", "2020-04-01"])}),
                   dict(cache))


def test_the_fingerprint_moves_with_what_can_change_a_result() -> None:
    """A changed cell, column type, parameter or model version moves it; a field marked
    fingerprint=False (a cache that only saves time) does not."""
    base = results_fingerprint("s", _inputs(), {"window": 30}, "m1")
    assert results_fingerprint("s", _inputs(), {"window": 30}, "m1") == base
    assert results_fingerprint("s", _inputs(fit={"x": 1}), {"window": 30}, "m1") == base
    changed = _inputs()
    changed.visits.loc[1, "ck"] = 900.0
    assert results_fingerprint("s", changed, {"window": 30}, "m1") != base
    retyped = _Inputs(_inputs().visits.astype({"ck": "float32"}))
    assert results_fingerprint("s", retyped, {"window": 30}, "m1") != base
    assert results_fingerprint("s", _inputs(), {"window": 31}, "m1") != base
    assert results_fingerprint("s", _inputs(), {"window": 30}, "m2") != base
    assert results_fingerprint("t", _inputs(), {"window": 30}, "m1") != base


def test_kept_tables_come_back_with_their_types() -> None:
    """Nullable integers, booleans with gaps, categories, timestamps and strings with None."""
    frame = pd.DataFrame({
        "n": pd.array([1, None, 3], dtype="Int64"),
        "passed": pd.array([True, None, False], dtype="boolean"),
        "level": pd.Categorical(["low", "high", "low"], categories=["low", "high"]),
        "at": pd.to_datetime(["2021-01-01", None, "2021-03-01"]),
        "term": ["a", None, "c"], "estimate": [0.5, np.nan, -1.25]})
    back = frame_from_ipc(frame_to_ipc(frame))
    pd.testing.assert_frame_equal(back, frame)
    assert dict(back.dtypes) == dict(frame.dtypes)


@pytest.fixture()
def warehouse_copy(demo_network: Any, tmp_path: Path) -> Path:
    """A copy of the demo refresh's working warehouse, to analyse in."""
    target = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo_network.paths.warehouse, target)
    return target


def _plain(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain values, non-finite numbers as None (as publish releases them)."""
    frame = frame.sort_values("row_order") if "row_order" in frame else frame
    frame = frame.replace([np.inf, -np.inf], np.nan)
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def test_an_unchanged_study_is_not_analysed_again(demo_network: Any,
                                                  warehouse_copy: Path) -> None:
    """Each study's kept fingerprint is that of the warehouse's inputs now, so analysing it
    again reuses the kept results (the summary names the run that made them); every kept
    result table equals the released one, row for row."""
    params = load_study_parameters()
    with duckdb.connect(str(warehouse_copy)) as con, \
            duckdb.connect(str(demo_network.paths.results), read_only=True) as published:
        (run_id,) = con.execute("SELECT run_id FROM analysis.study_result_sets LIMIT 1"
                                ).fetchone()
        for study in all_studies():
            inputs = study.read_inputs(con, demo_network.model_version, params[study.name])
            fingerprint = results_fingerprint(study.name, inputs, params[study.name].as_dict(),
                                              demo_network.model_version)
            kept = read_kept_results(con, study.name, fingerprint)
            assert kept is not None, f"{study.name}: fingerprint moved on unchanged inputs"
            results = analyse_study(con, "rerun", study, demo_network.model_version,
                                    params[study.name])
            assert results.headline[0].startswith("inputs, parameters and code unchanged: "
                                                  f"results of run {run_id} reused")
            assert set(results.tables) == set(kept.results.tables)
            for name, frame in results.tables.items():
                released = published.execute(
                    f"SELECT * FROM {study.latest_view(name)}").df()
                columns = [c for c in frame.columns if c in released.columns]
                assert columns == list(frame.columns), f"{study.name}.{name}"
                assert _plain(frame) == _plain(released[columns]), f"{study.name}.{name}"
            built = con.execute("SELECT run_id FROM analysis.study_builds WHERE study = ?",
                                [study.name]).fetchone()
            assert built == ("rerun",)


def test_a_changed_parameter_is_not_served_from_the_kept_results(
        demo_network: Any, warehouse_copy: Path) -> None:
    """Another value of any parameter gives another fingerprint: nothing kept matches it."""
    suite = load_study_parameters()
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        for study in all_studies():
            values = suite[study.name].as_dict()
            name = next(k for k, v in values.items()
                        if isinstance(v, int | float) and not isinstance(v, bool))
            other = load_study_parameters({study.name: {name: values[name] * 2 or 1}}
                                          )[study.name]
            inputs = study.read_inputs(con, demo_network.model_version, other)
            fingerprint = results_fingerprint(study.name, inputs, other.as_dict(),
                                              demo_network.model_version)
            assert read_kept_results(con, study.name, fingerprint) is None
