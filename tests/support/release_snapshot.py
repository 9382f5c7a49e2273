"""A release's published content as plain, comparable data, and a comparison of two snapshots.

A snapshot holds, for one release of a published results file: every `results.*_history`
table's rows of that release, the release's row counts and sites, and the data-quality
outcomes of the run that published it. Release ids, run ids and times are left out, so two
refreshes of the same inputs give equal snapshots. Rows are sorted, so insertion order does
not matter.

    python -m tests.support.release_snapshot write PUBLISHED.duckdb OUT.json
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

# Columns that name or time a release or run: they differ between two refreshes of the same
# inputs and are not part of the released content.
VOLATILE_COLUMNS = frozenset({"release_id", "run_id", "validated_at", "published_at"})
# Bayesian fits' diagnostics: what stays in a snapshot (see _monte_carlo_free).
BAYES_DIAGNOSTIC_KEPT = frozenset({"row_order", "fit_id", "imputation", "n_obs", "n_patients",
                                   "n_categories", "n_parameters", "chains", "draws_per_chain",
                                   "passed"})
# Labels a Bayesian row derives from its draws.
MONTE_CARLO_LABELS = frozenset({"direction_label"})
HISTORY_TABLES = """
SELECT table_name FROM information_schema.tables
WHERE table_schema = 'results' AND table_name LIKE '%\\_history' ESCAPE '\\'
ORDER BY table_name
"""


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def _monte_carlo_free(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """A row without what Markov chain Monte Carlo draws decide: seeded draws repeat on one
    machine, but another CPU's floating point takes the chains elsewhere, so a Bayesian row's
    numbers (and labels from them) differ by Monte Carlo error between machines. What was
    fitted, on which rows, and whether it passed its diagnostics stay in the snapshot; the
    Bayesian engine's numbers are checked by their own tests (JAGS, the MLE, diagnostics)."""
    if table.endswith("bayes_diagnostics_history"):
        return {c: v for c, v in row.items() if c in BAYES_DIAGNOSTIC_KEPT}
    if row.get("engine") == "bayesian":
        return {c: (v if not isinstance(v, float) and c not in MONTE_CARLO_LABELS else None)
                for c, v in row.items()}
    return row


def _order(row: dict[str, Any]) -> tuple[int, str]:
    """Rows in their released order where they carry one, else by their non-float values, so
    that a float moved within tolerance does not reorder them."""
    exact = {c: v for c, v in row.items() if not isinstance(v, float)}
    order = row.get("row_order")
    return (order if isinstance(order, int) else -1,
            json.dumps(exact, sort_keys=True, default=str))


def _rows(con: duckdb.DuckDBPyConnection, query: str, parameters: list[Any], table: str = ""
          ) -> list[dict[str, Any]]:
    cursor = con.execute(query, parameters)
    columns = [d[0] for d in cursor.description]
    rows = [_monte_carlo_free(table, {c: _plain(v) for c, v in zip(columns, values, strict=True)
                                      if c not in VOLATILE_COLUMNS})
            for values in cursor.fetchall()]
    return sorted(rows, key=_order)


def take_snapshot(published: Path, release_id: str | None = None) -> dict[str, Any]:
    """The snapshot of `release_id` (default: the latest) in a published results file."""
    with duckdb.connect(str(published), read_only=True) as con:
        if release_id is None:
            release_id = con.execute("SELECT release_id FROM results.releases "
                                     "ORDER BY published_at DESC LIMIT 1").fetchone()[0]
        run_id, row_counts, sites = con.execute(
            "SELECT run_id, row_counts, sites FROM results.releases WHERE release_id = ?",
            [release_id]).fetchone()
        tables = {name: _rows(con, f'SELECT * FROM results."{name}" WHERE release_id = ?',
                              [release_id], name)
                  for (name,) in con.execute(HISTORY_TABLES).fetchall()}
        checks = _rows(con, "SELECT * FROM audit.validation_results WHERE run_id = ?", [run_id])
    return {"row_counts": json.loads(row_counts), "sites": json.loads(sites),
            "tables": tables, "validation_results": checks}


def differences(expected: Mapping[str, Any], actual: Mapping[str, Any], *,
                rel_tol: float = 1e-5, abs_tol: float = 1e-12, limit: int = 20) -> list[str]:
    """Where `actual` differs from `expected` (empty: the same release content).

    Floats compare within `rel_tol`/`abs_tol` (the AI-ECG's float32 scores differ in their
    last bits between CPUs), everything else exactly.
    """
    found: list[str] = []

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, float) and isinstance(b, float | int) and not isinstance(b, bool):
            return math.isclose(a, float(b), rel_tol=rel_tol, abs_tol=abs_tol)
        return a == b

    def compare_rows(where: str, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> None:
        if len(old) != len(new):
            found.append(f"{where}: {len(old)} rows expected, {len(new)} found")
            return
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            if set(a) != set(b):
                found.append(f"{where} row {index}: columns {sorted(set(a) ^ set(b))} differ")
                continue
            for column in a:
                if not same(a[column], b[column]):
                    found.append(f"{where} row {index} {column}: {a[column]!r} expected, "
                                 f"{b[column]!r} found")

    for key in ("row_counts", "sites"):
        if expected[key] != actual[key]:
            found.append(f"{key}: {expected[key]!r} expected, {actual[key]!r} found")
    old_tables, new_tables = expected["tables"], actual["tables"]
    for name in sorted(set(old_tables) | set(new_tables)):
        if name not in new_tables or name not in old_tables:
            found.append(f"table {name}: only in {'expected' if name in old_tables else 'actual'}")
            continue
        compare_rows(name, old_tables[name], new_tables[name])
    compare_rows("validation_results", expected["validation_results"],
                 actual["validation_results"])
    return found[:limit]


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] != "write":
        print(__doc__, file=sys.stderr)
        return 2
    snapshot = take_snapshot(Path(argv[1]))
    Path(argv[2]).write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n",
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
