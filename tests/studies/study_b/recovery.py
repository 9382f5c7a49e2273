"""The effects the demo generator injects, as study B's analysis models estimate them.

`effects` runs the platform's study B analysis (prepare, the CK mixed models, the ordinal
grade models, and, when asked, the Bayesian grade model) on one simulated network and returns
each recovered effect's estimate and interval. The "true" value of each effect is not the
generator's raw coefficient (clipping, rounding, visit windows and selection change it): it is
the same model fitted once on a very large simulated cohort, recorded in
data/recovery_truth.json by

    python -m tests.studies.study_b.recovery write tests/studies/study_b/data/recovery_truth.json
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from imnm.demo import simulate_network
from imnm.stats.ordinal import cumulative_logit_mixed
from imnm.studies.base import STUDY_CONFIG_DIR
from imnm.studies.study_b.analyses import prepare
from imnm.studies.study_b.analyses.ck import follow_up_frame, univariable_models
from imnm.studies.study_b.analyses.ordinal import GRADE_MODELS, GRADE_TERMS, grade_frame
from imnm.studies.study_b.parameters import StudyBParameters, load_parameters
from tests.studies.study_b.network import study_b_inputs

TRUTH_FILE = Path(__file__).resolve().parent / "data" / "recovery_truth.json"
TRUTH_PATIENTS = 20_000
TRUTH_SEED = 777
# (effect, CK model outcome, predictor): the CK effects the generator injects.
CK_EFFECTS: tuple[tuple[str, str, str], ...] = (
    ("ck_female", "log_ck", "female"),
    ("ck_age_per_10y", "log_ck", "age_per_10y"),
    ("ck_prednisone_per_10mg", "log_ck", "prednisone_per_10mg"),
    ("ck_ivmp", "log_ck", "ivmp"),
)
# The early-IVIG strength gain: its interaction with the 6-month visit in the grade model of
# the moderate-severe subgroup.
GRADE_MODEL = next(m for m in GRADE_MODELS if m.name == "grade_early_ivig_moderate_severe")
GRADE_EFFECT = ("grade_early_ivig_x_month_6", "treatment_x_month_6")


@dataclass(frozen=True)
class Recovered:
    """One effect estimated on one cohort: estimate and interval, by which engine."""

    effect: str
    engine: str
    estimate: float
    ci_low: float
    ci_high: float


def effects(n_patients: int, seed: int, *, bayesian: bool = False) -> list[Recovered]:
    """Every injected effect estimated on a simulated network of `n_patients`."""
    params = load_parameters(STUDY_CONFIG_DIR / "study_b.toml")
    cohort, visits, _ = prepare(study_b_inputs(simulate_network(n_patients, seed)), params)
    out: list[Recovered] = []
    frame = follow_up_frame(cohort, visits)
    _, _, _, fits = univariable_models(frame, params)
    for effect, outcome, name in CK_EFFECTS:
        term = fits[(outcome, name)].terms.set_index("term").loc[name]
        out.append(Recovered(effect, "frequentist", float(term["estimate"]),
                             float(term["ci_low"]), float(term["ci_high"])))
    rows = grade_frame(GRADE_MODEL, cohort, visits)
    fit = cumulative_logit_mixed(rows, "grade", list(GRADE_TERMS), "patient_key",
                                 params.confidence, n_quadrature=10)
    term = fit.terms.set_index("term").loc[GRADE_EFFECT[1]]
    out.append(Recovered(GRADE_EFFECT[0], "frequentist", float(term["estimate"]),
                         float(term["ci_low"]), float(term["ci_high"])))
    if bayesian:
        out.append(_bayesian_grade_effect(rows, params))
    return out


def _bayesian_grade_effect(rows: pd.DataFrame, params: StudyBParameters) -> Recovered:
    from imnm.stats.bayes import fit_cumulative_logit_bayes
    from imnm.studies.study_b.analyses.bayesian import priors_of, sampling_of

    data = rows.assign(code=rows["grade"].astype(int))
    fit = fit_cumulative_logit_bayes(data, "code", list(GRADE_TERMS), "patient_key",
                                     priors_of(params), sampling_of(params))
    term = fit.summary(params.confidence).set_index("term").loc[GRADE_EFFECT[1]]
    return Recovered(GRADE_EFFECT[0], "bayesian", float(term["posterior_mean"]),
                     float(term["hdi_low"]), float(term["hdi_high"]))


def main(argv: list[str]) -> int:
    """`write OUT.json`: fit the models on a very large simulated cohort, record the truth."""
    if len(argv) != 2 or argv[0] != "write":
        print(__doc__)
        return 2
    started = time.perf_counter()
    truth = {r.effect: r.estimate for r in effects(TRUTH_PATIENTS, TRUTH_SEED)}
    Path(argv[1]).write_text(json.dumps(
        {"patients": TRUTH_PATIENTS, "seed": TRUTH_SEED, "effects": truth,
         "seconds": round(time.perf_counter() - started, 1)}, indent=1) + "\n",
        encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
