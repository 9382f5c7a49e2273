"""Frequentist log-CK mixed models (`imnm.stats.mixed.linear_mixed_model`): fit time by cohort
size, against a plain statsmodels `MixedLM` REML fit on the same rows.

Rows shaped like the outcome-predictor analyses: N patients x 2 follow-up visits (months 3
and 6), log CK ~ month 6 + log baseline CK + a binary predictor + age, with a patient random
intercept (SD 0.6) and residual SD 0.8. The platform's fit is REML by L-BFGS polished by BFGS
to a gradient of 1e-10 (lme4's optimum to about 1e-8) with lme4's fixed-effect covariance; the
plain fit is `MixedLM(...).fit(reml=True)` with statsmodels' defaults. Each is timed best of
`--rounds` after one warm-up fit, with peak traced memory of one fit and the largest
difference between the two fits' fixed effects.

    .venv/bin/python -m benchmarks.stats_mixed_ck [--patients 34,240,2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

from benchmarks._common import machine_facts, markdown_table
from imnm.stats.mixed import linear_mixed_model

PREDICTORS = ["month_6", "log_baseline_ck", "antibody", "age10"]


def ck_follow_up(n_patients: int, seed: int) -> pd.DataFrame:
    """Log CK at months 3 and 6 per patient (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    group = np.repeat(np.arange(n_patients), 2)
    frame = pd.DataFrame({
        "group": group, "month_6": np.tile([0.0, 1.0], n_patients),
        "log_baseline_ck": rng.normal(np.log(3000), 0.9, n_patients)[group],
        "antibody": rng.integers(0, 2, n_patients)[group].astype(float),
        "age10": rng.normal(5.5, 1.5, n_patients)[group]})
    frame["log_ck"] = (1.5 + 0.6 * frame["log_baseline_ck"] - 0.7 * frame["month_6"]
                       + 0.4 * frame["antibody"] + 0.05 * frame["age10"]
                       + rng.normal(0, 0.6, n_patients)[group]
                       + rng.normal(0, 0.8, len(frame)))
    return frame


def platform_fit(frame: pd.DataFrame) -> np.ndarray:
    """The platform's fit; its fixed effects."""
    fit = linear_mixed_model(frame, "log_ck", PREDICTORS, "group")
    return fit.terms["estimate"].to_numpy()


def plain_fit(frame: pd.DataFrame) -> np.ndarray:
    """statsmodels' MixedLM REML fit with its defaults; its fixed effects."""
    exog = sm.add_constant(frame[PREDICTORS], has_constant="add")
    fit = sm.MixedLM(frame["log_ck"].to_numpy(), exog, groups=frame["group"].to_numpy()
                     ).fit(reml=True)
    return np.asarray(fit.fe_params)


def timed(fit: Callable[[pd.DataFrame], np.ndarray], frame: pd.DataFrame, rounds: int
          ) -> dict[str, Any]:
    """Best-of-`rounds` seconds, the peak traced memory of one fit, and its estimates."""
    fit(frame)  # warm-up
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        estimates = fit(frame)
        seconds.append(time.perf_counter() - started)
    tracemalloc.start()
    fit(frame)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": min(seconds), "peak_mib": peak / 2**20, "estimates": estimates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", default="34,240,2000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args()
    facts = machine_facts(["numpy", "scipy", "statsmodels", "pandas"])
    results = []
    for n in (int(v) for v in args.patients.split(",")):
        frame = ck_follow_up(n, args.seed + n)
        ours, plain = timed(platform_fit, frame, args.rounds), timed(plain_fit, frame,
                                                                      args.rounds)
        results.append({
            "patients": n, "rows": len(frame),
            "platform_s": round(ours["seconds"], 4), "plain_s": round(plain["seconds"], 4),
            "platform_over_plain": round(ours["seconds"] / plain["seconds"], 2),
            "platform_peak_mib": round(ours["peak_mib"], 2),
            "plain_peak_mib": round(plain["peak_mib"], 2),
            "max_fixed_effect_diff": float(np.max(np.abs(ours["estimates"]
                                                         - plain["estimates"])))})
        print(json.dumps(results[-1]), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "stats_mixed_ck.json").write_text(
        json.dumps({"machine": facts, "cases": results}, indent=2), encoding="utf-8")
    table = markdown_table(
        ["patients", "rows", "platform s", "plain MixedLM s", "platform / plain",
         "peak MiB (platform / plain)", "max abs fixed-effect difference"],
        [[r["patients"], r["rows"], r["platform_s"], r["plain_s"], r["platform_over_plain"],
          f"{r['platform_peak_mib']} / {r['plain_peak_mib']}",
          f"{r['max_fixed_effect_diff']:.1e}"] for r in results])
    (out / "stats_mixed_ck.md").write_text(
        f"# Frequentist log-CK mixed models\n\n{table}\n", encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
