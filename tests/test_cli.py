"""The `imnm` front door: its commands, a light start-up, and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from imnm.cli import main


def _imnm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imnm.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def test_help_lists_every_command() -> None:
    shown = _imnm("--help")
    assert shown.returncode == 0
    for command in ("demo-data", "refresh", "sql", "model", "serve"):
        assert command in shown.stdout


def test_start_up_imports_no_heavy_framework() -> None:
    probe = subprocess.run([sys.executable, "-c", (
        "import sys, imnm.cli; imnm.cli.build_parser(); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'prefect', 'great_expectations') "
        "if m in sys.modules))")], capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "[]"


def test_sql_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--data-dir", str(tmp_path), "SELECT 1"]) == 2
    assert "imnm refresh" in capsys.readouterr().err
    assert main(["sql", "--data-dir", str(tmp_path), "DROP TABLE results.releases"]) == 2
    assert "refused" in capsys.readouterr().err


def test_refresh_without_pseudonym_key_stops_before_loading(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k != "IMNM_PSEUDONYM_KEY"}
    result = _imnm("refresh", "--data-dir", str(tmp_path), env=env)
    assert result.returncode == 2
    assert "IMNM_PSEUDONYM_KEY" in result.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_refresh_reports_a_broken_site_file_before_starting_prefect(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A configuration error is one line naming file and key, and costs no Prefect start-up."""
    import shutil
    import time

    sites = tmp_path / "sites"
    shutil.copytree(Path(__file__).resolve().parents[1] / "config" / "sites", sites)
    broken = sites / "northgate.toml"
    broken.write_text(broken.read_text(encoding="utf-8").replace(
        'format = "philips-sierra"', 'format = "philips-xml"'), encoding="utf-8")
    started = time.monotonic()
    code = main(["refresh", "--data-dir", str(tmp_path / "data"), "--sites-dir", str(sites)])
    assert code == 2
    assert time.monotonic() - started < 5
    error = capsys.readouterr().err
    assert "northgate.toml" in error and "kinds.ecgs.format" in error and "philips-xml" in error
