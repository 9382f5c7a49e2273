-- Staging: the centres' records as parsed, renamed to canonical columns and cast, units and
-- code spellings still the site's. Lineage on every row: site, source file, 1-based data row.
CREATE TABLE staging.patients (
    site VARCHAR NOT NULL, file_id BIGINT NOT NULL, source_row INTEGER NOT NULL,
    local_id VARCHAR, patient_name VARCHAR, birth_date DATE, sex VARCHAR, race VARCHAR,
    hypertension VARCHAR, diabetes VARCHAR, smoker VARCHAR, bp_treated VARCHAR,
    statin_exposure VARCHAR
);
CREATE TABLE staging.diagnoses (
    site VARCHAR NOT NULL, file_id BIGINT NOT NULL, source_row INTEGER NOT NULL,
    local_id VARCHAR, diagnosis VARCHAR, symptom_onset_date DATE, diagnosis_date DATE,
    respiratory_involvement VARCHAR, restrictive_pulmonary VARCHAR,
    cardiorespiratory_symptoms VARCHAR
);
CREATE TABLE staging.biopsies (
    site VARCHAR NOT NULL, file_id BIGINT NOT NULL, source_row INTEGER NOT NULL,
    local_id VARCHAR, biopsy_date DATE, muscle VARCHAR, histology_text VARCHAR
);
CREATE TABLE staging.serology (
    site VARCHAR NOT NULL, file_id BIGINT NOT NULL, source_row INTEGER NOT NULL,
    local_id VARCHAR, sample_date DATE, antigen VARCHAR, result VARCHAR, band_intensity DOUBLE
);
CREATE TABLE staging.treatments (
    site VARCHAR NOT NULL, file_id BIGINT NOT NULL, source_row INTEGER NOT NULL,
    local_id VARCHAR, drug VARCHAR, route VARCHAR, dose DOUBLE, dose_unit VARCHAR,
    start_date DATE, stop_date DATE
);
CREATE TABLE staging.labs (
    site VARCHAR NOT NULL, file_id BIGINT NOT NULL, source_row INTEGER NOT NULL,
    local_id VARCHAR, sample_date DATE, analyte VARCHAR, value DOUBLE, unit VARCHAR
);
CREATE TABLE staging.vitals (
    site VARCHAR NOT NULL, file_id BIGINT NOT NULL, source_row INTEGER NOT NULL,
    local_id VARCHAR, measured_date DATE, systolic_bp DOUBLE, diastolic_bp DOUBLE
);
CREATE TABLE staging.strength (
    site VARCHAR NOT NULL, file_id BIGINT NOT NULL, source_row INTEGER NOT NULL,
    local_id VARCHAR, exam_date DATE, muscle_group VARCHAR, side VARCHAR, mrc_grade VARCHAR
);
CREATE TABLE staging.echos (
    site VARCHAR NOT NULL, file_id BIGINT NOT NULL, source_row INTEGER NOT NULL,
    local_id VARCHAR, echo_date DATE, lvef_percent DOUBLE, diastolic_grade VARCHAR,
    conclusion_text VARCHAR
);
CREATE TABLE staging.outcomes (
    site VARCHAR NOT NULL, file_id BIGINT NOT NULL, source_row INTEGER NOT NULL,
    local_id VARCHAR, death_date DATE, death_cause VARCHAR, last_followup_date DATE
);
-- One row per ECG file; the normalized waveform itself is in a Parquet shard.
CREATE TABLE staging.ecgs (
    site VARCHAR NOT NULL, file_id BIGINT NOT NULL, source_row INTEGER NOT NULL,
    local_id VARCHAR, acquired_at TIMESTAMP, ecg_id VARCHAR NOT NULL,
    source_format VARCHAR NOT NULL, source_sampling_hz DOUBLE, source_n_leads INTEGER,
    source_duration_s DOUBLE, waveform_shard VARCHAR NOT NULL, waveform_row INTEGER NOT NULL
);
