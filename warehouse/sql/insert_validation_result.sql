INSERT INTO audit.validation_results
    (run_id, site, record_kind, suite, check_name, expectation_type, column_name, category,
     severity, threshold, rows_tested, rows_failed, passed, validated_at, layer)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
