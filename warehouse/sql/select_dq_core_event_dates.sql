-- Batch of the core_event_dates suite: each dated clinical event against the patient's onset
-- and end of follow-up (death or last contact).
WITH events AS (
    SELECT 'echo' AS event_kind, site, file_id, source_row, patient_key, echo_date AS event_date
    FROM core.echos
    UNION ALL
    SELECT 'ecg', site, file_id, source_row, patient_key, acquired_at::DATE FROM core.ecgs
    UNION ALL
    SELECT 'lab', site, file_id, source_row, patient_key, sample_date FROM core.labs
    UNION ALL
    SELECT 'treatment', site, file_id, source_row, patient_key, start_date FROM core.treatments
)
SELECT e.site, e.file_id, e.source_row, e.patient_key, e.event_kind, e.event_date,
       date_diff('day', coalesce(o.death_date, o.last_followup_date), e.event_date)
           AS days_after_followup_end,
       date_diff('day', e.event_date, d.symptom_onset_date) / 365.25 AS years_before_onset
FROM events e
LEFT JOIN core.outcomes o USING (patient_key)
LEFT JOIN core.diagnoses d USING (patient_key)
ORDER BY e.site, e.file_id, e.source_row, e.event_kind
