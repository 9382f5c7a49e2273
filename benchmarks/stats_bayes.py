"""Bayesian cumulative-logit fits (`imnm.stats.bayes`): fit time by model and cohort size.

Two model forms of the outcome-predictor analyses, on generated rows, each case in a freshly
spawned interpreter:

* grade: a 4-level hip-flexor grade 0..3 at 4 visits, treatment x visit (7 columns), patient
  random intercept; at 34, 240 and 2,000 patients;
* CK: every distinct serum CK value its own category (about 400 at 240 patients x 2 follow-up
  visits), visit, log baseline CK and two predictors, patient random intercept.

The second fit of a case is the next variable of a refresh: other rows of the same shapes (the
grade model) or another predictor in the same slot (CK).

Per case: the first fit (JAX tracing and XLA compilation included), a second fit of the same
shapes and another seed (the compiled sampler reused), the diagnostics of the second, the
summaries (coefficients, REV, mean CK), and wall and CPU seconds with the cores the rest of
the machine used meanwhile (the figures are noisy where that is not 0). Draws are sized by the
ESS target: a fit whose weakest bulk or tail ESS is below 400 is run again with the draws
`sampling_for_ess_target` gives, and that refit is what the table shows.

    .venv/bin/python -m benchmarks.stats_bayes [--cases grade-34,ck-240,...]  (default: all)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._common import (
    cpu_snapshot,
    cpu_usage_since,
    machine_facts,
    markdown_table,
    run_in_fresh_process,
)

CASES = ("grade-34", "grade-240", "grade-2000", "ck-34", "ck-240", "ck-2000")
GRADE_COLUMNS = ["treat", "visit1", "visit2", "visit3", "treat_visit1", "treat_visit2",
                 "treat_visit3"]
CK_COLUMNS = ["visit2", "log_baseline_ck", "antibody", "age10"]


def grade_rows(n_patients: int, seed: int) -> pd.DataFrame:
    """Grade 0..3 at visits 0..3, treatment x visit, patient random intercept (SD 1)."""
    rng = np.random.default_rng(seed)
    group = np.repeat(np.arange(n_patients), 4)
    visit = np.tile(np.arange(4), n_patients)
    treat = rng.integers(0, 2, n_patients)[group].astype(float)
    frame = pd.DataFrame({"group": group, "treat": treat})
    for v in (1, 2, 3):
        frame[f"visit{v}"] = (visit == v).astype(float)
        frame[f"treat_visit{v}"] = treat * (visit == v)
    beta = np.array([0.3, 0.5, 1.0, 1.4, 0.2, 0.5, 0.8])
    eta = frame[GRADE_COLUMNS].to_numpy() @ beta + rng.normal(0, 1.0, n_patients)[group]
    frame["y"] = _ordinal_draw(rng, np.array([-0.5, 1.0, 2.5]), eta)
    return frame


def ck_rows(n_patients: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Serum CK (U/L) at 2 follow-up visits coded by its distinct values; the value per code."""
    rng = np.random.default_rng(seed)
    group = np.repeat(np.arange(n_patients), 2)
    log_baseline = rng.normal(np.log(3000), 0.9, n_patients)[group]
    frame = pd.DataFrame({"group": group, "visit2": np.tile([0.0, 1.0], n_patients),
                          "log_baseline_ck": log_baseline,
                          "antibody": rng.integers(0, 2, n_patients)[group].astype(float),
                          "age10": rng.normal(5.5, 1.5, n_patients)[group]})
    log_ck = (1.5 + 0.6 * log_baseline - 0.7 * frame["visit2"] + 0.4 * frame["antibody"]
              + 0.05 * frame["age10"] + rng.normal(0, 0.6, n_patients)[group]
              + rng.normal(0, 0.8, len(frame)))
    values, codes = np.unique(np.round(np.exp(log_ck)), return_inverse=True)
    frame["y"] = codes
    return frame, values


def _ordinal_draw(rng: np.random.Generator, theta: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """Y with logit P(Y <= k) = theta_k - eta."""
    cumulative = 1.0 / (1.0 + np.exp(-(theta[None, :] - eta[:, None])))
    return (rng.random(len(eta))[:, None] > cumulative).sum(axis=1)


def _timed_fit(rows: pd.DataFrame, columns: list[str], sampling: Any) -> tuple[Any, float, float]:
    """One fit with its wall and own CPU seconds."""
    from imnm.stats.bayes import fit_cumulative_logit_bayes

    wall, cpu = time.perf_counter(), time.process_time()
    fit = fit_cumulative_logit_bayes(rows, "y", columns, "group", sampling=sampling)
    return fit, time.perf_counter() - wall, time.process_time() - cpu


def case_phase(case: str) -> dict[str, Any]:
    """One case: first fit (compiles), second fit (reuses), ESS-sized refit if needed."""
    from imnm.stats.bayes import SamplingSettings, sampling_for_ess_target

    form, size = case.split("-")
    n_patients = int(size)
    if form == "grade":
        columns = GRADE_COLUMNS
        first_rows, second_rows = grade_rows(n_patients, 1), grade_rows(n_patients, 2)
        categories = 4
    else:
        columns = CK_COLUMNS
        first_rows, values = ck_rows(n_patients, 1)
        # Another predictor in the same slot: the next variable of a refresh, same shapes.
        second_rows = first_rows.assign(
            antibody=np.random.default_rng(2).integers(0, 2, n_patients)[first_rows["group"]]
            .astype(float))
        categories = len(values)
    sampling = SamplingSettings(chains=4, warmup=500, draws=500, seed=1)
    start = cpu_snapshot()
    _, first_wall, first_cpu = _timed_fit(first_rows, columns, sampling)
    fit, second_wall, second_cpu = _timed_fit(second_rows, columns,
                                              SamplingSettings(chains=4, warmup=500,
                                                               draws=500, seed=2))
    verdict = fit.diagnostics()
    sized = None
    if not verdict.passed:
        sized_settings = sampling_for_ess_target(fit)
        fit, sized_wall, sized_cpu = _timed_fit(second_rows, columns, sized_settings)
        verdict = fit.diagnostics()
        sized = {"draws": sized_settings.draws, "wall_s": round(sized_wall, 1),
                 "cpu_s": round(sized_cpu, 1)}
    usage = cpu_usage_since(start)
    summary_started = time.perf_counter()
    fit.summary()
    fit.relative_explained_variation({name: [name] for name in columns})
    if form == "ck":
        fit.mean_outcome(second_rows.iloc[:2], values)
    summaries_s = time.perf_counter() - summary_started
    table = verdict.table
    return {"case": case, "patients": n_patients, "rows": len(second_rows),
            "categories": categories, "columns": len(columns), "chains": fit.sampling.chains,
            "warmup": fit.sampling.warmup, "draws": fit.sampling.draws,
            "first_wall_s": round(first_wall, 1), "first_cpu_s": round(first_cpu, 1),
            "second_wall_s": round(second_wall, 1), "second_cpu_s": round(second_cpu, 1),
            "sized_refit": sized, "passed": verdict.passed, "reasons": list(verdict.reasons),
            "min_ess_bulk": round(float(table["ess_bulk"].min())),
            "min_ess_tail": round(float(table["ess_tail"].min())),
            "max_rhat": round(float(table["rhat"].max()), 4),
            "divergences": verdict.divergences, "summaries_s": round(summaries_s, 2), **usage}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args()
    rows = []
    for case in args.cases.split(","):
        rows.append(run_in_fresh_process(case_phase, case))
        print(json.dumps(rows[-1]), flush=True)
    facts = machine_facts(["jax", "jaxlib", "numpyro", "arviz", "numpy"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "stats_bayes.json").write_text(json.dumps({"machine": facts, "cases": rows},
                                                     indent=2), encoding="utf-8")
    table = markdown_table(
        ["case", "rows", "categories", "chains x draws", "first fit s (cpu)",
         "reused fit s (cpu)", "ESS-sized refit s", "min bulk/tail ESS", "max R-hat",
         "divergences", "others' cores"],
        [[r["case"], r["rows"], r["categories"], f"{r['chains']} x {r['draws']}",
          f"{r['first_wall_s']} ({r['first_cpu_s']})",
          f"{r['second_wall_s']} ({r['second_cpu_s']})",
          r["sized_refit"]["wall_s"] if r["sized_refit"] else "—",
          f"{r['min_ess_bulk']}/{r['min_ess_tail']}", r["max_rhat"], r["divergences"],
          r.get("others_cores")] for r in rows])
    (out / "stats_bayes.md").write_text(f"# Bayesian cumulative-logit fits\n\n{table}\n",
                                        encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
