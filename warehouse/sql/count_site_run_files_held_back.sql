SELECT count(*) FROM registry.source_files
WHERE site = ? AND discovered_run = ? AND status = 'held_back'
