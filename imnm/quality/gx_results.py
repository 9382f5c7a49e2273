"""Great Expectations' own results of a run's validated batches, kept for the release's Data
Docs: written by the validate stages, read by the data-quality report.

    <data>/dq_runs/<run_id>/gx/<layer>__<site>__<suite>.json
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Final

from imnm.quality.privacy import sanitize_gx_result
from imnm.settings import DataPaths
from warehouse.files import write_text_atomically

DQ_RUNS_DIR: Final[str] = "dq_runs"
# layer, site and suite become one file name joined by "__": each is a plain name.
_NAME_PART = re.compile(r"^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$")


def gx_results_dir(paths: DataPaths, run_id: str) -> Path:
    """Where a run's Great Expectations results are kept: <data>/dq_runs/<run_id>/gx."""
    if not _NAME_PART.match(run_id):
        raise ValueError(f"not a run id: {run_id!r}")
    return paths.root / DQ_RUNS_DIR / run_id / "gx"


def save_gx_result(run_dir: Path, layer: str, site: str, suite: str, gx_result: Any
                   ) -> Path | None:
    """Save one batch's GX suite result as JSON in `run_dir` (= gx_results_dir(paths, run_id)),
    identifier values masked; returns the file (None when there was no result: empty batch)."""
    if gx_result is None:
        return None
    for part in (layer, site, suite):
        if not _NAME_PART.match(part):
            raise ValueError(f"{part!r} cannot be part of a result file name")
    payload = gx_result if isinstance(gx_result, dict) else gx_result.to_json_dict()
    target = run_dir / f"{layer}__{site}__{suite}.json"
    write_text_atomically(target, json.dumps(sanitize_gx_result(payload), default=str))
    return target


def load_gx_results(run_dir: Path) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(layer, site, suite, result JSON) of every result saved in `run_dir`, in name order."""
    if not run_dir.is_dir():
        return []
    results = []
    for path in sorted(run_dir.glob("*.json")):
        parts = path.stem.split("__")
        if len(parts) != 3 or not all(_NAME_PART.match(p) for p in parts):
            continue
        layer, site, suite = parts
        results.append((layer, site, suite, json.loads(path.read_text(encoding="utf-8"))))
    return results
