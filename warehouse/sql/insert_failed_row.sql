INSERT INTO audit.failed_rows
    (run_id, site, record_kind, check_name, file_id, source_row, column_name, value, layer,
     patient_key)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
