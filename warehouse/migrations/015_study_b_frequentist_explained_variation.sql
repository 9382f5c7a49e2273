-- Study B's relative explained variation from both engines: the frequentist multivariable
-- models' pooled Wald chi-squares (rms::anova of a frequentist fit) beside the Bayesian
-- posterior REV. Rows released before this migration are the Bayesian engine's.
ALTER TABLE results.study_b_ck_explained_variation_history ADD COLUMN engine VARCHAR;
UPDATE results.study_b_ck_explained_variation_history SET engine = 'bayesian';
ALTER TABLE results.study_b_ck_explained_variation_history ADD COLUMN chi_square DOUBLE;
ALTER TABLE results.study_b_ck_explained_variation_history ADD COLUMN df INTEGER;
ALTER TABLE results.study_b_ck_explained_variation_history ADD COLUMN p_value DOUBLE;
ALTER TABLE results.study_b_ck_explained_variation_history ADD COLUMN imputations INTEGER;
