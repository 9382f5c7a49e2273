-- Study B's per-patient facts from core for every patient with clinical records: sex, age,
-- symptom onset and diagnosis dates, statin exposure and the serotype (core.patient_serotypes;
-- NULL without serology).
SELECT d.patient_key, d.site, p.sex, d.age_at_diagnosis, d.symptom_onset_date,
       d.diagnosis_date, p.statin_exposure, s.serotype
FROM core.diagnoses d
JOIN core.patients p USING (patient_key)
LEFT JOIN core.patient_serotypes s USING (patient_key)
ORDER BY d.patient_key
