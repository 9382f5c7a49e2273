"""Study A's analyses as pure functions on hand-built cohorts: the paper's published 2x2, the
selection rules and attrition, Table 1's test rule, early detection, the trajectory's patients,
and the parameters file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imnm.settings import ConfigurationError
from imnm.studies.study_a.analyses import run_study_a
from imnm.studies.study_a.analyses.accuracy import accuracy_rows, logistic_rows
from imnm.studies.study_a.analyses.early_detection import early_detection
from imnm.studies.study_a.analyses.table1 import table1
from imnm.studies.study_a.analyses.trajectory import eligible_serial_ecgs
from imnm.studies.study_a.cohort import apply_selection
from imnm.studies.study_a.parameters import StudyAParameters, load_parameters

PARAMS = StudyAParameters()


def candidate(key: str, **overrides: object) -> dict[str, object]:
    """One diagnosed IMNM patient with an in-window scored ECG and a normal echo."""
    row: dict[str, object] = {
        "patient_key": key, "site": "lakeside", "diagnosis": "imnm",
        "symptom_onset_date": pd.Timestamp("2020-01-01"),
        "diagnosis_date": pd.Timestamp("2020-03-01"), "n_ecgs_in_window": 1,
        "n_scored_in_window": 1, "ecg_id": f"ecg-{key}", "ecg_date": pd.Timestamp("2020-03-02"),
        "p_lvd": 0.005, "echo_date": pd.Timestamp("2020-04-01"), "echo_lvd_flag": False,
        "echo_lvd_findings": None, "later_lvd_echo_date": pd.NaT, "age_at_diagnosis": 60.0,
        "sex": "female", "race": "white", "hypertension": False, "diabetes": False,
        "smoker": False, "bp_treated": False, "hdl_c_mg_dl": 50.0,
        "total_cholesterol_mg_dl": 200.0, "systolic_bp_mmhg": 125.0,
        "statin_exposure": "never", "serotype": "anti-HMGCR",
        "respiratory_involvement": False, "restrictive_pulmonary": False,
        "cardiorespiratory_symptoms": False, "death_date": pd.NaT, "death_cause": None,
        "last_followup_date": pd.Timestamp("2024-01-01"), "died": False, "followup_years": 3.8,
    }
    row.update(overrides)
    return row


def paper_cohort() -> pd.DataFrame:
    """The published 2x2 at P(LVD) > 1%: 20 of 25 LVD patients and 16 of 43 others flagged."""
    rows = []
    for i, (lvd, flagged) in enumerate([(True, True)] * 20 + [(True, False)] * 5
                                       + [(False, True)] * 16 + [(False, False)] * 27):
        rows.append(candidate(f"P{i:03d}", echo_lvd_flag=lvd,
                              p_lvd=0.02 + i * 1e-4 if flagged else 0.002 + i * 1e-5))
    cohort, _ = apply_selection(pd.DataFrame(rows), PARAMS)
    return cohort


def test_paper_2x2_reproduces_published_accuracy_and_odds_ratio() -> None:
    """Published: sensitivity 80.0%, specificity 62.8%, OR 6.75 (95% CI 2.11-21.51), P=.001."""
    row = accuracy_rows(paper_cohort(), PARAMS).set_index("cutoff_rule").loc["configured"]
    assert (row["true_positive"], row["false_negative"], row["false_positive"],
            row["true_negative"]) == (20, 5, 16, 27)
    assert round(100 * row["sensitivity"], 1) == 80.0
    assert round(100 * row["specificity"], 1) == 62.8
    assert round(row["odds_ratio"], 2) == 6.75
    # Woolf's bounds are 2.118 and 21.510: the paper's 2.11 is truncated, not rounded.
    assert (row["odds_ratio_ci_low"], row["odds_ratio_ci_high"]) == pytest.approx(
        (2.11, 21.51), abs=0.01)
    assert round(row["odds_ratio_p_value"], 3) == 0.001


def test_univariable_logistic_equals_the_2x2_odds_ratio() -> None:
    """With one binary predictor the logistic OR and Wald CI are the 2x2's OR and Woolf CI."""
    cohort = paper_cohort()
    rows, notes = logistic_rows(cohort, PARAMS)
    assert notes == ["logistic model adjusted not computed: covariate 'seropositive' has a "
                     "single level among the 68 complete rows"]
    univariable = rows[rows["model"] == "univariable"].iloc[0]
    assert univariable["odds_ratio"] == pytest.approx(6.75, rel=1e-6)
    woolf = accuracy_rows(cohort, PARAMS).set_index("cutoff_rule").loc["configured"]
    assert (univariable["ci_low"], univariable["ci_high"]) == pytest.approx(
        (woolf["odds_ratio_ci_low"], woolf["odds_ratio_ci_high"]), rel=1e-6)
    assert univariable["p_value"] == pytest.approx(woolf["odds_ratio_p_value"], rel=1e-6)


def test_selection_rules_count_what_each_removes() -> None:
    rows = [
        candidate("A"),
        candidate("B", diagnosis="dermatomyositis"),
        candidate("C", symptom_onset_date=pd.NaT),
        candidate("D", n_ecgs_in_window=0, ecg_id=None, p_lvd=np.nan),
        candidate("E", p_lvd=np.nan, ecg_id=None),  # its ECG was not scored
        candidate("F", echo_lvd_flag=None),
        candidate("G", followup_years=0.0),
    ]
    cohort, attrition = apply_selection(pd.DataFrame(rows), PARAMS)
    assert sorted(cohort["patient_key"]) == ["A", "F", "G"]
    removed = attrition.set_index("step")["n_removed"].to_dict()
    assert removed == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1}
    assert attrition.set_index("step").loc[5, "n_remaining"] == 2
    assert "365 days" in attrition.set_index("step").loc[3, "rule"]


def test_derived_fields_use_the_cutoff_and_the_pooled_cohort_equations() -> None:
    cohort, _ = apply_selection(pd.DataFrame([
        candidate("A", p_lvd=0.0100), candidate("B", p_lvd=0.0101, statin_exposure="previous",
                                                 serotype="seronegative"),
        candidate("C", age_at_diagnosis=35.0)]), PARAMS)
    by_key = cohort.set_index("patient_key")
    assert not by_key.loc["A", "model_predicts_lvd"] and by_key.loc["B", "model_predicts_lvd"]
    assert by_key.loc["B", "statin_use"] and not by_key.loc["A", "statin_use"]
    assert by_key.loc["A", "seropositive"] and not by_key.loc["B", "seropositive"]
    assert 0.0 < by_key.loc["A", "ascvd_10y_risk_percent"] < 100.0
    assert pd.isna(by_key.loc["C", "ascvd_10y_risk_percent"])
    assert "age" in by_key.loc["C", "ascvd_note"]


def test_table1_names_the_test_chosen_by_the_rule() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for i in range(80):
        flagged = i % 2 == 0
        rows.append(candidate(
            f"P{i:03d}", p_lvd=0.5 if flagged else 0.001,
            hdl_c_mg_dl=float(rng.normal(50, 8)),             # normal in both groups
            age_at_diagnosis=float(40 + rng.exponential(8)),  # skewed
            hypertension=bool(i % 4 == 0),                    # large expected counts
            restrictive_pulmonary=i == 0))                    # tiny expected counts
    cohort, _ = apply_selection(pd.DataFrame(rows), PARAMS)
    rows_by_variable = table1(cohort, PARAMS).set_index("variable")
    assert rows_by_variable.loc["hdl_c_mg_dl", "test"] == "welch_t"
    assert rows_by_variable.loc["hdl_c_mg_dl", "summary"] == "mean_sd"
    assert rows_by_variable.loc["age_at_diagnosis", "test"] == "mann_whitney"
    assert rows_by_variable.loc["age_at_diagnosis", "summary"] == "median_iqr"
    assert rows_by_variable.loc["hypertension", "test"] == "chi_square"
    assert rows_by_variable.loc["restrictive_pulmonary", "test"] == "fisher_exact"
    assert rows_by_variable.loc["patients", "overall"] == "80"
    assert rows_by_variable.loc["hypertension", "predicted_lvd"] == "20/40 (50%)"
    assert "anti-SRP" not in set(table1(cohort, PARAMS)["level"].dropna())


def test_early_detection_counts_events_inside_the_window_only() -> None:
    rows = [
        candidate("A", p_lvd=0.5, later_lvd_echo_date=pd.Timestamp("2023-01-01")),
        candidate("B", p_lvd=0.5, later_lvd_echo_date=pd.Timestamp("2027-01-01")),
        candidate("C", p_lvd=0.5, died=True, death_cause="cardiorespiratory",
                  death_date=pd.Timestamp("2021-06-01")),
        candidate("D", p_lvd=0.5, cardiorespiratory_symptoms=True,
                  later_lvd_echo_date=pd.Timestamp("2021-01-01")),  # not silent
        candidate("E", p_lvd=0.5, echo_lvd_flag=True),               # not a normal echo
        candidate("F", p_lvd=0.001, died=True, death_cause="infection",
                  death_date=pd.Timestamp("2021-06-01")),
    ]
    cohort, _ = apply_selection(pd.DataFrame(rows), PARAMS)
    result = early_detection(cohort, PARAMS).set_index("model_group")
    assert result.loc["predicts_lvd"].to_dict() | {} == {
        "n_patients": 3, "n_later_lvd": 1, "n_cardiorespiratory_death": 1,
        "n_later_lvd_or_death": 2, "window_years": 5.0}
    assert result.loc["predicts_no_lvd", "n_patients"] == 1
    assert result.loc["predicts_no_lvd", "n_later_lvd_or_death"] == 0


def test_trajectory_keeps_cohort_patients_with_ecgs_in_both_phases() -> None:
    serial = pd.DataFrame([
        ("A", "a1", -1.0), ("A", "a2", 0.5), ("B", "b1", -2.0), ("B", "b2", -1.0),
        ("C", "c1", 0.0), ("C", "c2", 1.0), ("X", "x1", -1.0), ("X", "x2", 1.0)],
        columns=["patient_key", "ecg_id", "years_from_treatment_onset"]).assign(
        ecg_date=date(2020, 1, 1), treatment_onset_date=date(2020, 1, 1), p_lvd=0.1)
    kept = eligible_serial_ecgs(serial, pd.Series(["A", "B", "C"]))
    assert sorted(kept["patient_key"].unique()) == ["A"]
    assert list(kept["phase"]) == ["before_treatment", "on_treatment"]


def test_an_analysis_the_data_cannot_support_is_left_out_with_a_note() -> None:
    cohort = pd.DataFrame([candidate(f"P{i}", died=False) for i in range(6)])
    results = run_study_a(cohort, cohort.iloc[0:0].assign(
        years_from_treatment_onset=[], treatment_onset_date=[]), PARAMS, "demo-model")
    assert "accuracy" not in results.tables  # no LVD on any echo
    assert "cox" not in results.tables       # no deaths
    assert any("accuracy not computed" in note for note in results.notes)
    assert any("Cox model unadjusted not computed" in note for note in results.notes)
    assert len(results.tables["patients"]) == 6


def test_parameters_file_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "study_a.toml"
    path.write_text("[study_a]\ncutoff = 0.02\necho_window_days = 180\n", encoding="utf-8")
    params = load_parameters(path)
    assert (params.cutoff, params.echo_window_days, params.ecg_window_days) == (0.02, 180, 365)
    assert load_parameters(path, {"cutoff": 0.05}).cutoff == 0.05
    path.write_text("[study_a]\ncuttoff = 0.02\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="unknown setting.*cuttoff"):
        load_parameters(path)
    path.write_text("[study_a]\necho_window_days = 1.5\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="echo_window_days"):
        load_parameters(path)
    with pytest.raises(ConfigurationError, match="cutoff"):
        StudyAParameters(cutoff=1.5)
