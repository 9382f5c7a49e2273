CREATE VIEW results.latest_release AS
SELECT * FROM results.releases
ORDER BY published_at DESC, release_id DESC
LIMIT 1
