-- Study B's hip-flexor exams: per patient and exam date, the weaker side's MRC grade (the
-- modifier ignored: 4- and 4+ are grade 4) and how many sides were graded.
SELECT patient_key, exam_date, min(mrc_grade) AS weaker_mrc_grade, count(*) AS sides_graded
FROM core.strength
WHERE muscle_group = 'hip_flexors' AND mrc_grade IS NOT NULL AND exam_date IS NOT NULL
GROUP BY patient_key, exam_date
ORDER BY patient_key, exam_date
