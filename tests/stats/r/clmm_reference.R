# Cumulative-logit random-intercept models by ordinal::clmm (adaptive Gauss-Hermite quadrature).
# Input: <dir>/data_<case>.csv (columns group, y, then the numeric predictors) and
# <dir>/settings.csv (nagq: the quadrature sizes to fit). Each case is fitted as
# clmm(ordered(y) ~ <predictors> + (1 | group), nAGQ = nagq), and the published example
# clmm(rating ~ temp + contact + (1 | judge), data = wine) likewise.
# Output: out_clmm.csv (case, nagq, term, estimate, se; term "log_sd" is log of the random
# SD with its SE, as in vcov; convergence is nlminb's code, max_grad clmm's max |gradient|,
# loglik the quadrature log-likelihood) and out_wine.csv (the wine rows with 0/1 dummies).
suppressPackageStartupMessages(library(ordinal))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
nagqs <- read.csv(file.path(dir, "settings.csv"))$nagq

summarise <- function(case, fit, nagq) {
  v <- vcov(fit)
  est <- c(fit$alpha, fit$beta, log_sd = log(fit$ST[[1]][1, 1]))
  se <- sqrt(diag(v))
  data.frame(case = case, nagq = nagq, term = names(est), estimate = unname(est),
             se = unname(se), convergence = fit$optRes$convergence,
             max_grad = max(abs(fit$gradient)), loglik = as.numeric(logLik(fit)),
             seconds = NA_real_)
}

rows <- list()
for (path in Sys.glob(file.path(dir, "data_*.csv"))) {
  case <- sub("^data_(.*)\\.csv$", "\\1", basename(path))
  d <- read.csv(path)
  d$y <- factor(d$y, levels = sort(unique(d$y)), ordered = TRUE)
  d$group <- factor(d$group)
  predictors <- setdiff(names(d), c("group", "y"))
  f <- as.formula(paste("y ~", paste(predictors, collapse = " + "), "+ (1 | group)"))
  for (nagq in nagqs) {
    seconds <- system.time(fit <- clmm(f, data = d, nAGQ = nagq))[["elapsed"]]
    out <- summarise(case, fit, nagq)
    out$seconds <- seconds
    rows[[length(rows) + 1]] <- out
  }
}
for (nagq in nagqs) {
  fit <- clmm(rating ~ temp + contact + (1 | judge), data = wine, nAGQ = nagq)
  rows[[length(rows) + 1]] <- summarise("wine", fit, nagq)
}
write.csv(do.call(rbind, rows), file.path(dir, "out_clmm.csv"), row.names = FALSE)
write.csv(data.frame(judge = as.integer(wine$judge), rating = as.integer(wine$rating),
                     tempwarm = as.integer(wine$temp == "warm"),
                     contactyes = as.integer(wine$contact == "yes")),
          file.path(dir, "out_wine.csv"), row.names = FALSE)
