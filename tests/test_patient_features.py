"""core.patient_features: study B's derived fields, on hand-made core rows in real DuckDB."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from warehouse.db import migrate

DX = date(2020, 3, 1)


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:")
    migrate(connection)
    return connection


def _add(con: duckdb.DuckDBPyConnection, table: str, **values: object) -> None:
    values = {"site": "lakeside", "file_id": 1, "source_row": 1, **values}
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    con.execute(f"INSERT INTO core.{table} ({columns}) VALUES ({marks})", list(values.values()))


def _patient(con: duckdb.DuckDBPyConnection, key: str) -> None:
    _add(con, "patients", patient_key=key, sex="female", statin_exposure="current")
    _add(con, "diagnoses", patient_key=key, diagnosis="imnm", diagnosis_date=DX,
         symptom_onset_date=date(2020, 1, 1), age_at_diagnosis=61.5,
         symptom_duration_band="1-3 months")


def _features(con: duckdb.DuckDBPyConnection, key: str) -> dict[str, object]:
    row = con.execute("SELECT * FROM core.patient_features WHERE patient_key = ?", [key])
    names = [d[0] for d in row.description]
    return dict(zip(names, row.fetchone(), strict=True))


def test_hmgcr_patient_on_prednisone_and_early_ivig(con: duckdb.DuckDBPyConnection) -> None:
    _patient(con, "P1")
    _add(con, "serology", patient_key="P1", antigen="HMGCR", result="positive")
    _add(con, "serology", patient_key="P1", antigen="SRP", result="positive")
    _add(con, "labs", patient_key="P1", analyte="ck", value=9000.0, sample_date=date(2020, 2, 1))
    _add(con, "labs", patient_key="P1", analyte="ck", value=8000.0, sample_date=date(2020, 3, 3))
    _add(con, "strength", patient_key="P1", muscle_group="hip_flexors", side="left",
         study_b_level=2, exam_date=DX)
    _add(con, "strength", patient_key="P1", muscle_group="hip_flexors", side="right",
         study_b_level=1, exam_date=DX)
    _add(con, "treatments", patient_key="P1", drug_class="oral_glucocorticoid",
         agent="prednisone", dose_mg=60.0, start_date=date(2020, 3, 2))
    _add(con, "treatments", patient_key="P1", drug_class="oral_glucocorticoid",
         agent="prednisone", dose_mg=40.0, start_date=date(2020, 3, 20))
    _add(con, "treatments", patient_key="P1", drug_class="ivig", agent="immunoglobulin",
         dose_mg=140000.0, start_date=date(2020, 3, 25))
    features = _features(con, "P1")
    assert features["serotype"] == "anti-HMGCR"
    assert features["initial_ck_u_l"] == 8000.0  # closest to diagnosis
    assert features["baseline_hip_flexor_level"] == 1  # the weaker side
    assert features["initial_treatment"] == "gc_ivig"
    assert features["early_ivig"] is True
    assert features["initial_prednisone_mg"] == 60.0  # the first oral glucocorticoid
    assert (features["sex"], features["statin_exposure"]) == ("female", "current")


def test_seronegative_late_ivig_and_csdmard(con: duckdb.DuckDBPyConnection) -> None:
    _patient(con, "P2")
    _add(con, "serology", patient_key="P2", antigen="HMGCR", result="negative")
    _add(con, "serology", patient_key="P2", antigen="Jo-1", result="borderline")
    _add(con, "treatments", patient_key="P2", drug_class="ivmp", agent="methylprednisolone",
         dose_mg=1000.0, start_date=DX)
    _add(con, "treatments", patient_key="P2", drug_class="csdmard", agent="methotrexate",
         dose_mg=15.0, start_date=date(2020, 3, 10))
    _add(con, "treatments", patient_key="P2", drug_class="ivig", agent="immunoglobulin",
         dose_mg=140000.0, start_date=date(2020, 6, 1))
    features = _features(con, "P2")
    assert features["serotype"] == "seronegative"
    assert features["initial_treatment"] == "gc_csdmard"
    assert features["initial_ivmp"] is True and features["initial_csdmard"] is True
    assert features["early_ivig"] is False
    assert features["initial_prednisone_mg"] is None
    assert features["initial_ck_u_l"] is None


def test_no_serology_and_no_treatment(con: duckdb.DuckDBPyConnection) -> None:
    _patient(con, "P3")
    _add(con, "serology", patient_key="P4", antigen="SRP", result="positive")
    features = _features(con, "P3")
    assert features["serotype"] is None
    assert features["initial_treatment"] == "none"
