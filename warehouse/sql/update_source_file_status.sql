UPDATE registry.source_files
SET status = ?, status_reason = ?, rows_staged = ?, rows_rejected = ?
WHERE file_id = ?
