"""Shared fixtures: a real Prefect test harness, the real-ECG folder, a pseudonym key."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from imnm.settings import DataPaths
from tests.support.demo_model import install_demo_model
from tests.support.real_ecg import REAL_ECG_DIR

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


@dataclass(frozen=True)
class DemoNetwork:
    """A demo network refreshed once with the committed demo model: its paths and release."""

    paths: DataPaths
    release_id: str
    model_version: str


DEMO_PATIENTS = 200
DEMO_SEED = 5


@pytest.fixture(scope="session")
def demo_network(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
                    ) -> DemoNetwork:
    """One refresh of a 200-patient demo network, shared by every test that only reads it."""
    from flows.refresh import refresh
    from imnm.demo import generate_demo

    paths = DataPaths(tmp_path_factory.mktemp("demo-network"))
    generate_demo(paths.root, n_patients=DEMO_PATIENTS, seed=DEMO_SEED)
    version = install_demo_model(paths)
    summary = refresh(data_dir=str(paths.root))
    assert summary.release_is_new
    return DemoNetwork(paths, summary.release_id, version)


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


# Each study's tests may keep the suite's refreshes quick: `tests/studies/<study>/
# suite_parameters.toml` holds standing overrides ([study] name = value) for every refresh the
# suite runs (through $IMNM_STUDY_PARAMETERS_FILE); a test's own overrides still win.
SUITE_PARAMETER_FILES = sorted((Path(__file__).resolve().parent / "studies")
                               .glob("*/suite_parameters.toml"))


@pytest.fixture(scope="session", autouse=True)
def suite_study_parameters_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The studies' suite parameters, in one file the platform reads from the environment."""
    from imnm.studies.parameters import STANDING_OVERRIDES_ENV

    merged = tmp_path_factory.mktemp("suite-parameters") / "study_parameters.toml"
    merged.write_text("\n".join(path.read_text(encoding="utf-8")
                                for path in SUITE_PARAMETER_FILES), encoding="utf-8")
    previous = os.environ.get(STANDING_OVERRIDES_ENV)
    os.environ[STANDING_OVERRIDES_ENV] = str(merged)
    yield merged
    if previous is None:
        os.environ.pop(STANDING_OVERRIDES_ENV, None)
    else:
        os.environ[STANDING_OVERRIDES_ENV] = previous


# Integration tests start Prefect, read a refreshed demo network, or drive R or Chromium (the
# modules holding the R runner or the browser helpers); `make test-fast` leaves them, and the
# `slow` ones (real CNN training), out.
INTEGRATION_FIXTURES = frozenset({"prefect_harness", "demo_network"})
INTEGRATION_HELPERS = frozenset({"run_r_script", "require_rscript", "rendered_dom", "_chromium"})


WHOLE_MODULE_SLOW = "pytestmark = pytest.mark.slow\n"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With slow tests deselected (`make test-fast`), a test module marked slow as a whole is
    not imported at all, so TensorFlow's import (about 13 s) is not paid to deselect it."""
    if "not slow" not in (config.getoption("markexpr") or ""):
        return None
    if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    return WHOLE_MODULE_SLOW in collection_path.read_text(encoding="utf-8") or None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses a Prefect server, a refreshed network, R or Chromium
    `integration`."""
    for item in items:
        module = getattr(item, "module", None)
        uses_tool = module is not None and bool(INTEGRATION_HELPERS & set(vars(module)))
        if uses_tool or INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test that reads the real vendor ECG files skips alone when they are missing, and fails
    when `CI` is set: CI must not pass by skipping them."""
    if item.get_closest_marker("real_ecg") is None or REAL_ECG_DIR.is_dir():
        return
    message = f"real ECG samples not found at {REAL_ECG_DIR} (set IMNM_REAL_ECG_DIR)"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
