# Reference survival analyses with R's survival package, for tests/test_stats_r_survival.py.
#
# Usage: Rscript --vanilla survival_reference.R DIR
# DIR/data.csv:   one row per subject; columns time, event (0/1), group and numeric covariates
# DIR/models.csv: columns model, terms ("x1+x2": the right-hand side of a Cox model)
# Writes DIR/out_cox.csv (coxph, Efron, default control: HR, 95% Wald CI, Wald p, n, events),
# DIR/out_zph.csv (cox.zph(fit, transform = "km")$table, term GLOBAL last),
# DIR/out_km.csv (survfit(Surv(time, event) ~ group, conf.type = "log-log"), every time) and
# DIR/out_logrank.csv (survdiff(Surv(time, event) ~ group)).
suppressPackageStartupMessages(library(survival))

dir <- commandArgs(trailingOnly = TRUE)[1]
d <- read.csv(file.path(dir, "data.csv"))
models <- read.csv(file.path(dir, "models.csv"), stringsAsFactors = FALSE)

cox_rows <- list()
zph_rows <- list()
for (i in seq_len(nrow(models))) {
  f <- as.formula(paste("Surv(time, event) ~", models$terms[i]))
  fit <- coxph(f, data = d, ties = "efron", x = TRUE, y = TRUE, model = TRUE)
  s <- summary(fit)
  cox_rows[[i]] <- data.frame(model = models$model[i], term = rownames(s$conf.int),
                              hr = s$conf.int[, 1], lower = s$conf.int[, 3],
                              upper = s$conf.int[, 4], p = s$coefficients[, "Pr(>|z|)"],
                              n = fit$n, events = fit$nevent)
  z <- cox.zph(fit, transform = "km")$table
  zph_rows[[i]] <- data.frame(model = models$model[i], term = rownames(z), chisq = z[, "chisq"],
                              df = z[, "df"], p = z[, "p"])
}
write.csv(do.call(rbind, cox_rows), file.path(dir, "out_cox.csv"), row.names = FALSE)
write.csv(do.call(rbind, zph_rows), file.path(dir, "out_zph.csv"), row.names = FALSE)

km <- survfit(Surv(time, event) ~ group, data = d, conf.type = "log-log")
sk <- summary(km, censored = TRUE)
write.csv(data.frame(group = sub("^group=", "", as.character(sk$strata)), time = sk$time,
                     n_risk = sk$n.risk, n_event = sk$n.event, n_censor = sk$n.censor,
                     surv = sk$surv, lower = sk$lower, upper = sk$upper),
          file.path(dir, "out_km.csv"), row.names = FALSE, na = "")

lr <- survdiff(Surv(time, event) ~ group, data = d)
df <- length(lr$n) - 1
write.csv(data.frame(chisq = lr$chisq, df = df,
                     p = pchisq(lr$chisq, df, lower.tail = FALSE)),
          file.path(dir, "out_logrank.csv"), row.names = FALSE)
