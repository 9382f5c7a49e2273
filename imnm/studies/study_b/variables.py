"""The candidate predictors of study B's CK models and how each enters a model: a yes/no
indicator, a continuous value (per unit stated), or a categorical with a reference level.
The design columns are built here once, so every engine (frequentist, Bayesian, R) sees the
same numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Predictor:
    """One predictor: the cohort column, its kind, and for categoricals the levels in order
    (the first is the reference); `per` scales a continuous value (e.g. per 10 years)."""

    name: str
    label: str
    column: str
    kind: Literal["binary", "continuous", "categorical"]
    levels: tuple[str, ...] = ()
    per: float = 1.0

    def design_columns(self) -> tuple[str, ...]:
        """The model's column names for this predictor."""
        if self.kind == "categorical":
            return tuple(f"{self.name}[{level}]" for level in self.levels[1:])
        return (self.name,)

    def design(self, cohort: pd.DataFrame) -> pd.DataFrame:
        """The predictor's design columns for each cohort row (NaN where the value is
        missing or, for a categorical, outside its levels)."""
        values = cohort[self.column]
        if self.kind == "binary":
            return pd.DataFrame({self.name: values.astype("Float64").astype(float)},
                                index=cohort.index)
        if self.kind == "continuous":
            return pd.DataFrame({self.name: values.astype(float) / self.per},
                                index=cohort.index)
        known = values.isin(self.levels)
        out = {}
        for level, column in zip(self.levels[1:], self.design_columns(), strict=True):
            out[column] = np.where(known, (values == level).astype(float), np.nan)
        return pd.DataFrame(out, index=cohort.index)


PREDICTORS: tuple[Predictor, ...] = (
    Predictor("female", "Female sex", "female", "binary"),
    Predictor("age_per_10y", "Age at diagnosis (per 10 years)", "age_at_diagnosis",
              "continuous", per=10.0),
    Predictor("symptom_duration", "Symptom duration", "symptom_duration_band", "categorical",
              ("<5 weeks", "5-24 weeks", "25-52 weeks", ">1 year")),
    Predictor("serotype", "Antibody status", "serotype", "categorical",
              ("anti-HMGCR", "anti-SRP", "seronegative")),
    Predictor("statin", "Statin use", "statin_exposure", "categorical",
              ("never", "previous", "current")),
    Predictor("prednisone_per_10mg", "Initial prednisone dose (per 10 mg)",
              "initial_prednisone_mg", "continuous", per=10.0),
    Predictor("ivmp", "Initial IVMP", "initial_ivmp", "binary"),
    Predictor("csdmard", "Initial csDMARD", "initial_csdmard", "binary"),
    Predictor("early_ivig", "Early IVIG", "early_ivig", "binary"),
)
# The multivariable models' predictors (the paper's "variables of interest"; initial treatment
# is represented by its parts: IVMP, csDMARD and early IVIG).
MULTIVARIABLE: tuple[str, ...] = ("female", "age_per_10y", "serotype", "prednisone_per_10mg",
                                  "ivmp", "csdmard", "early_ivig")


def predictor(name: str) -> Predictor:
    """The predictor called `name`."""
    for p in PREDICTORS:
        if p.name == name:
            return p
    raise KeyError(f"no predictor {name!r}; known: {', '.join(p.name for p in PREDICTORS)}")
