-- Bulk insert of one batch of scores from the Arrow table registered as `new_lvd_scores`
-- (ecg_id, p_lvd); the model version, time and run are bound parameters.
INSERT INTO scores.ecg_lvd_scores (ecg_id, model_version, p_lvd, scored_at, run_id)
SELECT ecg_id, $model_version, p_lvd, $scored_at, $run_id
FROM new_lvd_scores
ON CONFLICT DO NOTHING
