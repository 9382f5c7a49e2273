SELECT release_id, input_fingerprint FROM results.releases
ORDER BY published_at DESC, release_id DESC
LIMIT 1
