"""The blocking policy: a centre whose new data fails a blocking check is held back alone.

A clean network is refreshed; then lakeside re-delivers its diagnoses with every onset after
the diagnosis (a blocking core check) and riverside corrects its outcomes. The second release
must keep lakeside's correction out (its earlier delivery back in effect), take riverside's,
and say which centre was held back and why.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import openpyxl
import pytest

from imnm.refresh.runs import RefreshSummary
from imnm.settings import DataPaths
from tests.support.demo_model import install_demo_model

BLOCKING_CHECK = "core_timeline_onset_not_after_diagnosis"


@dataclass(frozen=True)
class PolicyRun:
    paths: DataPaths
    first: RefreshSummary
    second: RefreshSummary
    diagnoses_file: str
    outcomes_file: str


def _swap_onset_and_diagnosis(path: Path) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    onset, diagnosis = header.index("Symptom onset date"), header.index("Diagnosis date")
    for row in rows[1:]:
        if row[onset] and row[diagnosis] and row[onset] != row[diagnosis]:
            row[onset], row[diagnosis] = row[diagnosis], row[onset]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _correct_one_last_contact(path: Path) -> None:
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    column = header.index("Last contact") + 1
    sheet.cell(row=2, column=column).value = "01/10/2026"
    workbook.save(path)


@pytest.fixture(scope="module")
def policy_run(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> PolicyRun:
    from flows.refresh import refresh
    from imnm.demo import generate_demo
    from imnm.demo.defects import DefectPlan

    paths = DataPaths(tmp_path_factory.mktemp("policy"))
    generate_demo(paths.root, n_patients=40, seed=9, defects=DefectPlan.none())
    install_demo_model(paths)
    first = refresh(data_dir=str(paths.root))
    diagnoses = sorted((paths.landing / "lakeside").glob("diagnoses_*.csv"))[0]
    _swap_onset_and_diagnosis(diagnoses)
    outcomes = sorted((paths.landing / "riverside").glob("export_outcomes_*.xlsx"))[0]
    _correct_one_last_contact(outcomes)
    second = refresh(data_dir=str(paths.root))
    return PolicyRun(paths, first, second, diagnoses.name, outcomes.name)


def _warehouse(run: PolicyRun) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(run.paths.warehouse), read_only=True)


def test_clean_network_raises_no_blocking_failure(policy_run: PolicyRun) -> None:
    con = _warehouse(policy_run)
    blocking = con.execute("SELECT site, check_name FROM audit.validation_results WHERE "
                           "run_id = ? AND severity = 'blocking' AND NOT passed",
                           [policy_run.first.run_id]).fetchall()
    assert blocking == []
    assert policy_run.first.held_back_sites == {}


def test_failing_centre_alone_is_held_back_and_the_release_says_why(
        policy_run: PolicyRun) -> None:
    assert policy_run.second.release_is_new
    assert policy_run.second.held_back_sites == {"lakeside": [BLOCKING_CHECK]}
    published = duckdb.connect(str(policy_run.paths.results), read_only=True)
    sites = json.loads(published.execute(
        "SELECT sites FROM results.releases WHERE release_id = ?",
        [policy_run.second.release_id]).fetchone()[0])
    assert sites["held_back"] == {"lakeside": [BLOCKING_CHECK]}
    assert {"riverside", "hillcrest", "northgate", "lakeside"} >= set(sites["included"])
    assert "riverside" in sites["included"] and "lakeside" not in sites["included"]


def test_held_back_correction_leaves_the_earlier_delivery_in_core(policy_run: PolicyRun) -> None:
    con = _warehouse(policy_run)
    files = con.execute("SELECT file_id, status FROM registry.source_files WHERE site = "
                        "'lakeside' AND relative_path = ? ORDER BY file_id",
                        [policy_run.diagnoses_file]).fetchall()
    (old_id, old_status), (_, new_status) = files
    assert (old_status, new_status) == ("staged", "held_back")
    in_core = con.execute("SELECT DISTINCT file_id FROM core.diagnoses WHERE site = 'lakeside'"
                          ).fetchall()
    assert in_core == [(old_id,)]
    reversed_dates = con.execute("SELECT count(*) FROM core.diagnoses WHERE "
                                 "symptom_onset_date > diagnosis_date").fetchone()[0]
    assert reversed_dates == 0


def test_other_centres_corrections_are_published(policy_run: PolicyRun) -> None:
    con = _warehouse(policy_run)
    statuses = con.execute("SELECT status FROM registry.source_files WHERE site = 'riverside' "
                           "AND relative_path = ? ORDER BY file_id",
                           [policy_run.outcomes_file]).fetchall()
    assert statuses == [("superseded",), ("staged",)]


def test_the_release_inputs_pass_every_blocking_check(policy_run: PolicyRun) -> None:
    """What was recorded for the published centres passed; the failure is on record too."""
    con = _warehouse(policy_run)
    rows = con.execute("SELECT site, check_name, passed FROM audit.check_history WHERE "
                       "release_id = ? AND severity = 'blocking' AND layer = 'core'",
                       [policy_run.second.release_id]).fetchall()
    failed = {(site, check) for site, check, passed in rows if not passed}
    assert failed == {("lakeside", BLOCKING_CHECK)}
    assert {site for site, _, _ in rows} == {"lakeside", "riverside", "hillcrest", "northgate"}
