"""Frames for the statistics functions' one call shape, built from the vectors tests hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike


def scored(outcome: ArrayLike, score: ArrayLike) -> pd.DataFrame:
    """Columns `lvd` (the outcome, as given) and `score`, for the diagnostic functions."""
    return pd.DataFrame({"lvd": np.asarray(outcome), "score": np.asarray(score, dtype=float)})


def xy(x: ArrayLike, y: ArrayLike) -> pd.DataFrame:
    """Columns `x` and `y`, for `linear_trend`."""
    return pd.DataFrame({"x": np.asarray(x, dtype=float), "y": np.asarray(y, dtype=float)})


def two_groups(a: ArrayLike, b: ArrayLike) -> pd.DataFrame:
    """Long form of two samples: `value`, and `group` False for a and True for b."""
    va, vb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    group = np.concatenate([np.zeros(va.size, bool), np.ones(vb.size, bool)])
    return pd.DataFrame({"value": np.concatenate([va, vb]), "group": group})
