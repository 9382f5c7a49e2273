-- Data-quality outcomes of both layers, and their history per release.
--   layer: 'staging' (each new batch, as delivered) or 'core' (the harmonized core, whole).
--   failed_rows.patient_key: the pseudonym of the failing row's patient, so reports can show
--   example rows without local record numbers.
ALTER TABLE audit.validation_results ADD COLUMN layer VARCHAR DEFAULT 'staging';
ALTER TABLE audit.failed_rows ADD COLUMN layer VARCHAR DEFAULT 'staging';
ALTER TABLE audit.failed_rows ADD COLUMN patient_key VARCHAR;

-- Every check outcome with the release its run published (NULL when the run published none).
CREATE VIEW audit.check_history AS
SELECT r.release_id, r.published_at, v.run_id, v.layer, v.site, v.record_kind, v.suite,
       v.check_name, v.category, v.severity, v.threshold, v.rows_tested, v.rows_failed,
       v.passed, v.validated_at
FROM audit.validation_results v
LEFT JOIN results.releases r USING (run_id);
