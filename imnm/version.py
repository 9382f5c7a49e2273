"""The code version recorded in releases and model cards."""

from __future__ import annotations

import subprocess
from functools import cache

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
