SELECT e.ecg_id, e.waveform_shard, e.waveform_row
FROM core.ecgs e
ANTI JOIN scores.ecg_lvd_scores s ON s.ecg_id = e.ecg_id AND s.model_version = ?
ORDER BY e.waveform_shard, e.waveform_row
