INSERT INTO audit.unmapped_values
    (run_id, site, record_kind, file_id, source_row, column_name, value, reason)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
