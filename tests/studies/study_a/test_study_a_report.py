"""The study A report of a release: pure rendering on small hand-made tables, and the page
of a real warehouse file opened in headless Chromium, every number compared with the rows.

The warehouse is built with the migrations and filled with one plausible release: patients
drawn at random, the ROC table, Kaplan-Meier step table and trajectory regression computed
from them, the other tables written by hand, and the data-quality outcomes of its run.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from scipy import stats

from imnm.quality.checks import outcome_from_row
from imnm.releases import ReleaseInfo
from imnm.settings import DataPaths
from imnm.stats.diagnostic import (
    confusion_at_cutoff,
    odds_ratio_2x2,
    roc_auc_delong,
    roc_curve,
    youden_cutoff,
)
from imnm.studies.registry import get_study
from imnm.studies.report_data import StudyReportData
from imnm.studies.report_html import shown_value
from imnm.studies.study_a.report import (
    numbers_at_risk,
    render_report,
    row_key,
    yearly_times,
)
from imnm.studies.study_a.report.html import cell
from tests.quality.test_dq_report import Node, _chromium, rendered_dom
from tests.support.frames import scored
from tests.support.report_numbers import assert_numbers_match, release_rows
from warehouse.db import open_warehouse

RELEASE = "R20260301T020000Z-abcdef12"
RUN = "run-20260301-0200"
DEMO_MODEL = "ai-ecg-lvd-demo-20260101-0123abcd"
CUTOFF = 0.01
FIGURES = ("roc", "score_by_echo", "trajectory", "km")
EVIL = "<script>alert(1)</script>"
STUDY = get_study("study_a")
TABLE_NAMES = STUDY.table_names


# --- hand-made tables ---------------------------------------------------------------------

def _release(model_version: str = DEMO_MODEL, **sites: Any) -> ReleaseInfo:
    return ReleaseInfo(RELEASE, datetime(2026, 3, 1, 2), RUN, "0.4.0", model_version,
                       tuple(sites.get("included", ("northgate",))),
                       sites.get("held_back", {}))


def _small_tables() -> dict[str, tuple[dict[str, Any], ...] | None]:
    patients = tuple({"patient_key": f"P{i:02d}", "p_lvd": p, "echo_lvd_flag": flag,
                      "model_predicts_lvd": p > CUTOFF}
                     for i, (p, flag) in enumerate([(0.002, False), (0.004, False),
                                                    (0.03, True), (0.2, True), (0.008, None)]))
    km = tuple({"model_group": g, "time_years": t, "n_at_risk": n, "n_events": d,
                "n_censored": c, "survival": s, "ci_low": None, "ci_high": None}
               for g, t, n, d, c, s in [("predicts_lvd", 0.5, 3, 1, 0, 2 / 3),
                                        ("predicts_lvd", 2.5, 2, 0, 2, 2 / 3),
                                        ("predicts_no_lvd", 1.0, 2, 0, 1, 1.0),
                                        ("predicts_no_lvd", 3.2, 1, 1, 0, 0.0)])
    return {
        "accuracy": ({"cutoff_rule": "configured", "cutoff": CUTOFF, "n_patients": 4,
                      "n_lvd": 2, "auc": 1.0, "auc_ci_low": None, "auc_ci_high": None,
                      "auc_method": "DeLong", "sensitivity": 1.0, "specificity": 1.0,
                      "odds_ratio": None},),
        "roc_curve": tuple({"point": i, "threshold": t, "sensitivity": se, "specificity": sp}
                           for i, (t, se, sp) in enumerate([(-1.0, 1.0, 0.0), (0.004, 1.0, 1.0),
                                                            (0.2, 0.0, 1.0)])),
        "score_by_echo": ({"echo_group": "lvd", "n_patients": 2, "p_lvd_median": 0.115,
                           "p_lvd_q1": 0.0725, "p_lvd_q3": 0.1575, "mann_whitney_u": 4.0,
                           "mann_whitney_p": 0.2453},),
        "patients": patients,
        "table1": ({"row_order": 1, "variable": EVIL, "level": "a&b", "summary": "n_percent",
                    "n_available": 5, "overall": "3 (60%)", "predicted_no_lvd": "1 (33%)",
                    "predicted_lvd": "2 (100%)", "p_value": 0.0004, "test": "Fisher exact",
                    "test_reason": "smallest expected count 1.2 < 5"},),
        "km": km,
        "cox": (),
    }


def _data(tables: dict[str, Any], **kwargs: Any) -> StudyReportData:
    release = kwargs.pop("release", _release())
    return StudyReportData("study_a", release, kwargs.pop("parameters", {"cutoff": CUTOFF}),
                           {name: tables.get(name) for name in TABLE_NAMES}, **kwargs)


# --- pure rendering -----------------------------------------------------------------------

def test_numbers_at_risk_come_from_the_step_table() -> None:
    km = _small_tables()["km"]
    times = yearly_times(km)
    assert times == (0.0, 1.0, 2.0, 3.0)
    # predicts_lvd: 3 start; event at 0.5 leaves 2 at 1 and 2; both censored at 2.5: none at 3.
    # predicts_no_lvd: 2 start; one censored at 1.0 (still at risk at 1.0), 1 left at 2 and 3.
    assert numbers_at_risk(km, times) == {"predicts_lvd": (3, 2, 2, 0),
                                          "predicts_no_lvd": (2, 2, 1, 1)}
    assert yearly_times(()) == ()


def test_numbers_are_tagged_with_their_exact_value_and_shown_rounded() -> None:
    row = {"cutoff_rule": "youden", "sensitivity": 0.81833333333333, "p": 3.2e-7, "n": 12,
           "missing": None}
    html = str(cell("accuracy", row, "sensitivity", "pct", 1))
    assert 'data-value="0.81833333333333"' in html and ">81.8%<" in html
    assert 'data-row="youden"' in html and 'data-column="sensitivity"' in html
    assert ">&lt;0.001<" in str(cell("accuracy", row, "p", "p"))
    assert ">12<" in str(cell("accuracy", row, "n", "int"))
    missing = str(cell("accuracy", row, "missing"))
    assert 'data-value=""' in missing and ">n/a<" in missing
    assert shown_value(float("inf")) == "∞" and shown_value(True, "int") == "yes"
    assert row_key("km", {"model_group": "predicts_lvd", "time_years": 0.1}) == (
        "predicts_lvd|0.1")


def test_report_escapes_every_value_and_names_a_demo_model() -> None:
    release = _release(included=("a&b",), held_back={EVIL: ("check<1>",)})
    outcome = outcome_from_row(("staging", EVIL, "labs", "labs", "check<1>", "expect_x",
                                "value", "plausibility", "blocking", 0.05, 10, 2, False))
    html = render_report(_data(_small_tables(), release=release, outcomes=(outcome,),
                               parameters={"cutoff": CUTOFF, "note": EVIL}))
    assert "<script>" not in html and html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3
    assert "a&amp;b" in html and "check&lt;1&gt;" in html
    assert 'id="synthetic-notice"' in html and "Nothing clinical is claimed" in html
    real = _release("ai-ecg-lvd-20260101-0123abcd")
    assert "synthetic-notice" not in render_report(_data(_small_tables(), release=real))
    carded = render_report(_data(_small_tables(), release=real, model_card_synthetic=True))
    assert "synthetic-notice" in carded


def test_analyses_that_did_not_run_are_named_not_computed() -> None:
    html = render_report(_data(_small_tables()))
    # no Cox rows in this release; no trajectory, logistic, log-rank tables in this file
    assert re.search(r'data-missing="cox">Not computed: results.study_a_cox_history has no '
                     r"rows for this release", html)
    for section in ("trajectory", "logistic", "logrank", "attrition", "early_detection"):
        assert f'data-missing="{section}"' in html, section
    assert 'data-figure="trajectory"' not in html
    for figure in ("roc", "score_by_echo", "km"):
        assert f'data-figure="{figure}"' in html, figure
    empty = render_report(_data({}))
    assert all(f'data-figure="{f}"' not in empty for f in FIGURES)
    assert empty.count('class="not-computed"') >= 12


def test_figures_are_inline_svg_without_urls_and_repeatable() -> None:
    html = render_report(_data(_small_tables()))
    assert html == render_report(_data(_small_tables()))  # generated_at unset: same bytes
    assert "<script" not in html and "http" not in html and "<?xml" not in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "element ids repeat across figures"
    assert 'id="score_by_echo-points-lvd"' in html and 'id="km-km-predicts_lvd"' in html


# --- a warehouse with one release ---------------------------------------------------------

@dataclass(frozen=True)
class Release:
    paths: DataPaths
    warehouse: Path
    release_id: str


def _km_steps(times: np.ndarray, died: np.ndarray) -> list[tuple[float, int, int, int, float]]:
    """(time, at risk, events, censored, survival) at every distinct follow-up time."""
    steps, survival = [], 1.0
    for t in np.unique(times):
        at_risk = int((times >= t).sum())
        events = int(((times == t) & died).sum())
        survival *= 1.0 - events / at_risk
        steps.append((float(t), at_risk, events, int(((times == t) & ~died).sum()), survival))
    return steps


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    con.executemany(f"INSERT INTO results.{table} ({', '.join(columns)}) VALUES "
                    f"({', '.join('?' for _ in columns)})",
                    [[row[c] for c in columns] for row in rows])


def _patients(rng: np.random.Generator, n: int = 60) -> list[dict[str, Any]]:
    lvd = rng.random(n) < 0.35
    p_lvd = np.clip(np.exp(rng.normal(np.where(lvd, -3.3, -4.8), 1.1)), 1e-4, 0.95)
    has_echo = rng.random(n) < 0.8
    followup = np.round(rng.uniform(0.2, 8.0, n), 2)
    died = rng.random(n) < np.where(p_lvd > CUTOFF, 0.45, 0.15)
    return [{"patient_key": f"P{i:020d}", "site": "northgate" if i % 2 else "southport",
             "ecg_id": f"E{i:04d}", "model_version": DEMO_MODEL, "p_lvd": float(p_lvd[i]),
             "model_predicts_lvd": bool(p_lvd[i] > CUTOFF),
             "echo_lvd_flag": bool(lvd[i]) if has_echo[i] else None,
             "followup_years": float(followup[i]), "died": bool(died[i]),
             "age_at_diagnosis": float(np.round(rng.normal(62, 12), 1))} for i in range(n)]


def _accuracy(patients: list[dict[str, Any]], rule: str, cutoff: float) -> dict[str, Any]:
    echo = [p for p in patients if p["echo_lvd_flag"] is not None]
    lvd = np.array([p["echo_lvd_flag"] for p in echo])
    score = np.array([p["p_lvd"] for p in echo])
    auc = roc_auc_delong(scored(lvd, score), "lvd", "score")
    c = confusion_at_cutoff(scored(lvd, score), "lvd", "score", cutoff)
    odds = odds_ratio_2x2(c.tp, c.fp, c.fn, c.tn)
    row = {"release_id": RELEASE, "label": "echo_lvd_flag", "cutoff_rule": rule,
           "cutoff": cutoff, "n_patients": len(echo), "n_lvd": int(lvd.sum()), "auc": auc.auc,
           "auc_ci_low": auc.ci_low, "auc_ci_high": auc.ci_high, "auc_method": auc.method,
           "true_positive": c.tp, "false_positive": c.fp, "false_negative": c.fn,
           "true_negative": c.tn, "odds_ratio": odds.odds_ratio,
           "odds_ratio_ci_low": odds.ci_low, "odds_ratio_ci_high": odds.ci_high,
           "odds_ratio_p_fisher": odds.fisher_p_value, "odds_ratio_p_value": 0.0031,
           "odds_ratio_haldane_corrected": odds.corrected,
           "youden_cutoff": youden_cutoff(roc_curve(scored(lvd, score), "lvd", "score"))}
    for name in ("sensitivity", "specificity", "ppv", "npv"):
        proportion = getattr(c, name)
        row.update({name: proportion.estimate, f"{name}_ci_low": proportion.ci_low,
                    f"{name}_ci_high": proportion.ci_high})
    return row


def _serial_ecgs(rng: np.random.Generator) -> list[dict[str, Any]]:
    rows = []
    for i in range(14):
        for j, years in enumerate(np.sort(rng.uniform(-6, 8, 5))):
            phase = "before_treatment" if years < 0 else "on_treatment"
            p = float(np.clip(np.exp(rng.normal(-3.6 - 0.08 * years, 0.9)), 1e-4, 0.9))
            rows.append({"release_id": RELEASE, "patient_key": f"P{i:020d}",
                         "ecg_id": f"S{i:03d}-{j}", "years_from_treatment_onset": float(years),
                         "phase": phase, "p_lvd": p})
    return rows


def _fill_release(con: duckdb.DuckDBPyConnection) -> None:
    rng = np.random.default_rng(11)
    patients = _patients(rng)
    _insert(con, "study_a_patients_history", [{"release_id": RELEASE, **p} for p in patients])
    configured = _accuracy(patients, "configured", CUTOFF)
    _insert(con, "study_a_accuracy_history",
            [configured, _accuracy(patients, "youden", configured["youden_cutoff"])])
    echo = [p for p in patients if p["echo_lvd_flag"] is not None]
    curve = roc_curve(scored([p["echo_lvd_flag"] for p in echo], [p["p_lvd"] for p in echo]),
                      "lvd", "score")
    _insert(con, "study_a_roc_curve_history", [
        {"release_id": RELEASE, "point": i, "threshold": max(float(t), -1.0),
         "sensitivity": float(se), "specificity": float(sp)}
        for i, (t, se, sp) in enumerate(zip(curve.thresholds, curve.sensitivity,
                                            curve.specificity, strict=True))])
    groups = {g: [p["p_lvd"] for p in echo if p["echo_lvd_flag"] == (g == "lvd")]
              for g in ("lvd", "no_lvd")}
    test = stats.mannwhitneyu(groups["lvd"], groups["no_lvd"])
    _insert(con, "study_a_score_by_echo_history", [
        {"release_id": RELEASE, "echo_group": g, "n_patients": len(v),
         "p_lvd_median": float(np.median(v)), "p_lvd_q1": float(np.quantile(v, 0.25)),
         "p_lvd_q3": float(np.quantile(v, 0.75)), "mann_whitney_u": float(test.statistic),
         "mann_whitney_p": float(test.pvalue)} for g, v in groups.items()])
    _insert(con, "study_a_attrition_history", [
        {"release_id": RELEASE, "step": s, "analysis": a, "rule": r, "n_before": b,
         "n_removed": d, "n_remaining": b - d}
        for s, a, r, b, d in [(1, "cohort", "IMNM diagnosis", 71, 0),
                              (2, "cohort", "scored ECG within 365 days of onset", 71, 11),
                              (3, "accuracy", "echo within 365 days of onset", 60, 12),
                              (4, "survival", "follow-up > 0", 60, 0)]])
    _insert(con, "study_a_logistic_history", [
        {"release_id": RELEASE, "model": m, "term": t, "odds_ratio": o, "ci_low": lo,
         "ci_high": hi, "p_value": p, "n_patients": n, "n_lvd": k}
        for m, t, o, lo, hi, p, n, k in [
            ("univariable", "model_predicts_lvd", 5.82, 1.71, 19.8, 0.00482, 48, 17),
            ("adjusted", "model_predicts_lvd", 4.9, 1.3, 18.46, 0.0187, 41, 15),
            ("adjusted", "seropositive", 1.21, 0.33, 4.4, 0.77, 41, 15),
            ("adjusted", "ascvd_10y_risk_percent", 1.012, 0.97, 1.056, 0.581, 41, 15)]])
    _insert(con, "study_a_table1_history", [
        {"release_id": RELEASE, "row_order": i, "variable": v, "level": lv, "summary": s,
         "n_available": n, "overall": o, "predicted_no_lvd": a, "predicted_lvd": b,
         "p_value": p, "test": t, "test_reason": r}
        for i, (v, lv, s, n, o, a, b, p, t, r) in enumerate([
            ("patients", None, "count", 60, "60", "31", "29", None, None, None),
            ("age_at_diagnosis", None, "mean_sd", 60, "61.8 ± 11.9", "59.9 ± 12.4",
             "63.8 ± 11.2", 0.2093, "Welch t-test", "Shapiro-Wilk p 0.41 and 0.63 >= 0.05"),
            ("serotype", "anti-HMGCR", "n_percent", 52, "29 (56%)", "17 (61%)", "12 (50%)",
             0.4312, "chi-square", "smallest expected count 10.6 >= 5"),
            ("ascvd_10y_risk_percent", None, "median_iqr", 38, "11.2 (4.1-22.8)",
             "8.0 (3.2-17.1)", "14.6 (6.0-24.9)", 0.0614, "Mann-Whitney U",
             "Shapiro-Wilk p 0.002 < 0.05"),
            ("hypertension", None, "n_percent", 60, "27 (45%)", "11 (35%)", "16 (55%)",
             0.1195, "Fisher exact", "smallest expected count 4.4 < 5")], start=1)])
    _insert(con, "study_a_early_detection_history", [
        {"release_id": RELEASE, "model_group": g, "n_patients": n, "n_later_lvd": a,
         "n_cardiorespiratory_death": b, "n_later_lvd_or_death": c, "window_years": 5.0}
        for g, n, a, b, c in [("predicts_lvd", 9, 3, 1, 4), ("predicts_no_lvd", 17, 1, 0, 1)]])
    serial = _serial_ecgs(rng)
    _insert(con, "study_a_serial_ecgs_history", serial)
    x = np.array([r["years_from_treatment_onset"] for r in serial])
    y = np.array([r["p_lvd"] for r in serial]) * 100
    fit = stats.linregress(x, y)
    _insert(con, "study_a_trajectory_history", [
        {"release_id": RELEASE, "n_patients": 14, "n_ecgs": len(serial),
         "slope_percent_per_year": float(fit.slope),
         "slope_ci_low": float(fit.slope - 1.96 * fit.stderr),
         "slope_ci_high": float(fit.slope + 1.96 * fit.stderr),
         "intercept_percent": float(fit.intercept), "pearson_r": float(fit.rvalue),
         "p_value": float(fit.pvalue), "median_patient_slope": float(fit.slope) * 1.1,
         "window_years": 10.0}])
    _insert(con, "study_a_trajectory_phases_history", [
        {"release_id": RELEASE, "phase": phase,
         "n_patients": len({r["patient_key"] for r in serial if r["phase"] == phase}),
         "n_ecgs": int(sum(r["phase"] == phase for r in serial)),
         "mean_p_lvd_percent": float(y[mask].mean()),
         "sd_p_lvd_percent": float(y[mask].std(ddof=1)),
         "median_p_lvd_percent": float(np.median(y[mask]))}
        for phase in ("before_treatment", "on_treatment")
        for mask in [np.array([r["phase"] == phase for r in serial])]])
    _insert(con, "study_a_cox_history", [
        {"release_id": RELEASE, "model": m, "term": t, "hazard_ratio": h, "ci_low": lo,
         "ci_high": hi, "p_value": p, "n_patients": 60, "n_events": 17, "ph_chi2": c,
         "ph_p_value": pp, "ph_global_p_value": g}
        for m, t, h, lo, hi, p, c, pp, g in [
            ("unadjusted", "p_lvd_above_cutoff", 3.41, 1.2, 9.69, 0.0213, 0.41, 0.522, 0.522),
            ("adjusted_age", "p_lvd_above_cutoff", 3.2, 1.12, 9.15, 0.0299, 0.38, 0.538, 0.04),
            ("adjusted_age", "age_at_diagnosis", 1.031, 0.99, 1.07, 0.121, 4.2, 0.0404, 0.04),
            ("adjusted_ascvd", "p_lvd_above_cutoff", 2.71, 0.83, 8.86, 0.0987, None, None,
             None)]])
    km_rows = []
    for group, predicts in (("predicts_lvd", True), ("predicts_no_lvd", False)):
        members = [p for p in patients if p["model_predicts_lvd"] == predicts]
        for t, at_risk, events, censored, survival in _km_steps(
                np.array([p["followup_years"] for p in members]),
                np.array([p["died"] for p in members])):
            km_rows.append({"release_id": RELEASE, "model_group": group, "time_years": t,
                            "n_at_risk": at_risk, "n_events": events, "n_censored": censored,
                            "survival": survival, "ci_low": max(survival - 0.2, 0.0),
                            "ci_high": min(survival + 0.1, 1.0)})
    _insert(con, "study_a_km_history", km_rows)
    _insert(con, "study_a_logrank_history", [
        {"release_id": RELEASE, "n_patients": 60, "n_events": sum(p["died"] for p in patients),
         "chi2": 5.93, "df": 1, "p_value": 0.01488}])


def _fill_audit(con: duckdb.DuckDBPyConnection) -> None:
    rows = []
    for site, failures in (("northgate", ()), ("southport", ("labs_value_in_range",)),
                           ("lakeside", ("patients_local_id_present", "labs_value_in_range"))):
        for check, severity in (("patients_local_id_present", "blocking"),
                                ("labs_value_in_range", "warning"),
                                ("ecgs_date_not_future", "blocking")):
            failed = check in failures
            rows.append((RUN, "staging", site, "patients", "patients", check, "expect_x", None,
                         "completeness", severity, 0.0, 40, 3 if failed else 0, not failed))
    con.executemany(
        "INSERT INTO audit.validation_results (run_id, layer, site, record_kind, suite, "
        "check_name, expectation_type, column_name, category, severity, threshold, "
        "rows_tested, rows_failed, passed, validated_at) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, TIMESTAMP '2026-03-01 01:50:00')", rows)
    con.execute(
        "INSERT INTO results.releases (release_id, published_at, run_id, code_version, "
        "model_version, analysis_parameters, input_fingerprint, row_counts, sites) "
        "VALUES (?, TIMESTAMP '2026-03-01 02:00:00', ?, '0.4.0', ?, ?, 'fingerprint', '{}', ?)",
        [RELEASE, RUN, DEMO_MODEL,
         json.dumps({"study_a": {"cutoff": CUTOFF, "ecg_window_days": 365,
                                 "confidence": 0.95}}),
         json.dumps({"included": ["northgate", "southport"],
                     "held_back": {"lakeside": ["patients_local_id_present"]}})])


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    """A migrated warehouse with one release, and a copy of it as the published file."""
    paths = DataPaths(tmp_path_factory.mktemp("study-a-data"))
    with open_warehouse(paths.warehouse) as con:
        _fill_release(con)
        _fill_audit(con)
    shutil.copyfile(paths.warehouse, paths.results)
    return Release(paths, paths.warehouse, RELEASE)


@pytest.fixture(scope="module")
def page(release: Release, tmp_path_factory: pytest.TempPathFactory) -> tuple[Node, str]:
    from imnm.studies.reports import write_study_report

    report = write_study_report(release.paths, STUDY, release.release_id,
                                source=release.warehouse)
    assert report.html == release.paths.release_reports(RELEASE) / "study-a.html"
    assert report.written and report.not_computed == () and report.synthetic
    return rendered_dom(_chromium(), report.html, tmp_path_factory.mktemp("chromium-profile"))


# --- the page in a browser ----------------------------------------------------------------

def test_report_shows_four_svg_figures_in_chromium(release: Release,
                                                   page: tuple[Node, str]) -> None:
    dom, source = page
    assert "<script" not in source and "http://" not in source and "https://" not in source
    for name in FIGURES:
        (figure,) = dom.find_all(tag="figure", data_figure=name)
        (svg,) = [n for n in figure.walk() if n.tag == "svg"]
        assert len([n for n in svg.walk() if n.tag == "path"]) >= 8, name
        assert len([n for n in svg.walk() if n.tag == "text"]) >= 8, name  # axes and legend
    with duckdb.connect(str(release.warehouse), read_only=True) as con:
        by_echo = dict(con.execute(
            "SELECT echo_lvd_flag, count(*) FROM results.study_a_patients_history WHERE "
            "release_id = ? AND echo_lvd_flag IS NOT NULL GROUP BY ALL", [RELEASE]).fetchall())
        by_phase = dict(con.execute(
            "SELECT phase, count(*) FROM results.study_a_serial_ecgs_history WHERE "
            "release_id = ? GROUP BY ALL", [RELEASE]).fetchall())
    # one marker per patient / ECG in each series
    for series, expected in (("score_by_echo-points-lvd", by_echo[True]),
                             ("score_by_echo-points-no_lvd", by_echo[False]),
                             ("trajectory-points-before_treatment", by_phase["before_treatment"]),
                             ("trajectory-points-on_treatment", by_phase["on_treatment"])):
        (group,) = dom.find_all(tag="g", id=series)
        assert len([n for n in group.walk() if n.tag == "use"]) == expected, series
    for series in ("roc-roc-curve", "roc-roc-configured", "roc-roc-youden", "km-km-predicts_lvd",
                   "km-km-predicts_no_lvd", "trajectory-regression",
                   "trajectory-mean-before_treatment", "trajectory-mean-on_treatment"):
        assert dom.find_all(tag="g", id=series), series


def _assert_numbers_match(dom: Node, database: Path, release_id: str) -> int:
    """Every tagged value on the page equals its row in `database`; returns how many."""
    tables = release_rows(database, "study_a", TABLE_NAMES, release_id, row_key)
    seen = assert_numbers_match(dom, tables)
    # every row of the tables the report lists is on the page
    for table in ("attrition", "accuracy", "score_by_echo", "logistic", "table1",
                  "early_detection", "trajectory", "trajectory_phases", "cox", "logrank"):
        assert {(table, key) for key in tables[table]} <= seen, table
    return len(dom.find_all(data_table=None))


def test_every_number_shown_equals_its_table_row(release: Release,
                                                 page: tuple[Node, str]) -> None:
    dom, _ = page
    assert _assert_numbers_match(dom, release.warehouse, RELEASE) > 250


def test_numbers_at_risk_equal_patients_followed_that_long(release: Release,
                                                           page: tuple[Node, str]) -> None:
    dom, _ = page
    cells = dom.find_all(data_derived="km_at_risk")
    assert cells
    with duckdb.connect(str(release.warehouse), read_only=True) as con:
        last = con.execute("SELECT max(followup_years) FROM results.study_a_patients_history "
                           "WHERE release_id = ?", [RELEASE]).fetchone()[0]
        assert {float(c.attrs["data_time"]) for c in cells} == set(
            map(float, range(math.floor(last) + 1)))
        for node in cells:
            (expected,) = con.execute(
                "SELECT count(*) FROM results.study_a_patients_history WHERE release_id = ? "
                "AND model_predicts_lvd = (? = 'predicts_lvd') AND followup_years >= ?",
                [RELEASE, node.attrs["data_group"], float(node.attrs["data_time"])]).fetchone()
            assert int(node.text()) == expected, node.attrs


def test_header_and_input_data_quality_match_the_release(release: Release,
                                                         page: tuple[Node, str]) -> None:
    dom, _ = page
    with duckdb.connect(str(release.warehouse), read_only=True) as con:
        rid, published, code, model, parameters = con.execute(
            "SELECT release_id, published_at, code_version, model_version, analysis_parameters "
            "FROM results.releases WHERE release_id = ?", [RELEASE]).fetchone()
        counts = con.execute(
            "SELECT site, count(*), count(*) FILTER (WHERE passed), "
            "count(*) FILTER (WHERE NOT passed), "
            "count(*) FILTER (WHERE NOT passed AND severity = 'blocking') "
            "FROM audit.check_history WHERE release_id = ? GROUP BY site", [RELEASE]).fetchall()
        blocking = con.execute(
            "SELECT site, check_name FROM audit.check_history WHERE release_id = ? AND NOT "
            "passed AND severity = 'blocking' ORDER BY ALL", [RELEASE]).fetchall()
    fields = {n.attrs["data_field"]: n.text() for n in dom.find_all(data_field=None)}
    assert (fields["release_id"], fields["code_version"], fields["model_version"]) == (
        rid, code, model)
    assert fields["published_at"] == f"{published} UTC"
    assert {n.attrs["data_parameter"]: json.loads(n.text())
            for n in dom.find_all(data_parameter=None)} == json.loads(parameters)["study_a"]
    (notice,) = dom.find_all(id="synthetic-notice")
    assert "nothing clinical" in notice.text().lower()
    shown = {(n.attrs["data_site"], n.attrs["data_metric"]): int(n.text())
             for n in dom.find_all(data_derived="dq_sites")}
    for site, run, passed, failed, blocked in counts:
        assert (shown[(site, "checks_run")], shown[(site, "checks_passed")],
                shown[(site, "checks_failed")], shown[(site, "blocking_failed")]) == (
            run, passed, failed, blocked), site
    (held,) = dom.find_all(tag="tr", data_held_back="true")
    assert held.attrs["data_site"] == "lakeside"
    assert sorted((n.attrs["data_site"], n.attrs["data_check"])
                  for n in dom.find_all(tag="tr", data_check=None)) == blocking
    (link,) = dom.find_all(tag="a", data_link="dq-report")
    assert link.attrs["href"] == "dq-report.html"


def test_cli_writes_a_missing_report_once_and_prints_its_path(
        release: Release, capsys: pytest.CaptureFixture[str]) -> None:
    from imnm.cli import main

    data_dir = str(release.paths.root)
    target = release.paths.release_reports(RELEASE) / "study-a.html"
    target.unlink(missing_ok=True)
    assert main(["report", "--no-open", "--study", "a", "--data-dir", data_dir]) == 0
    assert capsys.readouterr().out.strip() == str(target)
    written = target.stat().st_mtime_ns
    assert 'data-figure="km"' in target.read_text(encoding="utf-8")
    assert main(["report", "--no-open", "--study", "study_a", "--release", RELEASE,
                 "--data-dir", data_dir]) == 0
    assert capsys.readouterr().out.strip() == str(target)
    assert target.stat().st_mtime_ns == written  # kept, not rewritten
    assert main(["report", "--no-open", "--release", "R-none", "--data-dir", data_dir]) == 2
    assert "no release 'R-none'" in capsys.readouterr().err


def test_prefect_task_writes_the_report_from_the_warehouse(prefect_harness: None,
                                                           release: Release) -> None:
    from datetime import date

    from prefect import flow

    from imnm.refresh.context import RunContext
    from tasks.study_reports import study_reports_task

    ctx = RunContext("run-report", date(2026, 3, 1), release.paths, (), {})
    target = release.paths.release_reports(RELEASE) / "study-a.html"
    target.unlink(missing_ok=True)

    @flow(name="study reports only")
    def report_only() -> Any:
        return study_reports_task(ctx, RELEASE)

    reports = {r.html.name: r for r in report_only()}
    report = reports["study-a.html"]
    assert report.html == target and report.written and report.not_computed == ()
    assert target.read_text(encoding="utf-8").count("<figure data-figure=") == 4


# --- a real refresh -----------------------------------------------------------------------

def test_report_of_a_refreshed_demo_network_matches_its_published_file(
        demo_network: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    from imnm.studies.reports import write_study_report

    paths = demo_network.paths
    report = write_study_report(paths, STUDY)  # the latest release, read from published.duckdb
    assert report.release_id == demo_network.release_id and report.synthetic
    assert report.html == paths.release_reports(report.release_id) / "study-a.html"
    dom, source = rendered_dom(_chromium(), report.html,
                               tmp_path_factory.mktemp("chromium-profile"))
    assert "<script" not in source and "http" not in source
    assert dom.find_all(id="synthetic-notice")
    for name in FIGURES:
        (figure,) = dom.find_all(tag="figure", data_figure=name)
        assert [n for n in figure.walk() if n.tag == "svg"], name
    assert _assert_numbers_match(dom, paths.results, report.release_id) > 100
