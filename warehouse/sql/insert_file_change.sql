INSERT INTO audit.file_changes
    (run_id, site, record_kind, relative_path, previous_file_id, file_id, change,
     previous_source_row, source_row, changed_columns)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
