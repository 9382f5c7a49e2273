-- One study's kept result and analysis-ready tables ($1 study), each an Arrow IPC stream.
SELECT kind, table_name, arrow_ipc FROM analysis.study_result_set_tables WHERE study = $1
ORDER BY kind, table_name
