UPDATE audit.runs SET finished_at = ?, status = ?, summary = ? WHERE run_id = ?
