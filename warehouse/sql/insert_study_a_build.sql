INSERT INTO analysis.study_a_build (built_at, run_id, model_version, analysis_parameters)
VALUES (now()::TIMESTAMP, ?, ?, ?)
