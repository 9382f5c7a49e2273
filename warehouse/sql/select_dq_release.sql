-- One release as the data-quality report shows it; $1 = release_id.
SELECT release_id, published_at, run_id, code_version, model_version, sites
FROM results.releases
WHERE release_id = $1
