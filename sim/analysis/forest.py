"""The briefing's two forest plots, each answering one question on one slide-sized figure.

* :func:`plot_headline`: does the regime beat the baseline, on which measure, by how much?
  Paired differences as % of the baseline's level, with 95% t-intervals, coloured by verdict.
* :func:`plot_ablations`: which rule carries the result? The effect of each switch, removed from
  the full regime and added alone to competition, on the headline measures.

Inputs are tables of :mod:`sim.analysis.stats`; figures are :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.analysis import i18n, registry
from sim.analysis.summary_rows import unswept

VERDICT_COLOURS = {"better": "#1a9641", "worse": "#d7191c", "neutral": "#2c7bb6",
                   "not_distinct": "#8c8c8c"}
MARKERS = ("o", "s", "^", "D")
KIND_COLOURS = {"removed": "#1f77b4", "added": "#ff7f0e"}


def headline_measure(metric: str) -> str:
    """Money flows are judged by their present value over the horizon, others at the end."""
    return "discounted" if registry.get(metric).flow else "last"


def headline_label(metric: str, lang: str, unit: bool = False) -> str:
    """A headline metric's label, marked "present value" for money flows."""
    entry = registry.get(metric)
    label = entry.label(lang)
    if entry.flow:
        label += "(贴现值)" if lang == "zh" else " (present value)"
    if unit and entry.unit(lang):
        money = entry.flow and "/yr" in entry.unit_en
        shown = ("亿元" if lang == "zh" else "100m yuan") if money else entry.unit(lang)
        label += f"({shown})" if lang == "zh" else f", {shown}"
    return label


def verdict_colour(verdict: str, metric: str) -> str:
    """Green better, red worse, blue a difference on an unranked metric, grey none."""
    if verdict not in ("higher", "lower"):
        return VERDICT_COLOURS["not_distinct"]
    direction = registry.get(metric).better
    if direction == 0:
        return VERDICT_COLOURS["neutral"]
    good = (verdict == "higher") == (direction > 0)
    return VERDICT_COLOURS["better" if good else "worse"]


def headline_rows(differences: pd.DataFrame, levels: pd.DataFrame, scenarios,
                  metrics) -> pd.DataFrame:
    """Unswept differences on each headline metric's measure, with % of the baseline's level."""
    rows = []
    for metric in metrics:
        measure = headline_measure(metric)
        for scenario in scenarios:
            diff = unswept(differences[(differences["scenario"] == scenario)
                                        & (differences["metric"] == metric)
                                        & (differences["measure"] == measure)])
            if diff.empty:
                continue
            row = diff.iloc[0]
            base = unswept(levels[(levels["scenario"] == row["baseline"])
                                   & (levels["metric"] == metric)
                                   & (levels["measure"] == measure)])
            scale = abs(float(base["mean"].iloc[0])) if len(base) else np.nan
            scale = scale if scale > 0 else np.nan
            rows.append({**row.to_dict(), "baseline_mean": scale,
                         **{f"pct_{k}": 100 * row[k] / scale
                            for k in ("mean", "ci_low", "ci_high")}})
    return pd.DataFrame(rows)


def ablation_metrics(metrics) -> list[str]:
    """The ablation figure's measures: the first headline metric and the first that is not a
    money flow (welfare and structure similarity with the registry's order)."""
    metrics = list(metrics)
    others = [m for m in metrics[1:] if not registry.get(m).flow]
    return metrics[:1] + others[:1]


def plot_headline(differences: pd.DataFrame, levels: pd.DataFrame, scenarios, metrics,
                  lang: str = "en") -> Figure:
    """Forest plot: each scenario − baseline on each headline metric, % of the baseline level.

    Points are mean paired differences, bars their 95% t-intervals; colour is the verdict
    (green better, red worse, blue higher/lower on an unranked metric, grey not distinct).
    """
    data = headline_rows(differences, levels, scenarios, metrics)
    metrics = [m for m in metrics if len(data) and m in set(data["metric"])]
    with i18n.figure_style(lang):
        fig = Figure(figsize=(12, 6.75), layout="constrained")
        ax = fig.subplots()
        n = max(1, len(scenarios))
        for s_index, scenario in enumerate(scenarios):
            for y, metric in enumerate(metrics):
                part = data[(data["scenario"] == scenario) & (data["metric"] == metric)]
                if part.empty:
                    continue
                row = part.iloc[0]
                pos = y + (s_index - (n - 1) / 2) * 0.25
                colour = verdict_colour(row["verdict"], metric)
                ax.errorbar(row["pct_mean"], pos, xerr=[[row["pct_mean"] - row["pct_ci_low"]],
                                                        [row["pct_ci_high"] - row["pct_mean"]]],
                            fmt=MARKERS[s_index % len(MARKERS)], color=colour, capsize=4,
                            markersize=8, elinewidth=2)
                ax.annotate(_numbers(row, lang), (1.01, pos), xycoords=("axes fraction", "data"),
                            va="center", fontsize=9, color=colour, annotation_clip=False)
        ax.axvline(0, color="black", linewidth=1)
        ax.set_yticks(range(len(metrics)), [headline_label(m, lang) for m in metrics],
                      fontsize=11)
        ax.invert_yaxis()
        ax.set_xlabel(i18n.term("pct_of_baseline", lang), fontsize=11)
        ax.grid(axis="x", alpha=0.3)
        baseline = str(data["baseline"].iloc[0]) if len(data) else ""
        names = " / ".join(i18n.scenario_label(s, lang) for s in scenarios)
        n_rep = int(data["n"].min()) if len(data) else 0
        fig.suptitle(f"{names} − {i18n.scenario_label(baseline, lang)}: "
                     f"{i18n.term('headline_title', lang)} (n = {n_rep})", fontsize=13)
        fig.legend(handles=_legend(scenarios, lang), loc="outside lower center",
                   ncol=4 + len(scenarios), fontsize=9)
    return fig


def _numbers(row: pd.Series, lang: str) -> str:
    """``+3.2% [1.1, 5.3]`` and the verdict word."""
    word = i18n.verdict_word(row["verdict"], row["metric"], lang)
    return f"{row['pct_mean']:+.1f}% [{row['pct_ci_low']:+.1f}, {row['pct_ci_high']:+.1f}] {word}"


def _legend(scenarios, lang: str) -> list[Line2D]:
    handles = [Line2D([], [], color=VERDICT_COLOURS[k], marker="o", linestyle="",
                      label=i18n.term(f"verdict_{k}", lang)) for k in VERDICT_COLOURS]
    if len(scenarios) > 1:
        handles += [Line2D([], [], color="black", marker=MARKERS[i % len(MARKERS)], linestyle="",
                           label=i18n.scenario_label(s, lang)) for i, s in enumerate(scenarios)]
    return handles


def plot_ablations(ablations: pd.DataFrame, metrics, lang: str = "en") -> Figure:
    """Effect of each switch on each headline metric: removed from the full regime (parent −
    ablation) and added alone to competition (ablation − parent), 95% t-intervals."""
    with i18n.figure_style(lang):
        switches = sorted(ablations["switch"].unique(), key=lambda s: list(i18n.SWITCHES).index(s)
                          if s in i18n.SWITCHES else 99)
        fig = Figure(figsize=(14, min(8.0, 2.0 + 0.75 * len(switches))), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(metrics), squeeze=False).ravel())
        for i, (ax, metric) in enumerate(zip(axes, metrics)):
            rows = ablations[(ablations["metric"] == metric)
                             & (ablations["measure"] == headline_measure(metric))]
            for kind, offset in (("removed", -0.15), ("added", 0.15)):
                part = rows[rows["kind"] == kind].set_index("switch").reindex(switches)
                y = np.arange(len(switches)) + offset
                err = np.nan_to_num([part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]])
                ax.errorbar(part["mean"], y, xerr=err, fmt="o", color=KIND_COLOURS[kind],
                            capsize=3, label=i18n.term(f"ablation_{kind}", lang))
            ax.axvline(0, color="black", linewidth=1)
            ax.set_yticks(range(len(switches)),
                          [i18n.switch_label(s, lang) if i == 0 else "" for s in switches])
            ax.invert_yaxis()
            ax.set_title(headline_label(metric, lang, unit=True), fontsize=11)
            ax.grid(axis="x", alpha=0.3)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=2)
        fig.suptitle(i18n.term("ablations_title", lang), fontsize=13)
    return fig
