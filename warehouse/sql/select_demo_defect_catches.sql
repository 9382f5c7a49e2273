-- Which of the demo generator's injected defects the platform caught: one row per defect of
-- its manifest (<data>/demo_manifest/defects.csv), in manifest order. The manifest comes as
-- parallel lists ($defect_id, $site, $file: "<site>/<path under landing/<site>/>", $row: the
-- 1-based data row, NULL for a whole file, $file_column, $kind), and the site configurations'
-- column map as four more ($map_site, $map_kind, $map_file_column, $map_column: file column ->
-- canonical column).
--
-- A defect is matched against the latest delivery registered under its path, and is caught:
--   whole file (no row)   when that file was quarantined (status, or a 'quarantined' event);
--   duplicate_row         when a uniqueness check failed that row;
--   unmapped_code         when audit.unmapped_values holds a value of that row;
--   any other cell defect when a check of any layer failed that row (audit.failed_rows) or a
--                         value of it could not be cast or mapped (audit.unmapped_values).
-- caught_in_column also requires the flag to name the canonical column the defect's file column
-- maps to (whole-file and whole-row defects: same as caught).
WITH manifest AS (
    SELECT unnest($defect_id::BIGINT[]) AS defect_id, unnest($site::VARCHAR[]) AS site,
           unnest($file::VARCHAR[]) AS file, unnest($row::INTEGER[]) AS source_row,
           unnest($file_column::VARCHAR[]) AS file_column, unnest($kind::VARCHAR[]) AS kind
),
column_map AS (
    SELECT site, record_kind, file_column, list(DISTINCT canonical_column) AS canonical_columns
    FROM (SELECT unnest($map_site::VARCHAR[]) AS site,
                 unnest($map_kind::VARCHAR[]) AS record_kind,
                 unnest($map_file_column::VARCHAR[]) AS file_column,
                 unnest($map_column::VARCHAR[]) AS canonical_column)
    GROUP BY ALL
),
latest_files AS (
    SELECT site, relative_path, file_id, record_kind, status
    FROM registry.source_files
    QUALIFY row_number() OVER (PARTITION BY site, relative_path ORDER BY file_id DESC) = 1
),
defects AS (
    SELECT m.defect_id, m.site, m.source_row, m.kind, f.file_id, f.record_kind,
           c.canonical_columns,
           coalesce(f.status = 'quarantined'
                    OR f.file_id IN (SELECT file_id FROM audit.file_events
                                     WHERE event = 'quarantined' AND file_id IS NOT NULL),
                    false) AS file_quarantined
    FROM manifest m
    LEFT JOIN latest_files f ON f.site = m.site AND m.file = f.site || '/' || f.relative_path
    LEFT JOIN column_map c
           ON c.site = m.site AND c.record_kind = f.record_kind AND c.file_column = m.file_column
),
check_types AS (
    SELECT DISTINCT run_id, site, record_kind, check_name,
           expectation_type IN ('expect_compound_columns_to_be_unique',
                                'expect_column_values_to_be_unique') AS is_uniqueness
    FROM audit.validation_results
),
flags AS (
    SELECT r.file_id, r.source_row, r.column_name, r.layer AS found_in,
           r.check_name AS found_by, coalesce(t.is_uniqueness, false) AS is_uniqueness
    FROM audit.failed_rows r
    LEFT JOIN check_types t USING (run_id, site, record_kind, check_name)
    WHERE r.file_id IN (SELECT file_id FROM defects)
    UNION ALL
    SELECT file_id, source_row, column_name, 'unmapped' AS found_in,
           'unmapped_value' AS found_by, false AS is_uniqueness
    FROM audit.unmapped_values
    WHERE file_id IN (SELECT file_id FROM defects)
),
matches AS (
    SELECT d.defect_id,
           list(DISTINCT f.found_by ORDER BY f.found_by) AS found_by,
           list(DISTINCT f.found_in ORDER BY f.found_in) AS found_in,
           bool_or(list_has_any(string_split(f.column_name, ','), d.canonical_columns))
               AS in_column
    FROM defects d
    JOIN flags f ON f.file_id = d.file_id AND f.source_row = d.source_row
    WHERE CASE d.kind WHEN 'duplicate_row' THEN f.is_uniqueness
                      WHEN 'unmapped_code' THEN f.found_in = 'unmapped'
                      ELSE true END
    GROUP BY d.defect_id
)
SELECT d.defect_id, d.file_id, d.record_kind,
       coalesce(d.canonical_columns, []) AS canonical_columns,
       CASE WHEN d.source_row IS NULL THEN d.file_quarantined
            ELSE mt.defect_id IS NOT NULL END AS caught,
       CASE WHEN d.source_row IS NULL THEN d.file_quarantined
            WHEN d.kind = 'duplicate_row' THEN mt.defect_id IS NOT NULL
            ELSE coalesce(mt.in_column, false) END AS caught_in_column,
       CASE WHEN d.source_row IS NULL AND d.file_quarantined THEN ['quarantined']
            ELSE coalesce(mt.found_by, []) END AS found_by,
       CASE WHEN d.source_row IS NULL AND d.file_quarantined THEN ['quarantine']
            ELSE coalesce(mt.found_in, []) END AS found_in
FROM defects d
LEFT JOIN matches mt USING (defect_id)
ORDER BY d.defect_id
