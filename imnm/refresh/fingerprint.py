"""A release's input fingerprint: one digest over everything that can change its numbers, so
two releases with the same fingerprint are the same release (publish skips the second).

The parts, each recorded in results.releases.input_parts:
    files             the delivered files in core (site, kind, sha256 of each)
    site_configs      each centre's configuration file used by the run (sha256)
    config            the platform's vocabularies, echo finding rules, scoring settings and
                      study parameter files (sha256 each)
    study_parameters  every study's parameters as the run used them (overrides included)
    model             the scoring model's version and its file's sha256
    code              imnm.version.code_digest(): the code, SQL, suites and dependency lock
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from imnm.settings import CONFIG_DIR

# Platform configuration files that change a release's numbers (site files come from the run).
CONFIG_FILES: Final[tuple[str, ...]] = ("vocabularies.toml", "echo_findings.toml",
                                        "scoring.toml")


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes ("missing" when there is no such file)."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


def config_digests(site_config_files: Iterable[Path], config_dir: Path = CONFIG_DIR
                   ) -> tuple[dict[str, str], dict[str, str]]:
    """({site file name: sha256}, {platform config file: sha256}), names relative to their
    folders so the same files in another checkout give the same digests."""
    sites = {path.name: file_digest(path) for path in sorted(site_config_files)}
    files = [config_dir / name for name in CONFIG_FILES]
    files += sorted((config_dir / "studies").glob("*.toml"))
    config = {path.relative_to(config_dir).as_posix(): file_digest(path) for path in files}
    return sites, config


def fingerprint_parts(files: Sequence[Sequence[Any]], site_configs: Mapping[str, str],
                      config: Mapping[str, str], study_parameters: Mapping[str, Any],
                      model_version: str, model_sha256: str | None, code: str
                      ) -> dict[str, Any]:
    """The recorded parts of a fingerprint (JSON-ready)."""
    return {
        "files": hashlib.sha256(json.dumps([list(f) for f in files], default=str)
                                .encode()).hexdigest(),
        "site_configs": dict(site_configs),
        "config": dict(config),
        "study_parameters": dict(study_parameters),
        "model": {"version": model_version, "sha256": model_sha256},
        "code": code,
    }


def input_fingerprint(parts: Mapping[str, Any]) -> str:
    """sha256 over the parts (key order does not matter)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
