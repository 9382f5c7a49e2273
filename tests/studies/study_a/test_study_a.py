"""Study A in full through a real refresh: every result table released, documented, queryable,
consistent with the analysis layer it was computed from, and built to the configuration."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from imnm.cli import main
from imnm.settings import CONFIG_DIR
from imnm.siteconfig import load_vocabularies
from imnm.studies.registry import get_study
from tests.conftest import DemoNetwork

DOC = Path(__file__).resolve().parents[3] / "docs" / "study-a.md"
STUDY = get_study("study_a")
STUDY_A_TABLES = tuple(f"study_a_{name}" for name in STUDY.table_names)


@pytest.fixture(scope="module")
def published(demo_network: DemoNetwork):
    con = duckdb.connect(str(demo_network.paths.results), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def warehouse(demo_network: DemoNetwork):
    con = duckdb.connect(str(demo_network.paths.warehouse), read_only=True)
    yield con
    con.close()


def _table(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    return con.execute(f"SELECT * FROM results.{name}").df()


def test_every_study_a_table_is_released_for_the_release(
        published: duckdb.DuckDBPyConnection, demo_network: DemoNetwork) -> None:
    counts = json.loads(published.execute(
        "SELECT row_counts FROM results.releases WHERE release_id = ?",
        [demo_network.release_id]).fetchone()[0])
    for table in STUDY_A_TABLES:
        rows = published.execute(f"SELECT DISTINCT release_id, count(*) OVER () "
                                 f"FROM results.{table}").fetchall()
        assert rows and rows[0][0] == demo_network.release_id, table
        assert counts[f"{table}_history"] == rows[0][1] > 0, table


def test_every_released_column_is_documented() -> None:
    con = duckdb.connect()
    from warehouse.db import migrate
    migrate(con)
    text = DOC.read_text(encoding="utf-8")
    for table in STUDY_A_TABLES:
        assert f"`{table}`" in text, table
        columns = [c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'results' "
            "AND table_name = ?", [f"{table}_history"]).fetchall()]
        undocumented = [c for c in columns if c != "release_id"
                        and not re.search(rf"`{re.escape(c)}`|`{re.escape(c.rsplit('_', 2)[0])}`",
                                          text)]
        assert not undocumented, (table, undocumented)


def test_release_records_the_configured_parameters(
        published: duckdb.DuckDBPyConnection, demo_network: DemoNetwork) -> None:
    recorded = json.loads(published.execute(
        "SELECT analysis_parameters FROM results.releases WHERE release_id = ?",
        [demo_network.release_id]).fetchone()[0])
    assert recorded["study_a"] == STUDY.parameters().as_dict()
    recorded = recorded["study_a"]
    accuracy = _table(published, "study_a_accuracy").set_index("cutoff_rule")
    assert accuracy.loc["configured", "cutoff"] == recorded["cutoff"]
    assert (_table(published, "study_a_early_detection")["window_years"]
            == recorded["early_detection_window_years"]).all()


def test_attrition_agrees_with_the_released_cohort_and_subsets(
        published: duckdb.DuckDBPyConnection) -> None:
    attrition = _table(published, "study_a_attrition").sort_values("step")
    cohort_steps = attrition[attrition["analysis"] == "cohort"]
    assert (cohort_steps["n_before"].iloc[1:].to_numpy()
            == cohort_steps["n_remaining"].iloc[:-1].to_numpy()).all()
    assert (attrition["n_before"] - attrition["n_removed"] == attrition["n_remaining"]).all()
    n_cohort = int(cohort_steps["n_remaining"].iloc[-1])
    patients = _table(published, "study_a_patients")
    assert len(patients) == n_cohort
    by_analysis = attrition.set_index("analysis")["n_remaining"]
    accuracy = _table(published, "study_a_accuracy")
    assert (accuracy["n_patients"] == by_analysis["accuracy"]).all()
    assert accuracy["n_patients"].iloc[0] == patients["echo_lvd_flag"].notna().sum()
    logrank = _table(published, "study_a_logrank")
    assert logrank["n_patients"].iloc[0] == by_analysis["survival"]
    table1 = _table(published, "study_a_table1").set_index("variable")
    assert table1.loc["patients", "overall"] == str(n_cohort)


def test_accuracy_counts_match_the_patients_released(
        published: duckdb.DuckDBPyConnection) -> None:
    patients = _table(published, "study_a_patients")
    with_echo = patients[patients["echo_lvd_flag"].notna()]
    row = _table(published, "study_a_accuracy").set_index("cutoff_rule").loc["configured"]
    flagged, lvd = with_echo["p_lvd"] > row["cutoff"], with_echo["echo_lvd_flag"].astype(bool)
    assert row["true_positive"] == (flagged & lvd).sum()
    assert row["false_positive"] == (flagged & ~lvd).sum()
    assert row["false_negative"] == (~flagged & lvd).sum()
    assert row["true_negative"] == (~flagged & ~lvd).sum()
    assert (patients["model_predicts_lvd"] == (patients["p_lvd"] > row["cutoff"])).all()


# Deaths of cardiorespiratory cause inside the window after the index ECG, per model group,
# among the silent-heart patients (normal echo, no cardiorespiratory symptoms).
EARLY_DEATHS_SQL = """
SELECT model_predicts_lvd, count(*) FILTER (
           WHERE death_cause = 'cardiorespiratory'
             AND death_date <= ecg_date + to_days(CAST(floor(? * 365.25) AS INTEGER)))
FROM analysis.study_a_cohort
WHERE NOT echo_lvd_flag AND NOT cardiorespiratory_symptoms
GROUP BY model_predicts_lvd
"""


def test_death_causes_are_codes_and_early_detection_counts_them(
        warehouse: duckdb.DuckDBPyConnection, published: duckdb.DuckDBPyConnection) -> None:
    """Every centre's cause-of-death text reaches core as a platform code (the text kept
    beside it), so the early-detection table counts the demo's cardiorespiratory deaths."""
    codes = set(load_vocabularies(CONFIG_DIR / "vocabularies.toml")["death_cause"].values())
    causes = warehouse.execute("SELECT death_cause, death_cause_as_sent FROM core.outcomes "
                               "WHERE death_cause_as_sent IS NOT NULL").fetchall()
    assert {code for code, _ in causes} <= codes
    assert any(code != sent for code, sent in causes)  # the centres' own spellings, translated
    window = float(_table(published, "study_a_early_detection")["window_years"].iloc[0])
    expected = {"predicts_lvd" if predicted else "predicts_no_lvd": n for predicted, n
                in warehouse.execute(EARLY_DEATHS_SQL, [window]).fetchall()}
    released = _table(published, "study_a_early_detection").set_index("model_group")
    assert released["n_cardiorespiratory_death"].to_dict() == expected
    assert sum(expected.values()) > 0


def test_analysis_layer_is_what_was_released(
        warehouse: duckdb.DuckDBPyConnection, published: duckdb.DuckDBPyConnection,
        demo_network: DemoNetwork) -> None:
    build = warehouse.execute("SELECT model_version, analysis_parameters "
                              "FROM analysis.study_builds WHERE study = 'study_a'").fetchall()
    assert len(build) == 1 and build[0][0] == demo_network.model_version
    cohort = warehouse.execute("SELECT patient_key, p_lvd, ascvd_10y_risk_percent "
                               "FROM analysis.study_a_cohort ORDER BY patient_key").df()
    released = published.execute("SELECT patient_key, p_lvd, ascvd_10y_risk_percent "
                                 "FROM results.study_a_patients ORDER BY patient_key").df()
    pd.testing.assert_frame_equal(cohort, released)
    serial = warehouse.execute("SELECT count(*), count(DISTINCT patient_key) "
                               "FROM analysis.study_a_serial_ecgs").fetchone()
    trajectory = _table(published, "study_a_trajectory").iloc[0]
    assert serial == (trajectory["n_ecgs"], trajectory["n_patients"])
    assert warehouse.execute("SELECT count(*) FROM analysis.study_a_cohort WHERE "
                             "ascvd_10y_risk_percent IS NULL AND ascvd_note IS NULL"
                             ).fetchone()[0] == 0


def test_imnm_sql_answers_from_the_study_a_tables(
        demo_network: DemoNetwork, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sql", "--data-dir", str(demo_network.paths.root),
                 "SELECT model, term, round(hazard_ratio, 3) AS hr FROM results.study_a_cox "
                 "ORDER BY model, term"])
    assert code == 0
    out = capsys.readouterr().out
    assert "unadjusted" in out and "model_predicts_lvd" in out


# --------------------------------------------------------------------------- R cross-check
# Every statistic of the release, recomputed by r/study_a_reference.R (R's pROC, stats and
# survival) on the same rows: the analysis layer the release was computed from.
# Tolerances: relative 1e-6 for every estimate, CI bound and p-value (R's coxph and glm stop
# their iterations at ~1e-9 relative; everything else agrees to rounding), absolute 1e-9 for
# values near 0; counts, test choices and group sizes exactly.
REL, ABS = 1e-6, 1e-9


@pytest.fixture(scope="module")
def r_reference(warehouse: duckdb.DuckDBPyConnection, tmp_path_factory: pytest.TempPathFactory
                ) -> dict[str, pd.DataFrame]:
    from tests.studies.study_a.study_a_reference import run_study_a_in_r

    params = STUDY.parameters()
    cohort = warehouse.execute("SELECT * FROM analysis.study_a_cohort").df()
    serial = warehouse.execute("SELECT * FROM analysis.study_a_serial_ecgs").df()
    return run_study_a_in_r(cohort, serial, params.cutoff, params.confidence,
                            params.normality_alpha, tmp_path_factory.mktemp("r-study-a"))


def _assert_columns_match(ours: pd.DataFrame, theirs: pd.DataFrame, keys: list[str],
                          columns: list[str]) -> None:
    merged = ours.merge(theirs, on=keys, suffixes=("", "_r"), how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"][keys]
    for column in columns:
        left = merged[column].astype(float).to_numpy()
        right = merged[f"{column}_r"].astype(float).to_numpy()
        assert left == pytest.approx(right, rel=REL, abs=ABS, nan_ok=True), column


def test_accuracy_equals_r(published: duckdb.DuckDBPyConnection,
                           r_reference: dict[str, pd.DataFrame]) -> None:
    ours = _table(published, "study_a_accuracy")
    theirs = r_reference["accuracy"].copy()
    # pROC reports the Youden threshold as a midpoint; ours is the observed score below it.
    youden = theirs["cutoff_rule"] == "youden"
    theirs.loc[youden, "cutoff"] = theirs.loc[youden, "youden_cutoff_observed"]
    theirs["youden_cutoff"] = theirs["youden_cutoff_observed"]
    _assert_columns_match(ours, theirs, ["cutoff_rule"], [
        "cutoff", "n_patients", "n_lvd", "auc", "auc_ci_low", "auc_ci_high", "true_positive",
        "false_positive", "false_negative", "true_negative", "odds_ratio", "odds_ratio_ci_low",
        "odds_ratio_ci_high", "odds_ratio_p_fisher", "youden_cutoff", "sensitivity",
        "sensitivity_ci_low", "sensitivity_ci_high", "specificity", "specificity_ci_low",
        "specificity_ci_high", "ppv", "ppv_ci_low", "ppv_ci_high", "npv", "npv_ci_low",
        "npv_ci_high"])


def test_roc_curve_equals_proc(published: duckdb.DuckDBPyConnection,
                               r_reference: dict[str, pd.DataFrame]) -> None:
    ours = _table(published, "study_a_roc_curve").sort_values("point")
    theirs = r_reference["roc"]
    ours_points = np.array(sorted(zip(ours["sensitivity"], ours["specificity"], strict=True)))
    theirs_points = np.array(sorted(zip(theirs["sensitivity"], theirs["specificity"],
                                        strict=True)))
    assert ours_points.shape == theirs_points.shape
    np.testing.assert_allclose(ours_points, theirs_points, rtol=REL, atol=ABS)


def test_score_by_echo_and_logistic_equal_r(published: duckdb.DuckDBPyConnection,
                                            r_reference: dict[str, pd.DataFrame]) -> None:
    _assert_columns_match(_table(published, "study_a_score_by_echo"),
                          r_reference["score_by_echo"], ["echo_group"],
                          ["n_patients", "p_lvd_median", "p_lvd_q1", "p_lvd_q3",
                           "mann_whitney_u", "mann_whitney_p"])
    _assert_columns_match(_table(published, "study_a_logistic"), r_reference["logistic"],
                          ["model", "term"], ["odds_ratio", "ci_low", "ci_high", "p_value",
                                              "n_patients", "n_lvd"])


def test_table1_tests_and_p_values_equal_r(published: duckdb.DuckDBPyConnection,
                                           r_reference: dict[str, pd.DataFrame]) -> None:
    ours = _table(published, "study_a_table1")
    ours = ours[ours["variable"] != "patients"].copy()
    theirs = r_reference["table1"].copy()
    for frame in (ours, theirs):
        frame["level"] = frame["level"].fillna("")
    merged = ours.merge(theirs, on=["variable", "level"], suffixes=("", "_r"), how="outer",
                        indicator=True)
    assert (merged["_merge"] == "both").all(), merged[["variable", "level", "_merge"]]
    assert (merged["test"] == merged["test_r"]).all(), merged[["variable", "test", "test_r"]]
    assert merged["p_value"].astype(float).to_numpy() == pytest.approx(
        merged["p_value_r"].astype(float).to_numpy(), rel=REL, abs=ABS)


def test_trajectory_equals_r(published: duckdb.DuckDBPyConnection,
                             r_reference: dict[str, pd.DataFrame]) -> None:
    trend = _table(published, "study_a_trajectory").assign(key=1)
    _assert_columns_match(trend, r_reference["trajectory"].assign(key=1), ["key"], [
        "n_patients", "n_ecgs", "slope_percent_per_year", "slope_ci_low", "slope_ci_high",
        "intercept_percent", "pearson_r", "p_value", "median_patient_slope"])
    _assert_columns_match(_table(published, "study_a_trajectory_phases"),
                          r_reference["trajectory_phases"], ["phase"],
                          ["n_patients", "n_ecgs", "mean_p_lvd_percent", "sd_p_lvd_percent",
                           "median_p_lvd_percent"])


def test_mortality_equals_r_survival(published: duckdb.DuckDBPyConnection,
                                     r_reference: dict[str, pd.DataFrame]) -> None:
    cox = _table(published, "study_a_cox")
    assert set(cox["model"]) == {"unadjusted", "adjusted_age", "adjusted_ascvd"}
    _assert_columns_match(cox, r_reference["cox"], ["model", "term"], [
        "hazard_ratio", "ci_low", "ci_high", "p_value", "n_patients", "n_events", "ph_chi2",
        "ph_p_value", "ph_global_p_value"])
    km = _table(published, "study_a_km")
    theirs = r_reference["km"]
    # R writes 15 significant digits: times are matched to 1e-9 years.
    ours_events = km[km["n_events"] > 0].assign(time_years=lambda f: f["time_years"].round(9))
    theirs_events = theirs[theirs["n_events"] > 0].assign(
        time_years=lambda f: f["time_years"].round(9))
    _assert_columns_match(ours_events, theirs_events, ["model_group", "time_years"],
                          ["n_at_risk", "n_events", "survival", "ci_low", "ci_high"])
    _assert_columns_match(_table(published, "study_a_logrank").assign(key=1),
                          r_reference["logrank"].assign(key=1), ["key"],
                          ["n_patients", "n_events", "chi2", "df", "p_value"])
