"""The truth the demo network carries for study B, recovered from what it delivers.

Study B's analyses are tested against the generator (`imnm/demo/cohort_study_b.py`,
`imnm/demo/cohort_clinical.py`): a patient-level CK random effect, follow-up visits and
covariates missing at random, biopsy-only people whose records are unavailable, and a faster
prednisone taper after early IVIG. Bands are for 2 000 simulated patients. The new draws come
from streams of their own, so the records study A reads (and every defect drawn on them) are
what they were before; the last tests here check that directly.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from imnm.demo import DefectPlan, simulate_network, write_site_extracts
from imnm.demo import cohort as cohort_module
from imnm.demo.cohort import FIRST_ONSET, Network
from imnm.demo.cohort_clinical import CK_PATIENT_SD, HISTOLOGY
from imnm.demo.cohort_study_b import StudyBDraws, follow_up_missing_probability
from imnm.demo.defects import align_rows
from imnm.demo.tables import SiteTable
from imnm.harmonize.rules import NECROTIZING_PATTERN
from imnm.pseudonym import pseudonymize
from tests.conftest import DEMO_PATIENTS, DEMO_SEED, TEST_PSEUDONYM_KEY, DemoNetwork

SEED = 20260101
NECROTIZING = re.compile(NECROTIZING_PATTERN)
# The record kinds a patient has besides the biopsy (patients also stand for diagnoses and
# outcomes, which are delivered from the same records).
OTHER_KINDS = ("patients", "serology", "treatments", "labs", "vitals", "strength", "echos",
               "ecgs")
# Delivered files study B's gaps and the biopsy-only people touch; every other file, and every
# defect in it, must be byte for byte what it would be without them.
THINNED_KINDS = ("labs", "strength", "treatments", "biopsies")


@pytest.fixture(scope="module")
def network() -> Network:
    return simulate_network(2000, seed=SEED)


def _ck_by_patient(network: Network) -> dict[tuple[str, str], dict[str, float]]:
    ck: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for lab in network.labs:
        if lab.analyte == "ck":
            ck[(lab.site, lab.local_id)][lab.visit] = lab.value
    return ck


# --- the CK random effect ------------------------------------------------------------------


def test_the_ck_random_effect_is_kept_in_the_latent_state(network: Network) -> None:
    deviations = np.array([p.latent.ck_patient_deviation for p in network.patients])
    assert abs(deviations.mean()) < 0.04
    assert abs(deviations.std() - CK_PATIENT_SD) < 0.03


def test_a_variance_components_estimate_recovers_the_ck_random_effect(
        network: Network) -> None:
    """Residual log-CK falls at 3 and 6 months, after the fixed effects, share a patient part
    whose variance (their covariance) is the random effect's; each visit keeps its spread."""
    ck = _ck_by_patient(network)
    design, fall_3, fall_6, truth = [], [], [], []
    for p in network.patients:
        visits = ck.get((p.site, p.local_id), {})
        # Above 3 000 U/L at baseline the 20 U/L floor of the 6-month CK almost never bites.
        if not {"baseline", "month_3", "month_6"} <= set(visits) or visits["baseline"] < 3000:
            continue
        latent = p.latent
        design.append([1.0, latent.ivmp, latent.initial_prednisone_mg, p.sex == "female",
                       p.age_at_diagnosis, latent.csdmard, latent.early_ivig])
        fall_3.append(np.log(visits["month_3"] / visits["baseline"]))
        fall_6.append(np.log(visits["month_6"] / visits["baseline"]))
        truth.append(latent.ck_patient_deviation)
    x = np.array(design, dtype=float)
    assert len(x) > 1000
    residuals = []
    for y in (np.array(fall_3), np.array(fall_6)):
        beta, *_ = np.linalg.lstsq(x, y, rcond=None)
        residuals.append(y - x @ beta)
    r3, r6 = residuals
    between = float(np.cov(r3, r6)[0, 1])
    assert abs(np.sqrt(max(between, 0.0)) - CK_PATIENT_SD) < 0.07, between
    assert abs(r3.std() - 0.6) < 0.05 and abs(r6.std() - 0.7) < 0.05
    assert np.corrcoef((r3 + r6) / 2, truth)[0, 1] > 0.75


# --- biopsy-only people (records unavailable) -----------------------------------------------


def test_every_biopsy_report_names_necrotizing_myopathy() -> None:
    """Study B starts from necrotizing histology, so the alternative diagnoses must be found
    among such reports: the harmonizer's own pattern flags every text."""
    for diagnosis, texts in HISTOLOGY.items():
        assert all(NECROTIZING.search(text) for text in texts), diagnosis


def test_biopsy_only_people_are_about_an_eighth_of_the_necrotizing_reports(
        network: Network) -> None:
    necrotizing = [b for b in network.biopsies if NECROTIZING.search(b.histology_text)]
    unavailable = network.records_unavailable
    assert 0.09 < len(unavailable) / len(necrotizing) < 0.16
    assert set(unavailable) <= set(necrotizing)
    assert {b.site for b in unavailable} == set(network.sites)
    assert all(FIRST_ONSET <= b.biopsy_date <= network.data_cutoff - timedelta(days=90)
               for b in unavailable)


def test_biopsy_only_people_have_one_biopsy_and_no_other_record(network: Network) -> None:
    unavailable = {(b.site, b.local_id) for b in network.records_unavailable}
    assert len(unavailable) == len(network.records_unavailable)
    biopsies = defaultdict(int)
    for b in network.biopsies:
        biopsies[(b.site, b.local_id)] += 1
    assert all(biopsies[key] == 1 for key in unavailable)
    for kind in OTHER_KINDS:
        holders = {(row.site, row.local_id) for row in getattr(network, kind)}
        assert not holders & unavailable, kind
    assert network.biopsies[-len(unavailable):] == network.records_unavailable


def test_biopsy_only_people_do_not_depend_on_cohort_size() -> None:
    small, large = simulate_network(30, seed=3), simulate_network(120, seed=3)
    assert small.records_unavailable
    assert large.records_unavailable[:len(small.records_unavailable)] == (
        small.records_unavailable)


# --- missing at random ---------------------------------------------------------------------


def test_follow_up_visits_are_missing_at_about_eight_percent_more_often_when_older(
        network: Network) -> None:
    age = {(p.site, p.local_id): p.age_at_diagnosis for p in network.patients}
    deviation = {(p.site, p.local_id): p.latent.ck_patient_deviation for p in network.patients}
    delivered = {(lab.site, lab.local_id, lab.visit) for lab in network.labs
                 if lab.analyte == "ck"}
    for visit in ("month_3", "month_6"):
        planned = [(lab.site, lab.local_id) for lab in network.schedule.labs
                   if lab.analyte == "ck" and lab.visit == visit]
        missed = np.array([(*key, visit) not in delivered for key in planned])
        ages = np.array([age[key] for key in planned])
        assert 0.06 < missed.mean() < 0.105, visit
        assert missed[ages >= 70].mean() > 2 * missed[ages < 55].mean(), visit
        # Missing at random given age: not given the CK the visit would have shown.
        u = np.array([deviation[key] for key in planned])
        assert abs(u[missed].mean() - u[~missed].mean()) < 0.12, visit
    assert follow_up_missing_probability(80.0) > 4 * follow_up_missing_probability(45.0)


def test_a_visit_not_done_has_no_ck_and_no_hip_flexor_exam(network: Network) -> None:
    ck = {(lab.site, lab.local_id, lab.visit) for lab in network.labs if lab.analyte == "ck"}
    hips = defaultdict(set)
    for s in network.strength:
        if s.muscle_group == "hip_flexors":
            hips[(s.site, s.local_id, s.visit)].add(s.side)
    planned = {(lab.site, lab.local_id, lab.visit) for lab in network.schedule.labs
               if lab.analyte == "ck"}
    checked = 0
    for p in network.patients:
        for visit in ("month_3", "month_6"):
            key = (p.site, p.local_id, visit)
            if key not in planned:
                continue  # after the end of follow-up: never planned
            done = visit not in p.latent.missed_visits
            assert (key in ck) == done
            assert hips.get(key, set()) == ({"left", "right"} if done else set())
            checked += not done
    assert checked > 200


def test_baseline_hip_flexor_exams_and_initial_prednisone_doses_are_sometimes_missing(
        network: Network) -> None:
    hips = {(s.site, s.local_id) for s in network.strength
            if s.muscle_group == "hip_flexors" and s.visit == "baseline"}
    necks = {(s.site, s.local_id) for s in network.strength
             if s.muscle_group == "neck_flexors"}
    no_hips = [(p.site, p.local_id) not in hips for p in network.patients]
    assert 0.025 < np.mean(no_hips) < 0.055
    assert no_hips == [p.latent.baseline_hip_flexors_missing for p in network.patients]
    assert all((p.site, p.local_id) in necks for p in network.patients)
    undosed = [t for t in network.treatments if t.dose is None]
    assert all(t.agent == "prednisone" for t in undosed)
    assert 0.035 < len(undosed) / len(network.patients) < 0.065
    flagged = {(p.site, p.local_id) for p in network.patients if p.latent.prednisone_dose_missing}
    assert {(t.site, t.local_id) for t in undosed} == flagged
    assert all(t.dose is not None for t in network.schedule.treatments)
    assert [t.start_date for t in network.treatments] == [
        t.start_date for t in network.schedule.treatments]


# --- the glucocorticoid effect of early IVIG -------------------------------------------------


def test_early_ivig_lets_prednisone_come_down_faster(network: Network) -> None:
    """Mean reduction of the prednisone dose at 3 months ~52% without and ~66% with early IVIG
    (the paper's figures), at 6 months ~75% and ~83%."""
    prednisone = defaultdict(list)
    for t in network.schedule.treatments:
        if t.agent == "prednisone":
            prednisone[(t.site, t.local_id)].append(t.dose)
    reductions: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for p in network.patients:
        doses = prednisone.get((p.site, p.local_id), [])
        if len(doses) == 3:
            initial, month_3, month_6 = doses
            reductions[p.latent.early_ivig].append((1 - month_3 / initial,
                                                    1 - month_6 / initial))
    without, with_ivig = (np.array(reductions[flag]).mean(axis=0) for flag in (False, True))
    assert len(reductions[True]) > 300
    assert abs(without[0] - 0.52) < 0.025 and abs(with_ivig[0] - 0.66) < 0.03
    assert abs(without[1] - 0.75) < 0.025 and abs(with_ivig[1] - 0.83) < 0.03


# --- separate streams: what study A reads is unchanged ----------------------------------------


def _without_study_b(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cohort_module, "draw_study_b",
                        lambda age, rng: StudyBDraws(0.0, (), False, False))
    monkeypatch.setattr(cohort_module, "_biopsy_only_people", lambda *args: ())


def test_study_b_draws_move_no_other_draw_of_a_patient(network: Network,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the gaps and the random effect, every record but the follow-up CKs is the same:
    the new draws come from streams of their own."""
    with_b = simulate_network(300, seed=SEED)
    _without_study_b(monkeypatch)
    plain = simulate_network(300, seed=SEED)
    for kind in ("serology", "vitals", "echos", "ecgs"):
        assert getattr(plain, kind) == getattr(with_b, kind), kind
    assert plain.patients == tuple(
        replace(p, latent=replace(p.latent, ck_patient_deviation=0.0, missed_visits=(),
                                  baseline_hip_flexors_missing=False,
                                  prednisone_dose_missing=False))
        for p in with_b.patients)
    assert plain.biopsies == with_b.biopsies[:len(plain.biopsies)]
    assert plain.schedule.strength == with_b.schedule.strength
    assert plain.schedule.treatments == with_b.schedule.treatments
    same_labs = [a == b for a, b in zip(plain.schedule.labs, with_b.schedule.labs, strict=True)]
    changed = {lab.visit for lab, same in zip(plain.schedule.labs, same_labs, strict=True)
               if not same}
    assert changed == {"month_3", "month_6"}
    assert network.patients[:300] == with_b.patients


def test_study_b_moves_no_defect_of_the_records_study_a_reads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The defects are drawn on the planned records, so the files study B's gaps do not touch
    are byte for byte the same, defects included, and the touched ones keep their defects on
    the records still delivered."""
    network = simulate_network(240, seed=5)
    delivered = write_site_extracts(network, tmp_path / "b", 5, DefectPlan(),
                                    ecg_waveforms=False)
    _without_study_b(monkeypatch)
    plain = write_site_extracts(simulate_network(240, seed=5), tmp_path / "plain", 5,
                                DefectPlan(), ecg_waveforms=False)
    untouched = [f for f in plain.files if f.kind not in THINNED_KINDS]
    assert untouched and untouched == [f for f in delivered.files
                                       if f.kind not in THINNED_KINDS]
    files = {f.path: f.kind for f in plain.files}
    assert [d for d in plain.defects if files[d.file] not in THINNED_KINDS] == [
        d for d in delivered.defects if files[d.file] not in THINNED_KINDS]
    for kind in THINNED_KINDS:
        before = [d.kind for d in plain.defects if files[d.file] == kind]
        after = [d.kind for d in delivered.defects if files[d.file] == kind]
        assert 0.85 * len(before) <= len(after) <= len(before), kind
    mixups = [d for d in delivered.defects if d.kind == "unit_mixup"]
    assert len(mixups) == DefectPlan().unit_mixup_batch_size


def test_rows_out_of_their_planned_order_are_refused() -> None:
    def table(*rows: tuple) -> SiteTable:
        return SiteTable("lakeside", "labs", "labs.csv", "csv", ("a", "b"), ("local_id", "value"),
                         rows)

    planned = table(("P1", 1.0), ("P1", 2.0), ("P2", 3.0))
    assert align_rows(planned, table(("P1", 1.0), ("P2", None), ("X", 9.0))) == [0, None, 1]
    with pytest.raises(ValueError, match="not the planned ones"):
        align_rows(planned, table(("P2", 3.0), ("P1", 1.0)))


# --- delivered, staged, validated and harmonized (the shared demo network) ------------------


def test_biopsy_only_people_reach_core_biopsies_as_necrotizing_and_nowhere_else(
        demo_network: DemoNetwork) -> None:
    """Their reports land in core.biopsies flagged necrotizing; no check fails them, no file of
    theirs is quarantined and they appear in no other core table (study B's "records
    unavailable")."""
    unavailable = simulate_network(DEMO_PATIENTS, seed=DEMO_SEED).records_unavailable
    assert unavailable
    key = TEST_PSEUDONYM_KEY.encode()
    keys = sorted({pseudonymize(key, b.site, b.local_id) for b in unavailable})
    with duckdb.connect(str(demo_network.paths.warehouse), read_only=True) as con:
        con.execute("CREATE TEMP TABLE unavailable (patient_key VARCHAR)")
        con.executemany("INSERT INTO unavailable VALUES (?)", [[k] for k in keys])
        flagged = con.execute(
            "SELECT patient_key, bool_and(necrotizing_myopathy), count(*) FROM core.biopsies "
            "JOIN unavailable USING (patient_key) GROUP BY ALL ORDER BY 1").fetchall()
        assert flagged == [(k, True, 1) for k in keys]
        for table in ("patients", "diagnoses", "serology", "treatments", "labs", "vitals",
                      "strength", "echos", "outcomes", "ecgs"):
            found = con.execute(f"SELECT count(*) FROM core.{table} JOIN unavailable "
                                "USING (patient_key)").fetchone()[0]
            assert found == 0, table
        failed = con.execute("SELECT count(*) FROM audit.failed_rows JOIN unavailable "
                             "USING (patient_key)").fetchone()[0]
        assert failed == 0
        statuses = con.execute("SELECT DISTINCT status FROM registry.source_files "
                               "WHERE record_kind = 'biopsies'").fetchall()
        assert statuses == [("staged",)]
