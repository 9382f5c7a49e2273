"""Shared benchmark helpers: phases in fresh processes, peak memory, machine facts, tables.

Each measured phase runs in its own freshly spawned interpreter, so its peak RSS is its own and
not the high-water mark of whatever ran before it in the same process.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import sys
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
