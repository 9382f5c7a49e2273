-- The first $2 failing rows (file order) of each check that did not pass in run $1, with the
-- delivered file's path. Values are masked by the report, not here.
WITH failing AS (
    SELECT DISTINCT layer, site, record_kind, check_name
    FROM audit.validation_results
    WHERE run_id = $1 AND NOT passed
),
ranked AS (
    SELECT f.layer, f.site, f.record_kind, f.check_name, f.file_id, f.source_row,
           f.column_name, f.value, f.patient_key,
           row_number() OVER (PARTITION BY f.layer, f.site, f.record_kind, f.check_name
                              ORDER BY f.file_id, f.source_row) AS n
    FROM audit.failed_rows f
    JOIN failing USING (layer, site, record_kind, check_name)
    WHERE f.run_id = $1
)
SELECT r.layer, r.site, r.record_kind, r.check_name, s.relative_path, r.file_id,
       r.source_row, r.column_name, r.value, r.patient_key
FROM ranked r
LEFT JOIN registry.source_files s ON s.file_id = r.file_id
WHERE r.n <= $2
ORDER BY r.site, r.layer, r.record_kind, r.check_name, r.file_id, r.source_row
