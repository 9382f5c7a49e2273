"""Ingest N generated ECGs per format: the platform's path against the plain loop a user writes.

For each format, N files are generated into a landing folder (not timed). Then, side by side in
one run and each in a freshly spawned interpreter (so peak memory is the phase's own):

* platform: the bodies of the refresh flow's `discover new files` and `parse and stage` tasks
  (`.fn`), on a fresh warehouse: sha256 + registry row + audit event per file; vendor reader ->
  contract normalization -> Parquet waveform shards -> one `staging.ecgs` row per ECG.
* plain: `benchmarks.plain_ecg_readers` per file, one dict per ECG (12 float64 lead arrays)
  appended to a list, one `pandas.DataFrame`, inserted into DuckDB in one statement.

Both phases run again at smaller Ns (N/4, N/16) to show how peak memory scales with N.

    python -m benchmarks.ingest_ecgs --n 10000 --formats all --out benchmarks/results
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib
import io
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import (
    available_memory_mib,
    current_rss_mib,
    machine_facts,
    markdown_table,
    peak_rss_mib,
    reset_peak_rss,
    run_in_fresh_process,
)

DEFAULT_N = 2_500  # all formats in about a quarter of an hour on 2 cores (docs/performance.md)
DEFAULT_OUT = Path("benchmarks/results")
POOL_SIZE = 500  # distinct synthetic signals, reused across formats
ROLL_STEP = 7  # each pass over the pool shifts the signal by this many samples: new content
SAMPLING_HZ = 500.0
FIRST_ACQUIRED = datetime(2020, 1, 1, 8, 0, 0)
SITE = "bench"
GENERATE_CHUNK = 200
PROFILE_N = 2_000
# Measured on 2 cores / 23.5 GiB: the plain phase peaks at 1.4-1.8 GiB for 625 ECGs and about
# 5.5 GiB for 2,500 (the float64 frame, then DuckDB's conversion of its array cells). The
# estimate below errs high; the phase is not started where it would not fit.
PLAIN_MIB_PER_ECG = 2.5
PLAIN_BASE_MIB = 1024
PLAIN_MEMORY_HEADROOM = 0.8

PLAIN_TABLE = "ecg_frame"
PLAIN_INSERT = f"CREATE TABLE ecgs AS SELECT * FROM {PLAIN_TABLE}"
PLAIN_ROW_COUNT = "SELECT count(*) FROM ecgs"
PLAIN_ROW_BY_FILE = "SELECT * FROM ecgs WHERE file = ?"
STAGED_ECG_COUNT = "SELECT count(*) FROM staging.ecgs"
STAGED_ECG_BY_PATH = """
SELECT e.waveform_shard, e.waveform_row
FROM staging.ecgs AS e JOIN registry.source_files AS f USING (file_id)
WHERE f.relative_path = ?
"""
SITE_TOML = """site = "{site}"
date_format = "%Y-%m-%d"

[kinds.ecgs]
pattern = "{pattern}"
format = "{fmt}"
"""
PACKAGES = ("duckdb", "pyarrow", "pandas", "numpy", "wfdb", "pydicom", "prefect", "scipy")


@dataclass(frozen=True)
class FormatSpec:
    """How a format's files are named and which module writes and reads them."""

    name: str
    suffix: str  # of the file a record is found by (WFDB: the header)
    module: str
    writer: str


FORMATS: dict[str, FormatSpec] = {
    spec.name: spec
    for spec in (
        FormatSpec("wfdb", ".hea", "imnm.ecg.formats.wfdb_format", "write_wfdb"),
        FormatSpec("hl7-aecg", ".xml", "imnm.ecg.formats.hl7_aecg", "write_hl7_aecg"),
        FormatSpec("ge-muse", ".xml", "imnm.ecg.formats.ge_muse", "write_ge_muse"),
        FormatSpec("philips-sierra", ".xml", "imnm.ecg.formats.philips_sierra",
                   "write_philips_sierra"),
        FormatSpec("dicom", ".dcm", "imnm.ecg.formats.dicom_waveform", "write_dicom_waveform"),
        FormatSpec("scp-ecg", ".scp", "imnm.ecg.formats.scp_ecg", "write_scp_ecg"),
    )
}


# ---------------------------------------------------------------- generating the files


@functools.cache
def _signal_pool(seed: int, size: int) -> np.ndarray:
    """`size` distinct synthetic contract ECGs, (size, 12, 5000) int16 uV (same for a seed)."""
    from imnm.ecg.synth import synthesize_ecgs

    rng = np.random.default_rng(seed)
    return synthesize_ecgs(rng.uniform(0.0, 1.0, size), rng)


def bench_signal(pool: np.ndarray, index: int) -> np.ndarray:
    """ECG number `index`: a pool signal, circularly shifted once per pass over the pool."""
    return np.roll(pool[index % len(pool)], (index // len(pool)) * ROLL_STEP, axis=1)


def record_stem(index: int) -> str:
    """File name stem of ECG number `index`; zero-padded so that name order is index order."""
    return f"ecg_{index:06d}"


def _write_chunk(fmt: str, directory: str, start: int, stop: int, seed: int, pool_size: int
                 ) -> int:
    """Write ECGs `start`..`stop - 1` of `fmt` into `directory` (runs in a generator worker)."""
    spec = FORMATS[fmt]
    write = getattr(importlib.import_module(spec.module), spec.writer)
    pool = _signal_pool(seed, pool_size)
    folder = Path(directory)
    for index in range(start, stop):
        signal = bench_signal(pool, index)
        patient_id = f"BENCH{index:06d}"
        acquired_at = FIRST_ACQUIRED + timedelta(minutes=index)
        if fmt == "wfdb":
            write(folder, record_stem(index), signal, SAMPLING_HZ, patient_id, acquired_at)
        else:
            write(folder / f"{record_stem(index)}{spec.suffix}", signal, SAMPLING_HZ,
                  patient_id, acquired_at)
    return stop - start


def _write_chunk_args(args: tuple[str, str, int, int, int, int]) -> int:
    return _write_chunk(*args)


def generate_files(fmt: str, n: int, directory: Path, seed: int, pool_size: int) -> float:
    """Write N files of `fmt` into `directory` on every core; returns the seconds it took."""
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    chunks = [(fmt, str(directory), s, min(s + GENERATE_CHUNK, n), seed, pool_size)
              for s in range(0, n, GENERATE_CHUNK)]
    with get_context("spawn").Pool(processes=len(os.sched_getaffinity(0))) as pool:
        written = sum(pool.imap_unordered(_write_chunk_args, chunks))
    if written != n:
        raise RuntimeError(f"wrote {written} of {n} {fmt} files")
    return time.perf_counter() - started


def record_files(directory: Path, fmt: str, n: int) -> list[Path]:
    """The first N records' main files (WFDB: headers), in index order."""
    paths = sorted(directory.glob(f"*{FORMATS[fmt].suffix}"))[:n]
    if len(paths) != n:
        raise RuntimeError(f"{directory} holds {len(paths)} {fmt} records, need {n}")
    return paths


def prepare_data_dir(files: Path, fmt: str, n: int, root: Path) -> Path:
    """A fresh data directory whose landing zone holds (hard links to) the first N records."""
    if root.exists():
        shutil.rmtree(root)
    site_dir = root / "landing" / SITE
    site_dir.mkdir(parents=True)
    for path in record_files(files, fmt, n):
        parts = [path, path.with_suffix(".dat")] if fmt == "wfdb" else [path]
        for part in parts:
            os.link(part, site_dir / part.name)
    return root


def write_site_config(directory: Path, fmt: str) -> Path:
    """A one-site configuration folder with only the ECG kind, for the platform's discover."""
    directory.mkdir(parents=True, exist_ok=True)
    pattern = f"*{FORMATS[fmt].suffix}"
    (directory / f"{SITE}.toml").write_text(
        SITE_TOML.format(site=SITE, pattern=pattern, fmt=fmt), encoding="utf-8")
    return directory


# ---------------------------------------------------------------- the two phases


def _finish(started: float, baseline_mib: float, n: int, **extra: Any) -> dict[str, Any]:
    """A phase's result: time, throughput, peak memory, and the machine's load at its end."""
    seconds = time.perf_counter() - started
    peak = peak_rss_mib()
    return {"n": n, "seconds": round(seconds, 3), "ecgs_per_s": round(n / seconds, 1),
            "rss_after_imports_mib": round(baseline_mib, 1), "peak_rss_mib": round(peak, 1),
            "peak_increase_mib": round(peak - baseline_mib, 1),
            "load_average_1min_at_end": round(os.getloadavg()[0], 2), **extra}


def platform_phase(data_root: str, sites_dir: str, fmt: str, n: int,
                   profile_to: str | None = None) -> dict[str, Any]:
    """The platform's ingestion, as the refresh flow runs it, on a fresh warehouse."""
    import pandas  # noqa: F401  (DuckDB imports it on first use; imports are not measured)
    import pyarrow.parquet  # noqa: F401
    from prefect.logging import disable_run_logger

    import imnm.ecg.normalize  # noqa: F401
    from imnm.refresh.runs import start_run
    from imnm.settings import DataPaths
    from tasks.discover import discover_new_files
    from tasks.stage import parse_and_stage
    from warehouse.db import open_warehouse

    importlib.import_module(FORMATS[fmt].module)
    paths = DataPaths(Path(data_root))
    profiler = cProfile.Profile() if profile_to else None
    reset_peak_rss()
    baseline = current_rss_mib()
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    ctx = start_run(paths, "refresh", {}, Path(sites_dir))
    opened = time.perf_counter()
    with disable_run_logger():
        files = discover_new_files.fn(ctx)
        discovered = time.perf_counter()
        outcomes = parse_and_stage.fn(ctx, files)
    staged_at = time.perf_counter()
    if profiler:
        profiler.disable()
    result = _finish(started, baseline, n,
                     start_run_s=round(opened - started, 3),
                     discover_s=round(discovered - opened, 3),
                     stage_s=round(staged_at - discovered, 3))
    with open_warehouse(paths.warehouse, read_only=True) as con:
        rows = con.execute(STAGED_ECG_COUNT).fetchone()[0]
    staged = sum(o.status == "staged" for o in outcomes)
    if staged != n or rows != n:
        reasons = {o.reason for o in outcomes if o.status != "staged"}
        raise RuntimeError(f"platform staged {staged}/{n} files, {rows} rows: {reasons}")
    result["shards"] = len(list(paths.waveforms.rglob("*.parquet")))
    result["shard_mib"] = round(sum(p.stat().st_size for p in paths.waveforms.rglob("*.parquet"))
                                / 2**20, 1)
    if profiler and profile_to:
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text).strip_dirs().sort_stats("cumulative")
        stats.print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
        Path(profile_to).write_text(text.getvalue(), encoding="utf-8")
    return result


def plain_phase(files_dir: str, fmt: str, n: int, db_path: str) -> dict[str, Any]:
    """The plain loop: parse each file, one row per ECG in a DataFrame, one DuckDB insert."""
    import duckdb
    import pandas as pd

    from benchmarks.plain_ecg_readers import PLAIN_READERS

    read = PLAIN_READERS[fmt]
    reset_peak_rss()
    baseline = current_rss_mib()
    started = time.perf_counter()
    rows = [read(path) for path in record_files(Path(files_dir), fmt, n)]
    parsed = time.perf_counter()
    frame = pd.DataFrame(rows)
    con = duckdb.connect(db_path)
    try:
        con.register(PLAIN_TABLE, frame)
        con.execute(PLAIN_INSERT)
        con.unregister(PLAIN_TABLE)
        inserted = con.execute(PLAIN_ROW_COUNT).fetchone()[0]
    finally:
        con.close()
    result = _finish(started, baseline, n, parse_s=round(parsed - started, 3),
                     frame_and_insert_s=round(time.perf_counter() - parsed, 3),
                     columns=len(frame.columns))
    if inserted != n:
        raise RuntimeError(f"plain loop inserted {inserted} of {n} rows")
    return result


def max_sample_difference(platform_root: Path, plain_db: Path, fmt: str, names: Sequence[str]
                          ) -> float:
    """Largest |platform - round(plain)| in uV over the given records' 12 x 5000 samples."""
    import duckdb

    from imnm.ecg.contract import LEADS, N_SAMPLES
    from imnm.ecg.formats import canonical_lead_name
    from imnm.waveform_store import read_shard_rows

    worst = 0.0
    platform = duckdb.connect(str(platform_root / "warehouse.duckdb"), read_only=True)
    plain = duckdb.connect(str(plain_db), read_only=True)
    try:
        for name in names:
            shard, row = platform.execute(STAGED_ECG_BY_PATH, [name]).fetchone()
            ours = read_shard_rows(platform_root / shard, [row])[0].astype(np.float64)
            cursor = plain.execute(PLAIN_ROW_BY_FILE, [name])
            columns = [d[0] for d in cursor.description]
            values = dict(zip(columns, cursor.fetchone(), strict=True))
            by_lead = {canonical_lead_name(c): v for c, v in values.items()
                       if canonical_lead_name(c) is not None}
            theirs = np.rint(np.array([by_lead[lead][:N_SAMPLES] for lead in LEADS]))
            worst = max(worst, float(np.abs(ours - theirs).max()))
    finally:
        platform.close()
        plain.close()
    return worst


# ---------------------------------------------------------------- one format, all formats


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _plain_or_skip(files: Path, fmt: str, n: int, db_path: Path) -> dict[str, Any]:
    """The plain phase, unless its frame would not fit in this machine's memory (then why)."""
    if db_path.exists():
        db_path.unlink()
    need = n * PLAIN_MIB_PER_ECG + PLAIN_BASE_MIB
    have = available_memory_mib()
    if need > PLAIN_MEMORY_HEADROOM * have:
        reason = (f"not run: needs about {need / 1024:.0f} GiB "
                  f"({PLAIN_MIB_PER_ECG} MiB per ECG), {have / 1024:.0f} GiB available")
        _log(f"{fmt}: plain N={n} {reason}")
        return {"n": n, "skipped": reason}
    return run_in_fresh_process(plain_phase, str(files), fmt, n, str(db_path))


def bench_format(fmt: str, sizes: Sequence[int], work: Path, seed: int, pool_size: int,
                 profile_dir: Path | None) -> dict[str, Any]:
    """Generate max(sizes) files, then measure platform and plain at every size, largest first."""
    n = max(sizes)
    files = work / "files"
    _log(f"{fmt}: generating {n} files")
    generated_s = generate_files(fmt, n, files, seed, pool_size)
    size_mib = sum(p.stat().st_size for p in files.iterdir()) / 2**20
    sites = write_site_config(work / "sites", fmt)
    result: dict[str, Any] = {"format": fmt, "n": n, "generate_s": round(generated_s, 1),
                              "landing_mib": round(size_mib, 1), "runs": []}
    checked = False
    for size in sorted(set(sizes), reverse=True):
        root = prepare_data_dir(files, fmt, size, work / f"platform-{size}")
        _log(f"{fmt}: platform N={size}")
        platform = run_in_fresh_process(platform_phase, str(root), str(sites), fmt, size)
        _log(f"{fmt}: plain N={size}")
        plain_db = work / f"plain-{size}.duckdb"
        plain = _plain_or_skip(files, fmt, size, plain_db)
        run: dict[str, Any] = {"n": size, "platform": platform, "plain": plain}
        if "skipped" not in plain and not checked:
            names = [p.name for p in record_files(files, fmt, size)]
            sample = [names[0], names[len(names) // 2], names[-1]]
            run["max_abs_diff_uv"] = max_sample_difference(root, plain_db, fmt, sample)
            checked = True
        result["runs"].append(run)
        shutil.rmtree(root, ignore_errors=True)
        plain_db.unlink(missing_ok=True)
    if profile_dir is not None:
        size = min(n, PROFILE_N)
        root = prepare_data_dir(files, fmt, size, work / "platform-profile")
        target = profile_dir / f"profile-platform-{fmt}-{size}.txt"
        _log(f"{fmt}: profiling platform N={size} -> {target}")
        run_in_fresh_process(platform_phase, str(root), str(sites), fmt, size, str(target))
    return result


def _ratio(platform: dict[str, Any], plain: dict[str, Any]) -> float | None:
    if "skipped" in plain:
        return None
    return round(platform["ecgs_per_s"] / plain["ecgs_per_s"], 2)


def results_table(results: Sequence[dict[str, Any]]) -> str:
    """One row per format and N: throughput, ratio and peak memory of both phases."""
    rows = []
    for r in results:
        for run in r["runs"]:
            ours, theirs = run["platform"], run["plain"]
            skipped = theirs.get("skipped")
            rows.append([
                r["format"], run["n"], ours["seconds"], ours["ecgs_per_s"],
                ours["peak_increase_mib"],
                skipped or theirs["seconds"], None if skipped else theirs["ecgs_per_s"],
                None if skipped else theirs["peak_increase_mib"], _ratio(ours, theirs),
            ])
    return markdown_table(
        ["format", "N", "platform s", "platform ECG/s", "platform peak +MiB", "plain s",
         "plain ECG/s", "plain peak +MiB", "ECG/s platform / plain"], rows)


def breakdown_table(results: Sequence[dict[str, Any]]) -> str:
    """Where each phase's seconds went, at the largest N where both phases ran."""
    rows = []
    for r in results:
        both = [run for run in r["runs"] if "skipped" not in run["plain"]]
        ours_only = r["runs"][0]["platform"]
        run = both[0] if both else None
        rows.append([
            r["format"], r["runs"][0]["n"], ours_only["start_run_s"], ours_only["discover_s"],
            ours_only["stage_s"], ours_only["shards"], ours_only["shard_mib"],
            run["n"] if run else None, run["plain"]["parse_s"] if run else None,
            run["plain"]["frame_and_insert_s"] if run else None,
            run.get("max_abs_diff_uv") if run else None,
        ])
    return markdown_table(
        ["format", "N", "platform: open run s", "discover s", "stage s", "shards",
         "shard MiB", "plain N", "plain: parse s", "frame + insert s",
         "max abs(platform - plain) uV"], rows)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options; every default gives the documented run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="ECGs per format")
    parser.add_argument("--also-n", type=int, nargs="*", default=None,
                        help="smaller Ns measured too, for peak memory against N "
                             "(default: N/4 and N/16; none: only N)")
    parser.add_argument("--formats", default="all",
                        help=f"'all' or a comma list of {', '.join(FORMATS)}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for JSON + tables")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where generated files and warehouses go (default: system temp)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--pool-size", type=int, default=POOL_SIZE,
                        help="distinct synthetic signals to cycle through")
    parser.add_argument("--profile", action="store_true",
                        help=f"also cProfile the platform path at min(N, {PROFILE_N}) per format")
    parser.add_argument("--keep", action="store_true", help="keep generated files")
    args = parser.parse_args(argv)
    args.formats = list(FORMATS) if args.formats == "all" else args.formats.split(",")
    unknown = set(args.formats) - set(FORMATS)
    if unknown:
        parser.error(f"unknown formats {sorted(unknown)}; known: {', '.join(FORMATS)}")
    also = [args.n // 4, args.n // 16] if args.also_n is None else args.also_n
    args.sizes = sorted({args.n, *(m for m in also if 0 < m < args.n)}, reverse=True)
    return args


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Run every requested format, print the tables and write JSON + Markdown to `--out`."""
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    facts = machine_facts(PACKAGES)
    command = "python -m benchmarks.ingest_ecgs " + " ".join(sys.argv[1:] if argv is None
                                                             else argv)
    results: list[dict[str, Any]] = []
    base = Path(tempfile.mkdtemp(prefix="imnm-bench-", dir=args.work_dir))
    started = time.perf_counter()
    try:
        for fmt in args.formats:
            work = base / fmt
            try:
                results.append(bench_format(fmt, args.sizes, work, args.seed, args.pool_size,
                                            args.out if args.profile else None))
            finally:
                if not args.keep:
                    shutil.rmtree(work, ignore_errors=True)
            facts["total_wall_s"] = round(time.perf_counter() - started, 1)
            facts["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
            _write_report(args.out, args.n, facts, command, results)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(_report_text(facts, command, results))
    return results


def _report_text(facts: dict[str, Any], command: str, results: Sequence[dict[str, Any]]) -> str:
    return "\n".join([
        f"Command: `{command}` ({facts.get('total_wall_s', 0) / 60:.1f} min in all)",
        f"Machine: {facts['cpus_usable']} CPUs ({facts['cpu_model']}), "
        f"{facts['mem_total_gib']} GiB RAM, Python {facts['python']}; load average "
        f"{facts['load_average_at_start']} at start, {facts.get('load_average_at_end')} at end",
        "", "ECGs per second and peak memory (peak RSS above the phase's start, MiB):", "",
        results_table(results), "", "Where the time goes:", "", breakdown_table(results)])


def _write_report(out: Path, n: int, facts: dict[str, Any], command: str,
                  results: Sequence[dict[str, Any]]) -> None:
    payload = {"command": command, "machine": facts, "results": list(results)}
    (out / f"ingest_ecgs-{n}.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    (out / f"ingest_ecgs-{n}.md").write_text(_report_text(facts, command, results) + "\n",
                                             encoding="utf-8")


if __name__ == "__main__":
    main()
