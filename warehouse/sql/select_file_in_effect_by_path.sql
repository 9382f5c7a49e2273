-- The latest earlier delivery of the same file name at a site, which new content would correct.
SELECT file_id, status FROM registry.source_files
WHERE site = ? AND relative_path = ? AND status IN ('staged', 'held_back', 'quarantined')
ORDER BY file_id DESC
LIMIT 1
