INSERT INTO results.releases
    (release_id, published_at, run_id, code_version, model_version, analysis_parameters,
     input_fingerprint, row_counts, sites, model_synthetic, input_parts)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
