-- Every check outcome of one refresh run ($1 = run_id), both layers.
SELECT layer, site, record_kind, suite, check_name, expectation_type, column_name, category,
       severity, threshold, rows_tested, rows_failed, passed
FROM audit.validation_results
WHERE run_id = $1
ORDER BY site, layer, suite, check_name
