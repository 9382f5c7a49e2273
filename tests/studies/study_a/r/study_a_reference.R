# Study A computed independently in R (pROC, stats, survival), to cross-check the platform.
#
# Usage: Rscript --vanilla study_a_reference.R DIR   (see tests/study_a_reference.py)
# Inputs, as pandas writes them (booleans True/False, missing values empty):
#   DIR/cohort.csv  one row per patient: patient_key, p_lvd, model_predicts_lvd, echo_lvd_flag,
#                   age_at_diagnosis, sex, hypertension, diabetes, hdl_c_mg_dl,
#                   ascvd_10y_risk_percent, statin_use, serotype, seropositive,
#                   respiratory_involvement, restrictive_pulmonary, followup_years, died
#   DIR/serial.csv  the trajectory's serial ECGs: patient_key, years_from_treatment_onset,
#                   phase (before_treatment / on_treatment), p_lvd
#   DIR/params.csv  one row: cutoff, confidence, normality_alpha
# Outputs: DIR/out_<name>.csv for accuracy, roc, score_by_echo, logistic, table1, trajectory,
# trajectory_phases, cox, km and logrank.
suppressPackageStartupMessages({
  library(pROC)
  library(survival)
})

dir <- commandArgs(trailingOnly = TRUE)[1]
read_input <- function(name) {
  read.csv(file.path(dir, paste0(name, ".csv")), colClasses = "character",
           na.strings = "", check.names = FALSE)
}
as_bool <- function(x) {
  out <- rep(NA, length(x))
  out[x %in% c("True", "TRUE", "true", "1", "1.0")] <- TRUE
  out[x %in% c("False", "FALSE", "false", "0", "0.0")] <- FALSE
  out
}
write_out <- function(frame, name) {
  write.csv(frame, file.path(dir, paste0("out_", name, ".csv")), row.names = FALSE, na = "")
}

params <- read_input("params")
cutoff <- as.numeric(params$cutoff)
confidence <- as.numeric(params$confidence)
normality_alpha <- as.numeric(params$normality_alpha)
z <- qnorm(0.5 + confidence / 2)

cohort <- read_input("cohort")
bool_cols <- c("model_predicts_lvd", "echo_lvd_flag", "hypertension", "diabetes", "statin_use",
               "seropositive", "respiratory_involvement", "restrictive_pulmonary", "died")
num_cols <- c("p_lvd", "age_at_diagnosis", "hdl_c_mg_dl", "ascvd_10y_risk_percent",
              "followup_years")
for (col in bool_cols) cohort[[col]] <- as_bool(cohort[[col]])
for (col in num_cols) cohort[[col]] <- as.numeric(cohort[[col]])

# ------------------------------------------------------------------ diagnostic accuracy

echo <- cohort[!is.na(cohort$echo_lvd_flag), ]
lvd <- echo$echo_lvd_flag
score <- echo$p_lvd
roc_fit <- roc(response = as.integer(lvd), predictor = score, levels = c(0L, 1L),
               direction = "<", quiet = TRUE)
auc_ci <- as.numeric(ci.auc(roc_fit, conf.level = confidence, method = "delong"))
best <- coords(roc_fit, "best", best.method = "youden", transpose = FALSE,
               ret = c("threshold", "sensitivity", "specificity"))
youden <- min(best$threshold)  # ties: the smallest threshold, i.e. the most positives
below <- score[score < youden]
youden_observed <- if (length(below)) max(below) else -Inf

wilson <- function(x, n) {
  if (n == 0) return(c(NA, NA, NA))
  ci <- suppressWarnings(prop.test(x, n, conf.level = confidence, correct = FALSE)$conf.int)
  c(x / n, ci[1], ci[2])
}

accuracy_row <- function(rule, threshold) {
  positive <- score > threshold
  tp <- sum(positive & lvd)
  fp <- sum(positive & !lvd)
  fn <- sum(!positive & lvd)
  tn <- sum(!positive & !lvd)
  cells <- c(tp, fp, fn, tn)
  corrected <- any(cells == 0)
  adj <- cells + if (corrected) 0.5 else 0
  log_or <- log(adj[1]) + log(adj[4]) - log(adj[2]) - log(adj[3])
  log_se <- sqrt(sum(1 / adj))
  row <- data.frame(cutoff_rule = rule, cutoff = threshold, n_patients = length(lvd),
                    n_lvd = sum(lvd), auc = auc_ci[2], auc_ci_low = auc_ci[1],
                    auc_ci_high = auc_ci[3], true_positive = tp, false_positive = fp,
                    false_negative = fn, true_negative = tn, odds_ratio = exp(log_or),
                    odds_ratio_ci_low = exp(log_or - z * log_se),
                    odds_ratio_ci_high = exp(log_or + z * log_se),
                    odds_ratio_p_fisher = fisher.test(matrix(c(tp, fn, fp, tn), 2))$p.value,
                    odds_ratio_haldane_corrected = corrected, youden_cutoff = youden,
                    youden_cutoff_observed = youden_observed)
  measures <- list(sensitivity = c(tp, tp + fn), specificity = c(tn, tn + fp),
                   ppv = c(tp, tp + fp), npv = c(tn, tn + fn))
  for (m in names(measures)) {
    w <- wilson(measures[[m]][1], measures[[m]][2])
    row[[m]] <- w[1]
    row[[paste0(m, "_ci_low")]] <- w[2]
    row[[paste0(m, "_ci_high")]] <- w[3]
  }
  row
}
write_out(rbind(accuracy_row("configured", cutoff), accuracy_row("youden", youden)), "accuracy")
write_out(data.frame(threshold = roc_fit$thresholds, sensitivity = roc_fit$sensitivities,
                     specificity = roc_fit$specificities), "roc")

mw <- wilcox.test(score[lvd], score[!lvd], exact = FALSE)
score_summary <- function(group, values) {
  q <- quantile(values, c(0.25, 0.5, 0.75), type = 7, names = FALSE)
  data.frame(echo_group = group, n_patients = length(values), p_lvd_median = q[2],
             p_lvd_q1 = q[1], p_lvd_q3 = q[3], mann_whitney_u = unname(mw$statistic),
             mann_whitney_p = mw$p.value)
}
write_out(rbind(score_summary("lvd", score[lvd]), score_summary("no_lvd", score[!lvd])),
          "score_by_echo")

# ------------------------------------------------------------------ logistic regression

logistic_models <- list(univariable = "model_predicts_lvd",
                        adjusted = c("model_predicts_lvd", "seropositive",
                                     "ascvd_10y_risk_percent"))
logistic_rows <- list()
for (model in names(logistic_models)) {
  terms <- logistic_models[[model]]
  d <- echo[, c("echo_lvd_flag", terms)]
  d <- d[complete.cases(d), ]
  d[] <- lapply(d, as.numeric)
  fit <- glm(reformulate(terms, "echo_lvd_flag"), family = binomial, data = d)
  ci <- confint.default(fit, level = confidence)
  coefs <- summary(fit)$coefficients
  logistic_rows[[model]] <- data.frame(model = model, term = terms,
                                       odds_ratio = exp(coefs[terms, "Estimate"]),
                                       ci_low = exp(ci[terms, 1]), ci_high = exp(ci[terms, 2]),
                                       p_value = coefs[terms, "Pr(>|z|)"], n_patients = nrow(d),
                                       n_lvd = sum(d$echo_lvd_flag))
}
write_out(do.call(rbind, logistic_rows), "logistic")

# ------------------------------------------------------------------ Table 1

t1 <- cohort[!is.na(cohort$model_predicts_lvd), ]
group <- t1$model_predicts_lvd
continuous_test <- function(values) {
  a <- values[!group & !is.na(values)]
  b <- values[group & !is.na(values)]
  shapiro_p <- function(v) tryCatch(shapiro.test(v)$p.value, error = function(e) NA)
  pa <- shapiro_p(a)
  pb <- shapiro_p(b)
  if (!is.na(pa) && !is.na(pb) && pa > normality_alpha && pb > normality_alpha) {
    list(test = "welch_t", p = t.test(a, b, var.equal = FALSE)$p.value)
  } else {
    list(test = "mann_whitney", p = wilcox.test(a, b, exact = FALSE)$p.value)
  }
}
binary_test <- function(yes) {
  keep <- !is.na(yes)
  y <- yes[keep]
  g <- group[keep]
  tab <- matrix(c(sum(y & !g), sum(!y & !g), sum(y & g), sum(!y & g)), 2)
  expected <- outer(rowSums(tab), colSums(tab)) / sum(tab)
  if (all(expected >= 5)) {
    list(test = "chi_square", p = chisq.test(tab, correct = FALSE)$p.value)
  } else {
    list(test = "fisher_exact", p = fisher.test(tab)$p.value)
  }
}
table1_rows <- list()
add_row <- function(variable, level, result) {
  table1_rows[[length(table1_rows) + 1]] <<- data.frame(variable = variable, level = level,
                                                        test = result$test,
                                                        p_value = result$p)
}
add_row("abnormal_echo", NA, binary_test(t1$echo_lvd_flag))
add_row("age_at_diagnosis", NA, continuous_test(t1$age_at_diagnosis))
add_row("male", "male", binary_test(ifelse(is.na(t1$sex), NA, t1$sex == "male")))
add_row("hypertension", NA, binary_test(t1$hypertension))
add_row("diabetes", NA, binary_test(t1$diabetes))
add_row("hdl_c_mg_dl", NA, continuous_test(t1$hdl_c_mg_dl))
add_row("ascvd_10y_risk_percent", NA, continuous_test(t1$ascvd_10y_risk_percent))
add_row("statin_use", NA, binary_test(t1$statin_use))
for (level in c("seronegative", "anti-HMGCR", "anti-SRP", "other_msa")) {
  if (any(t1$serotype == level, na.rm = TRUE)) {
    add_row("serotype", level, binary_test(ifelse(is.na(t1$serotype), NA,
                                                  t1$serotype == level)))
  }
}
add_row("respiratory_involvement", NA, binary_test(t1$respiratory_involvement))
add_row("restrictive_pulmonary", NA, binary_test(t1$restrictive_pulmonary))
write_out(do.call(rbind, table1_rows), "table1")

# ------------------------------------------------------------------ treatment trajectory

serial <- read_input("serial")
serial$years_from_treatment_onset <- as.numeric(serial$years_from_treatment_onset)
serial$p_lvd <- as.numeric(serial$p_lvd)
serial$percent <- 100 * serial$p_lvd
trend <- lm(percent ~ years_from_treatment_onset, data = serial)
trend_ci <- confint(trend, level = confidence)
r <- cor.test(serial$years_from_treatment_onset, serial$percent, conf.level = confidence)
patient_slopes <- sapply(split(serial, serial$patient_key), function(p) {
  if (length(unique(p$years_from_treatment_onset)) < 2) return(NA)
  unname(coef(lm(percent ~ years_from_treatment_onset, data = p))[2])
})
write_out(data.frame(n_patients = length(unique(serial$patient_key)), n_ecgs = nrow(serial),
                     slope_percent_per_year = unname(coef(trend)[2]),
                     slope_ci_low = trend_ci[2, 1], slope_ci_high = trend_ci[2, 2],
                     intercept_percent = unname(coef(trend)[1]),
                     pearson_r = unname(r$estimate), p_value = r$p.value,
                     median_patient_slope = median(patient_slopes, na.rm = TRUE)),
          "trajectory")
phase_rows <- lapply(c("before_treatment", "on_treatment"), function(ph) {
  v <- serial$percent[serial$phase == ph]
  data.frame(phase = ph, n_patients = length(unique(serial$patient_key[serial$phase == ph])),
             n_ecgs = length(v), mean_p_lvd_percent = mean(v), sd_p_lvd_percent = sd(v),
             median_p_lvd_percent = median(v))
})
write_out(do.call(rbind, phase_rows), "trajectory_phases")

# ------------------------------------------------------------------ mortality

surv_data <- cohort[!is.na(cohort$followup_years) & cohort$followup_years > 0, ]
surv_data$model_predicts_lvd <- as.numeric(surv_data$model_predicts_lvd)
surv_data$died <- as.numeric(surv_data$died)
cox_models <- list(unadjusted = "model_predicts_lvd",
                   adjusted_age = c("model_predicts_lvd", "age_at_diagnosis"),
                   adjusted_ascvd = c("model_predicts_lvd", "ascvd_10y_risk_percent"))
cox_rows <- list()
for (model in names(cox_models)) {
  terms <- cox_models[[model]]
  d <- surv_data[, c("followup_years", "died", terms)]
  d <- d[complete.cases(d), ]
  fit <- coxph(reformulate(terms, "Surv(followup_years, died)"), data = d, ties = "efron",
               x = TRUE, y = TRUE, model = TRUE)
  s <- summary(fit, conf.int = confidence)
  zph <- cox.zph(fit, transform = "km")$table
  cox_rows[[model]] <- data.frame(model = model, term = terms,
                                  hazard_ratio = s$conf.int[terms, 1],
                                  ci_low = s$conf.int[terms, 3], ci_high = s$conf.int[terms, 4],
                                  p_value = s$coefficients[terms, "Pr(>|z|)"],
                                  n_patients = fit$n, n_events = fit$nevent,
                                  ph_chi2 = zph[terms, "chisq"], ph_p_value = zph[terms, "p"],
                                  ph_global_p_value = zph["GLOBAL", "p"])
}
write_out(do.call(rbind, cox_rows), "cox")

km_data <- surv_data[!is.na(surv_data$model_predicts_lvd) & !is.na(surv_data$died), ]
km_data$model_group <- ifelse(km_data$model_predicts_lvd == 1, "predicts_lvd",
                              "predicts_no_lvd")
km <- survfit(Surv(followup_years, died) ~ model_group, data = km_data,
              conf.type = "log-log", conf.int = confidence)
sk <- summary(km, censored = TRUE)
write_out(data.frame(model_group = sub("^model_group=", "", as.character(sk$strata)),
                     time_years = sk$time, n_at_risk = sk$n.risk, n_events = sk$n.event,
                     n_censored = sk$n.censor, survival = sk$surv, ci_low = sk$lower,
                     ci_high = sk$upper), "km")
lr <- survdiff(Surv(followup_years, died) ~ model_group, data = km_data)
lr_df <- length(lr$n) - 1
write_out(data.frame(n_patients = nrow(km_data), n_events = sum(km_data$died),
                     chi2 = lr$chisq, df = lr_df,
                     p_value = pchisq(lr$chisq, lr_df, lower.tail = FALSE)), "logrank")
