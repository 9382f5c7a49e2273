"""The report's four figures drawn with matplotlib and returned as inline SVG text.

Figures are built on `matplotlib.figure.Figure` directly (no pyplot, no global backend), written
with text kept as text and ids salted per figure, so several SVGs share one page and the same
rows give the same bytes. Each plotted series carries an SVG id, `<figure name>-<gid>`
(e.g. `score_by_echo-points-lvd`), whose markers a reader can count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import numpy as np
from matplotlib import rc_context
from matplotlib.ticker import FuncFormatter, MaxNLocator

from imnm.studies.report_html import SVG_RC, figure_svg, new_figure, p_phrase
from imnm.studies.study_a.report.model import (
    ECHO_GROUPS,
    MODEL_GROUPS,
    PHASES,
    Row,
    by_key,
    group_order,
    km_curve,
)

PHASE_COLOURS: Final[Mapping[str, str]] = {"before_treatment": "#cf222e",
                                          "on_treatment": "#0969da"}
GROUP_COLOURS: Final[Mapping[str, str]] = {"predicts_lvd": "#cf222e",
                                          "predicts_no_lvd": "#0969da"}
ECHO_COLOURS: Final[Mapping[str, str]] = {"lvd": "#cf222e", "no_lvd": "#0969da"}
GROUP_LABELS: Final[Mapping[str, str]] = {"predicts_lvd": "Model predicts LVD",
                                         "predicts_no_lvd": "Model predicts no LVD"}
ECHO_LABELS: Final[Mapping[str, str]] = {"lvd": "LVD on echo", "no_lvd": "No LVD on echo"}
PHASE_LABELS: Final[Mapping[str, str]] = {"before_treatment": "Before treatment",
                                         "on_treatment": "On treatment"}
SMALLEST_PERCENT: Final[float] = 1e-3  # P(LVD) floor on the log axis (0 cannot be drawn)
def roc_figure(roc_rows: Iterable[Row], accuracy_rows: Iterable[Row]) -> str:
    """ROC curve with the AUC (95% CI) in the legend and the two cutoffs' points marked."""
    fig = new_figure(5.0, 4.6)
    ax = fig.axes[0]
    points = sorted((1.0 - float(r["specificity"]), float(r["sensitivity"])) for r in roc_rows)
    accuracy = by_key(accuracy_rows, "cutoff_rule")
    headline = accuracy.get("configured") or next(iter(accuracy.values()), None)
    label = "ROC curve"
    if headline is not None and headline.get("auc") is not None:
        label = f"AUC {headline['auc']:.2f}"
        if headline.get("auc_ci_low") is not None and headline.get("auc_ci_high") is not None:
            label += f" (95% CI {headline['auc_ci_low']:.2f}-{headline['auc_ci_high']:.2f})"
    with rc_context(SVG_RC):
        ax.plot([p[0] for p in points], [p[1] for p in points], color="#1d2327", lw=1.6,
                label=label, gid="roc-curve")
        ax.plot([0, 1], [0, 1], color="#8c959f", lw=0.8, ls="--", label="Chance")
        for rule, marker, colour in (("configured", "o", "#cf222e"), ("youden", "s", "#0969da")):
            row = accuracy.get(rule)
            if row is None or row.get("sensitivity") is None or row.get("specificity") is None:
                continue
            name = "Configured" if rule == "configured" else "Youden"
            ax.plot([1.0 - row["specificity"]], [row["sensitivity"]], marker=marker, ls="none",
                    ms=7, color=colour, gid=f"roc-{rule}",
                    label=f"{name} cutoff P(LVD) > {row['cutoff'] * 100:.3g}%: sens. "
                          f"{row['sensitivity'] * 100:.1f}%, spec. {row['specificity'] * 100:.1f}%")
        ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), xlabel="1 - specificity",
               ylabel="Sensitivity", aspect="equal")
        ax.legend(loc="lower right", fontsize=7.5, frameon=False)
    return figure_svg(fig, "roc", "study-a")


def _percent(p_lvd: float) -> float:
    return max(float(p_lvd) * 100.0, SMALLEST_PERCENT)


def score_by_echo_figure(patients: Iterable[Row], score_rows: Iterable[Row]) -> str:
    """P(LVD) per patient by echo status: points over a box, log-scale %, Mann-Whitney p."""
    fig = new_figure(5.0, 4.6)
    ax = fig.axes[0]
    values: dict[str, list[float]] = {"lvd": [], "no_lvd": []}
    for row in patients:
        flag = row.get("echo_lvd_flag")
        if flag is not None:
            values["lvd" if flag else "no_lvd"].append(_percent(row["p_lvd"]))
    groups = [g for g in reversed(ECHO_GROUPS) if values[g]]
    summary = by_key(score_rows, "echo_group")
    rng = np.random.default_rng(0)  # fixed jitter: the same rows draw the same figure
    with rc_context(SVG_RC):
        if groups:
            ax.boxplot([values[g] for g in groups], positions=range(len(groups)), widths=0.5,
                       showfliers=False, medianprops={"color": "#1d2327"})
        for i, group in enumerate(groups):
            x = i + rng.uniform(-0.17, 0.17, len(values[group]))
            ax.scatter(x, values[group], s=14, alpha=0.7, color=ECHO_COLOURS[group],
                       edgecolors="none", gid=f"points-{group}", zorder=3)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
        ax.set_xticks(range(len(groups)),
                      [f"{ECHO_LABELS[g]}\n(n = {len(values[g])})" for g in groups])
        ax.set_ylabel("P(LVD) (%, log scale)")
        p = next((r.get("mann_whitney_p") for r in summary.values()
                  if r.get("mann_whitney_p") is not None), None)
        ax.set_title(f"Mann-Whitney {p_phrase(p)}", fontsize=9)
        shown = [v for g in groups for v in values[g]]
        if shown:  # whole decades around the points
            ax.set_ylim(10 ** np.floor(np.log10(min(shown))),
                        10 ** (np.floor(np.log10(max(shown))) + 1))
    return figure_svg(fig, "score_by_echo", "study-a")


def trajectory_figure(serial_rows: Iterable[Row], phase_rows: Iterable[Row],
                      trajectory: Row | None) -> str:
    """P(LVD) % against years from treatment onset: ECGs before (red) and on treatment (blue),
    each phase's mean as a line, and the fitted regression line."""
    fig = new_figure(6.4, 4.2)
    ax = fig.axes[0]
    rows = list(serial_rows)
    phases = by_key(phase_rows, "phase")
    xs = [float(r["years_from_treatment_onset"]) for r in rows]
    with rc_context(SVG_RC):
        for phase in group_order({str(r["phase"]) for r in rows}, PHASES):
            points = [r for r in rows if r["phase"] == phase]
            colour = PHASE_COLOURS.get(phase, "#57606a")
            ax.scatter([float(r["years_from_treatment_onset"]) for r in points],
                       [float(r["p_lvd"]) * 100.0 for r in points], s=12, alpha=0.6,
                       color=colour, edgecolors="none", gid=f"points-{phase}",
                       label=f"{PHASE_LABELS.get(phase, phase)} ({len(points)} ECGs)")
            mean = phases.get(phase, {}).get("mean_p_lvd_percent")
            if mean is not None and points:
                span = [float(r["years_from_treatment_onset"]) for r in points]
                start, end = ((min(span), 0.0) if phase == "before_treatment"
                              else (0.0, max(span)) if phase == "on_treatment"
                              else (min(span), max(span)))
                ax.hlines(mean, start, end, colors=colour, lw=2.2, gid=f"mean-{phase}",
                          label=f"{PHASE_LABELS.get(phase, phase)} mean {mean:.2f}%")
        if trajectory is not None and xs and trajectory.get("slope_percent_per_year") is not None \
                and trajectory.get("intercept_percent") is not None:
            grid = np.linspace(min(xs), max(xs), 50)
            ax.plot(grid, trajectory["intercept_percent"]
                    + trajectory["slope_percent_per_year"] * grid,
                    color="#1d2327", lw=1.2, ls="--", gid="regression",
                    label=f"Regression: {trajectory['slope_percent_per_year']:+.2f} % per year")
        ax.axvline(0.0, color="#8c959f", lw=0.8)
        ax.set(xlabel="Years from treatment onset", ylabel="P(LVD) (%)")
        fig.legend(loc="outside upper center", ncols=3, fontsize=7.5, frameon=False)
    return figure_svg(fig, "trajectory", "study-a")


def km_figure(km_rows: Sequence[Row], logrank: Row | None) -> str:
    """Kaplan-Meier survival per model group (censorings ticked), log-rank p in the legend."""
    fig = new_figure(6.4, 4.2)
    ax = fig.axes[0]
    with rc_context(SVG_RC):
        for group in group_order({str(r["model_group"]) for r in km_rows}, MODEL_GROUPS):
            times, survival = km_curve(km_rows, group)
            steps = [r for r in km_rows if r["model_group"] == group]
            n = max(int(r["n_at_risk"]) for r in steps)
            colour = GROUP_COLOURS.get(group, "#57606a")
            ax.step(times, survival, where="post", color=colour, lw=1.6, gid=f"km-{group}",
                    label=f"{GROUP_LABELS.get(group, group)} (n = {n})")
            censored = [(float(r["time_years"]), float(r["survival"])) for r in steps
                        if int(r["n_censored"]) > 0]
            ax.plot([c[0] for c in censored], [c[1] for c in censored], ls="none", marker="|",
                    ms=6, color=colour, gid=f"censored-{group}")
        if logrank is not None:
            ax.plot([], [], ls="none", label=f"Log-rank {p_phrase(logrank.get('p_value'))}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole years, as the at-risk table
        ax.set(ylim=(0.0, 1.03), xlim=(0.0, None), xlabel="Years from the index ECG",
               ylabel="Survival")
        fig.legend(loc="outside upper center", ncols=3, fontsize=7.5, frameon=False)
    return figure_svg(fig, "km", "study-a")
