# Rubin's rules by mice::pool.scalar (rule "rubin1987"), one pooled row per case.
# Input: <dir>/fits.csv (case, estimate, variance, n, k; n may be Inf). Output: out_pooled.csv.
suppressPackageStartupMessages(library(mice))
args <- commandArgs(trailingOnly = TRUE)
fits <- read.csv(file.path(args[1], "fits.csv"), colClasses = c(case = "character"))
rows <- lapply(split(fits, fits$case), function(d) {
  p <- pool.scalar(d$estimate, d$variance, n = d$n[1], k = d$k[1])
  data.frame(case = d$case[1], qbar = p$qbar, ubar = p$ubar, b = p$b, t = p$t, df = p$df,
             r = p$r, fmi = p$fmi)
})
write.csv(do.call(rbind, rows), file.path(args[1], "out_pooled.csv"), row.names = FALSE)
