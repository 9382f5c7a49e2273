"""A refresh that cannot do anything useful says why in one line, with exit code 2, before
Prefect or TensorFlow start: nothing delivered, no model, a model registered but not current.
And an empty staging layer harmonizes to empty core tables instead of crashing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from imnm.siteconfig import RECORD_KINDS
from tasks.harmonize import _publishable_staging
from tests.support.demo_model import DEMO_ARTIFACTS
from warehouse.db import open_warehouse

IMNM = str(Path(sys.executable).with_name("imnm"))


def _env() -> dict[str, str]:
    """The suite's environment (its pseudonym key) with a Prefect API nobody serves: a
    command that reached Prefect would fail differently."""
    return {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"}


def _refresh(data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IMNM, "refresh", "--data-dir", str(data)], env=_env(),
                          capture_output=True, text=True, timeout=120)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == "", result.stderr
    return result.stderr


def test_nothing_delivered(tmp_path: Path) -> None:
    (tmp_path / "landing").mkdir()
    line = _one_line(_refresh(tmp_path))
    assert line.startswith(f"imnm: error: nothing delivered yet: {tmp_path / 'landing'} holds no "
                           "file")
    assert "imnm demo-data" in line


def test_no_model_then_a_model_not_current(tmp_path: Path) -> None:
    site = tmp_path / "landing" / "lakeside"
    site.mkdir(parents=True)
    (site / "labs.csv").write_text("patient_id,date,test,value,unit\n")
    assert "import one with `imnm model import MODEL --card CARD --set-current`" in _one_line(
        _refresh(tmp_path))
    artifact = next(p for p in sorted(DEMO_ARTIFACTS.iterdir()) if p.is_dir())
    subprocess.run([IMNM, "model", "import", str(artifact / "model.keras"), "--card",
                    str(artifact / "card.json"), "--data-dir", str(tmp_path)],
                   env=_env(), check=True, capture_output=True, timeout=120)
    line = _one_line(_refresh(tmp_path))
    assert "1 registered (" in line and "choose one with `imnm model use VERSION`" in line


def test_empty_staging_reads_as_empty_frames(tmp_path: Path) -> None:
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        for kind in RECORD_KINDS:
            frame = _publishable_staging(con, kind)
            columns = [row[0] for row in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                "'staging' AND table_name = ? ORDER BY ordinal_position", [kind]).fetchall()]
            assert frame.height == 0 and frame.columns == columns, kind
