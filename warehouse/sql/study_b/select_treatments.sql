-- Study B's treatments: every glucocorticoid, IVMP, IVIG and csDMARD period ($drug_classes)
-- with its dose and dates, for the initial treatment and the prednisone dose at each visit.
SELECT patient_key, drug_class, agent, dose_mg, start_date, stop_date
FROM core.treatments
WHERE drug_class IN (SELECT unnest($drug_classes::VARCHAR[])) AND start_date IS NOT NULL
ORDER BY patient_key, start_date, drug_class
