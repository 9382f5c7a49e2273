"""Deliveries over time: corrected re-deliveries, duplicates and truncated files.

A small clean network is refreshed once; then a centre corrects one file in place, another
sends a file twice under a new name, and a third sends truncated files (one new, one a
re-delivery). The second refresh must give each its documented outcome and lose nothing.
"""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from imnm.refresh.runs import RefreshSummary
from imnm.settings import DataPaths
from imnm.staging.redelivery import RowChange, diff_deliveries, summarize_changes
from tests.support.demo_model import install_demo_model

N_PATIENTS = 40


# --- the pure diff -------------------------------------------------------------------------

def _frame(rows: list[tuple[str, int]]) -> pl.DataFrame:
    return pl.DataFrame({"local_id": [r[0] for r in rows], "value": [r[1] for r in rows],
                         "source_row": list(range(1, len(rows) + 1)),
                         "file_id": [7] * len(rows)})


def test_diff_finds_changed_added_and_removed_rows_without_a_key() -> None:
    before = _frame([("a", 1), ("b", 2), ("c", 3), ("d", 4)])
    after = _frame([("a", 1), ("b", 20), ("d", 4), ("e", 5)])
    changes = diff_deliveries(before, after)
    assert changes == [
        RowChange("changed", 2, 2, ("value",)),
        RowChange("removed", 3, None),
        RowChange("added", None, 4),
    ]
    assert summarize_changes(changes) == "1 changed, 1 added, 1 removed"


def test_diff_of_identical_rows_is_empty_and_ignores_lineage() -> None:
    rows = [("a", 1), ("b", 2)]
    shifted = _frame(rows).with_columns(pl.lit(99).alias("file_id"))
    assert diff_deliveries(_frame(rows), shifted) == []


def test_inserted_row_does_not_mark_the_following_rows_changed() -> None:
    before = _frame([("a", 1), ("b", 2), ("c", 3)])
    after = _frame([("a", 1), ("x", 9), ("b", 2), ("c", 3)])
    assert diff_deliveries(before, after) == [RowChange("added", None, 2)]


# --- the refresh over several deliveries ---------------------------------------------------

@dataclass(frozen=True)
class Deliveries:
    paths: DataPaths
    first: RefreshSummary
    second: RefreshSummary
    retried: RefreshSummary  # a third run with retry_quarantined on unchanged landing
    corrected: str  # lakeside echos, corrected in place
    duplicate: str  # riverside outcomes, sent again under a new name
    truncated_new: str  # hillcrest labs under a new name, cut short
    truncated_redelivery: str  # hillcrest vitals, re-sent in place, cut short


def _rewrite_csv(path: Path) -> None:
    """Correct one LVEF, drop the second data row and append a new echo row."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, data = rows[0], rows[1:]
    lvef = header.index("LVEF (%)")
    data[0][lvef] = "31"
    added = list(data[2])
    added[header.index("Echo date")] = "2024-02-02"
    data = [data[0], *data[2:], added]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *data])
    path.write_text(out.getvalue(), encoding="utf-8")


@pytest.fixture(scope="module")
def deliveries(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Deliveries:
    from flows.refresh import refresh
    from imnm.demo import generate_demo
    from imnm.demo.defects import DefectPlan

    paths = DataPaths(tmp_path_factory.mktemp("deliveries"))
    generate_demo(paths.root, n_patients=N_PATIENTS, seed=5, defects=DefectPlan.none())
    install_demo_model(paths)
    first = refresh(data_dir=str(paths.root))

    lakeside, riverside, hillcrest = (paths.landing / s for s in
                                      ("lakeside", "riverside", "hillcrest"))
    corrected = sorted(lakeside.glob("echos_*.csv"))[0]
    _rewrite_csv(corrected)
    original = sorted(riverside.glob("export_outcomes_*.xlsx"))[0]
    duplicate = original.with_name(f"{original.stem}_resent{original.suffix}")
    shutil.copy2(original, duplicate)
    labs = sorted(hillcrest.glob("hc_labs_*.parquet"))[0]
    truncated_new = labs.with_name("hc_labs_late_2026_11.parquet")
    truncated_new.write_bytes(labs.read_bytes()[: labs.stat().st_size // 2])
    vitals = sorted(hillcrest.glob("hc_vitals_*.parquet"))[0]
    vitals.write_bytes(vitals.read_bytes()[: vitals.stat().st_size // 3])
    (lakeside / "README_from_centre.txt").write_text("extract notes\n", encoding="utf-8")
    second = refresh(data_dir=str(paths.root))
    retried = refresh(data_dir=str(paths.root), retry_quarantined=True)
    return Deliveries(paths, first, second, retried, corrected.name, duplicate.name,
                      truncated_new.name, vitals.name)


def _warehouse(d: Deliveries) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(d.paths.warehouse), read_only=True)


def _files(con: duckdb.DuckDBPyConnection, site: str, name: str) -> list[tuple]:
    return con.execute("SELECT file_id, status, supersedes_file_id, status_reason "
                       "FROM registry.source_files WHERE site = ? AND relative_path = ? "
                       "ORDER BY file_id", [site, name]).fetchall()


def test_corrected_redelivery_supersedes_the_earlier_file(deliveries: Deliveries) -> None:
    con = _warehouse(deliveries)
    (old_id, old_status, _, reason), (new_id, new_status, supersedes, _) = _files(
        con, "lakeside", deliveries.corrected)
    assert (old_status, new_status, supersedes) == ("superseded", "staged", old_id)
    assert f"superseded by file {new_id}" in reason
    in_core = con.execute("SELECT DISTINCT file_id FROM core.echos WHERE site = 'lakeside'"
                          ).fetchall()
    assert in_core == [(new_id,)]
    # nothing lost: the superseded delivery's rows stay in staging
    kept = con.execute("SELECT count(*) FROM staging.echos WHERE file_id = ?", [old_id]
                       ).fetchone()[0]
    assert kept > 3


def test_corrected_redelivery_records_which_rows_changed(deliveries: Deliveries) -> None:
    con = _warehouse(deliveries)
    changes = con.execute(
        "SELECT change, previous_source_row, source_row, changed_columns FROM "
        "audit.file_changes WHERE site = 'lakeside' AND relative_path = ? AND run_id = ? "
        "ORDER BY rowid",
        [deliveries.corrected, deliveries.second.run_id]).fetchall()
    n_old = con.execute("SELECT count(*) FROM staging.echos s JOIN registry.source_files f "
                        "USING (file_id) WHERE f.relative_path = ? AND f.status = 'superseded'",
                        [deliveries.corrected]).fetchone()[0]
    assert changes == [("changed", 1, 1, "lvef_percent"), ("removed", 2, None, None),
                       ("added", None, n_old, None)]
    event = con.execute("SELECT reason FROM audit.file_events WHERE relative_path = ? AND "
                        "event = 'staged' AND run_id = ?",
                        [deliveries.corrected, deliveries.second.run_id]).fetchone()[0]
    assert event.endswith("1 changed, 1 added, 1 removed")
    lvef = con.execute("SELECT lvef_percent, ef_le_35 FROM core.echos e JOIN "
                       "registry.source_files f USING (file_id) WHERE f.relative_path = ? "
                       "AND e.source_row = 1", [deliveries.corrected]).fetchone()
    assert lvef == (31.0, True)


def test_same_content_under_a_new_name_is_skipped(deliveries: Deliveries) -> None:
    con = _warehouse(deliveries)
    assert _files(con, "riverside", deliveries.duplicate) == []
    event = con.execute("SELECT event, reason, file_id FROM audit.file_events WHERE "
                        "relative_path = ? AND run_id = ?",
                        [deliveries.duplicate, deliveries.second.run_id]).fetchone()
    original = con.execute("SELECT file_id FROM registry.source_files WHERE site = 'riverside' "
                           "AND relative_path LIKE 'export_outcomes_%'").fetchone()[0]
    assert event == ("skipped_already_loaded", f"same content as file {original} (staged)",
                     original)


def test_truncated_new_file_is_quarantined_and_the_refresh_goes_on(
        deliveries: Deliveries) -> None:
    con = _warehouse(deliveries)
    ((_, status, supersedes, reason),) = _files(con, "hillcrest", deliveries.truncated_new)
    assert status == "quarantined" and supersedes is None
    assert deliveries.truncated_new in reason and "parquet" in reason.lower()
    assert (deliveries.paths.quarantine / "hillcrest" / deliveries.truncated_new).is_file()
    assert deliveries.second.release_is_new


def test_truncated_redelivery_leaves_the_earlier_file_in_effect(deliveries: Deliveries) -> None:
    con = _warehouse(deliveries)
    (old_id, old_status, _, _), (_, new_status, supersedes, _) = _files(
        con, "hillcrest", deliveries.truncated_redelivery)
    assert (old_status, new_status, supersedes) == ("staged", "quarantined", old_id)
    in_core = con.execute("SELECT DISTINCT file_id FROM core.vitals WHERE site = 'hillcrest'"
                          ).fetchall()
    assert in_core == [(old_id,)]


def test_audit_says_what_happened_to_every_landed_file(deliveries: Deliveries) -> None:
    con = _warehouse(deliveries)
    landed = {(p.parent.name if p.parent.name != "ecg" else p.parent.parent.name,
               p.relative_to(deliveries.paths.landing).as_posix().split("/", 1)[1])
              for p in deliveries.paths.landing.rglob("*") if p.is_file()
              and p.suffix != ".dat"}
    told = set(con.execute("SELECT site, relative_path FROM audit.file_events WHERE run_id = ?",
                           [deliveries.second.run_id]).fetchall())
    assert landed <= told
    unclaimed = con.execute("SELECT event, file_id, reason FROM audit.file_events WHERE "
                            "relative_path = 'README_from_centre.txt' AND run_id = ?",
                            [deliveries.second.run_id]).fetchone()
    assert unclaimed[:2] == ("not_claimed", None) and "lakeside.toml" in unclaimed[2]
    summary = {s.site: s for s in deliveries.second.sites}
    assert summary["lakeside"].files_loaded == 1
    assert summary["hillcrest"].files_quarantined == 2
    assert summary["riverside"].files_skipped >= 11


def test_retrying_quarantined_files_stages_them_again(deliveries: Deliveries) -> None:
    """After a fix (here: none), quarantined content can be retried; still broken, it stays
    quarantined, and nothing else is loaded or published."""
    con = _warehouse(deliveries)
    events = con.execute("SELECT relative_path, event, reason FROM audit.file_events "
                         "WHERE run_id = ? AND event IN ('registered', 'quarantined') "
                         "ORDER BY relative_path, event",
                         [deliveries.retried.run_id]).fetchall()
    retried = {deliveries.truncated_new, deliveries.truncated_redelivery}
    assert {path for path, _, _ in events} == retried
    assert {(path, event) for path, event, _ in events} == {
        (path, event) for path in retried for event in ("quarantined", "registered")}
    assert all(reason == "retrying a quarantined file" for _, event, reason in events
               if event == "registered")
    assert not deliveries.retried.release_is_new
