-- A study-neutral core: core holds harmonized facts only; study-specific levels, windows and
-- flags are computed in each study's inputs (warehouse/sql/<study>/).
--   core.echos.echo_findings: the echo findings the harmonize rules read from the report's
--     fields and text (config/echo_findings.toml), comma-separated, NULL when none. Which
--     findings make an echo "LVD" is a study parameter (study A: lvd_findings).
--   core.patient_serotypes: the serotype of each patient with serology (the one per-patient
--     derivation shared by every study), replacing the study-specific core.patient_features.
DROP VIEW core.patient_features;
ALTER TABLE core.strength DROP COLUMN study_b_level;
ALTER TABLE core.diagnoses DROP COLUMN symptom_duration_band;
ALTER TABLE core.echos DROP COLUMN echo_lvd_flag;
ALTER TABLE core.echos RENAME COLUMN echo_lvd_findings TO echo_findings;

-- serotype: anti-HMGCR if the HMGCR assay is positive, else anti-SRP if SRP is positive, else
-- other_msa if another line-immunoassay antigen is positive, else seronegative.
CREATE VIEW core.patient_serotypes AS
SELECT patient_key,
       CASE WHEN bool_or(antigen = 'HMGCR' AND result = 'positive') THEN 'anti-HMGCR'
            WHEN bool_or(antigen = 'SRP' AND result = 'positive') THEN 'anti-SRP'
            WHEN bool_or(antigen NOT IN ('HMGCR', 'SRP') AND result = 'positive')
                THEN 'other_msa'
            ELSE 'seronegative'
       END AS serotype
FROM core.serology
GROUP BY patient_key;

-- What built each study's analysis-ready tables (one row per study, replaced every refresh).
DROP TABLE analysis.study_a_build;
CREATE TABLE analysis.study_builds (
    study VARCHAR PRIMARY KEY, built_at TIMESTAMP NOT NULL, run_id VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL, analysis_parameters JSON NOT NULL
);

-- A release records whether its model's card says synthetic training data, and the digests
-- of every input that can change its numbers (the input fingerprint is their digest).
ALTER TABLE results.releases ADD COLUMN model_synthetic BOOLEAN;
ALTER TABLE results.releases ADD COLUMN input_parts JSON;
