-- Files of this run that staged, were not held back, and correct an earlier delivery.
SELECT f.file_id, f.site, f.relative_path, f.sha256, f.supersedes_file_id, p.status
FROM registry.source_files f
JOIN registry.source_files p ON p.file_id = f.supersedes_file_id
WHERE f.discovered_run = ? AND f.status = 'staged'
ORDER BY f.file_id
