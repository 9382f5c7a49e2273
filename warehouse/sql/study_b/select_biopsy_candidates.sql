-- Study B's selection starts from pathology: every patient with a biopsy whose histology is
-- necrotizing myopathy, dated from $biopsy_from to $biopsy_to (the first such biopsy), with
-- whether the centre holds clinical records for the patient (a patient and a diagnosis row)
-- and the final diagnosis. imnm/studies/study_b/cohort.py applies the exclusions.
WITH necrotizing AS (
    SELECT patient_key, arg_min(site, biopsy_date) AS site, min(biopsy_date) AS biopsy_date,
           count(*) AS n_biopsies
    FROM core.biopsies
    WHERE necrotizing_myopathy
      AND biopsy_date BETWEEN $biopsy_from::DATE AND $biopsy_to::DATE
    GROUP BY patient_key
),
diagnosed AS (
    SELECT patient_key, any_value(diagnosis) AS diagnosis FROM core.diagnoses
    GROUP BY patient_key
),
registered AS (
    SELECT DISTINCT patient_key FROM core.patients
)
SELECT n.patient_key, n.site, n.biopsy_date, n.n_biopsies,
       (d.patient_key IS NOT NULL AND r.patient_key IS NOT NULL) AS has_clinical_record,
       d.diagnosis
FROM necrotizing n
LEFT JOIN diagnosed d USING (patient_key)
LEFT JOIN registered r USING (patient_key)
ORDER BY n.patient_key
