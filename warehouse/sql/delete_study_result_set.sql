-- Forget one study's kept results ($1 study) before the new set is written.
DELETE FROM analysis.study_result_sets WHERE study = $1
