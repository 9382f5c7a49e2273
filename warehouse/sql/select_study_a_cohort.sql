-- Study A's analysis set: IMNM patients, each with the scored ECG closest to diagnosis within
-- the ECG window of symptom onset, the echo closest to onset within the echo window, and
-- follow-up from that ECG to death or last contact.
WITH imnm AS (
    SELECT patient_key, site, symptom_onset_date,
           coalesce(diagnosis_date, symptom_onset_date) AS index_date, age_at_diagnosis
    FROM core.diagnoses
    WHERE diagnosis = 'imnm' AND symptom_onset_date IS NOT NULL
),
baseline_ecg AS (
    SELECT i.patient_key, e.ecg_id, e.acquired_at::DATE AS ecg_date, s.p_lvd,
           row_number() OVER (
               PARTITION BY i.patient_key
               ORDER BY abs(date_diff('day', i.index_date, e.acquired_at::DATE)), e.ecg_id
           ) AS closeness
    FROM imnm i
    JOIN core.ecgs e USING (patient_key)
    JOIN scores.ecg_lvd_scores s ON s.ecg_id = e.ecg_id AND s.model_version = $model_version
    WHERE abs(date_diff('day', i.symptom_onset_date, e.acquired_at::DATE)) <= $ecg_window_days
),
gold_echo AS (
    SELECT i.patient_key, x.echo_date, x.echo_lvd_flag,
           row_number() OVER (
               PARTITION BY i.patient_key
               ORDER BY abs(date_diff('day', i.symptom_onset_date, x.echo_date)), x.file_id,
                        x.source_row
           ) AS closeness
    FROM imnm i
    JOIN core.echos x USING (patient_key)
    WHERE x.echo_date IS NOT NULL AND x.echo_lvd_flag IS NOT NULL
      AND abs(date_diff('day', i.symptom_onset_date, x.echo_date)) <= $echo_window_days
)
SELECT i.patient_key, i.site, b.ecg_id, b.ecg_date, b.p_lvd, i.age_at_diagnosis,
       g.echo_date, g.echo_lvd_flag,
       o.death_date IS NOT NULL AS died,
       date_diff('day', b.ecg_date, coalesce(o.death_date, o.last_followup_date)) / 365.25
           AS followup_years
FROM imnm i
JOIN baseline_ecg b ON b.patient_key = i.patient_key AND b.closeness = 1
LEFT JOIN gold_echo g ON g.patient_key = i.patient_key AND g.closeness = 1
LEFT JOIN core.outcomes o ON o.patient_key = i.patient_key
ORDER BY i.patient_key
