"""Shared fixtures: a real Prefect test harness, the real-ECG folder, a pseudonym key."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_ECG_DIR = REPO_ROOT.parent / "shared" / "real-ecg"
TEST_PSEUDONYM_KEY = "test-pseudonym-key-0123456789"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One real, temporary Prefect API (SQLite) for every test that runs a flow."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session", autouse=True)
def pseudonym_key_env() -> Iterator[str]:
    """The pseudonym key the platform reads from the environment."""
    previous = os.environ.get("IMNM_PSEUDONYM_KEY")
    os.environ["IMNM_PSEUDONYM_KEY"] = TEST_PSEUDONYM_KEY
    yield TEST_PSEUDONYM_KEY
    if previous is None:
        os.environ.pop("IMNM_PSEUDONYM_KEY", None)
    else:
        os.environ["IMNM_PSEUDONYM_KEY"] = previous
