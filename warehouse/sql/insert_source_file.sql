INSERT INTO registry.source_files
    (site, record_kind, relative_path, sha256, size_bytes, received_at, discovered_at,
     discovered_run, status)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'discovered')
RETURNING file_id
