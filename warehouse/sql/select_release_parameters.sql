-- The analysis parameters a release recorded; $1 = release_id.
SELECT analysis_parameters FROM results.releases WHERE release_id = $1
