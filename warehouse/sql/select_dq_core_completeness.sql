-- Batch of the core_completeness suite: per diagnosed patient, how many records of each kind
-- the analyses need (lineage: the diagnosis row).
SELECT d.site, d.file_id, d.source_row, d.patient_key,
       (SELECT count(*) FROM core.patients x WHERE x.patient_key = d.patient_key)
           AS n_patient_rows,
       (SELECT count(*) FROM core.ecgs x WHERE x.patient_key = d.patient_key) AS n_ecgs,
       (SELECT count(*) FROM core.echos x WHERE x.patient_key = d.patient_key) AS n_echos,
       (SELECT count(*) FROM core.serology x WHERE x.patient_key = d.patient_key) AS n_serology,
       (SELECT count(*) FROM core.labs x WHERE x.patient_key = d.patient_key AND x.analyte = 'ck')
           AS n_ck,
       (SELECT count(*) FROM core.outcomes x WHERE x.patient_key = d.patient_key) AS n_outcomes
FROM core.diagnoses d
ORDER BY d.site, d.file_id, d.source_row
