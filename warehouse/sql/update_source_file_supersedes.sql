UPDATE registry.source_files SET supersedes_file_id = ? WHERE file_id = ?
