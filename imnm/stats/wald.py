"""Shared by the statistics modules: named columns of a frame, complete cases, the confidence
check, and a Wald ratio (exp of a coefficient with its CI and p) that refuses divergent fits.

Every test or model over rows takes one call shape: ``(data, <role>_col names..., confidence)``;
summaries of one vector (``median_iqr``, ``mean_sd``) and functions of counts
(``wilson_interval``, ``odds_ratio_2x2``, ``compare_binary``) take those instead.
``wald_explained_variation`` gives each term's Wald chi-square and its share of the whole
model's (the relative explained variation of ``rms::anova``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

# Beyond e^50 a ratio or its CI bound is a divergent fit (separation), not an estimate.
MAX_LOG_RATIO = 50.0


@dataclass(frozen=True)
class WaldRatio:
    """exp(coef) with its Wald CI and two-sided Wald p."""

    ratio: float
    ci_low: float
    ci_high: float
    p_value: float


def check_confidence(confidence: float) -> None:
    """A confidence level must lie strictly between 0 and 1."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")


def frame_columns(df: pd.DataFrame, columns: Sequence[str]) -> list[pd.Series]:
    """The named columns of `df`, as they are (missing values kept); an error names any column
    the frame lacks, or a column named twice."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"column(s) not in data frame: {missing}")
    if len(set(columns)) != len(columns):
        raise ValueError(f"columns must be distinct, got {list(columns)}")
    return [df[c] for c in columns]


def complete_cases(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The rows with every one of `columns` present (R's na.omit); an error if none are."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"column(s) not in data frame: {missing}")
    if len(set(columns)) != len(columns):
        raise ValueError(f"columns must be distinct, got {list(columns)}")
    out = df.loc[:, list(columns)].dropna()
    if out.empty:
        raise ValueError("no complete rows to analyse")
    return out


def wald_ratio(term: str, coef: float, se: float, confidence: float, what: str) -> WaldRatio:
    """exp(coef) with a Wald CI and p; a non-finite or runaway fit is an error naming `what`."""
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    if not (math.isfinite(coef) and math.isfinite(se)) or abs(coef) + z * se > MAX_LOG_RATIO:
        raise ValueError(
            f"the fit for {term!r} diverges (log {what} {coef:.3g}, SE {se:.3g}): the data are "
            f"(nearly) separated, so the {what} cannot be estimated")
    return WaldRatio(ratio=math.exp(coef), ci_low=math.exp(coef - z * se),
                     ci_high=math.exp(coef + z * se),
                     p_value=float(2.0 * stats.norm.sf(abs(coef / se))))


def term_positions(names: Sequence[str], term_columns: Mapping[str, Sequence[str]]
                   ) -> dict[str, list[int]]:
    """Each term's coefficient positions in `names`; a term without columns, or with a column
    not among the names, is an error."""
    index = {name: j for j, name in enumerate(names)}
    positions = {}
    for term, columns in term_columns.items():
        unknown = [c for c in columns if c not in index]
        if not columns or unknown:
            raise ValueError(f"term {term!r} needs coefficient columns of the fit; unknown: "
                             f"{unknown or 'none given'}")
        positions[term] = [index[c] for c in columns]
    return positions


def wald_explained_variation(estimate: np.ndarray, covariance: np.ndarray,
                             names: Sequence[str], term_columns: Mapping[str, Sequence[str]]
                             ) -> pd.DataFrame:
    """Per term (one or more coefficients): its Wald chi-square b_j' V_j^-1 b_j, df, p, and
    REV = that chi-square over the chi-square of every coefficient in `names` together (the
    whole model's, intercept excluded by the caller), as ``rms::anova``'s "proportion chisq"."""
    b = np.asarray(estimate, dtype=float)
    v = np.asarray(covariance, dtype=float)
    if b.shape != (len(names),) or v.shape != (len(names), len(names)):
        raise ValueError(f"{len(names)} names need a ({len(names)},) estimate and a square "
                         f"covariance, got {b.shape} and {v.shape}")
    positions = term_positions(names, term_columns)
    total = float(b @ np.linalg.solve(v, b))
    if not (math.isfinite(total) and total > 0):
        raise ValueError(f"the whole model's Wald chi-square is {total!r}: no REV")
    rows = []
    for term, cols in positions.items():
        bj = b[cols]
        chi_square = float(bj @ np.linalg.solve(v[np.ix_(cols, cols)], bj))
        rows.append({"term": term, "chi_square": chi_square, "df": len(cols),
                     "p_value": float(stats.chi2.sf(chi_square, len(cols))),
                     "rev": chi_square / total})
    return pd.DataFrame(rows)
