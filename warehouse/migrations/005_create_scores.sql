-- AI-ECG scores: one row per ECG and model version; an ECG is scored once per version.
CREATE TABLE scores.ecg_lvd_scores (
    ecg_id VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    p_lvd DOUBLE NOT NULL,
    scored_at TIMESTAMP NOT NULL,
    run_id VARCHAR NOT NULL,
    PRIMARY KEY (ecg_id, model_version)
);
