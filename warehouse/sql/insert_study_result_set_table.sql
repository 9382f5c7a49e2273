-- One kept table: $1 study, $2 kind ('result' or 'analysis'), $3 table name, $4 Arrow IPC.
INSERT INTO analysis.study_result_set_tables (study, kind, table_name, arrow_ipc)
VALUES ($1, $2, $3, $4)
