-- One study's results as kept: $1 study, $2 fingerprint, $3 run, $4 seconds, $5 notes,
-- $6 headline (JSON arrays).
INSERT INTO analysis.study_result_sets
    (study, fingerprint, run_id, analysed_seconds, notes, headline)
VALUES ($1, $2, $3, $4, $5, $6)
