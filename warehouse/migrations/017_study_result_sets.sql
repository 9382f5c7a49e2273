-- Each study's last results, kept by the fingerprint of what made them (its inputs,
-- parameters, model version, the statistics code and library versions): a refresh whose
-- fingerprint is unchanged reuses them instead of running the analyses again. One set per
-- study, replaced with its analysis-ready tables; every table is an Arrow IPC stream, so its
-- column types come back as they were.
CREATE TABLE analysis.study_result_sets (
    study VARCHAR PRIMARY KEY, fingerprint VARCHAR NOT NULL, run_id VARCHAR NOT NULL,
    analysed_seconds DOUBLE NOT NULL, notes JSON NOT NULL, headline JSON NOT NULL
);
CREATE TABLE analysis.study_result_set_tables (
    study VARCHAR NOT NULL, kind VARCHAR NOT NULL, table_name VARCHAR NOT NULL,
    arrow_ipc BLOB NOT NULL, PRIMARY KEY (study, kind, table_name)
);
