-- Per site, what a run did with files and rows. A rejected row is a staged row with a value
-- that did not cast or map, or that failed a data-quality check.
WITH events AS (
    SELECT site,
           count(*) FILTER (WHERE event = 'staged') AS files_loaded,
           count(*) FILTER (WHERE event = 'quarantined') AS files_quarantined,
           count(*) FILTER (WHERE event = 'skipped_already_loaded') AS files_skipped
    FROM audit.file_events WHERE run_id = $1 GROUP BY site
),
staged AS (
    SELECT f.site, sum(f.rows_staged) AS rows_staged
    FROM registry.source_files f
    WHERE f.file_id IN (SELECT file_id FROM audit.file_events
                        WHERE run_id = $1 AND event = 'staged')
    GROUP BY f.site
),
rejected AS (
    SELECT site, count(DISTINCT (file_id, source_row)) AS rows_rejected
    FROM (
        SELECT site, file_id, source_row FROM audit.failed_rows WHERE run_id = $1
        UNION ALL
        SELECT site, file_id, source_row FROM audit.unmapped_values
        WHERE run_id = $1
          AND file_id IN (SELECT file_id FROM audit.file_events
                          WHERE run_id = $1 AND event = 'staged')
    ) GROUP BY site
)
SELECT e.site, e.files_loaded, e.files_quarantined, e.files_skipped,
       coalesce(s.rows_staged, 0), coalesce(r.rows_rejected, 0)
FROM events e
LEFT JOIN staged s USING (site)
LEFT JOIN rejected r USING (site)
ORDER BY e.site
