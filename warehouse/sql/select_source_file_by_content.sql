SELECT file_id, status, supersedes_file_id FROM registry.source_files WHERE site = ? AND sha256 = ?
