-- One release's registry entry, every column (readers take columns by name, so results files
-- written before a column existed still read); $1 = release_id.
SELECT * FROM results.releases WHERE release_id = $1
