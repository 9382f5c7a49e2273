-- Core: harmonized and pseudonymized. One unit per quantity (CK U/L, lipids mg/dL, doses mg),
-- platform vocabularies, ISO dates. No names, record numbers or exact birth dates.
-- Lineage on every row: site, file_id, source_row point back to the delivered record.
CREATE TABLE core.patients (
    patient_key VARCHAR NOT NULL, site VARCHAR NOT NULL,
    sex VARCHAR, birth_year INTEGER, race VARCHAR,
    hypertension BOOLEAN, diabetes BOOLEAN, smoker BOOLEAN, bp_treated BOOLEAN,
    statin_exposure VARCHAR,
    file_id BIGINT NOT NULL, source_row INTEGER NOT NULL
);
CREATE TABLE core.diagnoses (
    patient_key VARCHAR NOT NULL, site VARCHAR NOT NULL,
    diagnosis VARCHAR, symptom_onset_date DATE, diagnosis_date DATE,
    age_at_diagnosis DOUBLE, symptom_duration_band VARCHAR,
    respiratory_involvement BOOLEAN, restrictive_pulmonary BOOLEAN,
    cardiorespiratory_symptoms BOOLEAN,
    file_id BIGINT NOT NULL, source_row INTEGER NOT NULL
);
CREATE TABLE core.biopsies (
    patient_key VARCHAR NOT NULL, site VARCHAR NOT NULL,
    biopsy_date DATE, muscle VARCHAR, histology_text VARCHAR, necrotizing_myopathy BOOLEAN,
    file_id BIGINT NOT NULL, source_row INTEGER NOT NULL
);
CREATE TABLE core.serology (
    patient_key VARCHAR NOT NULL, site VARCHAR NOT NULL,
    sample_date DATE, antigen VARCHAR, result VARCHAR, band_intensity DOUBLE,
    file_id BIGINT NOT NULL, source_row INTEGER NOT NULL
);
CREATE TABLE core.treatments (
    patient_key VARCHAR NOT NULL, site VARCHAR NOT NULL,
    drug_as_sent VARCHAR, drug_class VARCHAR, agent VARCHAR, route VARCHAR,
    dose_mg DOUBLE, start_date DATE, stop_date DATE,
    file_id BIGINT NOT NULL, source_row INTEGER NOT NULL
);
CREATE TABLE core.labs (
    patient_key VARCHAR NOT NULL, site VARCHAR NOT NULL,
    sample_date DATE, analyte VARCHAR, value DOUBLE, unit VARCHAR,
    value_as_sent DOUBLE, unit_as_sent VARCHAR,
    file_id BIGINT NOT NULL, source_row INTEGER NOT NULL
);
CREATE TABLE core.vitals (
    patient_key VARCHAR NOT NULL, site VARCHAR NOT NULL,
    measured_date DATE, systolic_bp_mmhg DOUBLE, diastolic_bp_mmhg DOUBLE,
    file_id BIGINT NOT NULL, source_row INTEGER NOT NULL
);
CREATE TABLE core.strength (
    patient_key VARCHAR NOT NULL, site VARCHAR NOT NULL,
    exam_date DATE, muscle_group VARCHAR, side VARCHAR,
    mrc_grade_as_sent VARCHAR, mrc_grade INTEGER, mrc_modifier VARCHAR, study_b_level INTEGER,
    file_id BIGINT NOT NULL, source_row INTEGER NOT NULL
);
CREATE TABLE core.echos (
    patient_key VARCHAR NOT NULL, site VARCHAR NOT NULL,
    echo_date DATE, lvef_percent DOUBLE, diastolic_grade VARCHAR, conclusion_text VARCHAR,
    ef_le_35 BOOLEAN, echo_lvd_flag BOOLEAN, echo_lvd_findings VARCHAR,
    file_id BIGINT NOT NULL, source_row INTEGER NOT NULL
);
CREATE TABLE core.outcomes (
    patient_key VARCHAR NOT NULL, site VARCHAR NOT NULL,
    death_date DATE, death_cause VARCHAR, last_followup_date DATE,
    file_id BIGINT NOT NULL, source_row INTEGER NOT NULL
);
CREATE TABLE core.ecgs (
    ecg_id VARCHAR PRIMARY KEY, patient_key VARCHAR NOT NULL, site VARCHAR NOT NULL,
    acquired_at TIMESTAMP, source_format VARCHAR, waveform_shard VARCHAR NOT NULL,
    waveform_row INTEGER NOT NULL,
    file_id BIGINT NOT NULL, source_row INTEGER NOT NULL
);
