-- Corrected re-deliveries: a file delivered again under the same name with new content
-- supersedes the earlier one once it has staged and passed its blocking checks; which rows
-- changed is kept row by row. Superseded files keep their staging rows (nothing is lost).
-- New values: registry.source_files.status 'superseded'; audit.file_events.event
-- 'superseded' and 'not_claimed' (a landed file no pattern of the site configuration claims).
ALTER TABLE registry.source_files ADD COLUMN supersedes_file_id BIGINT;

CREATE TABLE audit.file_changes (
    run_id VARCHAR NOT NULL,
    site VARCHAR NOT NULL,
    record_kind VARCHAR NOT NULL,
    relative_path VARCHAR NOT NULL,
    previous_file_id BIGINT NOT NULL,
    file_id BIGINT NOT NULL,
    change VARCHAR NOT NULL,          -- added | removed | changed
    previous_source_row INTEGER,      -- NULL for an added row
    source_row INTEGER,               -- NULL for a removed row
    changed_columns VARCHAR           -- canonical columns that differ, for a changed row
);
