-- The core ECGs of one waveform shard ($shard) that this model version ($model_version) has
-- not scored, in row order.
SELECT e.waveform_row, e.ecg_id
FROM core.ecgs e
ANTI JOIN scores.ecg_lvd_scores s ON s.ecg_id = e.ecg_id AND s.model_version = $model_version
WHERE e.waveform_shard = $shard
ORDER BY e.waveform_row
