-- Audit: what every run did, to every file, and every data-quality outcome.
CREATE TABLE audit.runs (
    run_id VARCHAR PRIMARY KEY,
    flow VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR NOT NULL,          -- running | completed | failed
    parameters JSON,
    summary JSON
);
CREATE TABLE audit.file_events (
    run_id VARCHAR NOT NULL,
    site VARCHAR NOT NULL,
    relative_path VARCHAR NOT NULL,
    file_id BIGINT,
    sha256 VARCHAR,
    event VARCHAR NOT NULL,           -- registered | skipped_already_loaded | staged | quarantined
    reason VARCHAR,
    event_at TIMESTAMP NOT NULL
);
CREATE TABLE audit.validation_results (
    run_id VARCHAR NOT NULL,
    site VARCHAR NOT NULL,
    record_kind VARCHAR NOT NULL,
    suite VARCHAR NOT NULL,
    check_name VARCHAR NOT NULL,
    expectation_type VARCHAR NOT NULL,
    column_name VARCHAR,
    category VARCHAR NOT NULL,        -- conformance | completeness | plausibility
    severity VARCHAR NOT NULL,        -- blocking | warning
    threshold DOUBLE NOT NULL,        -- fraction of failing rows allowed
    rows_tested BIGINT NOT NULL,
    rows_failed BIGINT NOT NULL,
    passed BOOLEAN NOT NULL,
    validated_at TIMESTAMP NOT NULL
);
CREATE TABLE audit.failed_rows (
    run_id VARCHAR NOT NULL,
    site VARCHAR NOT NULL,
    record_kind VARCHAR NOT NULL,
    check_name VARCHAR NOT NULL,
    file_id BIGINT NOT NULL,
    source_row INTEGER NOT NULL,
    column_name VARCHAR,
    value VARCHAR
);
CREATE TABLE audit.unmapped_values (
    run_id VARCHAR NOT NULL,
    site VARCHAR NOT NULL,
    record_kind VARCHAR NOT NULL,
    file_id BIGINT NOT NULL,
    source_row INTEGER NOT NULL,
    column_name VARCHAR NOT NULL,
    value VARCHAR,
    reason VARCHAR NOT NULL
);
