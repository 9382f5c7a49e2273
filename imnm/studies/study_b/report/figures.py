"""Study B's report figures as inline SVG: CK over visits by predictor level, the mean
hip-flexor grade over visits by early IVIG (all patients and the moderate-severe subgroup,
the paper's Fig. 2), and each predictor's relative explained variation of CK (Fig. 1).

Each plotted series carries an SVG id `<figure>-<gid>` whose markers a reader can count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from imnm.studies.report_data import Row
from imnm.studies.report_html import figure_svg, new_figure

VISIT_ORDER: Final[tuple[str, ...]] = ("baseline", "month_3", "month_6")
VISIT_LABELS: Final[tuple[str, ...]] = ("Baseline", "3 months", "6 months")
SALT: Final[str] = "study-b"
COLOURS: Final[tuple[str, ...]] = ("#0969da", "#cf222e", "#1a7f37", "#8250df")


def ck_by_visit_figure(rows: Sequence[Row], variables: Sequence[str]) -> str:
    """Geometric mean CK (log axis) at each visit per level, one panel per predictor."""
    fig = new_figure(2.6 * len(variables), 2.8, ncols=len(variables))
    axes = fig.axes
    for ax, variable in zip(axes, variables, strict=True):
        mine = [r for r in rows if r["variable"] == variable]
        levels = list(dict.fromkeys(r["level"] for r in mine))
        for colour, level in zip(COLOURS, levels, strict=False):
            points = {r["visit"]: r["geometric_mean_ck_u_l"] for r in mine if r["level"] == level}
            x = [i for i, v in enumerate(VISIT_ORDER) if points.get(v) is not None
                 and np.isfinite(points[v])]
            y = [points[VISIT_ORDER[i]] for i in x]
            ax.plot(x, y, marker="o", color=colour, label=str(level),
                    gid=f"ck-{variable}-{level}")
        ax.set_yscale("log")
        ax.set_xticks(range(3), VISIT_LABELS, fontsize=7)
        ax.set_title(variable.replace("_", " "), fontsize=8)
        ax.legend(fontsize=6, frameon=False)
    axes[0].set_ylabel("Geometric mean CK (U/L)")
    return figure_svg(fig, "ck_by_visit", SALT)


def hip_flexor_figure(rows: Sequence[Row]) -> str:
    """Mean hip-flexor grade (0-3) at each visit, early IVIG vs not: (A) all patients, (B)
    the moderate-severe subgroup."""
    fig = new_figure(7.0, 3.0, ncols=2)
    panels = (("s1_early_ivig", "A: all patients"),
              ("s2_early_ivig_moderate_severe", "B: moderate-severe at baseline"))
    for ax, (comparison, title) in zip(fig.axes, panels, strict=True):
        mine = {r["visit"]: r for r in rows
                if r["comparison"] == comparison and r["measure"] == "grade"}
        for column, label, colour in (("mean_group", "Early IVIG", COLOURS[1]),
                                      ("mean_other", "No early IVIG", COLOURS[0])):
            x = [i for i, v in enumerate(VISIT_ORDER) if v in mine
                 and mine[v].get(column) is not None]
            ax.plot(x, [mine[VISIT_ORDER[i]][column] for i in x], marker="o", color=colour,
                    label=label, gid=f"hip-{comparison}-{column}")
        ax.set_ylim(0, 3)
        ax.set_xticks(range(3), VISIT_LABELS)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("Mean hip-flexor grade (0-3)")
        ax.legend(fontsize=7, frameon=False)
    return figure_svg(fig, "hip_flexor", SALT)


def _number(value: Any, default: float) -> float:
    """A row's number, or `default` where the row has none (NULL or NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return default
    return float(value)


def explained_variation_figure(rows: Sequence[Row]) -> str:
    """Relative explained variation of CK per predictor, one panel per multivariable model:
    each engine's estimate (the Bayesian one with its highest-density interval)."""
    outcomes = list(dict.fromkeys(r["outcome"] for r in rows))
    engines = list(dict.fromkeys(r["engine"] for r in rows))
    fig = new_figure(3.6 * len(outcomes), 3.2, ncols=len(outcomes))
    for ax, outcome in zip(fig.axes, outcomes, strict=True):
        mine = [r for r in rows if r["outcome"] == outcome]
        terms = sorted(dict.fromkeys(r["term"] for r in mine),
                       key=lambda t: float(np.mean([r["rev_mean"] for r in mine
                                                    if r["term"] == t])))
        for k, engine in enumerate(engines):
            shown = sorted((r for r in mine if r["engine"] == engine),
                           key=lambda r: terms.index(r["term"]))
            if not shown:
                continue
            y = np.array([terms.index(r["term"]) for r in shown]) + 0.18 * (k - 0.5)
            x = np.array([r["rev_mean"] for r in shown], dtype=float)
            low = np.array([_number(r.get("hdi_low"), x[i]) for i, r in enumerate(shown)])
            high = np.array([_number(r.get("hdi_high"), x[i]) for i, r in enumerate(shown)])
            ax.errorbar(x, y, xerr=[x - low, high - x], fmt="o" if k == 0 else "s",
                        color=COLOURS[k % len(COLOURS)], label=engine,
                        gid=f"rev-{outcome}-{engine}")
        ax.set_yticks(np.arange(len(terms)), terms, fontsize=7)
        ax.set_xlim(0, 1)
        ax.set_xlabel("Relative explained variation")
        ax.set_title("log CK" if outcome == "log_ck" else "CK reduction (%)", fontsize=9)
        ax.legend(fontsize=7, frameon=False)
    return figure_svg(fig, "explained_variation", SALT)
