"""The code version recorded in releases and model cards."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from imnm import __version__
from imnm.settings import REPO_ROOT


@cache
def code_version() -> str:
    """`<package version>+g<commit>` (with `.dirty` for uncommitted changes), or the version."""
    try:
        commit = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
                                capture_output=True, text=True, check=True, timeout=10).stdout
        dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True, check=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{commit.strip()}{'.dirty' if dirty.strip() else ''}"


# What `code_digest` reads: the platform's code, its SQL, templates and configuration, and the
# locked dependency versions. Anything here can change a release's numbers.
CODE_FOLDERS: tuple[str, ...] = ("imnm", "tasks", "flows", "models", "warehouse", "expectations")
CODE_SUFFIXES: frozenset[str] = frozenset({".py", ".sql", ".j2", ".json", ".toml"})
CODE_FILES: tuple[str, ...] = ("pyproject.toml", "uv.lock")


@cache
def code_digest() -> str:
    """sha256 over the code that computes a release, by content (so two checkouts of the same
    code agree, and an uncommitted change shows): every source, SQL, template and suite file
    of the code folders, and the dependency lock."""
    files = [REPO_ROOT / name for name in CODE_FILES]
    for folder in CODE_FOLDERS:
        files += [p for p in (REPO_ROOT / folder).rglob("*")
                  if p.suffix in CODE_SUFFIXES and p.is_file() and "__pycache__" not in p.parts]
    return files_digest(files)


def files_digest(files: Iterable[Path]) -> str:
    """sha256 over files of the repository by path and content, in path order (a missing
    file is skipped)."""
    digest = hashlib.sha256()
    for path in sorted(files):
        if path.is_file():
            digest.update(path.relative_to(REPO_ROOT).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
