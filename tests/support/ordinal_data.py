"""Simulated hip-flexor-like grades for the ordinal engine's checks and benchmark: three visits
per patient, grade 0..3 from a cumulative-logit model with a normal patient intercept."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

PREDICTORS = ["month3", "month6", "treated", "treated_month3", "treated_month6"]
TRUE_THRESHOLDS = np.array([-1.0, 0.5, 2.0])
TRUE_BETA = np.array([0.8, 1.4, 0.2, 0.5, 0.9])
TRUE_SD = 1.5


def grade_visits(n_patients: int, seed: int, sd: float = TRUE_SD, first_group: int = 1000
                 ) -> pd.DataFrame:
    """Three visits per patient; grade 0..3 from logit P(Y <= k) = theta_k - x'beta - u,
    u ~ N(0, sd^2); patients numbered from first_group."""
    rng = np.random.default_rng(seed)
    patient = np.repeat(np.arange(n_patients), 3)
    visit = np.tile([0, 1, 2], n_patients)
    treated = np.repeat(rng.integers(0, 2, n_patients), 3)
    month3, month6 = (visit == 1).astype(int), (visit == 2).astype(int)
    x = np.column_stack([month3, month6, treated, treated * month3, treated * month6])
    eta = x @ TRUE_BETA + rng.normal(0.0, sd, n_patients)[patient]
    cumulative = special.expit(TRUE_THRESHOLDS[None, :] - eta[:, None])
    grade = (rng.random(eta.size)[:, None] > cumulative).sum(axis=1)
    return pd.DataFrame({"group": patient + first_group, "y": grade,
                         **{name: x[:, i] for i, name in enumerate(PREDICTORS)}})
