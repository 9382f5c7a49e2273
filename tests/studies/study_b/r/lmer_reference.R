# Study B's CK mixed models refitted with lme4::lmer (REML, lme4's defaults) on the rows the
# platform used. Input: frame.csv (the follow-up rows, design columns named c1..cK) and
# specs.csv (model_id, outcome, predictors joined by "+"). Output: out_fixed.csv (model_id,
# term, estimate, se) and out_variance.csv (model_id, group_variance, residual_variance, n_obs).
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
frame <- read.csv(file.path(dir, "frame.csv"), stringsAsFactors = FALSE)
specs <- read.csv(file.path(dir, "specs.csv"), stringsAsFactors = FALSE)
fixed <- list()
variance <- list()
for (i in seq_len(nrow(specs))) {
  spec <- specs[i, ]
  formula <- as.formula(paste(spec$outcome, "~", spec$predictors, "+ (1 | patient_key)"))
  fit <- lmer(formula, data = frame, REML = TRUE)
  est <- fixef(fit)
  se <- sqrt(diag(as.matrix(vcov(fit))))
  fixed[[i]] <- data.frame(model_id = spec$model_id, term = names(est),
                           estimate = unname(est), se = unname(se))
  vc <- as.data.frame(VarCorr(fit))
  variance[[i]] <- data.frame(model_id = spec$model_id,
                              group_variance = vc$vcov[vc$grp == "patient_key"],
                              residual_variance = vc$vcov[vc$grp == "Residual"],
                              n_obs = nobs(fit))
}
write.csv(do.call(rbind, fixed), file.path(dir, "out_fixed.csv"), row.names = FALSE)
write.csv(do.call(rbind, variance), file.path(dir, "out_variance.csv"), row.names = FALSE)
