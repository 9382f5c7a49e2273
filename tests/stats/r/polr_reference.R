# Proportional-odds models by MASS::polr(Hess = TRUE), BFGS run to a tight tolerance.
# Input: <dir>/data_<case>.csv (columns y, then the numeric predictors).
# Output: out_polr.csv (case, term, estimate, se from vcov, convergence, loglik).
suppressPackageStartupMessages(library(MASS))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
rows <- list()
for (path in Sys.glob(file.path(dir, "data_*.csv"))) {
  case <- sub("^data_(.*)\\.csv$", "\\1", basename(path))
  d <- read.csv(path)
  d$y <- factor(d$y, levels = sort(unique(d$y)), ordered = TRUE)
  predictors <- setdiff(names(d), "y")
  f <- as.formula(paste("y ~", paste(predictors, collapse = " + ")))
  fit <- polr(f, data = d, Hess = TRUE, control = list(reltol = 1e-14, maxit = 10000))
  est <- c(fit$zeta, coef(fit))
  se <- sqrt(diag(vcov(fit)))[names(est)]
  rows[[length(rows) + 1]] <- data.frame(
    case = case, term = names(est), estimate = unname(est), se = unname(se),
    convergence = fit$convergence, loglik = as.numeric(logLik(fit)))
}
write.csv(do.call(rbind, rows), file.path(dir, "out_polr.csv"), row.names = FALSE)
