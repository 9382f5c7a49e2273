-- Batch of the core_timeline suite: one row per diagnosed patient (lineage: the diagnosis row).
SELECT d.site, d.file_id, d.source_row, d.patient_key, d.diagnosis, d.symptom_onset_date,
       d.diagnosis_date, d.age_at_diagnosis, p.birth_year, o.death_date, o.death_cause,
       o.death_cause_as_sent, o.last_followup_date,
       coalesce(o.death_date, o.last_followup_date) AS followup_end
FROM core.diagnoses d
LEFT JOIN core.patients p USING (patient_key)
LEFT JOIN core.outcomes o USING (patient_key)
ORDER BY d.site, d.file_id, d.source_row
