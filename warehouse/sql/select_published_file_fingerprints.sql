SELECT site, record_kind, sha256 FROM registry.source_files
WHERE status = 'staged'
ORDER BY site, record_kind, sha256
