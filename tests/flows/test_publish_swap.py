"""Publishing swaps the results file atomically: open readers keep their release."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from tasks.publish import export_results_file
from warehouse.db import open_warehouse

INSERT_RELEASE = ("INSERT INTO results.releases (release_id, published_at, run_id, code_version, "
                  "model_version, analysis_parameters, input_fingerprint, row_counts, sites) "
                  "VALUES (?, ?, 'run', 'code', 'model', '{}', 'fp', '{}', '{}')")


def test_reader_keeps_old_release_and_new_readers_see_the_new_one(tmp_path: Path) -> None:
    warehouse, published = tmp_path / "warehouse.duckdb", tmp_path / "published.duckdb"
    with open_warehouse(warehouse) as con:
        con.execute(INSERT_RELEASE, ["R1", "2026-01-01 00:00:00"])
        export_results_file(con, published)
        reader = duckdb.connect(str(published), read_only=True)
        assert reader.execute("SELECT release_id FROM results.latest_release").fetchone() == ("R1",)
        con.execute(INSERT_RELEASE, ["R2", "2026-02-01 00:00:00"])
        export_results_file(con, published)
    assert reader.execute("SELECT release_id FROM results.latest_release").fetchone() == ("R1",)
    # Another process (as an analyst's client is) opens the new file.
    fresh = subprocess.run([sys.executable, "-c", (
        f"import duckdb; c = duckdb.connect({str(published)!r}, read_only=True); "
        "print(c.execute('SELECT release_id FROM results.latest_release').fetchone()[0], "
        "c.execute('SELECT count(*) FROM results.releases').fetchone()[0])")],
        capture_output=True, text=True, check=True)
    assert fresh.stdout.split() == ["R2", "2"]
    assert not list(tmp_path.glob(".*.tmp"))
