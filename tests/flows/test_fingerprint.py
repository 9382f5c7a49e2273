"""The input fingerprint moves with every input that can change a release's numbers, and only
with them: site configs, vocabularies, echo rules, scoring, study parameters, model, code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from imnm.refresh.fingerprint import (
    CONFIG_FILES,
    config_digests,
    fingerprint_parts,
    input_fingerprint,
)
from imnm.settings import CONFIG_DIR
from imnm.studies.parameters import load_study_parameters, recorded_parameters
from imnm.studies.registry import STUDY_NAMES
from imnm.version import code_digest

FILES = [("lakeside", "labs", "ab12"), ("northgate", "ecgs", "cd34")]


@pytest.fixture()
def config_dir(tmp_path: Path) -> Path:
    """A copy of the platform's configuration folder to change."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


def _fingerprint(config_dir: Path, *, files: list[tuple[str, str, str]] = FILES,
                 params: dict | None = None, model: tuple[str, str | None] = ("m1", "s1"),
                 code: str = "c1") -> str:
    sites, config = config_digests(sorted((config_dir / "sites").glob("*.toml")), config_dir)
    parts = fingerprint_parts(files, sites, config,
                              params if params is not None
                              else recorded_parameters(load_study_parameters()),
                              model[0], model[1], code)
    return input_fingerprint(parts)


def test_same_inputs_same_fingerprint(config_dir: Path, tmp_path: Path) -> None:
    """Two computations over the same inputs agree, wherever the configuration lives."""
    other = tmp_path / "elsewhere"
    shutil.copytree(config_dir, other)
    assert _fingerprint(config_dir) == _fingerprint(config_dir) == _fingerprint(other)


@pytest.mark.parametrize("changed", ["sites/lakeside.toml", *CONFIG_FILES,
                                     *(f"studies/{name}.toml" for name in STUDY_NAMES)])
def test_each_configuration_file_moves_the_fingerprint(config_dir: Path, changed: str) -> None:
    """A one-character change of any configuration file that shapes the numbers is seen."""
    before = _fingerprint(config_dir)
    path = config_dir / changed
    path.write_text(path.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert _fingerprint(config_dir) != before


def test_files_parameters_model_and_code_move_the_fingerprint(config_dir: Path) -> None:
    """New delivered content, a parameter override, another model file or other code each
    give another fingerprint."""
    base = _fingerprint(config_dir)
    params = recorded_parameters(load_study_parameters())
    study, values = next(iter(params.items()))
    name = next(k for k, v in values.items() if isinstance(v, float))
    overridden = {study: {**values, name: values[name] / 2}}
    assert _fingerprint(config_dir, files=[*FILES[:1], ("northgate", "ecgs", "ef56")]) != base
    assert _fingerprint(config_dir, params=overridden) != base
    assert _fingerprint(config_dir, model=("m1", "s2")) != base
    assert _fingerprint(config_dir, code="c2") != base


def test_code_digest_reads_the_code() -> None:
    """The code digest is a sha256 and stable within a run."""
    digest = code_digest()
    assert len(digest) == 64 and digest == code_digest()
