INSERT INTO audit.file_events
    (run_id, site, relative_path, file_id, sha256, event, reason, event_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
