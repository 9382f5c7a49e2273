-- The published file's copy of audit.check_history (see migration 011).
CREATE VIEW audit.check_history AS
SELECT r.release_id, r.published_at, v.run_id, v.layer, v.site, v.record_kind, v.suite,
       v.check_name, v.category, v.severity, v.threshold, v.rows_tested, v.rows_failed,
       v.passed, v.validated_at
FROM audit.validation_results v
LEFT JOIN results.releases r USING (run_id)
