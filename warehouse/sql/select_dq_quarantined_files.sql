-- Files run $1 quarantined, with the reason.
SELECT site, relative_path, reason
FROM audit.file_events
WHERE run_id = $1 AND event = 'quarantined'
ORDER BY site, relative_path
