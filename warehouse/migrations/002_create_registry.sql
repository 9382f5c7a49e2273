-- Every file a centre delivered, once per distinct content per site.
CREATE SEQUENCE registry.source_file_id_seq START 1;

CREATE TABLE registry.source_files (
    file_id        BIGINT PRIMARY KEY DEFAULT nextval('registry.source_file_id_seq'),
    site           VARCHAR NOT NULL,
    record_kind    VARCHAR NOT NULL,
    relative_path  VARCHAR NOT NULL,   -- relative to landing/<site>/
    sha256         VARCHAR NOT NULL,   -- of the file's bytes (WFDB: header then signal file)
    size_bytes     BIGINT NOT NULL,
    received_at    TIMESTAMP NOT NULL, -- the file's modification time in the landing zone
    discovered_at  TIMESTAMP NOT NULL,
    discovered_run VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,   -- discovered | staged | quarantined
    status_reason  VARCHAR,
    rows_staged    BIGINT,
    rows_rejected  BIGINT,
    UNIQUE (site, sha256)
);
