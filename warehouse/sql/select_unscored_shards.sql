-- Waveform shards holding core ECGs that this model version ($model_version) has not scored,
-- with how many each holds; scoring reads one shard at a time.
SELECT e.waveform_shard AS shard, count(*) AS n_ecgs
FROM core.ecgs e
ANTI JOIN scores.ecg_lvd_scores s ON s.ecg_id = e.ecg_id AND s.model_version = $model_version
GROUP BY e.waveform_shard
ORDER BY e.waveform_shard
