"""Running an R reference script on the same rows as a Python statistic (cross-checks).

R (``r-base-core``) with ``pROC``, ``survival``, ``mice``, ``lme4``, ``ordinal``, ``MASS``
and ``rjags`` (with ``jags``) comes from Debian's packages; `.ci/run` installs them. Without
Rscript a cross-check skips locally and fails under ``CI=1``. Inputs go to R as CSV files,
outputs come back as CSV files: no R packages beyond those.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest


def require_rscript() -> str:
    """Path to Rscript; skip the test without it, unless CI requires the cross-checks to run."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        if os.environ.get("CI"):
            pytest.fail("Rscript is missing: .ci/run installs r-base-core r-cran-proc "
                        "r-cran-survival r-cran-mice r-cran-lme4 r-cran-ordinal r-cran-mass jags "
                        "r-cran-rjags so the R cross-checks run in CI")
        pytest.skip("Rscript not installed (apt-get install r-base-core r-cran-proc "
                    "r-cran-survival r-cran-mice r-cran-lme4 r-cran-ordinal r-cran-mass jags "
                    "r-cran-rjags)")
    return rscript


def run_r_script(script: Path, inputs: dict[str, pd.DataFrame], workdir: Path
                 ) -> dict[str, pd.DataFrame]:
    """Run the R `script` (beside the tests that use it, in their `r/` folder) with `workdir`
    holding `<name>.csv` per input; read `out_*.csv`.

    The script gets the directory as its only argument and writes each result as
    `out_<name>.csv`; the returned dict is keyed by `<name>`.
    """
    rscript = require_rscript()
    workdir.mkdir(parents=True, exist_ok=True)
    for name, frame in inputs.items():
        frame.to_csv(workdir / f"{name}.csv", index=False, na_rep="")
    completed = subprocess.run([rscript, "--vanilla", str(script), str(workdir)],
                               capture_output=True, text=True, timeout=300, check=False)
    if completed.returncode != 0:
        raise AssertionError(f"R script {script.name} failed ({completed.returncode}):\n"
                             f"{completed.stdout[-2000:]}\n{completed.stderr[-4000:]}")
    return {path.stem.removeprefix("out_"): pd.read_csv(path)
            for path in sorted(workdir.glob("out_*.csv"))}
