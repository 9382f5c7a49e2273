UPDATE registry.source_files
SET status = 'held_back', status_reason = ?
WHERE site = ? AND discovered_run = ? AND status = 'staged'
RETURNING file_id
