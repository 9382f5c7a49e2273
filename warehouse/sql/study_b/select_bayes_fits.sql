-- Study B's cached Bayesian fits (what the previous refresh fitted): fit fingerprint -> the
-- fit's released rows and diagnostics, so an unchanged fit is not refitted.
SELECT fit_key, fit_id, fit_seconds, outputs FROM analysis.study_b_bayes_fits
