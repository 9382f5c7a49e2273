"""Study B's report of a refreshed demo release, rendered by headless Chromium: it opens with
every figure as inline SVG (one marker per plotted value), every number on the page equals its
row in the published tables, and every row of every result table is shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from imnm.studies.registry import get_study
from imnm.studies.study_b.report.html import CELLS, CK_FIGURE_VARIABLES, SECTIONS
from imnm.studies.study_b.tables import TABLE_NAMES
from tests.quality.test_dq_report import Node, _chromium, rendered_dom
from tests.support.report_numbers import assert_numbers_match, release_rows

FIGURES = ("ck_by_visit", "hip_flexor")


@pytest.fixture(scope="module")
def page(demo_network: Any, tmp_path_factory: pytest.TempPathFactory
         ) -> tuple[Node, str, Any]:
    from imnm.studies.reports import write_study_report

    report = write_study_report(demo_network.paths, get_study("study_b"))
    assert report.release_id == demo_network.release_id
    assert report.html == demo_network.paths.release_reports(report.release_id) / "study-b.html"
    dom, source = rendered_dom(_chromium(), report.html,
                               tmp_path_factory.mktemp("chromium-profile"))
    return dom, source, report


def test_report_opens_with_its_figures_as_svg(page: tuple[Node, str, Any]) -> None:
    """No scripts, no URLs; CK by visit draws one series per level and predictor with a marker
    per visit; the hip-flexor figure two series per panel of three visits each."""
    dom, source, _ = page
    assert "<script" not in source and "http://" not in source and "https://" not in source
    assert dom.find_all(id="research-notice") and dom.find_all(id="synthetic-notice")
    for name in FIGURES:
        (figure,) = dom.find_all(tag="figure", data_figure=name)
        assert [n for n in figure.walk() if n.tag == "svg"], name
    for variable in CK_FIGURE_VARIABLES:
        for level in ("no", "yes"):
            (group,) = dom.find_all(tag="g", id=f"ck_by_visit-ck-{variable}-{level}")
            assert len([n for n in group.walk() if n.tag == "use"]) == 3, (variable, level)
    for comparison in ("s1_early_ivig", "s2_early_ivig_moderate_severe"):
        for column in ("mean_group", "mean_other"):
            (group,) = dom.find_all(tag="g", id=f"hip_flexor-hip-{comparison}-{column}")
            assert len([n for n in group.walk() if n.tag == "use"]) == 3


def test_every_number_shown_equals_its_table_row(demo_network: Any,
                                                 page: tuple[Node, str, Any]) -> None:
    """Exact stored values, shown rounded; every row of every shown table is on the page."""
    dom, _, report = page
    tables = release_rows(Path(demo_network.paths.results), "study_b", TABLE_NAMES,
                          report.release_id, CELLS.row_key)
    seen = assert_numbers_match(dom, tables)
    for section in SECTIONS:
        assert tables[section.table], section.table
        assert {(section.table, key) for key in tables[section.table]} <= seen, section.table
    assert len(dom.find_all(data_table=None)) > 1000


def test_cli_opens_study_b_by_its_letter(demo_network: Any,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """`imnm report --study b` prints the study B page of the latest release."""
    from imnm.cli import main

    assert main(["report", "--no-open", "--study", "b", "--data-dir",
                 str(demo_network.paths.root)]) == 0
    assert capsys.readouterr().out.strip().endswith("study-b.html")
