-- Release $1 and the releases published before it, newest first, at most $2 in all.
SELECT release_id, published_at
FROM results.releases
WHERE published_at <= (SELECT published_at FROM results.releases WHERE release_id = $1)
ORDER BY published_at DESC, release_id DESC
LIMIT $2
