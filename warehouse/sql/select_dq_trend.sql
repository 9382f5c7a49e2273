-- Each check's outcome per release for the releases listed in $1 (a VARCHAR[]).
SELECT release_id, layer, site, suite, check_name, severity,
       sum(rows_tested) AS rows_tested, sum(rows_failed) AS rows_failed,
       bool_and(passed) AS passed
FROM audit.check_history
WHERE release_id IN (SELECT unnest($1::VARCHAR[]))
GROUP BY release_id, layer, site, suite, check_name, severity
ORDER BY site, layer, suite, check_name, release_id
