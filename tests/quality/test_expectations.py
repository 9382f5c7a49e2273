"""Data-quality suites: their metadata, and what they find in staged batches."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from expectations.registry import (
    CATEGORIES,
    RECORD_KINDS,
    SEVERITIES,
    SUITE_NAMES,
    SUITES_DIR,
    SuiteError,
    load_suite,
    read_suite_file,
    suite_checks,
)
from expectations.runner import ValidationError, validate_staged_batch
from imnm.quality.checks import Check, CheckOutcome
from warehouse.db import migrate, sql

RUN_DATE = dt.date(2026, 11, 1)
FILE_ID = 7
ECG_FILE_COLUMNS = {
    "ecg_id": "e1", "source_format": "wfdb", "waveform_shard": "shard-0.parquet", "waveform_row": 0,
}


@pytest.fixture(scope="module")
def warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    migrate(con)
    yield con
    con.close()


def staged(con: duckdb.DuckDBPyConnection, kind: str, rows: list[dict]) -> pd.DataFrame:
    """Rows as the staging table returns them (DuckDB's own casts and dtypes), with lineage."""
    con.execute(f"DELETE FROM staging.{kind}")
    extra = ECG_FILE_COLUMNS if kind == "ecgs" else {}
    records = [
        {"site": "lakeside", "file_id": FILE_ID, "source_row": i, **extra, **row}
        for i, row in enumerate(rows, start=1)
    ]
    if records:
        con.register("incoming", pd.DataFrame.from_records(records))
        try:
            con.execute(f"INSERT INTO staging.{kind} BY NAME SELECT * FROM incoming")
        finally:
            con.unregister("incoming")
    return con.execute(f"SELECT * FROM staging.{kind} ORDER BY file_id, source_row").df()


def failing(outcomes: list[CheckOutcome]) -> set[str]:
    return {o.check_name for o in outcomes if o.rows_failed or not o.passed}


def outcome(outcomes: list[CheckOutcome], check_name: str) -> CheckOutcome:
    (found,) = [o for o in outcomes if o.check_name == check_name]
    return found


CLEAN_ROWS: dict[str, list[dict]] = {
    "labs": [
        {"local_id": "P001", "sample_date": "2020-01-10", "analyte": "CK total", "value": 8500.0,
         "unit": "U/L"},
        {"local_id": "P001", "sample_date": "2020-04-10", "analyte": "CK", "value": 14.2,
         "unit": "ukat/L"},
        {"local_id": "P002", "sample_date": "2021-02-03", "analyte": "HDL-C", "value": 1.3,
         "unit": "mmol/L"},
        {"local_id": "P003", "sample_date": "2021-02-03", "analyte": "HDL", "value": 52.0,
         "unit": "mg/dL"},
        {"local_id": "P002", "sample_date": "2021-02-03", "analyte": "Cholesterol", "value": 5.4,
         "unit": "mmol/l"},
        {"local_id": "P003", "sample_date": "2021-02-03", "analyte": "Total cholesterol",
         "value": 190.0, "unit": "mg/dL"},
        {"local_id": "P004", "sample_date": "2022-06-30", "analyte": "CK", "value": 0.0,
         "unit": "IU/L"},
        {"local_id": "P004", "sample_date": "2022-07-30", "analyte": "CK", "value": 120.0,
         "unit": "U/L"},
        {"local_id": "P005", "sample_date": "2023-03-01", "analyte": "CK", "value": 23000.0,
         "unit": "U/L"},
        {"local_id": "P006", "sample_date": "2024-05-05", "analyte": "CK", "value": 300.0,
         "unit": "U/L"},
    ],
    "echos": [
        {"local_id": "P001", "echo_date": "2020-02-01", "lvef_percent": 55.0,
         "diastolic_grade": "normal", "conclusion_text": "Normal LV size and function."},
        {"local_id": "P002", "echo_date": "2020-05-12", "lvef_percent": 30.0,
         "conclusion_text": "Severe global hypokinesis."},
        {"local_id": "P003", "echo_date": "2021-09-09",
         "conclusion_text": "Grade 1 diastolic dysfunction."},
    ],
    "strength": [
        {"local_id": "P001", "exam_date": "2020-01-10", "muscle_group": "Hip flexors",
         "side": "L", "mrc_grade": "4-"},
        {"local_id": "P001", "exam_date": "2020-01-10", "muscle_group": "Hip flexors",
         "side": "R", "mrc_grade": "4+"},
        {"local_id": "P002", "exam_date": "2020-03-01", "muscle_group": "Deltoid",
         "side": "both", "mrc_grade": "5"},
        {"local_id": "P003", "exam_date": "2021-03-01", "muscle_group": "Neck flexors",
         "side": "both", "mrc_grade": "0"},
    ],
    "treatments": [
        {"local_id": "P001", "drug": "Prednisone", "route": "oral", "dose": 60.0,
         "dose_unit": "mg", "start_date": "2020-01-10", "stop_date": "2020-06-01"},
        {"local_id": "P001", "drug": "IVIG", "route": "iv", "dose": 2.0, "dose_unit": "g/kg",
         "start_date": "2020-01-20", "stop_date": "2020-01-20"},
        {"local_id": "P002", "drug": "MTX", "route": "sc", "dose": 15.0, "dose_unit": "mg",
         "start_date": "2021-03-01"},
        {"local_id": "P003", "drug": "Rituximab", "route": "iv", "dose": 1000.0,
         "dose_unit": "mg", "start_date": "2022-02-01", "stop_date": "2022-02-15"},
    ],
    "diagnoses": [
        {"local_id": "P001", "diagnosis": "IMNM", "symptom_onset_date": "2019-11-01",
         "diagnosis_date": "2020-01-15", "respiratory_involvement": "no"},
        {"local_id": "P002", "diagnosis": "IMNM", "symptom_onset_date": "2020-03-01",
         "diagnosis_date": "2020-03-01", "respiratory_involvement": "yes"},
        {"local_id": "P003", "diagnosis": "anti-HMGCR myopathy",
         "symptom_onset_date": "2015-06-01", "diagnosis_date": "2018-02-20"},
    ],
}

# One plausible row per kind not covered above, to run every suite end to end.
OTHER_ROWS: dict[str, list[dict]] = {
    "patients": [
        {"local_id": "P001", "patient_name": "A B", "birth_date": "1961-04-02", "sex": "F"},
        {"local_id": "P002", "patient_name": "C D", "birth_date": "1975-12-30", "sex": "M"},
    ],
    "biopsies": [
        {"local_id": "P001", "biopsy_date": "2020-01-20", "muscle": "vastus lateralis",
         "histology_text": "Necrotizing myopathy with a paucity of inflammation."},
    ],
    "serology": [
        {"local_id": "P001", "sample_date": "2020-01-12", "antigen": "HMGCR",
         "result": "positive", "band_intensity": 88.0},
        {"local_id": "P001", "sample_date": "2020-01-12", "antigen": "SRP", "result": "negative",
         "band_intensity": 2.0},
    ],
    "vitals": [
        {"local_id": "P001", "measured_date": "2020-01-10", "systolic_bp": 132.0,
         "diastolic_bp": 84.0},
    ],
    "outcomes": [
        {"local_id": "P001", "last_followup_date": "2025-10-01"},
        {"local_id": "P002", "death_date": "2023-05-05", "death_cause": "heart failure",
         "last_followup_date": "2023-04-20"},
    ],
    "ecgs": [
        {"local_id": "P001", "acquired_at": "2020-01-11 09:15:00", "source_sampling_hz": 500.0,
         "source_n_leads": 12, "source_duration_s": 10.0},
    ],
}


# --- the suites as data -------------------------------------------------------------------


def test_suite_files_are_exactly_the_record_kinds_and_core_suites() -> None:
    assert {path.stem for path in SUITES_DIR.glob("*.json")} == set(SUITE_NAMES)


@pytest.mark.parametrize("kind", RECORD_KINDS)
def test_every_suite_loads_with_valid_meta(kind: str) -> None:
    document = json.loads((SUITES_DIR / f"{kind}.json").read_text(encoding="utf-8"))
    suite = load_suite(kind)
    checks = suite_checks(kind)
    assert suite.name == kind
    assert len(suite.expectations) == len(checks) == len(document["expectations"]) >= 1
    names = [check.check_name for check in checks]
    assert len(set(names)) == len(names)
    for check, raw in zip(checks, document["expectations"], strict=True):
        assert isinstance(check, Check)
        assert re.fullmatch(rf"{kind}_[a-z0-9_]+", check.check_name)
        assert check.category in CATEGORIES and check.severity in SEVERITIES
        assert 0.0 <= check.threshold < 1.0
        assert raw["kwargs"].get("mostly", 1.0) == pytest.approx(1.0 - check.threshold)
    # Each kind is checked for every Kahn category.
    assert {check.category for check in checks} == set(CATEGORIES)


def test_suite_columns_exist_in_the_staging_tables(warehouse: duckdb.DuckDBPyConnection) -> None:
    for kind in RECORD_KINDS:
        columns = {row[0] for row in warehouse.execute(f"DESCRIBE staging.{kind}").fetchall()}
        for check in suite_checks(kind):
            assert set(check.column_name.split(",")) <= columns, (kind, check.check_name)


def test_blocking_is_reserved_for_structural_problems() -> None:
    blocking = {
        (check.check_name, check.threshold)
        for kind in RECORD_KINDS
        for check in suite_checks(kind)
        if check.severity == "blocking"
    }
    expected = {(f"{kind}_local_id_not_null", 0.05) for kind in RECORD_KINDS}
    assert blocking == expected | {("ecgs_acquired_at_not_null", 0.0)}


def _write_suite(tmp_path: Path, expectations: list[dict]) -> Path:
    path = tmp_path / "labs.json"
    path.write_text(json.dumps({"name": "labs", "expectations": expectations}), encoding="utf-8")
    return path


def _expectation(**meta_overrides: object) -> dict:
    meta = {"check_name": "labs_value_not_null", "category": "completeness",
            "severity": "warning", "threshold": 0.0, **meta_overrides}
    return {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "value"},
            "meta": {k: v for k, v in meta.items() if v is not None}}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"severity": None}, "lacks meta keys severity"),
        ({"category": "accuracy"}, "category 'accuracy' not one of"),
        ({"severity": "fatal"}, "severity 'fatal' not one of"),
        ({"threshold": 1.5}, "threshold 1.5 must be a number in [0, 1)"),
        ({"threshold": 0.1}, "kwargs.mostly must be 1 - threshold"),
        ({"check_name": "ValueNotNull"}, "check_name must be snake_case"),
        ({"check_name": "vitals_value_not_null"}, "check_name must start with 'labs_'"),
    ],
)
def test_invalid_meta_names_the_file_and_the_expectation(
    tmp_path: Path, overrides: dict, message: str
) -> None:
    second = _expectation(**{"check_name": "labs_unit_not_null", **overrides})
    path = _write_suite(tmp_path, [_expectation(), second])
    with pytest.raises(SuiteError) as error:
        read_suite_file(path)
    assert str(path) in str(error.value)
    assert "expectation #1" in str(error.value)
    assert message in str(error.value)


def test_table_level_expectations_and_unknown_parameters_are_refused(tmp_path: Path) -> None:
    table_level = _expectation()
    table_level.update(type="expect_column_mean_to_be_between",
                       kwargs={"column": "value", "min_value": 0})
    with pytest.raises(SuiteError, match="not a row-level"):
        read_suite_file(_write_suite(tmp_path, [table_level]))
    dated = _expectation()
    dated.update(type="expect_column_values_to_be_between",
                 kwargs={"column": "sample_date", "max_value": {"$PARAMETER": "today"}})
    with pytest.raises(SuiteError, match="unknown suite parameter 'today'"):
        read_suite_file(_write_suite(tmp_path, [dated]))


def test_unknown_kind_names_the_known_kinds() -> None:
    with pytest.raises(KeyError, match="known suites: patients, diagnoses"):
        suite_checks("ecg")
    with pytest.raises(KeyError, match="'ecg'"):
        validate_staged_batch("ecg", pd.DataFrame(), RUN_DATE)


# --- validating staged batches ------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(CLEAN_ROWS))
def test_clean_batch_passes_every_check(warehouse: duckdb.DuckDBPyConnection, kind: str) -> None:
    outcomes = validate_staged_batch(kind, staged(warehouse, kind, CLEAN_ROWS[kind]), RUN_DATE)
    assert [o.check_name for o in outcomes] == [c.check_name for c in suite_checks(kind)]
    assert failing(outcomes) == set()
    assert all(o.failed_rows == () for o in outcomes)
    assert all(o.rows_tested > 0 for o in outcomes)


@pytest.mark.parametrize("kind", sorted(OTHER_ROWS))
def test_other_kinds_validate_end_to_end(warehouse: duckdb.DuckDBPyConnection, kind: str) -> None:
    outcomes = validate_staged_batch(kind, staged(warehouse, kind, OTHER_ROWS[kind]), RUN_DATE)
    assert len(outcomes) == len(suite_checks(kind))
    assert failing(outcomes) == set()


def test_negative_ck_fails_only_the_ck_range_check(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = [dict(row) for row in CLEAN_ROWS["labs"]]
    rows[7]["value"] = -40.0  # source_row 8, unit U/L
    outcomes = validate_staged_batch("labs", staged(warehouse, "labs", rows), RUN_DATE)
    assert failing(outcomes) == {"labs_ck_in_plausible_range_u_per_l"}
    ck = outcome(outcomes, "labs_ck_in_plausible_range_u_per_l")
    assert (ck.rows_tested, ck.rows_failed, ck.passed) == (5, 1, False)  # the five U/L rows
    assert ck.failed_rows == ((FILE_ID, 8, "-40"),)
    assert (ck.category, ck.severity, ck.column_name) == ("plausibility", "warning", "value")


def test_ef_140_fails_the_plausible_range(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = [dict(row) for row in CLEAN_ROWS["echos"]]
    rows[1]["lvef_percent"] = 140.0
    outcomes = validate_staged_batch("echos", staged(warehouse, "echos", rows), RUN_DATE)
    assert failing(outcomes) == {"echos_lvef_in_plausible_range_percent"}
    ef = outcome(outcomes, "echos_lvef_in_plausible_range_percent")
    assert (ef.rows_tested, ef.rows_failed) == (3, 1)
    assert ef.failed_rows == ((FILE_ID, 2, "140"),)


def test_ef_as_a_fraction_fails_conformance(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = [dict(row) for row in CLEAN_ROWS["echos"]]
    rows[0]["lvef_percent"] = 0.55
    outcomes = validate_staged_batch("echos", staged(warehouse, "echos", rows), RUN_DATE)
    assert failing(outcomes) == {
        "echos_lvef_expressed_as_percent", "echos_lvef_in_plausible_range_percent",
    }
    assert outcome(outcomes, "echos_lvef_expressed_as_percent").failed_rows == (
        (FILE_ID, 1, "0.55"),
    )


def test_mrc_grade_7_fails_only_the_format_check(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = [dict(row) for row in CLEAN_ROWS["strength"]]
    rows[2]["mrc_grade"] = "7"
    rows[3]["mrc_grade"] = "5+"
    outcomes = validate_staged_batch("strength", staged(warehouse, "strength", rows), RUN_DATE)
    assert failing(outcomes) == {
        "strength_mrc_grade_format", "strength_mrc_grade_modifier_within_scale",
    }
    fmt = outcome(outcomes, "strength_mrc_grade_format")
    assert (fmt.category, fmt.rows_failed, fmt.failed_rows) == (
        "conformance", 1, ((FILE_ID, 3, "7"),)
    )
    scale = outcome(outcomes, "strength_mrc_grade_modifier_within_scale")
    assert scale.failed_rows == ((FILE_ID, 4, "5+"),)


def test_unit_spellings_compare_case_blind(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = [dict(row) for row in CLEAN_ROWS["labs"][:3]]
    rows[0]["unit"] = "IU/l"
    rows[1]["unit"] = " µKAT/L "
    rows[2]["unit"] = "mg%"
    outcomes = validate_staged_batch("labs", staged(warehouse, "labs", rows), RUN_DATE)
    assert failing(outcomes) == {"labs_unit_known_spelling"}
    assert outcome(outcomes, "labs_unit_known_spelling").failed_rows == ((FILE_ID, 3, "mg%"),)


def test_local_id_missing_in_20_percent_blocks(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = [dict(row) for row in CLEAN_ROWS["labs"]]
    rows[2]["local_id"] = None
    rows[8]["local_id"] = None
    outcomes = validate_staged_batch("labs", staged(warehouse, "labs", rows), RUN_DATE)
    assert failing(outcomes) == {"labs_local_id_not_null"}
    missing = outcome(outcomes, "labs_local_id_not_null")
    assert (missing.severity, missing.threshold) == ("blocking", 0.05)
    assert (missing.rows_tested, missing.rows_failed, missing.passed) == (10, 2, False)
    assert missing.failed_rows == ((FILE_ID, 3, None), (FILE_ID, 9, None))


def test_local_id_missing_within_threshold_passes_but_lists_the_row(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    rows = [dict(row) for row in CLEAN_ROWS["labs"] * 2]  # 20 rows, 1 missing = 5 %
    rows[13]["local_id"] = None
    outcomes = validate_staged_batch("labs", staged(warehouse, "labs", rows), RUN_DATE)
    missing = outcome(outcomes, "labs_local_id_not_null")
    assert (missing.rows_tested, missing.rows_failed, missing.passed) == (20, 1, True)
    assert missing.failed_rows == ((FILE_ID, 14, None),)


def test_diagnosis_before_onset_fails_the_pair_check(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    rows = [dict(row) for row in CLEAN_ROWS["diagnoses"]]
    rows[0]["diagnosis_date"] = "2019-10-01"
    rows.append({"local_id": "P004", "diagnosis": "IMNM", "diagnosis_date": "2021-01-01",
                 "symptom_onset_date": "2021-01-02"})
    outcomes = validate_staged_batch("diagnoses", staged(warehouse, "diagnoses", rows), RUN_DATE)
    assert failing(outcomes) == {"diagnoses_diagnosis_not_before_symptom_onset"}
    pair = outcome(outcomes, "diagnoses_diagnosis_not_before_symptom_onset")
    assert pair.column_name == "diagnosis_date,symptom_onset_date"
    assert (pair.rows_tested, pair.rows_failed) == (4, 2)
    assert pair.failed_rows == (
        (FILE_ID, 1, "2019-10-01,2019-11-01"), (FILE_ID, 4, "2021-01-01,2021-01-02"),
    )


def test_stop_before_start_and_zero_dose_are_flagged(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    rows = [dict(row) for row in CLEAN_ROWS["treatments"]]
    rows[0]["stop_date"] = "2019-12-31"
    rows[2]["dose"] = 0.0
    outcomes = validate_staged_batch("treatments", staged(warehouse, "treatments", rows), RUN_DATE)
    assert failing(outcomes) == {"treatments_stop_not_before_start", "treatments_dose_positive"}
    assert outcome(outcomes, "treatments_stop_not_before_start").failed_rows == (
        (FILE_ID, 1, "2019-12-31,2020-01-10"),
    )
    assert outcome(outcomes, "treatments_dose_positive").failed_rows == ((FILE_ID, 3, "0"),)


def test_future_date_fails_against_the_run_date(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = [dict(row) for row in CLEAN_ROWS["labs"]]
    rows[4]["sample_date"] = "2026-12-01"
    rows[5]["sample_date"] = "9999-12-31"  # a placeholder date beyond pandas' nanosecond range
    rows[6]["sample_date"] = "1899-12-31"
    batch = staged(warehouse, "labs", rows)
    outcomes = validate_staged_batch("labs", batch, RUN_DATE)
    assert failing(outcomes) == {"labs_sample_date_in_range"}
    dates = outcome(outcomes, "labs_sample_date_in_range")
    assert dates.failed_rows == (
        (FILE_ID, 5, "2026-12-01"), (FILE_ID, 6, "9999-12-31"), (FILE_ID, 7, "1899-12-31"),
    )
    # The same batch a year later: the December 2026 sample is no longer in the future.
    later = validate_staged_batch("labs", batch, dt.date(2027, 1, 1))
    assert outcome(later, "labs_sample_date_in_range").failed_rows == (
        (FILE_ID, 6, "9999-12-31"), (FILE_ID, 7, "1899-12-31"),
    )
    # The run date itself is allowed.
    same_day = validate_staged_batch("labs", batch, dt.date(2026, 12, 1))
    assert [row[1] for row in outcome(same_day, "labs_sample_date_in_range").failed_rows] == [6, 7]


def test_ecg_timestamps_use_the_whole_run_date(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = [
        {"local_id": "P001", "acquired_at": "2026-11-01 15:30:00", "source_n_leads": 12,
         "source_sampling_hz": 500.0},
        {"local_id": "P001", "acquired_at": "2026-11-02 00:00:01", "source_n_leads": 8,
         "source_sampling_hz": 1000.0},
        {"local_id": "P002", "source_n_leads": 12, "source_sampling_hz": 250.0},
    ]
    outcomes = validate_staged_batch("ecgs", staged(warehouse, "ecgs", rows), RUN_DATE)
    assert failing(outcomes) == {"ecgs_acquired_at_in_range", "ecgs_acquired_at_not_null"}
    assert outcome(outcomes, "ecgs_acquired_at_in_range").failed_rows == (
        (FILE_ID, 2, "2026-11-02 00:00:01"),
    )
    blocking = outcome(outcomes, "ecgs_acquired_at_not_null")
    assert (blocking.severity, blocking.passed, blocking.failed_rows) == (
        "blocking", False, ((FILE_ID, 3, None),)
    )


def test_follow_up_after_death_is_flagged(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = [
        {"local_id": "P001", "death_date": "2022-01-01", "death_cause": "arrhythmia",
         "last_followup_date": "2022-06-01"},
        {"local_id": "P002", "death_date": "2022-01-01", "last_followup_date": "2021-06-01"},
    ]
    outcomes = validate_staged_batch("outcomes", staged(warehouse, "outcomes", rows), RUN_DATE)
    assert failing(outcomes) == {
        "outcomes_followup_not_after_death", "outcomes_death_cause_present_when_death_date_given",
    }
    assert outcome(outcomes, "outcomes_followup_not_after_death").failed_rows == (
        (FILE_ID, 1, "2022-01-01,2022-06-01"),
    )
    cause = outcome(outcomes, "outcomes_death_cause_present_when_death_date_given")
    assert (cause.rows_tested, cause.failed_rows) == (2, ((FILE_ID, 2, None),))


def test_python_date_objects_validate_like_staged_dates(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    rows = [dict(row) for row in CLEAN_ROWS["labs"]]
    rows[4]["sample_date"] = "2026-12-01"
    batch = staged(warehouse, "labs", rows)
    as_objects = batch.assign(sample_date=[d.date() for d in batch["sample_date"]])
    assert as_objects["sample_date"].dtype == object
    assert validate_staged_batch("labs", as_objects, RUN_DATE) == validate_staged_batch(
        "labs", batch, RUN_DATE
    )


def test_empty_batch_gives_no_outcomes(warehouse: duckdb.DuckDBPyConnection) -> None:
    assert validate_staged_batch("labs", staged(warehouse, "labs", []), RUN_DATE) == []


def test_batch_without_lineage_or_suite_columns_is_refused(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    batch = staged(warehouse, "labs", CLEAN_ROWS["labs"])
    with pytest.raises(ValueError, match="lacks column\\(s\\) source_row"):
        validate_staged_batch("labs", batch.drop(columns=["source_row"]), RUN_DATE)
    with pytest.raises(ValueError, match="unit"):
        validate_staged_batch("labs", batch.drop(columns=["unit"]), RUN_DATE)


def test_uncomparable_values_raise_instead_of_passing(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    batch = staged(warehouse, "echos", CLEAN_ROWS["echos"])
    batch["lvef_percent"] = ["55", "thirty", None]
    with pytest.raises(ValidationError, match="echos_lvef"):
        validate_staged_batch("echos", batch, RUN_DATE)


def test_outcomes_fill_the_audit_tables_one_to_one(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    rows = [dict(row) for row in CLEAN_ROWS["labs"]]
    rows[0]["value"] = -1.0
    rows[1]["unit"] = "mg%"
    outcomes = validate_staged_batch("labs", staged(warehouse, "labs", rows), RUN_DATE)
    at = dt.datetime(2026, 11, 1, 12, 0)
    warehouse.executemany(
        sql("insert_validation_result"),
        [["r1", "lakeside", "labs", o.suite, o.check_name, o.expectation_type, o.column_name,
          o.category, o.severity, o.threshold, o.rows_tested, o.rows_failed, o.passed, at,
          "staging"] for o in outcomes],
    )
    warehouse.executemany(
        sql("insert_failed_row"),
        [["r1", "lakeside", "labs", o.check_name, file_id, source_row, o.column_name, value,
          "staging", None]
         for o in outcomes for file_id, source_row, value in o.failed_rows],
    )
    summary = warehouse.execute(
        """SELECT v.check_name, v.rows_failed, count(f.source_row) AS listed
           FROM audit.validation_results v LEFT JOIN audit.failed_rows f USING (run_id, check_name)
           WHERE v.run_id = 'r1' GROUP BY ALL HAVING v.rows_failed > 0 ORDER BY 1"""
    ).fetchall()
    assert summary == [
        ("labs_ck_in_plausible_range_u_per_l", 1, 1),
        ("labs_unit_known_spelling", 1, 1),
    ]



@pytest.mark.parametrize("suite", ["core_labs", "core_timeline", "core_event_dates",
                                   "core_completeness"])
def test_core_suites_cover_all_three_kahn_categories(suite: str) -> None:
    checks = suite_checks(suite)
    assert {c.category for c in checks} == set(CATEGORIES)
    assert all(c.check_name.startswith(f"{suite}_") for c in checks)


def test_the_core_as_a_whole_has_blocking_and_warning_checks() -> None:
    from expectations.registry import CORE_SUITES

    severities = {c.severity for suite in CORE_SUITES for c in suite_checks(suite)}
    assert severities == set(SEVERITIES)
