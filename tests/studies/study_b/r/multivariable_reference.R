# Study B's multivariable CK models refitted in R on the platform's imputed data sets: lme4::lmer
# (REML) per imputation, each term pooled with mice::pool.scalar (Rubin's rules, infinite
# complete-data df), and each term's relative explained variation from the pooled Wald
# chi-squares (total covariance ubar + (1 + 1/m) b of the whole fixed-effect vector), as
# rms::anova's "proportion chisq". Input: frame.csv (the follow-up rows of every imputation,
# column `imputation`, design columns named c1..cK), specs.csv (model_id, outcome, predictors
# joined by "+") and terms.csv (model_id, term, columns joined by "+"). Output: out_pooled.csv
# (model_id, term, estimate, se, df, p_value) and out_rev.csv (model_id, term, chi_square, df,
# rev).
suppressPackageStartupMessages({library(lme4); library(mice)})
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
frame <- read.csv(file.path(dir, "frame.csv"), stringsAsFactors = FALSE)
specs <- read.csv(file.path(dir, "specs.csv"), stringsAsFactors = FALSE)
terms <- read.csv(file.path(dir, "terms.csv"), stringsAsFactors = FALSE)
pooled <- list()
rev <- list()
for (i in seq_len(nrow(specs))) {
  spec <- specs[i, ]
  formula <- as.formula(paste(spec$outcome, "~", spec$predictors, "+ (1 | patient_key)"))
  fits <- lapply(split(frame, frame$imputation),
                 function(d) lmer(formula, data = d, REML = TRUE))
  m <- length(fits)
  q <- t(sapply(fits, fixef))
  u <- lapply(fits, function(f) as.matrix(vcov(f)))
  for (term in colnames(q)) {
    p <- pool.scalar(q[, term], sapply(u, function(v) v[term, term]), n = Inf)
    se <- sqrt(p$t)
    pooled[[length(pooled) + 1]] <- data.frame(
      model_id = spec$model_id, term = term, estimate = p$qbar, se = se, df = p$df,
      p_value = 2 * pt(abs(p$qbar) / se, p$df, lower.tail = FALSE))
  }
  qbar <- colMeans(q)
  total <- Reduce(`+`, u) / m + (1 + 1 / m) * cov(q)
  slopes <- setdiff(colnames(q), "(Intercept)")
  wald <- function(cols) {
    b <- qbar[cols]
    drop(t(b) %*% solve(total[cols, cols, drop = FALSE], b))
  }
  whole <- wald(slopes)
  mine <- terms[terms$model_id == spec$model_id, ]
  for (j in seq_len(nrow(mine))) {
    cols <- strsplit(mine$columns[j], "+", fixed = TRUE)[[1]]
    chi <- wald(cols)
    rev[[length(rev) + 1]] <- data.frame(model_id = spec$model_id, term = mine$term[j],
                                         chi_square = chi, df = length(cols), rev = chi / whole)
  }
}
write.csv(do.call(rbind, pooled), file.path(dir, "out_pooled.csv"), row.names = FALSE)
write.csv(do.call(rbind, rev), file.path(dir, "out_rev.csv"), row.names = FALSE)
