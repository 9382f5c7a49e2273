-- Per-patient derived fields the two studies use, computed from core so they always agree
-- with it. Windows are relative to the diagnosis date:
--   serotype: anti-HMGCR if the HMGCR assay is positive, else anti-SRP if SRP is positive,
--     else other_msa if another line-immunoassay antigen is positive, else seronegative when
--     any serology was reported; NULL without serology.
--   initial_ck_u_l: the CK closest to diagnosis within 90 days either side.
--   baseline_hip_flexor_level: study B's 0-3 level of the weaker hip flexor side, from the
--     exam closest to diagnosis within 90 days either side.
--   initial treatment: what started from 30 days before to 30 days after diagnosis:
--     gc_alone | gc_ivig | gc_csdmard | gc_ivig_csdmard | other | none; GC = oral
--     glucocorticoid or IV methylprednisolone pulse (IVMP).
--   early_ivig: IVIG started no later than 30 days after diagnosis.
--   initial_prednisone_mg: dose of the first oral glucocorticoid started in the window.
CREATE VIEW core.patient_features AS
WITH dx AS (
    SELECT patient_key, site, diagnosis, diagnosis_date, age_at_diagnosis,
           symptom_duration_band
    FROM core.diagnoses
),
serology AS (
    SELECT patient_key,
           bool_or(antigen = 'HMGCR' AND result = 'positive') AS hmgcr,
           bool_or(antigen = 'SRP' AND result = 'positive') AS srp,
           bool_or(antigen NOT IN ('HMGCR', 'SRP') AND result = 'positive') AS other_msa,
           count(*) AS n_results
    FROM core.serology GROUP BY patient_key
),
ck AS (
    SELECT l.patient_key, l.value AS initial_ck_u_l,
           row_number() OVER (PARTITION BY l.patient_key
                              ORDER BY abs(date_diff('day', d.diagnosis_date, l.sample_date)),
                                       l.sample_date) AS closeness
    FROM core.labs l JOIN dx d USING (patient_key)
    WHERE l.analyte = 'ck' AND l.value IS NOT NULL
      AND abs(date_diff('day', d.diagnosis_date, l.sample_date)) <= 90
),
hip AS (
    SELECT s.patient_key, s.exam_date, min(s.study_b_level) AS level,
           row_number() OVER (PARTITION BY s.patient_key
                              ORDER BY abs(date_diff('day', d.diagnosis_date, s.exam_date)),
                                       s.exam_date) AS closeness
    FROM core.strength s JOIN dx d USING (patient_key)
    WHERE s.muscle_group = 'hip_flexors' AND s.study_b_level IS NOT NULL
      AND abs(date_diff('day', d.diagnosis_date, s.exam_date)) <= 90
    GROUP BY s.patient_key, s.exam_date, d.diagnosis_date
),
initial_rx AS (
    SELECT t.patient_key,
           bool_or(t.drug_class IN ('oral_glucocorticoid', 'ivmp')) AS gc,
           bool_or(t.drug_class = 'ivig') AS ivig,
           bool_or(t.drug_class = 'csdmard') AS csdmard,
           bool_or(t.drug_class = 'ivmp') AS ivmp,
           bool_or(t.drug_class IS NOT NULL) AS any_drug,
           arg_min(t.dose_mg, t.start_date)
               FILTER (WHERE t.drug_class = 'oral_glucocorticoid') AS initial_prednisone_mg
    FROM core.treatments t JOIN dx d USING (patient_key)
    WHERE t.start_date BETWEEN d.diagnosis_date - INTERVAL 30 DAY
                           AND d.diagnosis_date + INTERVAL 30 DAY
    GROUP BY t.patient_key
),
ivig AS (
    SELECT t.patient_key, min(t.start_date) AS first_ivig
    FROM core.treatments t WHERE t.drug_class = 'ivig' GROUP BY t.patient_key
)
SELECT d.patient_key, d.site, d.diagnosis, d.diagnosis_date, d.age_at_diagnosis,
       d.symptom_duration_band, p.sex, p.statin_exposure,
       CASE WHEN s.hmgcr THEN 'anti-HMGCR' WHEN s.srp THEN 'anti-SRP'
            WHEN s.other_msa THEN 'other_msa' WHEN s.n_results > 0 THEN 'seronegative'
       END AS serotype,
       c.initial_ck_u_l,
       h.level AS baseline_hip_flexor_level,
       CASE WHEN r.patient_key IS NULL OR NOT r.any_drug THEN 'none'
            WHEN r.gc AND r.ivig AND r.csdmard THEN 'gc_ivig_csdmard'
            WHEN r.gc AND r.ivig THEN 'gc_ivig'
            WHEN r.gc AND r.csdmard THEN 'gc_csdmard'
            WHEN r.gc THEN 'gc_alone'
            ELSE 'other'
       END AS initial_treatment,
       coalesce(r.ivmp, false) AS initial_ivmp,
       coalesce(r.csdmard, false) AS initial_csdmard,
       coalesce(i.first_ivig <= d.diagnosis_date + INTERVAL 30 DAY, false) AS early_ivig,
       r.initial_prednisone_mg
FROM dx d
LEFT JOIN core.patients p USING (patient_key)
LEFT JOIN serology s USING (patient_key)
LEFT JOIN ck c ON c.patient_key = d.patient_key AND c.closeness = 1
LEFT JOIN hip h ON h.patient_key = d.patient_key AND h.closeness = 1
LEFT JOIN initial_rx r ON r.patient_key = d.patient_key
LEFT JOIN ivig i ON i.patient_key = d.patient_key;
