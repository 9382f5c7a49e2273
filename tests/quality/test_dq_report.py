"""The data-quality report of a release, checked in a real headless browser against the audit
tables; the Data Docs site; `imnm dq`; the documented SQL over audit.check_history.

A small synthetic network is refreshed twice (the real flow): the first delivery has a
blocking defect at Lakeside (a patient without a local record number), so Lakeside is held
back; the second run adds one Northgate file, giving a second release for the trend.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from imnm.settings import DataPaths
from tests.support.demo_model import install_demo_model

REPO = Path(__file__).resolve().parents[2]
N_PATIENTS = 40
DOCS = REPO / "docs" / "data-quality.md"
VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                       "meta", "source", "track", "wbr"})


# --- a headless browser and a small DOM -----------------------------------------------------

def _chromium() -> str:
    """Debian's Chromium; skipped where absent, except in CI (CI must not skip silently)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").is_file():
        found = "/usr/bin/chromium"
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return found


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    content: list[Node | str] = field(default_factory=list)  # in document order

    @property
    def children(self) -> list[Node]:
        return [c for c in self.content if isinstance(c, Node)]

    def text(self) -> str:
        """The text inside, in document order, whitespace collapsed."""
        parts = [c if isinstance(c, str) else c.text() for c in self.content]
        return " ".join(" ".join(parts).split())

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def find_all(self, **attrs: str | None) -> list[Node]:
        """Nodes having every given attribute (value None: any value; tag via tag=...)."""
        tag = attrs.pop("tag", None)
        return [n for n in self.walk()
                if (tag is None or n.tag == tag)
                and all(k in n.attrs and (v is None or n.attrs[k] == v)
                        for k, v in attrs.items())]


class _DomBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k.replace("-", "_"): v or "" for k, v in attrs})
        self.stack[-1].content.append(node)
        if tag not in VOID_TAGS:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if self.stack[-1].tag not in ("script", "style"):
            self.stack[-1].content.append(data)


def rendered_dom(chromium: str, page: Path, profile: Path) -> tuple[Node, str]:
    """The DOM Chromium renders for a local file (network refused), parsed, and its source."""
    assert page.is_file(), page
    result = subprocess.run(
        [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage",
         "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}",
         "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<body" in result.stdout, result.stderr[-2000:]
    builder = _DomBuilder()
    builder.feed(result.stdout)
    return builder.root, result.stdout


def _number(text: str) -> float:
    return float(text.replace(",", "").strip())


# --- pure rendering and masking ---------------------------------------------------------------

def test_identifier_values_are_withheld_and_birth_dates_shown_by_year() -> None:
    from imnm.quality.privacy import WITHHELD, mask_text_value

    assert mask_text_value("local_id", "LK-277971") == WITHHELD
    assert mask_text_value("patient_name", "Anna Mulder") == WITHHELD
    assert mask_text_value("birth_date", "1941-03-15") == "1941"
    assert mask_text_value("value", "-5") == "-5"
    assert mask_text_value("local_id", None) is None
    assert mask_text_value("stop_date,start_date", "2020-01-01,2021-01-01") == (
        "2020-01-01,2021-01-01")
    assert mask_text_value("birth_date,diagnosis_date", "1950-02-03,2020-01-01") == (
        "1950,2020-01-01")
    assert mask_text_value("local_id,sex", "A,B,m") == WITHHELD  # cannot split: withhold all


def test_gx_results_are_masked_before_data_docs() -> None:
    from imnm.quality.privacy import WITHHELD, sanitize_gx_result

    result = {"results": [
        {"expectation_config": {"type": "expect_column_values_to_be_unique",
                                "kwargs": {"column": "local_id"}},
         "result": {"partial_unexpected_list": ["NOR1", "NOR1", "NOR2"],
                    "partial_unexpected_counts": [{"value": "NOR1", "count": 2},
                                                  {"value": "NOR2", "count": 1}],
                    "unexpected_index_list": [{"local_id": "NOR1", "file_id": 7,
                                               "source_row": 3}]}},
        {"expectation_config": {"type": "expect_compound_columns_to_be_unique",
                                "kwargs": {"column_list": ["local_id", "birth_date", "sex"]}},
         "result": {"partial_unexpected_counts": [
             {"value": {"local_id": "NOR1", "birth_date": "1950-01-02", "sex": "m"},
              "count": 2}]}},
        {"expectation_config": {"type": "expect_column_values_to_be_between",
                                "kwargs": {"column": "value"}},
         "result": {"partial_unexpected_list": [-5]}},
    ]}
    cleaned = sanitize_gx_result(result)
    first, compound, plain = (r["result"] for r in cleaned["results"])
    assert first["partial_unexpected_list"] == [WITHHELD] * 3
    assert first["partial_unexpected_counts"] == [{"value": WITHHELD, "count": 3}]
    assert first["unexpected_index_list"] == [{"local_id": WITHHELD, "file_id": 7,
                                               "source_row": 3}]
    assert compound["partial_unexpected_counts"][0]["value"] == {
        "local_id": WITHHELD, "birth_date": "1950", "sex": "m"}
    assert plain["partial_unexpected_list"] == [-5]
    assert "NOR1" in json.dumps(result)  # the input is left as it was


def test_report_escapes_every_value_and_names_synthetic_data() -> None:
    from datetime import datetime

    from imnm.dq_report import ExampleRow, ReportData, render_report
    from imnm.quality.checks import outcome_from_row
    from imnm.releases import ReleaseInfo

    evil = "<script>alert(1)</script>"
    release = ReleaseInfo("R1", datetime(2026, 1, 1), "run-1", "0.1.0", "ai-ecg-lvd-demo-x",
                          ("a&b",), {evil: ("check<1>",)})
    outcome = outcome_from_row(("staging", evil, "labs", "labs", "check<1>", "expect_x",
                                "value", "plausibility", "blocking", 0.05, 10, 2, False))
    example = ExampleRow("staging", evil, "labs", "check<1>", "x<y>.csv", 1, 2, "value",
                         evil, "P0123456789abcdef0123")
    html = render_report(ReportData(release, (outcome,), (example,), ("R1",)))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a&amp;b" in html and "check&lt;1&gt;" in html and "x&lt;y&gt;.csv" in html
    assert "Synthetic data" in html
    real = ReleaseInfo("R1", datetime(2026, 1, 1), "run-1", "0.1.0", "ai-ecg-lvd-2.0", (), {})
    assert "Synthetic data" not in render_report(ReportData(real, ()))


def test_gx_result_file_names_refuse_path_parts(tmp_path: Path) -> None:
    from imnm.quality.gx_results import load_gx_results, save_gx_result

    with pytest.raises(ValueError):
        save_gx_result(tmp_path, "staging", "../x", "labs", {"results": []})
    with pytest.raises(ValueError):
        save_gx_result(tmp_path, "staging", "a__b", "labs", {"results": []})
    assert save_gx_result(tmp_path, "core", "lakeside", "core_labs", None) is None
    saved = save_gx_result(tmp_path, "core", "lakeside", "core_labs", {"results": []})
    assert saved == tmp_path / "core__lakeside__core_labs.json"
    assert load_gx_results(tmp_path) == [("core", "lakeside", "core_labs", {"results": []})]


# --- the network, refreshed twice ------------------------------------------------------------

@dataclass(frozen=True)
class Network:
    paths: DataPaths
    first_release: str
    second_release: str
    first_report: object  # tasks.dq_report.DqReport
    second_report: object


def _blank_one_local_id(csv_path: Path) -> None:
    """A blocking defect: the first data row loses its local record number."""
    lines = csv_path.read_text(encoding="utf-8").splitlines(keepends=True)
    header, first = lines[0], lines[1]
    lines[1] = "," + first.split(",", 1)[1]
    assert header.startswith("MRN,")
    csv_path.write_text("".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def network(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Network:
    from flows.refresh import refresh
    from imnm.demo import generate_demo
    from imnm.dq_report.write import build_from_connection, write_dq_report
    from imnm.quality.gx_results import gx_results_dir
    from warehouse.db import open_warehouse

    paths = DataPaths(tmp_path_factory.mktemp("dq-network"))
    generate_demo(paths.root, n_patients=N_PATIENTS, seed=23)
    install_demo_model(paths)
    _blank_one_local_id(sorted((paths.landing / "lakeside").glob("patients_*.csv"))[0])
    first = refresh(data_dir=str(paths.root))
    northgate = sorted((paths.landing / "northgate").glob("NG_OUTCOMES_*.csv"))[0]
    lines = northgate.read_bytes().splitlines(keepends=True)
    northgate.with_name("NG_OUTCOMES_UPDATE_" + northgate.name).write_bytes(b"".join(lines[:-1]))
    second = refresh(data_dir=str(paths.root))
    assert first.release_is_new and second.release_is_new
    assert first.release_id != second.release_id
    for summary in (first, second):  # the refresh writes its release's report itself
        assert Path(summary.dq_report).is_file()
        assert any(gx_results_dir(paths, summary.run_id).glob("staging__*.json"))
        assert any(gx_results_dir(paths, summary.run_id).glob("core__*.json"))
    first_report = write_dq_report(paths, first.release_id)
    with open_warehouse(paths.warehouse) as con:  # the refresh's way: its own connection
        second_report = build_from_connection(con, paths, second.release_id)
    return Network(paths, first.release_id, second.release_id, first_report, second_report)


@pytest.fixture()
def warehouse(network: Network):
    con = duckdb.connect(str(network.paths.warehouse), read_only=True)
    yield con
    con.close()


def _run_of(con: duckdb.DuckDBPyConnection, release_id: str) -> str:
    return con.execute("SELECT run_id FROM results.releases WHERE release_id = ?",
                       [release_id]).fetchone()[0]


# --- figures the page must show, computed by SQL ---------------------------------------------

def expected_metrics(con: duckdb.DuckDBPyConnection, release_id: str
                     ) -> dict[tuple[str, ...], float]:
    """(section, key..., metric) -> value, straight from the audit tables."""
    run_id = _run_of(con, release_id)
    expected: dict[tuple[str, ...], float] = {}
    sites = json.loads(con.execute("SELECT sites FROM results.releases WHERE release_id = ?",
                                   [release_id]).fetchone()[0])
    for site in [*sites["included"], *sites["held_back"]]:  # centres with nothing new: 0
        expected.update({("sites", site, metric): 0 for metric in
                         ("checks_run", "checks_failed", "blocking_failed", "rows_failed")})
    for site, run, failed, blocking, rows in con.execute(
            "SELECT site, count(*), count(*) FILTER (WHERE NOT passed), "
            "count(*) FILTER (WHERE NOT passed AND severity = 'blocking'), sum(rows_failed) "
            "FROM audit.validation_results WHERE run_id = ? GROUP BY site", [run_id]).fetchall():
        expected.update({("sites", site, "checks_run"): run,
                         ("sites", site, "checks_failed"): failed,
                         ("sites", site, "blocking_failed"): blocking,
                         ("sites", site, "rows_failed"): rows})
    for site, layer, category, run, passed, tested, failed in con.execute(
            "SELECT site, layer, category, count(*), count(*) FILTER (WHERE passed), "
            "sum(rows_tested), sum(rows_failed) FROM audit.validation_results "
            "WHERE run_id = ? GROUP BY ALL", [run_id]).fetchall():
        key = ("overview", site, layer, category)
        expected.update({(*key, "checks_run"): run, (*key, "checks_passed"): passed,
                         (*key, "pass_rate_pct"): round(100.0 * passed / run, 1),
                         (*key, "rows_tested"): tested, (*key, "rows_failed"): failed})
    for site, layer, suite, check, tested, failed, threshold in con.execute(
            "SELECT site, layer, suite, check_name, sum(rows_tested), sum(rows_failed), "
            "max(threshold) FROM audit.validation_results WHERE run_id = ? AND NOT passed "
            "GROUP BY ALL", [run_id]).fetchall():
        key = ("failing", site, layer, suite, check)
        expected.update({(*key, "rows_tested"): tested, (*key, "rows_failed"): failed,
                         (*key, "threshold_pct"): round(threshold * 100, 2)})
    recent = [r[0] for r in con.execute(
        "SELECT release_id FROM results.releases WHERE published_at <= (SELECT published_at "
        "FROM results.releases WHERE release_id = ?) ORDER BY published_at DESC LIMIT 5",
        [release_id]).fetchall()]
    for rid, site, layer, suite, check, failed in con.execute(
            "SELECT release_id, site, layer, suite, check_name, sum(rows_failed) "
            "FROM audit.check_history WHERE release_id IN (SELECT unnest(?::VARCHAR[])) "
            "GROUP BY ALL", [recent]).fetchall():
        expected[("trend", site, layer, suite, check, rid, "rows_failed")] = failed
    for site, n in con.execute(
            "SELECT site, count(*) FROM audit.file_events WHERE run_id = ? AND "
            "event = 'quarantined' GROUP BY site", [run_id]).fetchall():
        expected[("files", site, "files_quarantined")] = n
    for site, kind, column, reason, n in con.execute(
            "SELECT site, record_kind, column_name, reason, count(*) FROM audit.unmapped_values "
            "WHERE run_id = ? GROUP BY ALL", [run_id]).fetchall():
        expected[("unmapped", site, kind, column, reason, "unmapped_values")] = n
    return expected


_KEY_ATTRS = {
    "sites": ("data_site",),
    "overview": ("data_site", "data_layer", "data_category"),
    "failing": ("data_site", "data_layer", "data_suite", "data_check"),
    "trend": ("data_site", "data_layer", "data_suite", "data_check", "data_release"),
    "files": ("data_site",),
    "unmapped": ("data_site", "data_record_kind", "data_column", "data_reason"),
}


def shown_metrics(dom: Node) -> dict[tuple[str, ...], float]:
    shown: dict[tuple[str, ...], float] = {}
    for node in dom.find_all(data_metric=None):
        section = node.attrs["data_section"]
        key = (section, *(node.attrs[a] for a in _KEY_ATTRS[section]), node.attrs["data_metric"])
        assert key not in shown, f"{key} shown twice"
        shown[key] = _number(node.text())
    return shown


def _identifiers(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT local_id, patient_name FROM staging.patients").fetchall()
    return {value for row in rows for value in row if value and len(value.strip()) >= 4}


def _leaks(text: str, identifiers: set[str]) -> list[str]:
    return [i for i in identifiers
            if re.search(rf"(?<![\w/-]){re.escape(i)}(?![\w/-])", text)]


# --- the HTML report ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def first_page(network: Network, tmp_path_factory: pytest.TempPathFactory) -> tuple[Node, str]:
    return rendered_dom(_chromium(), network.first_report.html,
                        tmp_path_factory.mktemp("chromium-profile"))


@pytest.fixture(scope="module")
def second_page(network: Network, tmp_path_factory: pytest.TempPathFactory) -> tuple[Node, str]:
    return rendered_dom(_chromium(), network.second_report.html,
                        tmp_path_factory.mktemp("chromium-profile"))


def test_report_is_written_under_the_release_reports(network: Network) -> None:
    for release_id, report in ((network.first_release, network.first_report),
                               (network.second_release, network.second_report)):
        reports = network.paths.release_reports(release_id)
        assert report.html == reports / "dq-report.html" and report.html.is_file()
        assert report.data_docs_index == reports / "data-docs" / "index.html"
        assert report.data_docs_index.is_file()
        assert report.data_docs_pages > 0 and not report.data_docs_errors
        html = report.html.read_text(encoding="utf-8")
        assert "<script" not in html and "http://" not in html and "https://" not in html


def test_report_renders_in_chromium_with_every_section(network: Network,
                                                       first_page: tuple[Node, str]) -> None:
    dom, _ = first_page
    (title,) = dom.find_all(tag="title")
    assert title.text() == f"Data-quality report, release {network.first_release}"
    for section in ("header", "sites", "overview", "failing-checks", "trend", "files"):
        assert dom.find_all(id=section), section
    # synthetic data from the demo model: the page says so
    (notice,) = dom.find_all(id="synthetic-notice")
    assert "synthetic" in notice.text().lower() and "nothing clinical" in notice.text().lower()


def test_every_number_on_the_page_equals_the_audit_tables(
        network: Network, warehouse: duckdb.DuckDBPyConnection,
        first_page: tuple[Node, str], second_page: tuple[Node, str]) -> None:
    for release_id, (dom, _) in ((network.first_release, first_page),
                                 (network.second_release, second_page)):
        shown = shown_metrics(dom)
        expected = expected_metrics(warehouse, release_id)
        assert shown, "no figures found on the page"
        for key, value in shown.items():
            assert key in expected, f"{key} is on the page but not in the audit tables"
            assert value == pytest.approx(expected[key]), key
        # nothing left out: every site, category row, failing check and trend cell is shown
        for key in expected:
            if key[0] in ("sites", "overview", "failing", "files", "unmapped"):
                assert key in shown, f"{key} is missing from the page"
        trend_expected = {k for k in expected if k[0] == "trend"}
        assert {k for k in shown if k[0] == "trend"} <= trend_expected


def test_held_back_centre_and_blocking_failures_come_first(
        network: Network, warehouse: duckdb.DuckDBPyConnection,
        first_page: tuple[Node, str]) -> None:
    dom, _ = first_page
    held = json.loads(warehouse.execute(
        "SELECT sites FROM results.releases WHERE release_id = ?",
        [network.first_release]).fetchone()[0])["held_back"]
    assert "lakeside" in held and "patients_local_id_not_null" in held["lakeside"]
    rows = dom.find_all(tag="tr", data_held_back=None)
    assert rows[0].attrs["data_site"] == "lakeside"
    assert rows[0].attrs["data_held_back"] == "true"
    assert "patients_local_id_not_null" in rows[0].text()
    assert {r.attrs["data_site"] for r in rows if r.attrs["data_held_back"] == "true"} == set(held)
    checks = dom.find_all(tag="article", data_severity=None)
    severities = [c.attrs["data_severity"] for c in checks]
    assert severities[0] == "blocking"
    assert severities == sorted(severities, key=lambda s: s != "blocking")
    blocking = [c for c in checks if c.attrs["data_severity"] == "blocking"]
    assert any(c.attrs["data_site"] == "lakeside"
               and c.attrs["data_check"] == "patients_local_id_not_null" for c in blocking)


def test_example_rows_are_real_failing_rows_by_pseudonym(
        network: Network, warehouse: duckdb.DuckDBPyConnection,
        first_page: tuple[Node, str]) -> None:
    dom, _ = first_page
    run_id = _run_of(warehouse, network.first_release)
    failed = warehouse.execute(
        "SELECT site, layer, check_name, file_id, source_row, coalesce(patient_key, '') "
        "FROM audit.failed_rows WHERE run_id = ?", [run_id]).fetchall()
    known = {(s, layer, c, str(f), str(r), k) for s, layer, c, f, r, k in failed}
    per_check: dict[tuple[str, str, str], int] = defaultdict(int)
    for s, layer, c, *_ in failed:
        per_check[(s, layer, c)] += 1
    examples = dom.find_all(tag="tr", data_file_id=None)
    assert examples
    shown: dict[tuple[str, str, str], int] = defaultdict(int)
    for row in examples:
        a = row.attrs
        key = (a["data_site"], a["data_layer"], a["data_check"], a["data_file_id"],
               a["data_source_row"], a["data_patient_key"])
        assert key in known, key
        assert not a["data_patient_key"] or re.fullmatch(r"P[0-9a-f]{20}", a["data_patient_key"])
        shown[key[:3]] += 1
    for article in dom.find_all(tag="article", data_check=None):
        key = (article.attrs["data_site"], article.attrs["data_layer"],
               article.attrs["data_check"])
        assert shown[key] == min(5, per_check[key]), key
    # the file is named by its delivered path
    paths = {p for (p,) in warehouse.execute(
        "SELECT relative_path FROM registry.source_files").fetchall()}
    assert any(cell.text() in paths for row in examples for cell in row.children)


def test_no_local_identifier_or_name_appears_on_the_page(
        warehouse: duckdb.DuckDBPyConnection, first_page: tuple[Node, str],
        second_page: tuple[Node, str]) -> None:
    identifiers = _identifiers(warehouse)
    assert identifiers
    for dom, source in (first_page, second_page):
        assert not _leaks(dom.text(), identifiers)
        assert not _leaks(source, identifiers)


def test_trend_spans_both_releases(network: Network, second_page: tuple[Node, str]) -> None:
    dom, _ = second_page
    header = [th.text() for th in dom.find_all(id="trend")[0].find_all(tag="th")]
    assert network.first_release in header and network.second_release in header
    assert header.index(network.first_release) < header.index(network.second_release)
    releases = {n.attrs["data_release"] for n in dom.find_all(data_section="trend")}
    assert network.first_release in releases


# --- Great Expectations Data Docs ----------------------------------------------------------

def test_data_docs_index_lists_the_run_suites_with_gx_numbers(
        network: Network, warehouse: duckdb.DuckDBPyConnection,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    chromium = _chromium()
    dom, _ = rendered_dom(chromium, network.first_report.data_docs_index,
                          tmp_path_factory.mktemp("chromium-profile"))
    (title,) = dom.find_all(tag="title")
    assert title.text() == f"Data Docs, release {network.first_release}"
    run_id = _run_of(warehouse, network.first_release)
    audit = {(layer, site, suite): (n, passed, zero) for layer, site, suite, n, passed, zero in
             warehouse.execute(
                 "SELECT layer, site, suite, count(*), count(*) FILTER (WHERE passed), "
                 "bool_and(threshold = 0 OR expectation_type = "
                 "'expect_column_values_to_not_be_null') FROM audit.validation_results "
                 "WHERE run_id = ? GROUP BY ALL", [run_id]).fetchall()}
    rows = dom.find_all(tag="tr", data_suite=None)
    listed = {(r.attrs["data_layer"], r.attrs["data_site"], r.attrs["data_suite"]): r
              for r in rows}
    assert {k for k in audit if k[0] == "staging"} <= set(listed) <= set(audit)
    compared_success = 0
    for key, row in listed.items():
        metrics = {n.attrs["data_metric"]: _number(n.text())
                   for n in row.find_all(data_metric=None)}
        n_checks, n_passed, same_rule = audit[key]
        assert metrics["evaluated_expectations"] == n_checks, key
        # GX's `mostly` leaves missing values out, except in not-null checks: where every
        # check with a threshold is a not-null check, GX and the platform judge alike
        if same_rule:
            assert metrics["successful_expectations"] == n_passed, key
            compared_success += n_checks > n_passed
    assert compared_success, "no failing suite compared"
    # a GX validation page itself renders, with the statistics the index shows
    key, row = next((k, r) for k, r in listed.items() if k[1] == "lakeside"
                    and k[2] == "patients")
    (link,) = row.find_all(tag="a")
    page = network.first_report.data_docs_index.parent / link.attrs["href"]
    page_dom, _ = rendered_dom(chromium, page, tmp_path_factory.mktemp("chromium-profile"))
    text = " ".join(page_dom.text().split())
    assert "Evaluated Expectations" in text and "patients" in text
    assert f"Evaluated Expectations {audit[key][0]}" in [
        n.text() for n in page_dom.find_all(tag="tr")]


def test_data_docs_withhold_identifiers(network: Network,
                                        warehouse: duckdb.DuckDBPyConnection) -> None:
    identifiers = _identifiers(warehouse)
    pages = list(network.first_report.data_docs_index.parent.rglob("*.html"))
    assert len(pages) == network.first_report.data_docs_pages + 1
    for page in pages:
        assert not _leaks(page.read_text(encoding="utf-8"), identifiers), page
    run_id = _run_of(warehouse, network.first_release)
    saved = (network.paths.root / "dq_runs" / run_id / "gx")
    for result in saved.glob("*.json"):
        assert not _leaks(result.read_text(encoding="utf-8"), identifiers), result


# --- `imnm dq` -----------------------------------------------------------------------------

def test_imnm_dq_prints_the_summary_and_the_paths(
        network: Network, capsys: pytest.CaptureFixture[str]) -> None:
    from imnm.cli import main

    root = str(network.paths.root)
    assert main(["dq", "--data-dir", root]) == 0
    out = capsys.readouterr().out
    assert network.second_release in out
    assert str(network.second_report.html) in out
    assert str(network.second_report.data_docs_index) in out
    assert "synthetic" in out.lower()
    assert main(["dq", "--data-dir", root, "--release", network.first_release]) == 0
    out = capsys.readouterr().out
    assert str(network.first_report.html) in out
    assert "Held back: lakeside (blocking checks failed: " in out
    assert "patients_local_id_not_null" in out
    for site in ("lakeside", "riverside", "hillcrest", "northgate"):
        assert re.search(rf"^{site}\s+\d+\s+\d+\s+\d+\s+\d+", out, re.MULTILINE), site
    held_line = next(line for line in out.splitlines() if line.startswith("lakeside"))
    assert held_line.endswith("HELD BACK")


def test_imnm_dq_reads_the_published_file_while_a_refresh_holds_the_warehouse(
        network: Network, capsys: pytest.CaptureFixture[str]) -> None:
    from imnm.cli import main

    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; "
         f"con = duckdb.connect({str(network.paths.warehouse)!r}); print('ready', flush=True); "
         "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        assert main(["dq", "--data-dir", str(network.paths.root)]) == 0
    finally:
        holder.communicate(input="", timeout=60)
    out = capsys.readouterr().out
    assert "locked by a running refresh" in out and str(network.paths.results) in out
    assert network.second_release in out


def test_imnm_dq_without_a_release_is_a_one_line_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from imnm.cli import main
    from warehouse.db import open_warehouse

    assert main(["dq", "--data-dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "imnm refresh" in err
    with open_warehouse(tmp_path / "empty" / "warehouse.duckdb"):
        pass  # a migrated warehouse with no release yet
    assert main(["dq", "--data-dir", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no release yet" in err


# --- the documented SQL over audit.check_history ----------------------------------------------

def _documented_queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)


def test_documented_queries_answer_on_the_warehouse_and_the_published_file(
        network: Network) -> None:
    failed_recently, failing_since = _documented_queries()[:2]
    assert "'lakeside'" in failed_recently and "patients_local_id_not_null" in failing_since
    for database in (network.paths.warehouse, network.paths.results):
        with duckdb.connect(str(database), read_only=True) as con:
            recent = con.execute(
                "SELECT release_id FROM results.releases ORDER BY published_at DESC LIMIT 3"
            ).fetchall()
            expected = con.execute(
                "SELECT r.release_id, v.check_name FROM audit.validation_results v JOIN "
                "results.releases r USING (run_id) WHERE v.site = 'lakeside' AND NOT v.passed "
                "AND r.release_id IN (SELECT unnest(?::VARCHAR[]))",
                [[r[0] for r in recent]]).fetchall()
            rows = con.execute(failed_recently).fetchall()
            columns = [d[0] for d in con.description]
            got = {(row[columns.index("release_id")], row[columns.index("check_name")])
                   for row in rows}
            assert got == set(expected) and got, database
            assert ("patients_local_id_not_null" in {c for _, c in got})
            since = con.execute(failing_since).fetchall()
            columns = [d[0] for d in con.description]
            assert len(since) == 1, database
            assert since[0][columns.index("first_failing_release")] == network.first_release


def test_prefect_task_writes_the_report_inside_a_flow(network: Network) -> None:
    from datetime import date

    from prefect import flow

    from imnm.refresh.context import RunContext
    from tasks.dq_report import dq_report_task

    @flow(name="dq-report-test")
    def report_flow() -> object:
        ctx = RunContext("run-test", date.today(), network.paths, (), {})
        return dq_report_task(ctx, network.first_release)

    report = report_flow()
    assert report.html == network.first_report.html and report.html.is_file()
    assert report.release_id == network.first_release
    assert report.data_docs_pages == network.first_report.data_docs_pages
    assert report.checks_run == network.first_report.checks_run > 0
