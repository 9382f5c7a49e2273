"""Study B recovers the effects the demo generator injects (female sex, age, the initial
prednisone dose and IVMP on CK; early IVIG on the 6-month hip-flexor gain of moderate-severe
patients), from several simulated networks, against the "true" values the same models give on
a very large simulated cohort (tests/studies/study_b/recovery.py, data/recovery_truth.json).

Each seed's cohort is the demo's size. Every effect's direction is recovered on most seeds
(the weakest effects are not significant on every 240-patient cohort), the mean estimate over
the seeds lies near the truth, and the 95 % intervals (frequentist CIs and the Bayesian
engine's HDIs) cover the truth at about the nominal rate.
"""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pytest

from tests.studies.study_b.recovery import TRUTH_FILE, Recovered, effects

# Six simulated networks and six Bayesian fits.
pytestmark = pytest.mark.slow

SEEDS = (101, 102, 103, 104, 105, 106)
PATIENTS = 240
# With 6 seeds x 6 effects = 36 intervals at 95 %, 31 or fewer covered has probability < 1 %.
MIN_COVERAGE = 32 / 36
# An effect's direction is recovered when the estimate has the truth's sign on at least this
# share of the seeds.
MIN_DIRECTION = 5 / 6


@pytest.fixture(scope="module")
def truth() -> dict[str, float]:
    return json.loads(TRUTH_FILE.read_text(encoding="utf-8"))["effects"]


@pytest.fixture(scope="module")
def recovered() -> list[Recovered]:
    return [r for seed in SEEDS for r in effects(PATIENTS, seed, bayesian=True)]


def test_every_effect_is_recovered_in_direction(truth: dict[str, float],
                                                recovered: list[Recovered]) -> None:
    by_effect: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in recovered:
        by_effect[(r.effect, r.engine)].append(r.estimate)
    assert {effect for effect, _ in by_effect} == set(truth)
    for (effect, engine), estimates in by_effect.items():
        same_sign = np.mean(np.sign(estimates) == np.sign(truth[effect]))
        assert same_sign >= MIN_DIRECTION, (effect, engine, estimates, truth[effect])
        # The mean over the seeds is within its own standard error (x 3) of the truth.
        spread = np.std(estimates, ddof=1) / np.sqrt(len(estimates))
        assert abs(np.mean(estimates) - truth[effect]) < 3 * spread + 1e-9, (
            effect, engine, np.mean(estimates), truth[effect])


def test_intervals_cover_the_truth_at_about_the_nominal_rate(
        truth: dict[str, float], recovered: list[Recovered]) -> None:
    covered = [r.ci_low <= truth[r.effect] <= r.ci_high for r in recovered]
    rate = float(np.mean(covered))
    print(f"coverage of the 95 % intervals: {sum(covered)}/{len(covered)} = {rate:.1%}")
    assert rate >= MIN_COVERAGE
    # Not trivially wide: no interval is more than 4 truth-sized effects wide.
    for r in recovered:
        assert r.ci_high - r.ci_low < 4 * max(abs(truth[r.effect]), 0.1), r
