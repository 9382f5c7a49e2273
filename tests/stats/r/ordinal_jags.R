# The cumulative-logit random-intercept model of imnm/stats/bayes.py, fitted independently in
# JAGS (rjags): dcat likelihood on the cumulative-logit cell probabilities,
#   logit P(Y <= k | x, u) = theta_k - x'beta - u,  u ~ Normal(0, sd^2) per group,
# with the same priors: cell probabilities at the predictor means pi ~ Dirichlet(conc) (JAGS's
# ddirch), theta_k = logit(pi_1 + ... + pi_k) + xbar'beta; beta_j ~ Normal(0, scale) or
# Student-t(df, 0, scale); sd ~ half-t(df, 0, scale) or exponential(mean scale).
# For Gibbs mixing the patient-level columns (constant within every group, such as treatment)
# enter through the random intercept's mean (hierarchical centring: m_j ~ Normal(w_j'beta_w, sd^2),
# the same posterior as u_j = m_j - w_j'beta_w); without it their coefficients mix slowly.
# Input: <dir>/data.csv (y coded 0..K-1, group, the predictors), <dir>/predictors.csv (name),
# <dir>/settings.csv (one row: K, conc, coef_family, coef_scale, coef_df, sd_family, sd_scale,
# sd_df, chains, adapt, burnin, iter, seed). Chains run in parallel processes, one RNG seed each
# (seed + chain), so the draws are reproducible. Output: out_draws.csv (chain, the predictors,
# sd, theta_0 .. theta_{K-2}).
suppressPackageStartupMessages({
  library(rjags)
  library(parallel)
})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(file.path(args[1], "data.csv"), check.names = FALSE)
predictors <- read.csv(file.path(args[1], "predictors.csv"), colClasses = "character")$name
s <- read.csv(file.path(args[1], "settings.csv"), stringsAsFactors = FALSE)

x <- as.matrix(d[, predictors, drop = FALSE])
xbar <- colMeans(x)
xc <- sweep(x, 2, xbar)
grp <- as.integer(factor(d$group))
G <- max(grp)
K <- as.integer(s$K)
between <- apply(xc, 2, function(col) all(tapply(col, grp, function(v) diff(range(v))) == 0))
first_row <- match(seq_len(G), grp)
data <- list(y = as.integer(d$y) + 1L, N = nrow(d), K = K, G = G, grp = grp,
             conc = rep(s$conc, K), coef_prec = 1 / s$coef_scale^2, coef_df = s$coef_df,
             sd_prec = 1 / s$sd_scale^2, sd_df = s$sd_df, sd_rate = 1 / s$sd_scale)
coef_prior <- if (s$coef_family == "normal") "dnorm(0, coef_prec)" else
  "dt(0, coef_prec, coef_df)"
sd_prior <- if (s$sd_family == "half_t") "dt(0, sd_prec, sd_df) T(0,)" else "dexp(sd_rate)"
within_eta <- "0"
centre <- "0"
lines <- c()
if (any(!between)) {
  data$xw <- xc[, !between, drop = FALSE]
  data$PW <- sum(!between)
  lines <- c(lines, sprintf("for (j in 1:PW) { bw[j] ~ %s }", coef_prior))
  within_eta <- "inprod(xw[i, ], bw)"
}
if (any(between)) {
  data$xb <- xc[first_row, between, drop = FALSE]
  data$PB <- sum(between)
  lines <- c(lines, sprintf("for (j in 1:PB) { bb[j] ~ %s }", coef_prior))
  centre <- "inprod(xb[j, ], bb)"
}
model <- paste(c(
  "model {",
  "pi ~ ddirch(conc)",
  "cum[1] <- pi[1]",
  "for (k in 2:(K - 1)) { cum[k] <- cum[k - 1] + pi[k] }",
  "for (k in 1:(K - 1)) { thc[k] <- logit(cum[k]) }",
  lines,
  sprintf("sd ~ %s", sd_prior),
  sprintf("for (j in 1:G) { m[j] ~ dnorm(%s, 1 / (sd * sd)) }", centre),
  "for (i in 1:N) {",
  sprintf("  eta[i] <- %s + m[grp[i]]", within_eta),
  "  for (k in 1:(K - 1)) { cumprob[i, k] <- ilogit(thc[k] - eta[i]) }",
  "  p[i, 1] <- cumprob[i, 1]",
  "  for (k in 2:(K - 1)) { p[i, k] <- cumprob[i, k] - cumprob[i, k - 1] }",
  "  p[i, K] <- 1 - cumprob[i, K - 1]",
  "  y[i] ~ dcat(p[i, ])",
  "}",
  "}"), collapse = "\n")
monitors <- c("thc", "sd", if (any(!between)) "bw", if (any(between)) "bb")

one_chain <- function(chain) {
  inits <- list(.RNG.name = "base::Mersenne-Twister", .RNG.seed = s$seed + chain)
  jm <- jags.model(textConnection(model), data = data, inits = inits, n.chains = 1,
                   n.adapt = s$adapt, quiet = TRUE)
  update(jm, s$burnin, progress.bar = "none")
  draws <- as.matrix(coda.samples(jm, monitors, n.iter = s$iter, progress.bar = "none")[[1]])
  beta <- matrix(0, nrow(draws), length(predictors), dimnames = list(NULL, predictors))
  if (any(!between)) beta[, !between] <- draws[, grep("^bw(\\[|$)", colnames(draws)), drop = FALSE]
  if (any(between)) beta[, between] <- draws[, grep("^bb(\\[|$)", colnames(draws)), drop = FALSE]
  thc <- draws[, sprintf("thc[%d]", seq_len(K - 1)), drop = FALSE]
  theta <- thc + as.vector(beta %*% xbar)
  colnames(theta) <- sprintf("theta_%d", seq_len(K - 1) - 1L)
  data.frame(chain = chain, beta, sd = draws[, "sd"], theta, check.names = FALSE)
}
cores <- min(s$chains, max(1L, detectCores()))
chains <- mclapply(seq_len(s$chains), one_chain, mc.cores = cores)
failed <- vapply(chains, function(ch) inherits(ch, "try-error"), logical(1))
if (any(failed)) stop(paste(unlist(chains[failed]), collapse = "\n"))
write.csv(do.call(rbind, chains), file.path(args[1], "out_draws.csv"), row.names = FALSE)
