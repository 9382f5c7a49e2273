"""The study B report of a release as one self-contained HTML page (no scripts, no external
assets, figures inline as SVG), rendered with Jinja2 and autoescaping.

Every number from a result table is tagged with its table, row key and column
(imnm/studies/report_html.py), so a browser test can check each against the table. Figures are
`<figure data-figure="ck_by_visit|hip_flexor|explained_variation">`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from imnm.dq_report.html import SYNTHETIC_NOTICE
from imnm.dq_report.html import TEMPLATES as DQ_TEMPLATES
from imnm.dq_report.model import blocking_failures, summarize_sites
from imnm.studies.report_data import StudyReportData
from imnm.studies.report_html import CellWriter
from imnm.studies.study_b.report import figures
from imnm.studies.study_b.tables import RESULT_TABLES

TEMPLATES: Final[Path] = Path(__file__).resolve().parent / "templates"
CELLS: Final[CellWriter] = CellWriter({t.name: t.row_key for t in RESULT_TABLES})
# Binary predictors drawn in the CK figure.
CK_FIGURE_VARIABLES: Final[tuple[str, ...]] = ("female", "ivmp", "early_ivig", "csdmard")


@dataclass(frozen=True)
class Column:
    """One shown column of a result table: its name, header and number style (None: text)."""

    name: str
    header: str
    style: str | None = "num"
    digits: int = 2


@dataclass(frozen=True)
class Section:
    """One result table shown as an HTML table, with what it is."""

    table: str
    title: str
    about: str
    columns: tuple[Column, ...]


COMPARISON = (Column("n_group", "n (group)", "int"), Column("n_other", "n (other)", "int"),
              Column("mean_group", "Mean (group)"), Column("mean_other", "Mean (other)"),
              Column("sd_group", "SD (group)"), Column("sd_other", "SD (other)"),
              Column("difference", "Difference"), Column("test", "Test", None),
              Column("p_value", "p", "p"))
SECTIONS: Final[tuple[Section, ...]] = (
    Section("attrition", "Selection and attrition",
            "From necrotizing-myopathy biopsies to the cohort; each rule's count, and the "
            "excluded diagnoses one by one.",
            (Column("step", "Step", "int"), Column("rule", "Rule", None),
             Column("detail", "Detail", None), Column("n_before", "Before", "int"),
             Column("n_removed", "Removed", "int"), Column("n_remaining", "Remaining", "int"))),
    Section("table1", "Table 1: baseline characteristics",
            "Counts with percentages of the whole cohort; 'other' and 'missing' rows are shown "
            "so every block adds up to the cohort.",
            (Column("variable", "Variable", None), Column("level", "Level", None),
             Column("n", "n", "int"), Column("percent", "%", "num", 1),
             Column("median", "Median", "num", 0), Column("minimum", "Min", "num", 0),
             Column("maximum", "Max", "num", 0))),
    Section("missing_data", "Missing data",
            "What the cohort lacks at baseline and at each follow-up visit.",
            (Column("variable", "Variable", None), Column("visit", "Visit", None),
             Column("n_patients", "Patients", "int"), Column("n_missing", "Missing", "int"),
             Column("percent_missing", "%", "num", 1))),
    Section("baseline_comparisons", "Supplementary tables S1-S3: baseline by group",
            "S1 early IVIG vs not; S2 the same in the moderate-severe subgroup; S3 IVMP vs not. "
            "Yes/no variables show the share with it.",
            (Column("comparison", "Comparison", None), Column("variable", "Variable", None),
             *COMPARISON)),
    Section("ck_reduction", "CK reduction from baseline",
            "Mean percentage reduction of CK at 3 and 6 months (t-based interval).",
            (Column("visit", "Visit", None), Column("n", "n", "int"),
             Column("mean_reduction_percent", "Mean %", "num", 1),
             Column("ci_low", "low", "num", 1), Column("ci_high", "high", "num", 1),
             Column("median_reduction_percent", "Median %", "num", 1))),
    Section("ck_by_visit", "Observed CK by visit",
            "Patients measured, median and geometric mean CK (U/L) per predictor level.",
            (Column("variable", "Variable", None), Column("level", "Level", None),
             Column("visit", "Visit", None), Column("n", "n", "int"),
             Column("median_ck_u_l", "Median", "num", 0),
             Column("geometric_mean_ck_u_l", "Geometric mean", "num", 0))),
    Section("ck_models", "CK models",
            "Per predictor (univariable: time + log baseline CK + the predictor for log CK; time "
            "+ the predictor for the reduction) and multivariable over imputations; a patient "
            "random intercept in each. Frequentist rows: REML estimate, SE, Wald interval and "
            "p; Bayesian rows: posterior mean, SD, highest-density interval and the "
            "probability of direction.",
            (Column("engine", "Engine", None), Column("outcome", "Outcome", None),
             Column("model", "Model", None), Column("variable", "Variable", None),
             Column("term", "Term", None), Column("estimate", "Estimate", "num", 3),
             Column("se", "SE / SD", "num", 3), Column("ci_low", "low", "num", 3),
             Column("ci_high", "high", "num", 3), Column("p_value", "p", "p"),
             Column("p_direction", "pd", "num", 3),
             Column("direction_label", "Direction", None),
             Column("imputations", "Imputations", "int"))),
    Section("ck_level_means", "Estimated CK per predictor level",
            "Averaged over the two follow-up visits at the mean log baseline CK: geometric "
            "mean CK (U/L) for log CK, mean % for the reduction; continuous predictors at "
            "their 25th and 75th percentiles.",
            (Column("engine", "Engine", None), Column("outcome", "Outcome", None),
             Column("variable", "Variable", None), Column("level", "Level", None),
             Column("estimate", "Estimate", "num", 1), Column("ci_low", "low", "num", 1),
             Column("ci_high", "high", "num", 1), Column("unit", "Unit", None))),
    Section("ck_explained_variation", "Relative explained variation of CK (Fig. 1)",
            "Per predictor of the multivariable models: the share of the model's explained "
            "variation it carries (rms's anova). Frequentist: its pooled Wald chi-square over "
            "the whole model's, with the test of the term. Bayesian: per posterior draw, "
            "posterior mean and median with the highest-density interval.",
            (Column("engine", "Engine", None), Column("outcome", "Outcome", None),
             Column("term", "Predictor", None), Column("rev_mean", "REV (mean)", "num", 3),
             Column("rev_median", "Median", "num", 3), Column("hdi_low", "low", "num", 3),
             Column("hdi_high", "high", "num", 3), Column("chi_square", "Chi-square", "num", 2),
             Column("df", "df", "int"), Column("p_value", "p", "p"))),
    Section("hip_flexor", "Hip-flexor grade by group",
            "Mean grade (0-3) at each visit and its change from baseline.",
            (Column("comparison", "Comparison", None), Column("visit", "Visit", None),
             Column("measure", "Measure", None), *COMPARISON)),
    Section("ordinal_models", "Ordinal models of the hip-flexor grade",
            "Cumulative-logit models of the 4-level grade: with a patient random intercept over "
            "the three visits and the treatment x visit interaction (frequentist: adaptive "
            "Gauss-Hermite quadrature, 10 nodes, as R's ordinal::clmm; Bayesian: posterior "
            "summaries), and of the 6-month grade on early IVIG and the baseline grade without "
            "random effect (as MASS::polr).",
            (Column("engine", "Engine", None), Column("model", "Model", None),
             Column("term", "Term", None), Column("kind", "Kind", None),
             Column("estimate", "Estimate", "num", 3), Column("se", "SE / SD", "num", 3),
             Column("ci_low", "low", "num", 3), Column("ci_high", "high", "num", 3),
             Column("p_value", "p", "p"), Column("p_direction", "pd", "num", 3),
             Column("n_patients", "Patients", "int"), Column("converged", "Converged", None))),
    Section("prednisone", "Prednisone dose by early IVIG",
            "Oral prednisone (mg/day) in effect at each visit and its percentage reduction.",
            (Column("visit", "Visit", None), Column("measure", "Measure", None), *COMPARISON)),
    Section("bayes_diagnostics", "Bayesian fit diagnostics",
            "Every Bayesian fit (per imputation): the largest R-hat, the smallest bulk and tail "
            "ESS, divergent transitions, and whether it passed (R-hat <= bayes_max_rhat, both "
            "ESS >= bayes_min_ess, no divergence); a failed fit is released with its reasons.",
            (Column("fit_id", "Fit", None), Column("imputation", "Imputation", "int"),
             Column("n_patients", "Patients", "int"),
             Column("n_categories", "Categories", "int"),
             Column("max_rhat", "max R-hat", "num", 4),
             Column("min_ess_bulk", "min bulk ESS", "num", 0),
             Column("min_ess_tail", "min tail ESS", "num", 0),
             Column("divergences", "Divergent", "int"), Column("passed", "Passed", None),
             Column("reasons", "Reasons", None))),
)


def _cell(table: str, row: Any, column: Column) -> Markup:
    if column.style is None:
        return CELLS.text(table, row, column.name)
    return CELLS.cell(table, row, column.name, column.style, column.digits)


def _parameter(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


@cache
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader([str(TEMPLATES), str(DQ_TEMPLATES)]),
                      autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True)
    env.globals.update(show=_cell)
    env.filters["parameter"] = _parameter
    return env


def _figures(data: StudyReportData) -> dict[str, Markup | None]:
    drawn: dict[str, Markup | None] = dict.fromkeys(
        ("ck_by_visit", "hip_flexor", "explained_variation"))
    if not data.missing("ck_by_visit"):
        drawn["ck_by_visit"] = Markup(figures.ck_by_visit_figure(
            data.rows("ck_by_visit"), CK_FIGURE_VARIABLES))
    if not data.missing("hip_flexor"):
        drawn["hip_flexor"] = Markup(figures.hip_flexor_figure(data.rows("hip_flexor")))
    if not data.missing("ck_explained_variation"):
        drawn["explained_variation"] = Markup(figures.explained_variation_figure(
            data.rows("ck_explained_variation")))
    return drawn


def render_report(data: StudyReportData) -> str:
    """The release's study B report as one HTML page."""
    return _environment().get_template("study_b.html.j2").render(
        data=data, release=data.release,
        parameters=sorted(data.analysis_parameters.items()),
        synthetic_notice=SYNTHETIC_NOTICE if data.synthetic else None,
        sites=summarize_sites(data.release, data.outcomes),
        blocking=blocking_failures(data.outcomes),
        sections=SECTIONS, figures=_figures(data))
