-- Study B: its analysis-ready layer and its result tables (frequentist and Bayesian engines).
-- Each *_history table keeps every release's rows; publishing adds a plain-named view of the
-- latest release. Column meanings are documented in docs/study-b.md.

-- Analysis-ready tables, rebuilt by every refresh (analysis.study_builds says what built them).
CREATE TABLE analysis.study_b_cohort (
    patient_key VARCHAR NOT NULL, site VARCHAR NOT NULL, biopsy_date DATE,
    diagnosis_date DATE, baseline_date DATE NOT NULL, sex VARCHAR, female BOOLEAN,
    age_at_diagnosis DOUBLE, age_group VARCHAR, symptom_duration_days INTEGER,
    symptom_duration_band VARCHAR, serotype VARCHAR, statin_exposure VARCHAR,
    baseline_ck_u_l DOUBLE, log_baseline_ck DOUBLE, baseline_hip_flexor_mrc INTEGER,
    baseline_hip_flexor_grade INTEGER, moderate_severe BOOLEAN, initial_treatment VARCHAR,
    initial_ivmp BOOLEAN, initial_csdmard BOOLEAN, early_ivig BOOLEAN,
    initial_prednisone_mg DOUBLE
);
CREATE TABLE analysis.study_b_visits (
    patient_key VARCHAR NOT NULL, visit VARCHAR NOT NULL, visit_index INTEGER NOT NULL,
    target_date DATE NOT NULL, ck_date DATE, ck_u_l DOUBLE, ck_reduction_percent DOUBLE,
    hip_exam_date DATE, hip_flexor_mrc INTEGER, hip_flexor_grade INTEGER,
    prednisone_mg DOUBLE, ck_missing BOOLEAN NOT NULL, hip_flexor_missing BOOLEAN NOT NULL,
    prednisone_missing BOOLEAN NOT NULL
);
CREATE TABLE analysis.study_b_attrition (
    row_order INTEGER NOT NULL, step INTEGER NOT NULL, rule VARCHAR NOT NULL, detail VARCHAR,
    n_before INTEGER, n_removed INTEGER, n_remaining INTEGER
);
-- The Bayesian fits the last refresh used (imnm/studies/study_b/analyses/bayesian.py): the fit
-- fingerprint, and the fit's released rows and diagnostics as JSON; replaced every refresh.
CREATE TABLE analysis.study_b_bayes_fits (
    fit_key VARCHAR PRIMARY KEY, fit_id VARCHAR NOT NULL, fit_seconds DOUBLE NOT NULL,
    outputs VARCHAR NOT NULL
);

-- Released result tables.
CREATE TABLE results.study_b_attrition_history (
    release_id VARCHAR NOT NULL,
    row_order INTEGER NOT NULL, step INTEGER NOT NULL, rule VARCHAR NOT NULL, detail VARCHAR,
    n_before INTEGER, n_removed INTEGER, n_remaining INTEGER
);
CREATE TABLE results.study_b_table1_history (
    release_id VARCHAR NOT NULL,
    row_order INTEGER NOT NULL, variable VARCHAR NOT NULL, level VARCHAR, n INTEGER,
    percent DOUBLE, median DOUBLE, minimum DOUBLE, maximum DOUBLE, n_available INTEGER
);
CREATE TABLE results.study_b_missing_data_history (
    release_id VARCHAR NOT NULL,
    row_order INTEGER NOT NULL, variable VARCHAR NOT NULL, visit VARCHAR NOT NULL,
    n_patients INTEGER NOT NULL, n_missing INTEGER NOT NULL, percent_missing DOUBLE
);
CREATE TABLE results.study_b_baseline_comparisons_history (
    release_id VARCHAR NOT NULL,
    row_order INTEGER NOT NULL, comparison VARCHAR NOT NULL, group_variable VARCHAR NOT NULL,
    subgroup VARCHAR NOT NULL, variable VARCHAR NOT NULL, summary VARCHAR NOT NULL,
    n_group INTEGER, n_other INTEGER, mean_group DOUBLE, mean_other DOUBLE, sd_group DOUBLE,
    sd_other DOUBLE, median_group DOUBLE, median_other DOUBLE, difference DOUBLE,
    test VARCHAR, statistic DOUBLE, p_value DOUBLE, test_reason VARCHAR
);
CREATE TABLE results.study_b_ck_reduction_history (
    release_id VARCHAR NOT NULL,
    visit VARCHAR NOT NULL, n INTEGER NOT NULL, mean_reduction_percent DOUBLE, sd DOUBLE,
    ci_low DOUBLE, ci_high DOUBLE, median_reduction_percent DOUBLE
);
CREATE TABLE results.study_b_ck_by_visit_history (
    release_id VARCHAR NOT NULL,
    row_order INTEGER NOT NULL, variable VARCHAR NOT NULL, level VARCHAR NOT NULL,
    visit VARCHAR NOT NULL, n INTEGER NOT NULL, median_ck_u_l DOUBLE,
    geometric_mean_ck_u_l DOUBLE
);
CREATE TABLE results.study_b_ck_models_history (
    release_id VARCHAR NOT NULL,
    row_order INTEGER NOT NULL, engine VARCHAR NOT NULL, outcome VARCHAR NOT NULL,
    model VARCHAR NOT NULL, variable VARCHAR NOT NULL, term VARCHAR NOT NULL,
    estimate DOUBLE, se DOUBLE, ci_low DOUBLE, ci_high DOUBLE, p_value DOUBLE,
    p_direction DOUBLE, direction_label VARCHAR, n_obs INTEGER, n_patients INTEGER,
    group_variance DOUBLE, residual_variance DOUBLE, imputations INTEGER, converged BOOLEAN
);
CREATE TABLE results.study_b_ck_level_means_history (
    release_id VARCHAR NOT NULL,
    row_order INTEGER NOT NULL, engine VARCHAR NOT NULL, outcome VARCHAR NOT NULL,
    model VARCHAR NOT NULL, variable VARCHAR NOT NULL, level VARCHAR NOT NULL,
    estimate DOUBLE, ci_low DOUBLE, ci_high DOUBLE, unit VARCHAR
);
CREATE TABLE results.study_b_ck_explained_variation_history (
    release_id VARCHAR NOT NULL,
    row_order INTEGER NOT NULL, outcome VARCHAR NOT NULL, term VARCHAR NOT NULL,
    rev_mean DOUBLE, rev_median DOUBLE, hdi_low DOUBLE, hdi_high DOUBLE
);
CREATE TABLE results.study_b_hip_flexor_history (
    release_id VARCHAR NOT NULL,
    row_order INTEGER NOT NULL, comparison VARCHAR NOT NULL, group_variable VARCHAR NOT NULL,
    subgroup VARCHAR NOT NULL, visit VARCHAR NOT NULL, measure VARCHAR NOT NULL,
    n_group INTEGER, n_other INTEGER, mean_group DOUBLE, mean_other DOUBLE, sd_group DOUBLE,
    sd_other DOUBLE, median_group DOUBLE, median_other DOUBLE, difference DOUBLE,
    test VARCHAR, statistic DOUBLE, p_value DOUBLE, test_reason VARCHAR
);
CREATE TABLE results.study_b_ordinal_models_history (
    release_id VARCHAR NOT NULL,
    row_order INTEGER NOT NULL, engine VARCHAR NOT NULL, model VARCHAR NOT NULL,
    subgroup VARCHAR NOT NULL, treatment VARCHAR NOT NULL, term VARCHAR NOT NULL,
    kind VARCHAR NOT NULL, estimate DOUBLE, se DOUBLE, ci_low DOUBLE, ci_high DOUBLE,
    p_value DOUBLE, p_direction DOUBLE, direction_label VARCHAR, n_obs INTEGER,
    n_patients INTEGER, converged BOOLEAN, n_quadrature INTEGER, message VARCHAR
);
CREATE TABLE results.study_b_prednisone_history (
    release_id VARCHAR NOT NULL,
    row_order INTEGER NOT NULL, comparison VARCHAR NOT NULL, group_variable VARCHAR NOT NULL,
    subgroup VARCHAR NOT NULL, visit VARCHAR NOT NULL, measure VARCHAR NOT NULL,
    n_group INTEGER, n_other INTEGER, mean_group DOUBLE, mean_other DOUBLE, sd_group DOUBLE,
    sd_other DOUBLE, median_group DOUBLE, median_other DOUBLE, difference DOUBLE,
    test VARCHAR, statistic DOUBLE, p_value DOUBLE, test_reason VARCHAR
);
CREATE TABLE results.study_b_bayes_diagnostics_history (
    release_id VARCHAR NOT NULL,
    row_order INTEGER NOT NULL, fit_id VARCHAR NOT NULL, imputation INTEGER NOT NULL,
    n_obs INTEGER, n_patients INTEGER, n_categories INTEGER, n_parameters INTEGER,
    chains INTEGER, draws_per_chain INTEGER, max_rhat DOUBLE, worst_rhat_parameter VARCHAR,
    min_ess_bulk DOUBLE, min_ess_tail DOUBLE, divergences INTEGER, passed BOOLEAN NOT NULL,
    reasons VARCHAR
);
