-- One study's kept results ($1 study): its fingerprint, the run that computed them, how long
-- that took, its notes and headline (JSON arrays).
SELECT fingerprint, run_id, analysed_seconds, notes, headline
FROM analysis.study_result_sets WHERE study = $1
