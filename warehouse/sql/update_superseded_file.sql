UPDATE registry.source_files
SET status = 'superseded', status_reason = ?
WHERE file_id = ? AND status IN ('staged', 'held_back')
