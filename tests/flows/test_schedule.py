"""The schedule fires: `imnm serve` against a real `prefect server start` (its own process,
SQLite, the locked SQLAlchemy) registers the refresh deployment with a concurrency limit of 1,
the server's scheduler creates its runs from the cron, and the served process runs one to
completion. And two refreshes cannot run at once on a data directory: the second is refused
at the start, with who holds it and exit code 75."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.deployments import DEPLOYMENT_NAME
from imnm.refresh.lock import RefreshRunningError, refresh_lock

REPO_ROOT = Path(__file__).resolve().parents[2]
IMNM = str(Path(sys.executable).with_name("imnm"))
PREFECT = str(Path(sys.executable).with_name("prefect"))
# The next minute boundary (<= 60 s), the scheduler's loop (5 s here), the runner's poll
# (10 s), then a refresh with no new input.
RUN_DEADLINE_S = 420


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture()
def prefect_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A real Prefect server in its own process: (API URL, the environment that reaches it)."""
    api = f"http://127.0.0.1:{_free_port()}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": api,
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false"}
    port = api.rsplit(":", 1)[1].split("/")[0]
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", port],
                              env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            time.sleep(1)
        else:
            pytest.fail("the Prefect server did not start in 120 s")
        yield api, env
    finally:
        _stop(server)
        log.close()
        text = (tmp_path / "server.log").read_text()
        assert "Can't evaluate bulk DML" not in text, "the scheduler failed to insert runs"


def _deployment_runs(api: str) -> list[dict[str, Any]]:
    response = httpx.post(f"{api}/flow_runs/filter", timeout=10, json={
        "limit": 50, "sort": "EXPECTED_START_TIME_ASC",
        "deployments": {"name": {"any_": [DEPLOYMENT_NAME]}}})
    response.raise_for_status()
    return list(response.json())


def test_a_served_deployment_runs_on_its_schedule(demo_network: Any, tmp_path: Path,
                                                  prefect_server: tuple[str, dict[str, str]]
                                                  ) -> None:
    """Scheduled runs appear from the cron (auto-scheduled, every minute) and one completes;
    the deployment carries its concurrency limit of 1."""
    api, env = prefect_server
    data = tmp_path / "data"
    shutil.copytree(demo_network.paths.root, data)
    log = (tmp_path / "serve.log").open("w")
    served = subprocess.Popen([IMNM, "serve", "--cron", "* * * * *", "--data-dir", str(data)],
                              env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    completed: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + RUN_DEADLINE_S
        while time.monotonic() < deadline and not completed:
            assert served.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(5)
            runs = _deployment_runs(api)
            completed = [r for r in runs if r["state_type"] == "COMPLETED"]
            failed = [r for r in runs if r["state_type"] in ("FAILED", "CRASHED")]
            assert not failed, (tmp_path / "serve.log").read_text()[-3000:]
        response = httpx.post(f"{api}/deployments/filter", timeout=10, json={
            "limit": 5, "deployments": {"name": {"any_": [DEPLOYMENT_NAME]}}})
        (deployment,) = response.json()
    finally:
        _stop(served)
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert completed, f"no scheduled run completed; runs: {runs}\n{output[-3000:]}"
    assert all(r["auto_scheduled"] for r in completed)
    assert len({r["expected_start_time"] for r in runs}) > 1  # the cron's next fire times
    assert deployment["global_concurrency_limit"]["limit"] == 1
    assert deployment["concurrency_options"]["collision_strategy"] == "ENQUEUE"
    assert f"Runs are scheduled and recorded by the Prefect server at {api}" in output
    # What the UI and `prefect flow-run ls` ask: Prefect's own client, default arguments.
    listed = subprocess.run([PREFECT, "flow-run", "ls"], env={**env, "COLUMNS": "300"},
                            capture_output=True,
                            text=True, timeout=120)
    assert listed.returncode == 0 and completed[0]["name"] in listed.stdout, listed.stderr


def test_a_second_refresh_on_the_directory_is_refused(tmp_path: Path) -> None:
    """While one refresh holds the directory, `imnm refresh` there stops at once (before
    Prefect starts) with exit code 75 and the holder; a second lock in-process is refused
    too; once released, the lock is free again."""
    env = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"}  # never reached
    with refresh_lock(tmp_path):
        started = time.monotonic()
        result = subprocess.run([IMNM, "refresh", "--data-dir", str(tmp_path)], env=env,
                                cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert result.returncode == 75, result.stderr
        assert result.stderr.count("\n") == 1
        assert f"another refresh is running on {tmp_path} (process {os.getpid()}" in result.stderr
        assert time.monotonic() - started < 60
        with pytest.raises(RefreshRunningError), refresh_lock(tmp_path):
            pass
    with refresh_lock(tmp_path):
        pass
