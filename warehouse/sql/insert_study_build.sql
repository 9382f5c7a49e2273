-- What built one study's analysis-ready tables: $1 study, $2 run, $3 model version,
-- $4 parameters (JSON).
INSERT OR REPLACE INTO analysis.study_builds
    (study, built_at, run_id, model_version, analysis_parameters)
VALUES ($1, now()::TIMESTAMP, $2, $3, $4)
