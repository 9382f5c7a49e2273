-- Study B's CK measurements (U/L, harmonized), for the CK closest to each visit; a CK that is
-- not positive is not a measurement (and has no logarithm).
SELECT patient_key, sample_date, value AS ck_u_l
FROM core.labs
WHERE analyte = 'ck' AND value > 0 AND sample_date IS NOT NULL
ORDER BY patient_key, sample_date
