-- Study A's candidates: every diagnosed patient with what each selection rule needs, so the
-- attrition table can count what each rule removes (imnm/studies/study_a/cohort.py applies
-- the rules).
--   index ECG: the ECG scored by $model_version closest to diagnosis (symptom onset when the
--     diagnosis date is missing), taken within $ecg_window_days of symptom onset;
--   gold-standard echo: the dated echo closest to symptom onset, within $echo_window_days of
--     it; it is LVD (echo_lvd_flag) when it has any of the findings in $lvd_findings, which
--     echo_lvd_findings lists; later_lvd_echo_date: the first LVD echo after it;
--   baseline HDL-C, total cholesterol and systolic BP: closest to the index date within
--     $baseline_window_days;
--   follow-up: from the index ECG to death or last contact.
WITH dx AS (
    SELECT patient_key, site, diagnosis, symptom_onset_date, diagnosis_date,
           coalesce(diagnosis_date, symptom_onset_date) AS index_date, age_at_diagnosis,
           respiratory_involvement, restrictive_pulmonary, cardiorespiratory_symptoms
    FROM core.diagnoses
),
window_ecgs AS (
    SELECT d.patient_key, e.ecg_id, e.acquired_at::DATE AS ecg_date, s.p_lvd,
           abs(date_diff('day', d.index_date, e.acquired_at::DATE)) AS days_from_index
    FROM dx d
    JOIN core.ecgs e USING (patient_key)
    LEFT JOIN scores.ecg_lvd_scores s
        ON s.ecg_id = e.ecg_id AND s.model_version = $model_version
    WHERE abs(date_diff('day', d.symptom_onset_date, e.acquired_at::DATE)) <= $ecg_window_days
),
ecg_counts AS (
    SELECT patient_key, count(*) AS n_ecgs_in_window, count(p_lvd) AS n_scored_in_window
    FROM window_ecgs GROUP BY patient_key
),
index_ecg AS (
    SELECT patient_key, ecg_id, ecg_date, p_lvd,
           row_number() OVER (PARTITION BY patient_key ORDER BY days_from_index, ecg_id)
               AS closeness
    FROM window_ecgs WHERE p_lvd IS NOT NULL
),
echo_lvd AS (
    SELECT patient_key, echo_date, file_id, source_row,
           nullif(array_to_string(list_filter(string_split(coalesce(echo_findings, ''), ','),
                                              f -> list_contains($lvd_findings, f)), ','), '')
               AS echo_lvd_findings
    FROM core.echos
),
gold_echo AS (
    SELECT d.patient_key, x.echo_date, x.echo_lvd_findings IS NOT NULL AS echo_lvd_flag,
           x.echo_lvd_findings,
           row_number() OVER (
               PARTITION BY d.patient_key
               ORDER BY abs(date_diff('day', d.symptom_onset_date, x.echo_date)), x.echo_date,
                        x.file_id, x.source_row
           ) AS closeness
    FROM dx d
    JOIN echo_lvd x USING (patient_key)
    WHERE x.echo_date IS NOT NULL
      AND abs(date_diff('day', d.symptom_onset_date, x.echo_date)) <= $echo_window_days
),
later_lvd AS (
    SELECT g.patient_key, min(x.echo_date) AS later_lvd_echo_date
    FROM gold_echo g
    JOIN echo_lvd x ON x.patient_key = g.patient_key AND x.echo_date > g.echo_date
    WHERE g.closeness = 1 AND x.echo_lvd_findings IS NOT NULL
    GROUP BY g.patient_key
),
baseline_labs AS (
    SELECT l.patient_key, l.analyte, l.value,
           row_number() OVER (
               PARTITION BY l.patient_key, l.analyte
               ORDER BY abs(date_diff('day', d.index_date, l.sample_date)), l.sample_date
           ) AS closeness
    FROM core.labs l JOIN dx d USING (patient_key)
    WHERE l.analyte IN ('hdl_c', 'total_cholesterol') AND l.value IS NOT NULL
      AND abs(date_diff('day', d.index_date, l.sample_date)) <= $baseline_window_days
),
baseline_bp AS (
    SELECT v.patient_key, v.systolic_bp_mmhg,
           row_number() OVER (
               PARTITION BY v.patient_key
               ORDER BY abs(date_diff('day', d.index_date, v.measured_date)), v.measured_date
           ) AS closeness
    FROM core.vitals v JOIN dx d USING (patient_key)
    WHERE v.systolic_bp_mmhg IS NOT NULL
      AND abs(date_diff('day', d.index_date, v.measured_date)) <= $baseline_window_days
)
SELECT d.patient_key, d.site, d.diagnosis, d.symptom_onset_date, d.diagnosis_date,
       coalesce(c.n_ecgs_in_window, 0) AS n_ecgs_in_window,
       coalesce(c.n_scored_in_window, 0) AS n_scored_in_window,
       i.ecg_id, i.ecg_date, i.p_lvd,
       g.echo_date, g.echo_lvd_flag, g.echo_lvd_findings, ll.later_lvd_echo_date,
       d.age_at_diagnosis, p.sex, p.race, p.hypertension, p.diabetes, p.smoker, p.bp_treated,
       hdl.value AS hdl_c_mg_dl, tc.value AS total_cholesterol_mg_dl, bp.systolic_bp_mmhg,
       p.statin_exposure, f.serotype,
       d.respiratory_involvement, d.restrictive_pulmonary, d.cardiorespiratory_symptoms,
       o.death_date, o.death_cause, o.last_followup_date,
       o.death_date IS NOT NULL AS died,
       date_diff('day', i.ecg_date, coalesce(o.death_date, o.last_followup_date)) / 365.25
           AS followup_years
FROM dx d
LEFT JOIN ecg_counts c USING (patient_key)
LEFT JOIN index_ecg i ON i.patient_key = d.patient_key AND i.closeness = 1
LEFT JOIN gold_echo g ON g.patient_key = d.patient_key AND g.closeness = 1
LEFT JOIN later_lvd ll ON ll.patient_key = d.patient_key
LEFT JOIN core.patients p ON p.patient_key = d.patient_key
LEFT JOIN core.patient_serotypes f ON f.patient_key = d.patient_key
LEFT JOIN baseline_labs hdl
    ON hdl.patient_key = d.patient_key AND hdl.analyte = 'hdl_c' AND hdl.closeness = 1
LEFT JOIN baseline_labs tc
    ON tc.patient_key = d.patient_key AND tc.analyte = 'total_cholesterol' AND tc.closeness = 1
LEFT JOIN baseline_bp bp ON bp.patient_key = d.patient_key AND bp.closeness = 1
LEFT JOIN core.outcomes o ON o.patient_key = d.patient_key
ORDER BY d.patient_key
