"""Shared benchmark helpers: phases in fresh processes, peak memory, machine facts, tables.

Each measured phase runs in its own freshly spawned interpreter, so its peak RSS is its own and
not the high-water mark of whatever ran before it in the same process.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


def run_in_fresh_process(func: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run `func(*args)` in a new spawned interpreter and return its result dict."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes=1, maxtasksperchild=1) as pool:
        return pool.apply(func, args)


def _call_and_send(connection: Any, func: Callable[..., dict[str, Any]], args: tuple[Any, ...]
                   ) -> None:
    """Child side of `run_in_fresh_parent_process`: run, send the result or the error's text."""
    import traceback

    try:
        connection.send(("ok", func(*args)))
    except BaseException as error:  # reported to the parent, which raises
        connection.send(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))
    finally:
        connection.close()


def run_in_fresh_parent_process(func: Callable[..., dict[str, Any]], *args: Any
                                ) -> dict[str, Any]:
    """Like `run_in_fresh_process`, in a non-daemonic spawned process, so `func` may start
    processes of its own (a Dask LocalCluster's workers; a pool's workers may not)."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_call_and_send, args=(sender, func, args), daemon=False)
    process.start()
    sender.close()
    try:
        status, payload = receiver.recv()
    except EOFError:
        process.join()
        raise RuntimeError(f"phase {func.__name__} died (exit code {process.exitcode})") from None
    process.join()
    if status != "ok":
        raise RuntimeError(f"phase {func.__name__} failed: {payload}")
    return payload


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise KeyError(f"/proc/self/status has no {key}")


def current_rss_mib() -> float:
    """Resident set size of this process now, in MiB (Linux `/proc/self/status` VmRSS)."""
    return _status_kib("VmRSS") / 1024


def reset_peak_rss() -> None:
    """Restart the peak-RSS count from the current RSS (Linux: write 5 to clear_refs).

    Not `getrusage().ru_maxrss`: Linux carries that across fork + exec, so a spawned child
    would start with its parent's peak.
    """
    Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mib() -> float:
    """Highest resident set size since start or the last `reset_peak_rss`, in MiB (VmHWM)."""
    return _status_kib("VmHWM") / 1024


def available_memory_mib() -> float:
    """MemAvailable from `/proc/meminfo`, in MiB."""
    return _meminfo_kib("MemAvailable") / 1024


def _meminfo_kib(key: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_facts(packages: Sequence[str]) -> dict[str, Any]:
    """What the figures were measured on: cores, memory, CPU, Python and library versions."""
    return {
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "mem_total_gib": round(_meminfo_kib("MemTotal") / MIB, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "packages": {name: _version(name) for name in packages},
    }


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub Markdown table; all-number columns right-aligned, None as an empty cell."""
    def cell(value: object) -> str:
        return "" if value is None else str(value)

    def numeric(column: int) -> bool:
        values = [row[column] for row in rows if row[column] is not None]
        return bool(values) and all(isinstance(v, int | float) for v in values)

    aligns = ["---:" if numeric(i) else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(aligns) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- CPU facts for arithmetic limits

_CLOCK_PROBE_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define A "add $1, %0\n\t"
#define A10 A A A A A A A A A A
int main(int argc, char **argv) {
    long iterations = atol(argv[1]);
    unsigned long x = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < iterations; i++) {
        __asm__ volatile(A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 : "+r"(x));
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.9f %lu\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9, x);
    return 0;
}
"""
_CLOCK_PROBE_ADDS_PER_ITERATION = 100


def cpu_details() -> dict[str, Any]:
    """CPU vendor, family/model numbers, the nominal MHz and SIMD flags from `/proc/cpuinfo`."""
    fields: dict[str, str] = {}
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if not line.strip():
            break  # the first processor's block is enough
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    flags = fields.get("flags", "").split()
    simd = [f for f in flags if f.startswith(("avx", "fma", "sse4"))]
    return {
        "vendor": fields.get("vendor_id", "unknown"),
        "model_name": fields.get("model name", "unknown"),
        "family": int(fields.get("cpu family", "0")),
        "model": int(fields.get("model", "0")),
        "cpuinfo_mhz": float(fields.get("cpu MHz", "0") or 0),
        "hypervisor": "hypervisor" in flags,
        "simd_flags": simd,
    }


def measure_core_clock_ghz(repeats: int = 25, adds: int = 500_000_000) -> dict[str, Any] | None:
    """The core clock under load, measured: a chain of dependent integer adds (one per cycle on
    any x86 core since the Pentium Pro) timed `repeats` times; the fastest run is the least
    disturbed by other processes. None when no C compiler (`cc`) is found."""
    import shutil
    import subprocess
    import tempfile

    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    iterations = adds // _CLOCK_PROBE_ADDS_PER_ITERATION
    with tempfile.TemporaryDirectory(prefix="imnm-clock-") as scratch:
        source = Path(scratch) / "clock.c"
        binary = Path(scratch) / "clock"
        source.write_text(_CLOCK_PROBE_C, encoding="utf-8")
        subprocess.run([compiler, "-O2", "-o", str(binary), str(source)], check=True)
        runs = []
        for _ in range(repeats):
            out = subprocess.run([str(binary), str(iterations)], check=True,
                                 capture_output=True, text=True).stdout.split()
            runs.append(iterations * _CLOCK_PROBE_ADDS_PER_ITERATION / float(out[0]) / 1e9)
    return {"ghz_max": round(max(runs), 3), "ghz_median": round(sorted(runs)[len(runs) // 2], 3),
            "runs": len(runs), "adds_per_run": adds,
            "method": "dependent 64-bit integer adds (latency 1 cycle), fastest of the runs"}


class ProcessTreePeak:
    """Samples the peak RSS (VmHWM) of this process's descendants that did not exist when it
    was created (e.g. Dask workers, not an already running API server), every `interval` s."""

    def __init__(self, interval: float = 0.5) -> None:
        import psutil

        self._me = psutil.Process()
        self._excluded = {child.pid for child in self._me.children(recursive=True)}
        self._interval = interval
        self.peaks_mib: dict[int, float] = {}
        self.names: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        import psutil

        try:
            children = self._me.children(recursive=True)
        except psutil.Error:
            return
        for child in children:
            if child.pid in self._excluded:
                continue
            try:
                status = Path(f"/proc/{child.pid}/status").read_text()
                name = " ".join(child.cmdline()[-2:])[:80]
            except (OSError, ValueError, psutil.Error):
                continue  # ended between the listing and the read
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    mib = int(line.split()[1]) / 1024
                    self.peaks_mib[child.pid] = max(mib, self.peaks_mib.get(child.pid, 0.0))
                    self.names[child.pid] = name

    def __enter__(self) -> ProcessTreePeak:
        def loop() -> None:
            while not self._stop.wait(self._interval):
                self._sample()

        self._thread = threading.Thread(target=loop, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()


def cpu_snapshot() -> dict[str, float]:
    """Now: the machine's busy and stolen CPU seconds (`/proc/stat`, all CPUs) and this
    process's own CPU seconds, its reaped children's included."""
    import resource

    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    hz = os.sysconf("SC_CLK_TCK")
    own = sum(getattr(resource.getrusage(who), field)
              for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for field in ("ru_utime", "ru_stime"))
    return {"wall": time.perf_counter(), "busy": (user + nice + system + irq + softirq) / hz,
            "steal": steal / hz, "own": own}


def cpu_usage_since(start: dict[str, float]) -> dict[str, float]:
    """Cores used on average since `start`: by this process (and its reaped children), by
    everything else on the machine, and stolen by the hypervisor."""
    now = cpu_snapshot()
    wall = now["wall"] - start["wall"]
    if wall <= 0:
        return {}
    own = now["own"] - start["own"]
    busy = now["busy"] - start["busy"]
    return {"own_cores": round(own / wall, 2),
            "others_cores": round(max(0.0, busy - own) / wall, 2),
            "steal_cores": round((now["steal"] - start["steal"]) / wall, 2),
            "cores": len(os.sched_getaffinity(0))}
