-- Each check's outcome per release for the releases listed in $1 (a VARCHAR[]), summed over
-- the run's batches; the columns of select_dq_outcomes.sql, then release_id.
SELECT v.layer, v.site, v.record_kind, v.suite, v.check_name, v.expectation_type,
       v.column_name, v.category, v.severity, v.threshold,
       sum(v.rows_tested) AS rows_tested, sum(v.rows_failed) AS rows_failed,
       bool_and(v.passed) AS passed, r.release_id
FROM audit.validation_results v
JOIN results.releases r USING (run_id)
WHERE r.release_id IN (SELECT unnest($1::VARCHAR[]))
GROUP BY r.release_id, v.layer, v.site, v.record_kind, v.suite, v.check_name,
         v.expectation_type, v.column_name, v.category, v.severity, v.threshold
ORDER BY v.site, v.layer, v.suite, v.check_name, r.release_id
