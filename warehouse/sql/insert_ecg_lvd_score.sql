INSERT INTO scores.ecg_lvd_scores (ecg_id, model_version, p_lvd, scored_at, run_id)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
