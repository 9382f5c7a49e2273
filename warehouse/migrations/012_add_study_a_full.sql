-- Study A in full: the analysis-ready layer and every result table of the study.
-- Each *_history table keeps every release's rows; publishing adds a plain-named view of the
-- latest release. Column meanings are documented in docs/study-a.md.
CREATE SCHEMA IF NOT EXISTS analysis;

-- Analysis-ready tables, rebuilt by every refresh for the current model version and parameters
-- (analysis.study_a_build says which). Not released themselves: the released copies are the
-- results.study_a_* tables below.
CREATE TABLE analysis.study_a_build (
    built_at TIMESTAMP NOT NULL, run_id VARCHAR NOT NULL, model_version VARCHAR NOT NULL,
    analysis_parameters JSON NOT NULL
);
CREATE TABLE analysis.study_a_cohort (
    patient_key VARCHAR NOT NULL, site VARCHAR NOT NULL,
    symptom_onset_date DATE, diagnosis_date DATE,
    ecg_id VARCHAR NOT NULL, ecg_date DATE, p_lvd DOUBLE NOT NULL,
    model_predicts_lvd BOOLEAN NOT NULL,
    echo_date DATE, echo_lvd_flag BOOLEAN, echo_lvd_findings VARCHAR, later_lvd_echo_date DATE,
    age_at_diagnosis DOUBLE, sex VARCHAR, race VARCHAR,
    hypertension BOOLEAN, diabetes BOOLEAN, smoker BOOLEAN, bp_treated BOOLEAN,
    hdl_c_mg_dl DOUBLE, total_cholesterol_mg_dl DOUBLE, systolic_bp_mmhg DOUBLE,
    statin_use BOOLEAN, serotype VARCHAR, seropositive BOOLEAN,
    respiratory_involvement BOOLEAN, restrictive_pulmonary BOOLEAN,
    cardiorespiratory_symptoms BOOLEAN,
    ascvd_10y_risk_percent DOUBLE, ascvd_note VARCHAR,
    followup_years DOUBLE, died BOOLEAN, death_date DATE, death_cause VARCHAR
);
CREATE TABLE analysis.study_a_serial_ecgs (
    patient_key VARCHAR NOT NULL, ecg_id VARCHAR NOT NULL, ecg_date DATE,
    treatment_onset_date DATE NOT NULL, years_from_treatment_onset DOUBLE NOT NULL,
    phase VARCHAR NOT NULL, p_lvd DOUBLE NOT NULL
);
CREATE TABLE analysis.study_a_attrition (
    step INTEGER NOT NULL, analysis VARCHAR NOT NULL, rule VARCHAR NOT NULL,
    n_before INTEGER NOT NULL, n_removed INTEGER NOT NULL, n_remaining INTEGER NOT NULL
);

-- Released result tables.
ALTER TABLE results.study_a_accuracy_history ADD COLUMN cutoff_rule VARCHAR DEFAULT 'configured';
ALTER TABLE results.study_a_accuracy_history ADD COLUMN ppv_ci_low DOUBLE;
ALTER TABLE results.study_a_accuracy_history ADD COLUMN ppv_ci_high DOUBLE;
ALTER TABLE results.study_a_accuracy_history ADD COLUMN npv_ci_low DOUBLE;
ALTER TABLE results.study_a_accuracy_history ADD COLUMN npv_ci_high DOUBLE;
ALTER TABLE results.study_a_accuracy_history ADD COLUMN odds_ratio_p_value DOUBLE;

ALTER TABLE results.study_a_cox_history ADD COLUMN ph_chi2 DOUBLE;
ALTER TABLE results.study_a_cox_history ADD COLUMN ph_p_value DOUBLE;
ALTER TABLE results.study_a_cox_history ADD COLUMN ph_global_p_value DOUBLE;

ALTER TABLE results.study_a_patients_history ADD COLUMN age_at_diagnosis DOUBLE;
ALTER TABLE results.study_a_patients_history ADD COLUMN sex VARCHAR;
ALTER TABLE results.study_a_patients_history ADD COLUMN serotype VARCHAR;
ALTER TABLE results.study_a_patients_history ADD COLUMN ascvd_10y_risk_percent DOUBLE;
ALTER TABLE results.study_a_patients_history ADD COLUMN cardiorespiratory_symptoms BOOLEAN;
ALTER TABLE results.study_a_patients_history ADD COLUMN death_cause VARCHAR;

CREATE TABLE results.study_a_attrition_history (
    release_id VARCHAR NOT NULL,
    step INTEGER NOT NULL, analysis VARCHAR NOT NULL, rule VARCHAR NOT NULL,
    n_before INTEGER NOT NULL, n_removed INTEGER NOT NULL, n_remaining INTEGER NOT NULL
);
CREATE TABLE results.study_a_roc_curve_history (
    release_id VARCHAR NOT NULL,
    point INTEGER NOT NULL, threshold DOUBLE,  -- NULL at the first point: everyone positive
    sensitivity DOUBLE NOT NULL, specificity DOUBLE NOT NULL
);
CREATE TABLE results.study_a_score_by_echo_history (
    release_id VARCHAR NOT NULL,
    echo_group VARCHAR NOT NULL,       -- lvd | no_lvd
    n_patients INTEGER NOT NULL,
    p_lvd_median DOUBLE, p_lvd_q1 DOUBLE, p_lvd_q3 DOUBLE,
    mann_whitney_u DOUBLE, mann_whitney_p DOUBLE
);
CREATE TABLE results.study_a_logistic_history (
    release_id VARCHAR NOT NULL,
    model VARCHAR NOT NULL,            -- univariable | adjusted
    term VARCHAR NOT NULL,
    odds_ratio DOUBLE, ci_low DOUBLE, ci_high DOUBLE, p_value DOUBLE,
    n_patients INTEGER NOT NULL, n_lvd INTEGER NOT NULL
);
CREATE TABLE results.study_a_table1_history (
    release_id VARCHAR NOT NULL,
    row_order INTEGER NOT NULL, variable VARCHAR NOT NULL, level VARCHAR,
    summary VARCHAR NOT NULL,          -- n_percent | mean_sd | median_iqr
    n_available INTEGER NOT NULL,
    overall VARCHAR, predicted_no_lvd VARCHAR, predicted_lvd VARCHAR,
    p_value DOUBLE, test VARCHAR, test_reason VARCHAR
);
CREATE TABLE results.study_a_early_detection_history (
    release_id VARCHAR NOT NULL,
    model_group VARCHAR NOT NULL,      -- predicts_lvd | predicts_no_lvd
    n_patients INTEGER NOT NULL, n_later_lvd INTEGER NOT NULL,
    n_cardiorespiratory_death INTEGER NOT NULL, n_later_lvd_or_death INTEGER NOT NULL,
    window_years DOUBLE NOT NULL
);
CREATE TABLE results.study_a_serial_ecgs_history (
    release_id VARCHAR NOT NULL,
    patient_key VARCHAR NOT NULL, ecg_id VARCHAR NOT NULL,
    years_from_treatment_onset DOUBLE NOT NULL, phase VARCHAR NOT NULL, p_lvd DOUBLE NOT NULL
);
CREATE TABLE results.study_a_trajectory_history (
    release_id VARCHAR NOT NULL,
    n_patients INTEGER NOT NULL, n_ecgs INTEGER NOT NULL,
    slope_percent_per_year DOUBLE, slope_ci_low DOUBLE, slope_ci_high DOUBLE,
    intercept_percent DOUBLE, pearson_r DOUBLE, p_value DOUBLE,
    median_patient_slope DOUBLE, window_years DOUBLE NOT NULL
);
CREATE TABLE results.study_a_trajectory_phases_history (
    release_id VARCHAR NOT NULL,
    phase VARCHAR NOT NULL,            -- before_treatment | on_treatment
    n_patients INTEGER NOT NULL, n_ecgs INTEGER NOT NULL,
    mean_p_lvd_percent DOUBLE, sd_p_lvd_percent DOUBLE, median_p_lvd_percent DOUBLE
);
CREATE TABLE results.study_a_km_history (
    release_id VARCHAR NOT NULL,
    model_group VARCHAR NOT NULL,      -- predicts_lvd | predicts_no_lvd
    time_years DOUBLE NOT NULL, n_at_risk INTEGER NOT NULL, n_events INTEGER NOT NULL,
    n_censored INTEGER NOT NULL, survival DOUBLE NOT NULL, ci_low DOUBLE, ci_high DOUBLE
);
CREATE TABLE results.study_a_logrank_history (
    release_id VARCHAR NOT NULL,
    n_patients INTEGER NOT NULL, n_events INTEGER NOT NULL,
    chi2 DOUBLE, df INTEGER, p_value DOUBLE
);
