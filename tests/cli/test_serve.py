"""`imnm serve` says how it runs before it starts: against the configured Prefect server, or
with a warning that a temporary one ends with the command; a bad cron is one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from imnm.cli import serve_banner

IMNM = str(Path(sys.executable).with_name("imnm"))


def test_without_an_api_url_serve_warns_that_nothing_outlives_it(tmp_path: Path) -> None:
    lines = serve_banner("0 2 * * *", tmp_path, None)
    assert lines[0].startswith(f"Serving the refresh of {tmp_path} on cron '0 2 * * *' (UTC)")
    assert lines[1].startswith("warning: PREFECT_API_URL is not set: a temporary Prefect server")
    assert "prefect server start" in lines[2]


def test_with_an_api_url_serve_names_the_server(tmp_path: Path) -> None:
    lines = serve_banner("0 2 * * *", tmp_path, "http://db:4200/api")
    assert lines[1] == "Runs are scheduled and recorded by the Prefect server at http://db:4200/api."
    assert not any(line.startswith("warning") for line in lines)


def test_a_bad_cron_is_one_line_before_anything_starts(tmp_path: Path) -> None:
    result = subprocess.run([IMNM, "serve", "--cron", "61 * * *", "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("imnm: error: not a cron schedule: '61 * * *'")
    assert result.stderr.count("\n") == 1 and result.stdout == ""
