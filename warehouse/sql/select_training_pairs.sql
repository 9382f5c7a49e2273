-- ECG/echo training pairs: every core ECG with the echo of the same patient closest to it in
-- days, within $window_days either side; on a tie the earlier echo wins (then file and row, so
-- the choice never depends on scan order). ECGs with no echo in the window do not appear. Both
-- labels come back as recorded (NULL = unknown; broad LVD = any harmonized echo finding); the caller drops pairs whose chosen label is
-- unknown and counts them. Ordered by patient and ECG id, so a rerun reads the same sequence.
WITH candidates AS (
    SELECT e.ecg_id, e.patient_key, e.site, e.waveform_shard, e.waveform_row,
           abs(date_diff('day', e.acquired_at::DATE, x.echo_date)) AS days_apart,
           x.ef_le_35, x.echo_findings IS NOT NULL AS echo_lvd_flag,
           row_number() OVER (
               PARTITION BY e.ecg_id
               ORDER BY abs(date_diff('day', e.acquired_at::DATE, x.echo_date)), x.echo_date,
                        x.file_id, x.source_row
           ) AS closeness
    FROM core.ecgs e
    JOIN core.echos x USING (patient_key)
    WHERE e.acquired_at IS NOT NULL AND x.echo_date IS NOT NULL
      AND abs(date_diff('day', e.acquired_at::DATE, x.echo_date)) <= $window_days
)
SELECT ecg_id, patient_key, site, waveform_shard, waveform_row, days_apart, ef_le_35,
       echo_lvd_flag
FROM candidates
WHERE closeness = 1
ORDER BY patient_key, ecg_id
