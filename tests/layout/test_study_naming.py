"""Nothing outside a study's own folders names the study (the registry, migrations and docs
aside): every stage reaches a study through the registry, so a new study touches no shared
code."""

from __future__ import annotations

import re
import subprocess

import pytest

from imnm.studies.registry import STUDY_NAMES
from tests.layout.imports import REPO_ROOT

# Shared places that may name studies: the registry, the numbered migrations (their history),
# documentation, the golden release snapshot (data, not code), and the demo generator with its
# tests (synthetic data whose margins and injected effects follow the seed studies; no stage
# reads a study through it).
SHARED_EXCEPTIONS = ("imnm/studies/registry.py", "warehouse/migrations/", "docs/",
                     "tests/flows/data/", "imnm/demo/", "tests/demo/")


def study_folders(study: str) -> tuple[str, ...]:
    """The places a study's own files live (docs/architecture.md, "Adding a study")."""
    return (f"imnm/studies/{study}/", f"config/studies/{study}.toml", f"warehouse/sql/{study}/",
            f"tests/studies/{study}/", f"benchmarks/studies/{study}/")


def spellings(study: str) -> re.Pattern[str]:
    """study_x as an identifier or table prefix, study-x in file names, StudyX in classes,
    "study X" in prose."""
    short = study.removeprefix("study_")
    return re.compile(rf"(?<![A-Za-z]){study}(?![a-z])|(?<![A-Za-z])study-{short}(?![a-z])"
                      rf"|Study{short.upper()}(?![a-z])|(?<![A-Za-z])[Ss]tudy {short.upper()}\b")


def project_files() -> list[str]:
    """Every file git tracks or would track (untracked, not ignored)."""
    listed = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "--cached", "--others",
                             "--exclude-standard"], capture_output=True, text=True, check=True)
    return sorted({p for p in listed.stdout.splitlines() if (REPO_ROOT / p).is_file()})


def _is_doc(path: str) -> bool:
    return path.endswith(".md")


@pytest.mark.parametrize("study", STUDY_NAMES)
def test_no_shared_file_names_the_study(study: str) -> None:
    """grep for the study outside its folders finds nothing."""
    pattern = spellings(study)
    own = study_folders(study)
    found = []
    for path in project_files():
        if path.startswith(own) or path.startswith(SHARED_EXCEPTIONS) or _is_doc(path):
            continue
        if pattern.search(path):
            found.append(f"{path} (its name)")
            continue
        try:
            text = (REPO_ROOT / path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary (a model file)
        for number, line in enumerate(text.splitlines(), start=1):
            if pattern.search(line):
                found.append(f"{path}:{number}: {line.strip()[:80]}")
    assert found == []


def test_the_spellings_are_seen() -> None:
    """The pattern catches each way a study is named, and not lookalike words."""
    pattern = spellings("study_q")
    for named in ("results.study_q_accuracy", "study-q.html", "StudyQParameters",
                  "Study Q's cutoff", "see study Q"):
        assert pattern.search(named), named
    for other in ("run_study_qualities", "study_quiet", "study quite", "StudyQuery"):
        assert not pattern.search(other), other
