-- Forget one study's kept tables ($1 study) before the new set is written.
DELETE FROM analysis.study_result_set_tables WHERE study = $1
