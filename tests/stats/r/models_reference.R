# Reference values for tests/test_stats_r_models.py: logistic and linear models, two-group
# tests and the Table 1 test choice, computed by base R (stats) on the rows Python wrote.
#
# Usage: Rscript --vanilla models_reference.R DIR
#   DIR/logit_specs.csv  model, dataset, outcome, terms (space-separated, exposure first)
#   DIR/<dataset>.csv    the rows of each logistic data set (NA = missing)
#   DIR/trend.csv        set, x, y
#   DIR/continuous.csv   variable, group ("a"/"b"), value
#   DIR/tables.csv       table_id, yes_a, n_a, yes_b, n_b
# Writes DIR/out_logit.csv, out_trend.csv, out_continuous.csv, out_tables.csv, numbers with
# 17 significant digits so that nothing is lost in the round trip.

args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
read_in <- function(name) read.csv(file.path(dir, paste0(name, ".csv")), stringsAsFactors = FALSE)
write_out <- function(df, name) {
  for (col in names(df)) {
    if (is.numeric(df[[col]])) {
      df[[col]] <- ifelse(is.na(df[[col]]), NA, sprintf("%.17g", df[[col]]))
    }
  }
  write.csv(df, file.path(dir, paste0("out_", name, ".csv")), row.names = FALSE, na = "")
}

# Booleans written by pandas arrive as "True"/"False" text (or logical); make them 1/0.
as01 <- function(v) {
  if (!is.character(v)) return(as.numeric(v))
  v[v == ""] <- NA
  stopifnot(all(is.na(v) | v %in% c("True", "False")))
  as.numeric(v == "True")
}

# --- logistic regression: glm(binomial), Wald CI (confint.default) and Wald z p ---------------
specs <- read_in("logit_specs")
ctl <- glm.control(epsilon = 1e-14, maxit = 100)
logit <- do.call(rbind, lapply(seq_len(nrow(specs)), function(i) {
  s <- specs[i, ]
  d <- read_in(s$dataset)
  terms <- strsplit(s$terms, " ")[[1]]
  for (col in c(s$outcome, terms)) d[[col]] <- as01(d[[col]])
  f <- as.formula(paste(s$outcome, "~", paste(terms, collapse = " + ")))
  fit <- glm(f, family = binomial, data = d, control = ctl)
  stopifnot(fit$converged)
  co <- summary(fit)$coefficients
  ci <- confint.default(fit)
  used <- model.frame(fit)
  data.frame(model = s$model, term = terms,
             odds_ratio = exp(co[terms, "Estimate"]),
             ci_low = exp(ci[terms, 1]), ci_high = exp(ci[terms, 2]),
             p_value = co[terms, "Pr(>|z|)"],
             n = nrow(used), n_events = sum(used[[s$outcome]]))
}))
write_out(logit, "logit")

# --- straight-line trend: lm + confint (t, n - 2 df) and cor.test ----------------------------
tr <- read_in("trend")
trend <- do.call(rbind, lapply(unique(tr$set), function(k) {
  d <- tr[tr$set == k, ]
  fit <- lm(y ~ x, data = d)
  ct <- cor.test(d$x, d$y)
  data.frame(set = k, slope = coef(fit)[["x"]],
             slope_ci_low = confint(fit)["x", 1], slope_ci_high = confint(fit)["x", 2],
             intercept = coef(fit)[["(Intercept)"]],
             pearson_r = unname(ct$estimate), p_value = ct$p.value,
             n = nrow(model.frame(fit)))
}))
write_out(trend, "trend")

# --- continuous two-group tests and the choice rule -------------------------------------------
shapiro_p <- function(v) {
  if (length(v) < 3 || length(v) > 5000 || length(unique(v)) == 1) return(NA_real_)
  shapiro.test(v)$p.value
}
cont <- read_in("continuous")
continuous <- do.call(rbind, lapply(unique(cont$variable), function(k) {
  d <- cont[cont$variable == k & !is.na(cont$value), ]
  a <- d$value[d$group == "a"]
  b <- d$value[d$group == "b"]
  pa <- shapiro_p(a)
  pb <- shapiro_p(b)
  tt <- t.test(a, b)  # Welch is R's default (var.equal = FALSE)
  wt <- wilcox.test(a, b, exact = FALSE)
  welch <- !is.na(pa) && !is.na(pb) && pa > 0.05 && pb > 0.05
  data.frame(variable = k, shapiro_p_a = pa, shapiro_p_b = pb,
             welch_t = unname(tt$statistic), welch_p = tt$p.value,
             wilcox_w = unname(wt$statistic), wilcox_p = wt$p.value,
             test = if (welch) "welch_t" else "mann_whitney")
}))
write_out(continuous, "continuous")

# --- 2x2 tables: chisq.test(correct = FALSE), fisher.test and the choice rule ----------------
tb <- read_in("tables")
tables <- do.call(rbind, lapply(seq_len(nrow(tb)), function(i) {
  r <- tb[i, ]
  m <- matrix(c(r$yes_a, r$yes_b, r$n_a - r$yes_a, r$n_b - r$yes_b), nrow = 2)
  expected <- outer(rowSums(m), colSums(m)) / sum(m)
  ch <- suppressWarnings(chisq.test(m, correct = FALSE))
  fi <- fisher.test(m)
  data.frame(table_id = r$table_id, min_expected = min(expected),
             chi2 = unname(ch$statistic), chi2_p = ch$p.value,
             fisher_p = fi$p.value, fisher_or = unname(fi$estimate),
             test = if (min(expected) >= 5) "chi_square" else "fisher_exact")
}))
write_out(tables, "tables")
