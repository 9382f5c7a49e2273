SELECT row_counts FROM results.releases WHERE release_id = ?
