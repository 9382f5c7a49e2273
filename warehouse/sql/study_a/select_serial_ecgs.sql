-- Every ECG scored by $model_version of each treated patient, with years from treatment onset
-- (the first immunotherapy start: glucocorticoid, IV methylprednisolone, IVIG, csDMARD or
-- rituximab), within $window_years either side. imnm/studies/study_a/analyses/trajectory.py
-- keeps the patients of the cohort with ECGs both before and on treatment.
WITH onset AS (
    SELECT patient_key, min(start_date) AS treatment_onset_date
    FROM core.treatments
    WHERE drug_class IN ('oral_glucocorticoid', 'ivmp', 'ivig', 'csdmard', 'rituximab')
      AND start_date IS NOT NULL
    GROUP BY patient_key
)
SELECT e.patient_key, e.ecg_id, e.acquired_at::DATE AS ecg_date, o.treatment_onset_date,
       date_diff('day', o.treatment_onset_date, e.acquired_at::DATE) / 365.25
           AS years_from_treatment_onset,
       s.p_lvd
FROM core.ecgs e
JOIN onset o USING (patient_key)
JOIN scores.ecg_lvd_scores s ON s.ecg_id = e.ecg_id AND s.model_version = $model_version
WHERE abs(date_diff('day', o.treatment_onset_date, e.acquired_at::DATE)) / 365.25
      <= $window_years
ORDER BY e.patient_key, e.acquired_at, e.ecg_id
