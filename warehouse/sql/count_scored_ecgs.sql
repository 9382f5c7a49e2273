SELECT count(*) FROM scores.ecg_lvd_scores s
JOIN core.ecgs e USING (ecg_id)
WHERE s.model_version = ?
