"""Where the real vendor ECG files are, and the mark for tests that read them.

A test marked `real_ecg` skips alone when the folder is missing, and fails instead when `CI` is
set (conftest.py), so a CI machine without the files cannot pass by skipping them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# IMNM_REAL_ECG_DIR points a clone at the files elsewhere; by default they sit beside the repo.
REAL_ECG_DIR = Path(os.environ.get("IMNM_REAL_ECG_DIR")
                    or REPO_ROOT.parent / "shared" / "real-ecg")
real_ecg = pytest.mark.real_ecg
