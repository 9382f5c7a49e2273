"""The refresh flow end to end on the synthetic network: real files, DuckDB, Prefect, Keras.

One small network is refreshed three times: first load, a rerun with nothing new, and a rerun
after one new delivery. The tests below read what each run left in the warehouse.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from imnm.refresh.runs import RefreshSummary
from imnm.settings import DataPaths
from imnm.studies.parameters import load_study_parameters, recorded_parameters
from imnm.studies.registry import STUDY_NAMES, all_studies
from tests.support.demo_model import install_demo_model

N_PATIENTS = 60


@dataclass(frozen=True)
class RefreshHistory:
    paths: DataPaths
    first: RefreshSummary
    second: RefreshSummary
    third: RefreshSummary
    new_file: str
    model_version: str


@pytest.fixture(scope="module")
def history(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> RefreshHistory:
    from flows.refresh import refresh
    from imnm.demo import generate_demo

    paths = DataPaths(tmp_path_factory.mktemp("network"))
    generate_demo(paths.root, n_patients=N_PATIENTS, seed=11)
    # The committed demo model (training is tested in tests/models/test_model_training_flow.py).
    model_version = install_demo_model(paths)
    first = refresh(data_dir=str(paths.root))
    second = refresh(data_dir=str(paths.root))
    # A new delivery at one site: a copy of an outcomes file under a new name with one row less.
    site_dir = paths.landing / "lakeside"
    source = sorted(site_dir.glob("*outcomes*"))[0]
    new_file = source.with_name("outcomes_update_" + source.name)
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    new_file.write_text("".join(lines[:-1]), encoding="utf-8")
    third = refresh(data_dir=str(paths.root))
    return RefreshHistory(paths, first, second, third,
                          new_file.relative_to(site_dir).as_posix(), model_version)


def _warehouse(history: RefreshHistory) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(history.paths.warehouse), read_only=True)


def test_first_refresh_loads_every_site_and_publishes(history: RefreshHistory) -> None:
    first = history.first
    assert {s.site for s in first.sites} == {"lakeside", "riverside", "hillcrest", "northgate"}
    for site in first.sites:
        assert site.files_loaded > 0, site
        assert site.rows_staged > 0, site
    assert first.ecgs_scored > N_PATIENTS  # every patient has an ECG, some several
    assert first.release_is_new and first.release_id.startswith("R")
    assert [s.study for s in first.studies] == list(STUDY_NAMES)
    for study in first.studies:  # every registered study analysed, reported and summarized
        assert study.headline and study.report.endswith(".html"), study
        assert Path(study.report).is_file(), study


def test_every_ecg_is_scored_once_by_the_model_version(history: RefreshHistory) -> None:
    con = _warehouse(history)
    n_ecgs = con.execute("SELECT count(*) FROM core.ecgs").fetchone()[0]
    scores = con.execute("SELECT count(*), count(DISTINCT ecg_id), min(p_lvd), max(p_lvd) "
                         "FROM scores.ecg_lvd_scores WHERE model_version = ?",
                         [history.model_version]).fetchone()
    assert scores[0] == scores[1] == n_ecgs
    assert 0.0 <= scores[2] <= scores[3] <= 1.0


def test_core_rows_trace_back_to_site_file_and_row(history: RefreshHistory) -> None:
    con = _warehouse(history)
    for table in ("patients", "labs", "echos", "treatments", "strength", "ecgs"):
        orphans = con.execute(
            f"SELECT count(*) FROM core.{table} c LEFT JOIN registry.source_files f "
            "ON f.file_id = c.file_id AND f.site = c.site WHERE f.file_id IS NULL").fetchone()[0]
        assert orphans == 0, table
    kinds = con.execute("SELECT DISTINCT record_kind FROM registry.source_files").fetchall()
    assert {k for (k,) in kinds} >= {"patients", "labs", "echos", "ecgs", "serology"}


def test_validation_results_are_stored_per_site_and_kind(history: RefreshHistory) -> None:
    con = _warehouse(history)
    rows = con.execute("SELECT site, count(DISTINCT record_kind) FROM audit.validation_results "
                       "WHERE run_id = ? GROUP BY site", [history.first.run_id]).fetchall()
    assert {site for site, _ in rows} == {"lakeside", "riverside", "hillcrest", "northgate"}
    assert all(kinds >= 10 for _, kinds in rows)


def test_rerun_loads_and_scores_nothing_and_publishes_nothing_new(history: RefreshHistory
                                                                  ) -> None:
    second = history.second
    assert all(s.files_loaded == 0 and s.files_skipped > 0 for s in second.sites)
    assert second.ecgs_scored == 0
    assert not second.release_is_new
    assert second.release_id == history.first.release_id


def test_new_delivery_is_the_only_file_loaded(history: RefreshHistory) -> None:
    third = history.third
    loaded = {s.site: s.files_loaded for s in third.sites}
    assert loaded == {"lakeside": 1, "riverside": 0, "hillcrest": 0, "northgate": 0}
    con = _warehouse(history)
    staged = con.execute("SELECT relative_path FROM audit.file_events "
                         "WHERE run_id = ? AND event = 'staged'", [third.run_id]).fetchall()
    assert staged == [(history.new_file,)]
    assert third.release_is_new and third.release_id != history.first.release_id


def test_results_keep_every_release_and_views_show_the_latest(history: RefreshHistory) -> None:
    con = duckdb.connect(str(history.paths.results), read_only=True)
    releases = con.execute("SELECT release_id, code_version, model_version, analysis_parameters,"
                           " input_fingerprint, row_counts FROM results.releases "
                           "ORDER BY published_at").fetchall()
    assert [r[0] for r in releases] == [history.first.release_id, history.third.release_id]
    assert json.loads(releases[0][3]) == recorded_parameters(load_study_parameters())
    assert releases[0][2] == history.model_version
    counts = json.loads(releases[1][5])
    for study in all_studies():
        for table in study.table_names:
            history_table, view = study.history_table(table), study.latest_view(table)
            if not counts.get(history_table.removeprefix("results.")):
                continue  # an analysis the data could not support in this release
            latest = con.execute(f"SELECT DISTINCT release_id FROM {view}").fetchall()
            assert latest == [(history.third.release_id,)], view
            n_latest = con.execute(f"SELECT count(*) FROM {view}").fetchone()[0]
            assert n_latest == counts[history_table.removeprefix("results.")], view
            per_release = con.execute(f"SELECT count(DISTINCT release_id) FROM "
                                      f"{history_table}").fetchone()[0]
            assert per_release == 2, history_table


def test_quarantined_file_is_kept_with_its_reason(history: RefreshHistory) -> None:
    con = _warehouse(history)
    quarantined = con.execute("SELECT site, relative_path, status_reason FROM "
                              "registry.source_files WHERE status = 'quarantined'").fetchall()
    for site, relative_path, reason in quarantined:
        assert reason
        assert (history.paths.quarantine / site / relative_path).is_file()


def test_published_file_reads_while_the_warehouse_is_being_written(
        history: RefreshHistory, tmp_path: Path) -> None:
    """A writer holds the warehouse; another process still queries the latest release."""
    import subprocess
    import sys
    import textwrap

    paths = DataPaths(tmp_path / "copy")
    shutil.copytree(history.paths.root, paths.root,
                    ignore=shutil.ignore_patterns("landing", "waveforms", "training_archive"))
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(paths.warehouse)!r})
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM core.labs")
        print("writing", flush=True)
        time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        blocked = subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect("
                                  f"{str(paths.warehouse)!r}, read_only=True)"],
                                 capture_output=True, text=True)
        assert blocked.returncode != 0 and "lock" in blocked.stderr.lower()
        reader = subprocess.run(
            [sys.executable, "-m", "imnm.cli", "sql", "--data-dir", str(paths.root),
             "SELECT release_id FROM results.latest_release"],
            capture_output=True, text=True, timeout=60)
        assert reader.returncode == 0, reader.stderr
        assert history.third.release_id in reader.stdout
    finally:
        writer.kill()
        writer.wait()


def test_no_direct_identifier_reaches_core_or_results(history: RefreshHistory) -> None:
    """Names and local record numbers stay in staging; core and results hold pseudonyms only."""
    con = _warehouse(history)
    identifiers = {value for (value,) in con.execute(
        "SELECT local_id FROM staging.patients WHERE local_id IS NOT NULL UNION "
        "SELECT patient_name FROM staging.patients WHERE patient_name IS NOT NULL UNION "
        "SELECT local_id FROM staging.ecgs WHERE local_id IS NOT NULL").fetchall()}
    assert len(identifiers) > N_PATIENTS

    def text_values(connection: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> set[str]:
        columns = connection.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR' AND table_schema IN (SELECT unnest(?::VARCHAR[]))",
            [list(schemas)]).fetchall()
        values: set[str] = set()
        for schema, table, column in columns:
            values |= {v for (v,) in connection.execute(
                f'SELECT DISTINCT "{column}" FROM {schema}.{table} WHERE "{column}" IS NOT NULL'
            ).fetchall()}
        return values

    assert not identifiers & text_values(con, ("core", "scores", "results"))
    published = duckdb.connect(str(history.paths.results), read_only=True)
    assert not identifiers & text_values(published, ("results", "audit"))
    core_columns = {c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'core'"
    ).fetchall()}
    assert not core_columns & {"local_id", "patient_name", "birth_date"}


def _date_columns(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]
                  ) -> list[tuple[str, str, str]]:
    return con.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE data_type IN ('DATE', 'TIMESTAMP') AND table_schema IN (SELECT unnest(?::VARCHAR[]))"
        " AND table_name IN (SELECT table_name FROM information_schema.tables "
        "                    WHERE table_type = 'BASE TABLE')", [list(schemas)]).fetchall()


def test_exact_birth_dates_never_reach_core_or_results(history: RefreshHistory) -> None:
    """No date in core or results equals the birth date of the patient the row belongs to."""
    from imnm.pseudonym import pseudonymize
    from tests.conftest import TEST_PSEUDONYM_KEY

    con = _warehouse(history)
    births = con.execute("SELECT DISTINCT site, local_id, birth_date FROM staging.patients "
                         "WHERE local_id IS NOT NULL AND birth_date IS NOT NULL").fetchall()
    key = TEST_PSEUDONYM_KEY.encode()
    con.execute("CREATE TEMP TABLE births (patient_key VARCHAR, birth_date DATE)")
    con.executemany("INSERT INTO births VALUES (?, ?)",
                    [(pseudonymize(key, site, local_id), born) for site, local_id, born in births])
    assert len(births) > N_PATIENTS // 2
    checked = 0
    for schema, table, column in _date_columns(con, ("core", "results")):
        columns = {c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND "
            "table_name = ?", [schema, table]).fetchall()}
        if "patient_key" not in columns:
            continue
        same = con.execute(f'SELECT count(*) FROM {schema}.{table} t JOIN births b USING '
                           f'(patient_key) WHERE CAST(t."{column}" AS DATE) = b.birth_date'
                           ).fetchone()[0]
        assert same == 0, f"{schema}.{table}.{column} holds birth dates"
        checked += 1
    assert checked >= 10


def test_the_pseudonym_key_is_never_stored(history: RefreshHistory) -> None:
    """The HMAC key is neither in the warehouse nor in the published results, in any column."""
    from tests.conftest import TEST_PSEUDONYM_KEY

    for path in (history.paths.warehouse, history.paths.results):
        assert TEST_PSEUDONYM_KEY.encode() not in path.read_bytes()
        con = duckdb.connect(str(path), read_only=True)
        columns = con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE data_type IN ('VARCHAR', 'JSON')").fetchall()
        for schema, table, column in columns:
            hits = con.execute(f'SELECT count(*) FROM "{schema}"."{table}" '
                               f'WHERE CAST("{column}" AS VARCHAR) LIKE ?',
                               [f"%{TEST_PSEUDONYM_KEY}%"]).fetchone()[0]
            assert hits == 0, (path.name, schema, table, column)
