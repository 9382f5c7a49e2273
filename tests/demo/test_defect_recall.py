"""The data-quality checks, verified against the demo generator's known, injected defects.

The session's shared demo network (`demo_network`) carries the default defect plan, whose
manifest (`demo_manifest/defects.csv`) says where every defect is; a small network is refreshed
clean (`DefectPlan.none()`). The checks must find every kind of injected defect, and clean data
must fail no staging check. The matching itself (`imnm/demo/recall.py`) and the duplicate-row
checks are tested on small hand-made batches first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from imnm.demo import simulate_network
from imnm.demo.defects import DEFECT_KINDS, InjectedDefect, defects_csv
from imnm.demo.recall import (
    RecallReport,
    compute_recall,
    default_manifest,
    demo_recall,
    format_recall,
)
from imnm.settings import CONFIG_DIR, DataPaths
from imnm.siteconfig import load_site_configs
from tests.conftest import DemoNetwork
from tests.support.demo_model import install_demo_model
from warehouse.db import migrate

CLEAN_PATIENTS = 60
CLEAN_SEED = 11
RUN_DATE = dt.date(2026, 11, 1)
# Recall the design guarantees: each kind has a check that fails exactly the injected cell,
# row or file (missing values: not-null checks; out of range: range and format checks;
# duplicates: the uniqueness checks; unmapped codes: the harmonize step; truncation: quarantine).
COMPLETE_KINDS = ("duplicate_row", "missing_value", "out_of_range", "unmapped_code",
                  "truncated_file")
# CK sent in U/L under a ukat/L label is out of the staging range only above 8333 "ukat/L"
# (500 000 U/L); the core CK checks (the core ceiling, the patient's own earlier CK) catch more.
# Measured on the shared demo network (200 patients, seed 5): 3 of 8 with the core_labs suite,
# 1 of 8 without it; the other five read as believable CKs (3 120 to 75 660 U/L).
UKAT_RANGE_MAX = 8333.0
# Warning checks that clean synthetic data fails, and why: no false alarm, true gaps.
# treatments_dose_not_null: study B's initial prednisone doses not recorded (5%, missing
# completely at random, `imnm/demo/cohort_study_b.py`) arrive as empty dose cells, and the
# completeness check reports exactly those. Every other check must pass clean data.
CLEAN_DATA_KNOWN_FAILURES = frozenset({"treatments_dose_not_null"})


# --- the matching, on a hand-made warehouse ------------------------------------------------

def _register(con: duckdb.DuckDBPyConnection, file_id: int, site: str, kind: str, path: str,
              status: str = "staged") -> None:
    con.execute(
        "INSERT INTO registry.source_files (file_id, site, record_kind, relative_path, sha256, "
        "size_bytes, received_at, discovered_at, discovered_run, status) "
        "VALUES (?, ?, ?, ?, ?, 1, now()::TIMESTAMP, now()::TIMESTAMP, 'r1', ?)",
        [file_id, site, kind, path, f"sha-{file_id}", status])


def _fail(con: duckdb.DuckDBPyConnection, file_id: int, row: int, check: str, column: str,
          kind: str, layer: str = "staging",
          expectation: str = "expect_column_values_to_be_between") -> None:
    site = con.execute("SELECT site FROM registry.source_files WHERE file_id = ?",
                       [file_id]).fetchone()[0]
    con.execute(
        "INSERT INTO audit.validation_results (run_id, site, record_kind, suite, check_name, "
        "expectation_type, column_name, category, severity, threshold, rows_tested, "
        "rows_failed, passed, validated_at, layer) VALUES ('r1', ?, ?, ?, ?, ?, ?, "
        "'plausibility', 'warning', 0.0, 10, 1, false, now()::TIMESTAMP, ?)",
        [site, kind, kind, check, expectation, column, layer])
    con.execute(
        "INSERT INTO audit.failed_rows (run_id, site, record_kind, check_name, file_id, "
        "source_row, column_name, value, layer) VALUES ('r1', ?, ?, ?, ?, ?, ?, 'x', ?)",
        [site, kind, check, file_id, row, column, layer])


def _defect(site: str, file: str, row: int | None, column: str, kind: str) -> InjectedDefect:
    return InjectedDefect(site, f"{site}/{file}", row, column, kind, "before", "after")


@pytest.fixture
def hand_made(tmp_path: Path) -> RecallReport:
    con = duckdb.connect()
    migrate(con)
    _register(con, 1, "riverside", "labs", "export_labs_20261101.xlsx")
    _register(con, 2, "lakeside", "treatments", "treatments_2026-11-01.csv")
    _register(con, 3, "hillcrest", "ecgs", "ecg/MUSE_a.xml", status="quarantined")
    _register(con, 4, "hillcrest", "ecgs", "ecg/MUSE_b.xml")
    _register(con, 5, "lakeside", "vitals", "vitals_2026-11-01.csv")
    _register(con, 6, "lakeside", "vitals", "vitals_2026-11-01.csv")  # a later delivery
    # riverside's wide CK column maps to `value`; a core check names a derived column.
    _fail(con, 1, 5, "labs_ck_in_plausible_range_ukat_per_l", "value", "labs")
    _fail(con, 1, 6, "core_labs_ck_at_most_20_fold_the_previous_ck", "ck_fold_from_previous",
          "core_labs", layer="core")
    _fail(con, 2, 3, "treatments_start_date_in_range", "start_date", "treatments")
    _fail(con, 2, 9, "treatments_dose_positive", "dose", "treatments")
    _fail(con, 2, 10, "treatments_row_unique_within_file",
          "file_id,local_id,drug,route,dose,dose_unit,start_date,stop_date", "treatments",
          expectation="expect_compound_columns_to_be_unique")
    _fail(con, 2, 13, "treatments_drug_not_null", "drug", "treatments")
    _fail(con, 5, 2, "vitals_systolic_bp_in_plausible_range_mmhg", "systolic_bp", "vitals")
    con.execute("INSERT INTO audit.unmapped_values VALUES "
                "('r1', 'lakeside', 'treatments', 2, 12, 'drug', 'Imurek', 'no mapping')")
    manifest = tmp_path / "defects.csv"
    manifest.write_bytes(defects_csv([
        _defect("riverside", "export_labs_20261101.xlsx", 5, "CK (ukat/L)", "out_of_range"),
        _defect("riverside", "export_labs_20261101.xlsx", 6, "CK (ukat/L)", "unit_mixup"),
        _defect("lakeside", "treatments_2026-11-01.csv", 3, "Dose", "missing_value"),
        _defect("lakeside", "treatments_2026-11-01.csv", 9, "", "duplicate_row"),
        _defect("lakeside", "treatments_2026-11-01.csv", 10, "", "duplicate_row"),
        _defect("lakeside", "treatments_2026-11-01.csv", 12, "Drug", "unmapped_code"),
        _defect("lakeside", "treatments_2026-11-01.csv", 13, "Drug", "unmapped_code"),
        _defect("hillcrest", "ecg/MUSE_a.xml", None, "", "truncated_file"),
        _defect("hillcrest", "ecg/MUSE_b.xml", None, "", "truncated_file"),
        _defect("hillcrest", "ecg/MUSE_c.xml", None, "", "truncated_file"),
        _defect("lakeside", "vitals_2026-11-01.csv", 2, "Systolic BP", "out_of_range"),
    ]))
    return compute_recall(con, manifest, sites=load_site_configs(CONFIG_DIR / "sites"))


def test_cell_defects_count_at_their_row_and_in_their_column(hand_made: RecallReport) -> None:
    ck, mixup, dose = hand_made.defects[:3]
    assert (ck.caught, ck.caught_in_column, ck.canonical_columns) == (True, True, ("value",))
    assert ck.found_by == ("labs_ck_in_plausible_range_ukat_per_l",)
    # A core check's failure points at the lab's own row: caught there, not in the column.
    assert (mixup.caught, mixup.caught_in_column, mixup.found_in) == (True, False, ("core",))
    # Another check failing the row does not name the missing dose.
    assert (dose.caught, dose.caught_in_column, dose.canonical_columns) == (True, False,
                                                                            ("dose",))


def test_duplicates_need_a_uniqueness_check_and_codes_the_unmapped_values(
        hand_made: RecallReport) -> None:
    by_row = {(d.kind, d.row): d for d in hand_made.defects}
    assert not by_row[("duplicate_row", 9)].caught  # a range check failed the row, no more
    assert by_row[("duplicate_row", 10)].caught_in_column
    assert by_row[("unmapped_code", 12)].caught_in_column
    assert by_row[("unmapped_code", 12)].found_by == ("unmapped_value",)
    assert not by_row[("unmapped_code", 13)].caught  # a failed check is not an unmapped value


def test_damaged_files_count_when_quarantined_and_the_latest_delivery_is_judged(
        hand_made: RecallReport) -> None:
    quarantined, staged, never_registered = [d for d in hand_made.defects
                                             if d.kind == "truncated_file"]
    assert (quarantined.caught, quarantined.found_by) == (True, ("quarantined",))
    assert not staged.caught and staged.file_id == 4
    assert not never_registered.caught and never_registered.file_id is None
    vitals = hand_made.defects[-1]
    assert vitals.file_id == 6 and not vitals.caught  # the older delivery's failure is not it


def test_a_damaged_wfdb_signal_file_is_judged_by_its_record(tmp_path: Path) -> None:
    """The registry knows a WFDB record by its header: a truncated `.dat` is caught when the
    record was quarantined, and missed when it was staged."""
    con = duckdb.connect()
    migrate(con)
    _register(con, 1, "lakeside", "ecgs", "ecg/ecg_a.hea", status="quarantined")
    _register(con, 2, "lakeside", "ecgs", "ecg/ecg_b.hea")
    manifest = tmp_path / "defects.csv"
    manifest.write_bytes(defects_csv([
        _defect("lakeside", "ecg/ecg_a.dat", None, "", "truncated_file"),
        _defect("lakeside", "ecg/ecg_b.dat", None, "", "truncated_file"),
    ]))
    caught, missed = compute_recall(con, manifest,
                                    sites=load_site_configs(CONFIG_DIR / "sites")).defects
    assert (caught.file, caught.file_id, caught.caught) == ("lakeside/ecg/ecg_a.dat", 1, True)
    assert (missed.file_id, missed.caught) == (2, False)


def test_recall_is_summed_per_kind_site_and_overall(hand_made: RecallReport) -> None:
    assert list(hand_made.by_kind) == [k for k in DEFECT_KINDS if k in hand_made.by_kind]
    assert hand_made.by_kind["truncated_file"].injected == 3
    assert hand_made.by_kind["truncated_file"].caught == 1
    assert (hand_made.overall.injected, hand_made.overall.caught,
            hand_made.overall.caught_in_column) == (11, 6, 4)
    assert hand_made.by_site["hillcrest"].rate == pytest.approx(1 / 3)
    assert len(hand_made.misses) == 5
    text = format_recall(hand_made)
    assert "truncated_file" in text and "1/3" in text and "33.3%" in text
    assert "6/11" in text and "missed: 5" in text
    assert text.splitlines()[-1] == (
        "  missed: 5 (duplicate_row 1, out_of_range 1, truncated_file 2, unmapped_code 1)")


def test_missing_or_foreign_manifest_is_refused(tmp_path: Path) -> None:
    con = duckdb.connect()
    migrate(con)
    with pytest.raises(FileNotFoundError, match="imnm demo-data"):
        compute_recall(con, tmp_path / "defects.csv")
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected the columns site, file, row"):
        compute_recall(con, other)
    assert demo_recall(DataPaths(tmp_path)) is None


# --- the duplicate-row checks on hand-made batches -----------------------------------------

def _staged(kind: str, rows: list[dict]) -> pd.DataFrame:
    con = duckdb.connect()
    migrate(con)
    records = [{"site": "riverside", "file_id": 7, **row} for row in rows]
    con.register("incoming", pd.DataFrame.from_records(records))
    con.execute(f"INSERT INTO staging.{kind} BY NAME SELECT * FROM incoming")
    return con.execute(f"SELECT * FROM staging.{kind} ORDER BY file_id, source_row").df()


def _failed(kind: str, rows: list[dict], check: str) -> list[tuple[int, int, str | None]]:
    from expectations.runner import validate_staged_batch  # Great Expectations: imported here

    (outcome,) = [o for o in validate_staged_batch(kind, _staged(kind, rows), RUN_DATE)
                  if o.check_name == check]
    assert outcome.severity == "warning" and outcome.category == "plausibility"
    return list(outcome.failed_rows)


def test_a_repeated_wide_lab_row_fails_every_analyte_of_both_rows() -> None:
    visit = {"local_id": "2019/00456", "sample_date": "2021-03-04"}
    cells = [("ck", 14.2, "ukat/L"), ("hdl_c", 1.3, "mmol/L"), ("total_cholesterol", None,
                                                                 "mmol/L")]
    rows = [{**visit, "source_row": row, "analyte": a, "value": v, "unit": u}
            for row in (1, 2) for a, v, u in cells]  # file row 2 repeats row 1
    rows += [{**visit, "source_row": 3, "analyte": "ck", "value": 9.0, "unit": "ukat/L"},
             {"local_id": "2019/00457", "source_row": 4}, {"local_id": "2019/00457",
                                                           "source_row": 5},
             {"local_id": "2019/00458", "source_row": 6, "sample_date": "2021-03-04",
              "analyte": "ck", "value": 14.2, "unit": "ukat/L"},
             {"file_id": 8, "source_row": 1, **visit, "analyte": "ck", "value": 14.2,
              "unit": "ukat/L"}]
    failed = _failed("labs", rows, "labs_row_unique_within_file")
    # Both rows of each pair, once per analyte; empty cells compare equal; the analytes of
    # one row, another patient's equal result and another file's copy are not duplicates.
    assert [row for _, row, _ in failed] == [1, 1, 1, 2, 2, 2, 4, 5]
    assert (7, 1, "7,2019/00456,2021-03-04,ck,14.2,ukat/L") in failed


def test_patients_sharing_a_birth_date_are_not_duplicates_and_names_are_not_stored() -> None:
    base = {"birth_date": "1961-04-02", "sex": "M", "hypertension": "J"}
    rows = [{"source_row": 1, "local_id": "2019/1", "patient_name": "A B", **base},
            {"source_row": 2, "local_id": "2019/2", "patient_name": "C D", **base},
            {"source_row": 3, "local_id": "2019/2", "patient_name": "C D", **base}]
    failed = _failed("patients", rows, "patients_row_unique_within_file")
    assert [row for _, row, _ in failed] == [2, 3]
    assert all("C D" not in (value or "") for _, _, value in failed)


def test_an_ecg_delivered_twice_is_flagged_in_both_files() -> None:
    ecg = {"ecg_id": "e", "source_format": "wfdb", "waveform_shard": "s", "waveform_row": 0,
           "source_row": 1}
    rows = [{**ecg, "file_id": 1, "local_id": "P1", "acquired_at": "2020-01-01 10:00:00"},
            {**ecg, "file_id": 2, "local_id": "P1", "acquired_at": "2020-01-01 10:00:00"},
            {**ecg, "file_id": 3, "local_id": "P1", "acquired_at": "2020-01-01 10:05:00"},
            {**ecg, "file_id": 4, "local_id": "P1"}, {**ecg, "file_id": 5, "local_id": "P1"}]
    failed = _failed("ecgs", rows, "ecgs_patient_and_acquisition_time_unique")
    assert [file_id for file_id, _, _ in failed] == [1, 2]


# --- the real refresh on the demo network --------------------------------------------------

@dataclass(frozen=True)
class DemoRun:
    paths: DataPaths
    report: RecallReport


def _recall(paths: DataPaths) -> DemoRun:
    report = demo_recall(paths)
    assert report is not None
    return DemoRun(paths, report)


@pytest.fixture(scope="module")
def demo(demo_network: DemoNetwork) -> DemoRun:
    """The shared demo network (default defect plan), refreshed once for the whole session."""
    return _recall(demo_network.paths)


@pytest.fixture(scope="module")
def clean(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """A small network generated without defects, refreshed once."""
    from flows.refresh import refresh
    from imnm.demo import generate_demo
    from imnm.demo.defects import DefectPlan

    paths = DataPaths(tmp_path_factory.mktemp("clean"))
    generate_demo(paths.root, n_patients=CLEAN_PATIENTS, seed=CLEAN_SEED,
                  defects=DefectPlan.none())
    install_demo_model(paths)
    refresh(data_dir=str(paths.root))
    return _recall(paths)


@pytest.fixture
def clean_warehouse(clean: DemoRun) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(clean.paths.warehouse), read_only=True)
    yield con
    con.close()


def _listing(report: RecallReport, kind: str) -> str:
    return "\n".join(d.describe() for d in report.defects
                     if d.kind == kind and not d.caught_in_column)


def test_every_defect_kind_is_injected_and_caught(demo: DemoRun) -> None:
    report = demo.report
    assert report.manifest == default_manifest(demo.paths)
    for kind in DEFECT_KINDS:
        recall = report.by_kind[kind]
        assert recall.injected > 0, kind
        assert recall.caught > 0, f"no {kind} caught:\n{_listing(report, kind)}"


@pytest.mark.parametrize("kind", COMPLETE_KINDS)
def test_every_defect_of_a_kind_the_checks_cover_is_caught_in_its_column(
        demo: DemoRun, kind: str) -> None:
    recall = demo.report.by_kind[kind]
    assert recall.caught_in_column == recall.injected, _listing(demo.report, kind)


def test_unit_mixups_beyond_the_staging_range_are_caught_there(demo: DemoRun) -> None:
    mixups = [d for d in demo.report.defects if d.kind == "unit_mixup"]
    beyond = [d for d in mixups if float(d.injected_value.replace(",", ".")) > UKAT_RANGE_MAX]
    assert beyond, "this demo has no mix-up above the staging range; choose another seed"
    for defect in beyond:
        assert "labs_ck_in_plausible_range_ukat_per_l" in defect.found_by, defect.describe()


def test_unit_mixups_are_caught_by_the_core_ck_check(demo: DemoRun) -> None:
    """The core CK checks catch mix-ups the staging range cannot see (CK in U/L below its
    ukat/L range), each flagged by a core_labs check."""
    if not demo.report.ran("core_labs"):
        pytest.skip("the core cross-record CK check (core_labs suite) has not run in this "
                    "build, so only the staging range check can catch unit mix-ups")
    mixups = [d for d in demo.report.defects if d.kind == "unit_mixup"]
    by_core = [d for d in mixups if "core" in d.found_in]
    assert all(any(name.startswith("core_labs_") for name in d.found_by) for d in by_core)
    assert [d for d in by_core if "staging" not in d.found_in], (
        _listing(demo.report, "unit_mixup"))


def test_recall_prints_a_line_per_kind(demo: DemoRun) -> None:
    text = format_recall(demo.report)
    for kind in DEFECT_KINDS:
        recall = demo.report.by_kind[kind]
        assert f"{recall.caught}/{recall.injected}" in text.split(kind, 1)[1].splitlines()[0]
    assert f"missed: {len(demo.report.misses)}" in text


def test_clean_demo_has_no_defects_and_no_blocking_failure(
        clean: DemoRun, clean_warehouse: duckdb.DuckDBPyConnection) -> None:
    assert clean.report.defects == ()
    assert "no injected defects" in format_recall(clean.report)
    blocking = clean_warehouse.execute(
        "SELECT layer, site, check_name FROM audit.validation_results "
        "WHERE NOT passed AND severity = 'blocking'").fetchall()
    assert blocking == []


def test_clean_demo_fails_no_staging_check(clean_warehouse: duckdb.DuckDBPyConnection) -> None:
    failing = clean_warehouse.execute(
        "SELECT check_name, site, rows_failed FROM audit.validation_results "
        "WHERE layer = 'staging' AND rows_failed > 0 ORDER BY ALL").fetchall()
    assert [f for f in failing if f[0] not in CLEAN_DATA_KNOWN_FAILURES] == []
    undosed = sum(t.dose is None
                  for t in simulate_network(CLEAN_PATIENTS, seed=CLEAN_SEED).treatments)
    assert sum(n for name, _, n in failing if name == "treatments_dose_not_null") == undosed
    unmapped = clean_warehouse.execute("SELECT count(*) FROM audit.unmapped_values").fetchone()
    assert unmapped == (0,)
    duplicates = clean_warehouse.execute(
        "SELECT count(*) FROM audit.failed_rows WHERE check_name LIKE '%unique%'").fetchone()
    assert duplicates == (0,)
