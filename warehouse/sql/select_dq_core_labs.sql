-- Batch of the core_labs suite: every harmonized lab result, with each CK compared to the
-- same patient's previous CK and first CK (by sample date), to catch CK sent in the wrong unit.
WITH ck AS (
    SELECT file_id, source_row, analyte,
           value / nullif(lag(value) OVER w, 0) AS ck_fold_from_previous,
           value / nullif(first_value(value) OVER w, 0) AS ck_fold_from_first
    FROM core.labs
    WHERE analyte = 'ck' AND value > 0 AND sample_date IS NOT NULL
    WINDOW w AS (PARTITION BY patient_key ORDER BY sample_date, file_id, source_row)
)
SELECT l.site, l.file_id, l.source_row, l.patient_key, l.sample_date, l.analyte, l.value,
       l.unit, ck.ck_fold_from_previous, ck.ck_fold_from_first
FROM core.labs l
LEFT JOIN ck ON ck.file_id = l.file_id AND ck.source_row = l.source_row
             AND ck.analyte = l.analyte
ORDER BY l.site, l.file_id, l.source_row, l.analyte
