-- A site's corrections held back in this run: the deliveries they had superseded are in
-- effect again. Returns the restored files.
UPDATE registry.source_files
SET status = 'staged', status_reason = NULL
WHERE status = 'superseded'
  AND file_id IN (SELECT supersedes_file_id FROM registry.source_files
                  WHERE site = ? AND discovered_run = ? AND status = 'held_back')
RETURNING file_id, site, relative_path
