"""Timing of `cumulative_logit_mixed` (the random-intercept proportional-odds model of the
hip-flexor grade) against R's ``ordinal::clmm`` on the same rows.

Data shaped like an IMNM outcome cohort: N patients x 3 visits (baseline, months 3 and 6), a
hip-flexor grade 0..3 drawn from a cumulative-logit model with a normal patient intercept (SD
1.5); predictors the two visit dummies, a binary treatment and treatment x visit. Each Python
fit is timed in this process, best of `--rounds` (after one warm-up fit); each R fit is
``system.time`` of ``clmm(..., nAGQ = k)`` inside one Rscript run (start-up and CSV reading not
counted). The table also gives the largest difference between the two fits' estimates
(thresholds, betas, log SD) and R's convergence code and max |gradient|.

    .venv/bin/python -m benchmarks.stats_ordinal_mixed [--patients 34,240,1000,2000]
        [--r-patients 34,240,1000] [--nagq 10,1] [--rounds 3] [--no-r]
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._common import machine_facts, markdown_table
from imnm.stats.ordinal import cumulative_logit_mixed
from tests.support.ordinal_data import PREDICTORS, grade_visits

R_TIMING = r"""
suppressPackageStartupMessages(library(ordinal))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
nagqs <- as.integer(strsplit(args[2], ",")[[1]])
rows <- list()
for (path in Sys.glob(file.path(dir, "data_*.csv"))) {
  n <- as.integer(sub("^data_(.*)\\.csv$", "\\1", basename(path)))
  d <- read.csv(path)
  d$y <- factor(d$y, levels = sort(unique(d$y)), ordered = TRUE)
  d$group <- factor(d$group)
  for (nagq in nagqs) {
    s <- system.time(fit <- clmm(y ~ month3 + month6 + treated + treated_month3 +
                                   treated_month6 + (1 | group), data = d, nAGQ = nagq))
    est <- c(fit$alpha, fit$beta, log(fit$ST[[1]][1, 1]))
    rows[[length(rows) + 1]] <- data.frame(
      patients = n, nagq = nagq, seconds = s[["elapsed"]], index = seq_along(est),
      estimate = unname(est), convergence = fit$optRes$convergence,
      max_grad = max(abs(fit$gradient)))
  }
}
write.csv(do.call(rbind, rows), file.path(dir, "out_timing.csv"), row.names = FALSE)
"""


def python_fits(frames: dict[int, pd.DataFrame], nagqs: list[int], rounds: int
                ) -> dict[tuple[int, int], dict[str, Any]]:
    cumulative_logit_mixed(grade_visits(20, 1), "y", PREDICTORS, "group")  # warm-up
    out = {}
    for n, frame in frames.items():
        for nagq in nagqs:
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                fit = cumulative_logit_mixed(frame, "y", PREDICTORS, "group",
                                             n_quadrature=nagq)
                times.append(time.perf_counter() - started)
            estimates = np.r_[fit.terms["estimate"].to_numpy()[:-1], fit.log_sd]
            out[(n, nagq)] = {"seconds": min(times), "converged": fit.converged,
                              "evaluations": fit.function_evaluations,
                              "estimates": estimates, "loglik": fit.loglik}
    return out


def r_fits(frames: dict[int, pd.DataFrame], nagqs: list[int]) -> pd.DataFrame | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        print("Rscript not found: R's clmm not timed")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "timing.R").write_text(R_TIMING)
        for n, frame in frames.items():
            frame.to_csv(work / f"data_{n}.csv", index=False)
        subprocess.run([rscript, "--vanilla", str(work / "timing.R"), str(work),
                        ",".join(map(str, nagqs))], check=True, timeout=3600)
        return pd.read_csv(work / "out_timing.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", default="34,240,1000,2000")
    parser.add_argument("--r-patients", default="34,240,1000")
    parser.add_argument("--nagq", default="10,1")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()
    patients = [int(v) for v in args.patients.split(",")]
    r_patients = [] if args.no_r else [int(v) for v in args.r_patients.split(",") if v]
    nagqs = [int(v) for v in args.nagq.split(",")]
    frames = {n: grade_visits(n, args.seed + n) for n in sorted(set(patients) | set(r_patients))}

    facts = machine_facts(["numpy", "scipy", "pandas"])
    versions = facts["packages"]
    print(f"{facts['cpus_usable']} CPUs ({facts['cpu_model']}), load average "
          f"{facts['load_average_at_start']}, Python {facts['python']}, numpy "
          f"{versions['numpy']}, scipy {versions['scipy']}")
    ours = python_fits({n: frames[n] for n in patients}, nagqs, args.rounds)
    theirs = r_fits({n: frames[n] for n in r_patients}, nagqs) if r_patients else None

    rows = []
    for n in sorted(frames):
        for nagq in nagqs:
            mine = ours.get((n, nagq))
            r_row = None if theirs is None else theirs[(theirs["patients"] == n)
                                                       & (theirs["nagq"] == nagq)]
            r_seconds = r_diff = r_code = r_grad = None
            if r_row is not None and len(r_row):
                r_seconds = round(float(r_row["seconds"].iloc[0]), 2)
                r_code = int(r_row["convergence"].iloc[0])
                r_grad = f"{float(r_row['max_grad'].iloc[0]):.1e}"
                if mine is not None:
                    r_diff = f"{np.max(np.abs(mine['estimates'] - r_row['estimate'])):.1e}"
            ratio = (round(r_seconds / mine["seconds"], 1)
                     if mine is not None and r_seconds else None)
            rows.append([n, 3 * n, nagq,
                         None if mine is None else round(mine["seconds"], 3),
                         None if mine is None else mine["converged"],
                         None if mine is None else mine["evaluations"],
                         r_seconds, ratio, r_code, r_grad, r_diff])
    print(markdown_table(
        ["patients", "rows", "nAGQ", "python s", "converged", "evaluations", "R clmm s",
         "R / python", "R code", "R max|grad|", "max |est diff|"], rows))
    if any(not math.isfinite(v["loglik"]) for v in ours.values()):
        print("a Python fit has a non-finite log-likelihood")


if __name__ == "__main__":
    main()
