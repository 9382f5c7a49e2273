INSERT INTO audit.runs (run_id, flow, started_at, status, parameters)
VALUES (?, ?, ?, 'running', ?)
