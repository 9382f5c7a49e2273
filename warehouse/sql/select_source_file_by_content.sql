SELECT file_id, status FROM registry.source_files WHERE site = ? AND sha256 = ?
