-- Results: every release's rows, kept for ever; the plain-named views show the latest release.
CREATE TABLE results.releases (
    release_id VARCHAR PRIMARY KEY,
    published_at TIMESTAMP NOT NULL,
    run_id VARCHAR NOT NULL,
    code_version VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    analysis_parameters JSON NOT NULL,
    input_fingerprint VARCHAR NOT NULL,
    row_counts JSON NOT NULL,
    sites JSON NOT NULL
);
CREATE TABLE results.study_a_accuracy_history (
    release_id VARCHAR NOT NULL,
    label VARCHAR NOT NULL,            -- gold standard: echo_lvd_flag (broad LVD of study A)
    cutoff DOUBLE NOT NULL,
    n_patients INTEGER NOT NULL, n_lvd INTEGER NOT NULL,
    auc DOUBLE, auc_ci_low DOUBLE, auc_ci_high DOUBLE, auc_method VARCHAR,
    true_positive INTEGER, false_positive INTEGER, false_negative INTEGER, true_negative INTEGER,
    sensitivity DOUBLE, sensitivity_ci_low DOUBLE, sensitivity_ci_high DOUBLE,
    specificity DOUBLE, specificity_ci_low DOUBLE, specificity_ci_high DOUBLE,
    ppv DOUBLE, npv DOUBLE,
    odds_ratio DOUBLE, odds_ratio_ci_low DOUBLE, odds_ratio_ci_high DOUBLE,
    odds_ratio_p_fisher DOUBLE, odds_ratio_haldane_corrected BOOLEAN,
    youden_cutoff DOUBLE
);
CREATE TABLE results.study_a_cox_history (
    release_id VARCHAR NOT NULL,
    model VARCHAR NOT NULL,            -- unadjusted | adjusted_age
    term VARCHAR NOT NULL,
    hazard_ratio DOUBLE, ci_low DOUBLE, ci_high DOUBLE, p_value DOUBLE,
    n_patients INTEGER, n_events INTEGER
);
CREATE TABLE results.study_a_patients_history (
    release_id VARCHAR NOT NULL,
    patient_key VARCHAR NOT NULL, site VARCHAR NOT NULL,
    ecg_id VARCHAR NOT NULL, ecg_date DATE, model_version VARCHAR NOT NULL,
    p_lvd DOUBLE NOT NULL, model_predicts_lvd BOOLEAN NOT NULL,
    echo_date DATE, echo_lvd_flag BOOLEAN,
    followup_years DOUBLE, died BOOLEAN
);
