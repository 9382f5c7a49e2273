-- How many values of run $1 did not cast or map, per centre, record kind, column and reason.
SELECT site, record_kind, column_name, reason, count(*) AS n_values
FROM audit.unmapped_values
WHERE run_id = $1
GROUP BY site, record_kind, column_name, reason
ORDER BY site, record_kind, column_name, reason
