"""Live cross-check of imnm.stats.regression and imnm.stats.group_compare against R.

Seeded data sets go to `tests/stats/r/models_reference.R` (base R 4.2.2 `stats` only) and the
same rows through our functions; the test fails if they disagree:

* logistic ORs: `glm(binomial)` with `glm.control(epsilon = 1e-14)`, `confint.default`,
  `summary(glm)` Wald p, on a study-shaped set (binary outcome and exposure, a 0/1 covariate
  as booleans, a skewed continuous covariate with missing values) and a continuous-exposure set;
* straight-line trend: `lm` + `confint` and `cor.test`;
* continuous two-group tests: `shapiro.test`, `t.test` (Welch), `wilcox.test(exact = FALSE)`;
* 2x2 tables: `chisq.test(correct = FALSE)`, `fisher.test`, with large and small expected counts;
* the test chosen (R applies the same documented rule to its own Shapiro p / expected counts).

Tolerances. Closed-form statistics (lm, cor.test, t, W, X^2, expected counts, Fisher p) are
the same arithmetic in both languages and must agree to relative 1e-9 (R writes 17
significant digits; observed differences are at rounding level). Shapiro-Wilk p comes from
the same Royston (1995) algorithm in both: absolute 1e-7 (observed ~4e-9), far too small to
flip a choice at 0.05. Logistic fits are iterative: statsmodels stops Newton-Raphson at a
1e-12 step, R's IRLS at a 1e-14 relative deviance change (the deviance is flat at the optimum,
so the estimates are then settled only to ~1e-7) and R takes its standard errors from the
weights of the last IRLS step; observed CI differences are ~1e-8, so ORs and CIs get relative
1e-6 and p absolute 1e-6. Fisher's conditional MLE odds ratio
is found by R's ``uniroot`` with its default tolerance (~1e-4), so it gets relative 1e-4
(observed 2e-5).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imnm.stats import compare_binary, compare_continuous, linear_trend, logistic_odds_ratios
from tests.support.frames import two_groups, xy
from tests.support.rscript import run_r_script

R_DIR = Path(__file__).resolve().parent / "r"

REL_EXACT = 1e-9
REL_FIT = 1e-6
ABS_P_FIT = 1e-6
ABS_SHAPIRO = 1e-7
REL_FISHER_OR = 1e-4

LOGIT_SPECS = pd.DataFrame(
    [
        ("study_crude", "logit_study", "lvd", "high_score"),
        ("study_adjusted", "logit_study", "lvd", "high_score female log_ntprobnp"),
        ("study_skewed", "logit_study", "lvd", "high_score female ntprobnp"),
        ("continuous", "logit_cont", "event", "x w"),
    ],
    columns=["model", "dataset", "outcome", "terms"],
)

TABLES = pd.DataFrame(
    [
        ("large", 45, 120, 70, 130),
        ("very_large", 300, 1000, 340, 1000),
        ("boundary_5", 3, 20, 7, 20),  # smallest expected count exactly 5
        ("small", 2, 15, 7, 14),
        ("zero_cell", 0, 8, 5, 9),
        ("tiny", 1, 3, 2, 4),
    ],
    columns=["table_id", "yes_a", "n_a", "yes_b", "n_b"],
)


def _study(rng: np.random.Generator) -> pd.DataFrame:
    """Study-shaped: LVD on echo vs a high AI-ECG score, sex and a skewed NT-proBNP."""
    n = 260
    high = rng.random(n) < 0.35
    female = rng.random(n) < 0.55
    ntprobnp = np.round(rng.lognormal(mean=5.0, sigma=1.1, size=n), 1)
    lp = -2.2 + 1.1 * high + 0.4 * female + 0.45 * (np.log(ntprobnp) - 5.0)
    lvd = (rng.random(n) < 1.0 / (1.0 + np.exp(-lp))).astype(int)
    d = pd.DataFrame(
        {"lvd": lvd, "high_score": high, "female": female, "ntprobnp": ntprobnp},
    )
    d.loc[rng.choice(n, size=21, replace=False), "ntprobnp"] = np.nan
    d["high_score"] = d["high_score"].astype(object)
    d.loc[rng.choice(n, size=4, replace=False), "high_score"] = None
    d["log_ntprobnp"] = np.log(d["ntprobnp"])
    return d


def _logit_cont(rng: np.random.Generator) -> pd.DataFrame:
    n = 150
    x = rng.normal(60.0, 9.0, n)
    w = rng.uniform(0.0, 1.0, n)
    lp = -6.0 + 0.09 * x - 0.8 * w
    event = (rng.random(n) < 1.0 / (1.0 + np.exp(-lp))).astype(int)
    return pd.DataFrame({"event": event, "x": x, "w": w})


def _trend(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    x = rng.uniform(40, 80, 60)
    y = 1.5 + 0.12 * x + rng.normal(0, 2.0, 60)
    y[[4, 17]] = np.nan
    x[30] = np.nan
    rows.append(pd.DataFrame({"set": "strong", "x": x, "y": y}))
    x = np.arange(12, dtype=float)
    rows.append(pd.DataFrame({"set": "weak", "x": x, "y": rng.normal(0, 1, 12) + 0.05 * x}))
    x = rng.lognormal(2.0, 0.9, 40)
    rows.append(pd.DataFrame({"set": "skewed_x", "x": x, "y": np.log(x) + rng.normal(0, 0.5, 40)}))
    return pd.concat(rows, ignore_index=True)


def _continuous(rng: np.random.Generator) -> pd.DataFrame:
    def var(name: str, a: np.ndarray, b: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "variable": name,
                "group": ["a"] * a.size + ["b"] * b.size,
                "value": np.concatenate([a, b]),
            }
        )

    normal_a = rng.normal(62.0, 8.0, 48)
    normal_a[[3, 9]] = np.nan
    return pd.concat(
        [
            var("normal", normal_a, rng.normal(58.0, 9.0, 61)),
            var("skewed", rng.lognormal(5.0, 1.0, 40), rng.lognormal(5.4, 1.0, 35)),
            var("tied", rng.poisson(3.0, 50).astype(float), rng.poisson(4.0, 45).astype(float)),
            var("shifted_normal", rng.normal(1.0, 1.0, 25), rng.normal(1.8, 1.0, 22)),
            var("tiny_group", np.array([4.1, 5.3]), rng.normal(5.0, 1.0, 20)),
        ],
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(20240611)
    inputs = {
        "logit_specs": LOGIT_SPECS,
        "logit_study": _study(rng),
        "logit_cont": _logit_cont(rng),
        "trend": _trend(rng),
        "continuous": _continuous(rng),
        "tables": TABLES,
    }
    out = run_r_script(R_DIR / "models_reference.R", inputs, tmp_path_factory.mktemp("r_models"))
    return {**{f"in_{k}": v for k, v in inputs.items()}, **out}


def test_logistic_odds_ratios_match_glm(reference: dict[str, pd.DataFrame]) -> None:
    r = reference["logit"]
    assert set(r["model"]) == set(LOGIT_SPECS["model"])
    for spec in LOGIT_SPECS.itertuples():
        data = reference[f"in_{spec.dataset}"]
        terms = spec.terms.split()
        ours = logistic_odds_ratios(data, spec.outcome, terms[0], terms[1:])
        theirs = r[r["model"] == spec.model].reset_index(drop=True)
        assert [t.term for t in ours] == list(theirs["term"])
        for got, (_, want) in zip(ours, theirs.iterrows(), strict=True):
            assert got.n == want["n"] and got.n_events == want["n_events"], spec.model
            assert got.odds_ratio == pytest.approx(want["odds_ratio"], rel=REL_FIT)
            assert got.ci_low == pytest.approx(want["ci_low"], rel=REL_FIT)
            assert got.ci_high == pytest.approx(want["ci_high"], rel=REL_FIT)
            assert got.p_value == pytest.approx(want["p_value"], rel=REL_FIT, abs=ABS_P_FIT)


def test_study_model_drops_incomplete_rows(reference: dict[str, pd.DataFrame]) -> None:
    """The adjusted model loses the rows with a missing exposure or NT-proBNP, as R's na.omit."""
    study = reference["in_logit_study"]
    complete = study[["high_score", "ntprobnp"]].notna().all(axis=1)
    r = reference["logit"]
    assert int(r.loc[r["model"] == "study_crude", "n"].iloc[0]) == study["high_score"].notna().sum()
    assert int(r.loc[r["model"] == "study_adjusted", "n"].iloc[0]) == complete.sum()
    assert complete.sum() < len(study)


def test_linear_trend_matches_lm_and_cor_test(reference: dict[str, pd.DataFrame]) -> None:
    data, r = reference["in_trend"], reference["trend"]
    assert len(r) == data["set"].nunique()
    for _, want in r.iterrows():
        rows = data[data["set"] == want["set"]]
        got = linear_trend(xy(rows["x"], rows["y"]), "x", "y")
        assert got.n == want["n"]
        for field in ("slope", "slope_ci_low", "slope_ci_high", "intercept", "pearson_r"):
            assert getattr(got, field) == pytest.approx(want[field], rel=REL_EXACT), field
        assert got.p_value == pytest.approx(want["p_value"], rel=REL_EXACT)


def test_continuous_tests_and_choice_match_r(reference: dict[str, pd.DataFrame]) -> None:
    data, r = reference["in_continuous"], reference["continuous"]
    assert set(r["test"]) == {"welch_t", "mann_whitney"}  # both branches are exercised
    for _, want in r.iterrows():
        rows = data[data["variable"] == want["variable"]]
        a = rows.loc[rows["group"] == "a", "value"].to_numpy()
        b = rows.loc[rows["group"] == "b", "value"].to_numpy()
        got = compare_continuous(two_groups(a, b), "value", "group")
        assert got.test == want["test"], want["variable"]
        for ours, theirs in (
            (got.shapiro_p_a, want["shapiro_p_a"]),
            (got.shapiro_p_b, want["shapiro_p_b"]),
        ):
            if pd.isna(theirs):
                assert ours is None
            else:
                assert ours == pytest.approx(theirs, abs=ABS_SHAPIRO)
        if got.test == "welch_t":
            assert got.statistic == pytest.approx(want["welch_t"], rel=REL_EXACT)
            assert got.p_value == pytest.approx(want["welch_p"], rel=REL_EXACT)
        else:
            assert got.statistic == pytest.approx(want["wilcox_w"], rel=REL_EXACT)
            assert got.p_value == pytest.approx(want["wilcox_p"], rel=REL_EXACT)


def test_binary_tests_and_choice_match_r(reference: dict[str, pd.DataFrame]) -> None:
    r = reference["tables"]
    assert set(r["test"]) == {"chi_square", "fisher_exact"}
    for spec, (_, want) in zip(TABLES.itertuples(), r.iterrows(), strict=True):
        got = compare_binary(spec.yes_a, spec.n_a, spec.yes_b, spec.n_b)
        assert got.test == want["test"], spec.table_id
        assert got.min_expected == pytest.approx(want["min_expected"], rel=REL_EXACT)
        if got.test == "chi_square":
            assert got.statistic == pytest.approx(want["chi2"], rel=REL_EXACT)
            assert got.p_value == pytest.approx(want["chi2_p"], rel=REL_EXACT)
        else:
            assert got.p_value == pytest.approx(want["fisher_p"], rel=REL_EXACT)
            assert got.statistic == pytest.approx(want["fisher_or"], rel=REL_FISHER_OR)
