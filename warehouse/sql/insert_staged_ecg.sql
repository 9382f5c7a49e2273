INSERT INTO staging.ecgs
    (site, file_id, source_row, local_id, acquired_at, ecg_id, source_format,
     source_sampling_hz, source_n_leads, source_duration_s, waveform_shard, waveform_row)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
