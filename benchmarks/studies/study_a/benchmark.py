"""Study A benchmark: the platform's whole study A against R's reference script on the same rows.

Reads a refreshed data directory (default `./data`, as `make run` leaves it). The platform phase
times what the refresh's analyse and report stages do: the candidate and serial-ECG queries,
every analysis (`run_study_a`) and the HTML report with its four figures. The R phase runs
`tests/studies/study_a/r/study_a_reference.R` (pROC, stats, survival) on the analysis rows,
the way an analyst would compute the same statistics in R, start-up included. Both phases
also run on the cohort replicated `--scale` times (new patient keys), to show how the cost
grows with patients.
Each phase runs in a freshly spawned interpreter; peak memory is its VmHWM rise after imports.

    .venv/bin/python -m benchmarks.studies.study_a.benchmark [--data-dir data] [--scale 10]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import (
    current_rss_mib,
    machine_facts,
    markdown_table,
    peak_rss_mib,
    reset_peak_rss,
    run_in_fresh_process,
)

REPO = Path(__file__).resolve().parents[3]
R_SCRIPT = REPO / "tests" / "studies" / "study_a" / "r" / "study_a_reference.R"


def _replicate(frame: Any, scale: int) -> Any:
    """The rows `scale` times over, each copy with its own patient keys (and ECG ids)."""
    import pandas as pd

    copies = []
    for k in range(scale):
        copy = frame.copy()
        copy["patient_key"] = copy["patient_key"] + f"-{k}"
        if "ecg_id" in copy:
            copy["ecg_id"] = copy["ecg_id"].astype(str) + f"-{k}"
        copies.append(copy)
    return pd.concat(copies, ignore_index=True)


def platform_phase(data_dir: str, scale: int) -> dict[str, Any]:
    """Inputs from the warehouse, study A in full, and the report, timed separately."""
    import duckdb

    from imnm.settings import DataPaths
    from imnm.studies.registry import get_study
    from imnm.studies.reports import write_study_report
    from imnm.studies.study_a.analyses import run_study_a
    from imnm.studies.study_a.inputs import read_inputs

    study = get_study("study_a")
    paths = DataPaths(Path(data_dir))
    params = study.parameters()
    baseline = current_rss_mib()
    reset_peak_rss()
    started = time.perf_counter()
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        model_version = con.execute("SELECT model_version FROM analysis.study_builds "
                                    "WHERE study = 'study_a'").fetchone()[0]
        inputs = read_inputs(con, model_version, params)
        candidates, serial = inputs.candidates, inputs.serial
    queried = time.perf_counter()
    candidates, serial = _replicate(candidates, scale), _replicate(serial, scale)
    replicated = time.perf_counter()
    results = run_study_a(candidates, serial, params, model_version)
    analysed = time.perf_counter()
    report_seconds = None
    if scale == 1:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "data"
            copy.mkdir()
            shutil.copy(paths.results, copy / paths.results.name)
            if paths.models.exists():
                shutil.copytree(paths.models, copy / "models")
            before = time.perf_counter()
            write_study_report(DataPaths(copy), study)
            report_seconds = round(time.perf_counter() - before, 2)
    return {"phase": "platform", "scale": scale, "patients": len(results.cohort),
            "serial_ecgs": len(results.serial_ecgs), "tables": len(results.tables),
            "notes": list(results.notes),
            "query_seconds": round(queried - started, 2),
            "analysis_seconds": round(analysed - replicated, 2),
            "report_seconds": report_seconds,
            "peak_increase_mib": round(peak_rss_mib() - baseline, 1)}


def r_phase(data_dir: str, scale: int) -> dict[str, Any]:
    """The R reference script on the same analysis rows, R's start-up included."""
    import duckdb

    from imnm.settings import DataPaths
    from imnm.studies.registry import get_study

    paths = DataPaths(Path(data_dir))
    params = get_study("study_a").parameters()
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        cohort = _replicate(con.execute("SELECT * FROM analysis.study_a_cohort").df(), scale)
        serial = _replicate(con.execute("SELECT * FROM analysis.study_a_serial_ecgs").df(),
                            scale)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cohort.to_csv(work / "cohort.csv", index=False, na_rep="")
        serial.to_csv(work / "serial.csv", index=False, na_rep="")
        with (work / "params.csv").open("w", encoding="utf-8") as handle:
            handle.write("cutoff,confidence,normality_alpha\n"
                         f"{params.cutoff},{params.confidence},{params.normality_alpha}\n")
        started = time.perf_counter()
        completed = subprocess.run(["/usr/bin/time", "-f", "%M", "Rscript", "--vanilla",
                                    str(R_SCRIPT), str(work)], capture_output=True, text=True,
                                   check=False)
        seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(completed.stderr[-2000:])
    peak_kib = int(completed.stderr.strip().splitlines()[-1])
    return {"phase": "R reference", "scale": scale, "patients": len(cohort),
            "serial_ecgs": len(serial), "analysis_seconds": round(seconds, 2),
            "peak_mib": round(peak_kib / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(REPO / "data"))
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args()
    rows = []
    for scale in (1, args.scale):
        rows.append(run_in_fresh_process(platform_phase, args.data_dir, scale))
        if shutil.which("Rscript"):
            rows.append(run_in_fresh_process(r_phase, args.data_dir, scale))
    facts = machine_facts(["duckdb", "pandas", "statsmodels", "lifelines", "scipy",
                           "matplotlib"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "study_a.json").write_text(json.dumps({"machine": facts, "phases": rows}, indent=2),
                                      encoding="utf-8")
    table = markdown_table(
        ["phase", "patients", "serial ECGs", "queries s", "analyses s", "report s",
         "peak memory rise MiB"],
        [[r["phase"], r["patients"], r["serial_ecgs"], r.get("query_seconds", "—"),
          r["analysis_seconds"], r.get("report_seconds") or "—",
          r.get("peak_increase_mib", r.get("peak_mib"))] for r in rows])
    (out / "study_a.md").write_text(f"# Study A\n\n{table}\n", encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
