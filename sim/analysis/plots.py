"""Figures of a batch comparison. Every function takes DataFrames and returns a Figure.

Inputs are the tables of :mod:`sim.analysis.stats` (``over_time``, ``levels``, ``city_gains``,
``city_levels``) or stored tables (``sectors``, ``cities``, ``transfers``). Figures are built
with :class:`matplotlib.figure.Figure` (no pyplot state, Agg-safe). Each scenario keeps one
colour across all figures (:func:`scenario_colours`); enter :func:`i18n.figure_style` around
creating and saving figures for Chinese labels.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.analysis import i18n, registry
from sim.analysis.maps import (  # noqa: F401  (the map figures, re-exported)
    CHANNEL_COLOURS,
    LQ_CLIP,
    arrow_width,
    city_coordinates,
    label_offsets,
    plot_coordinator_map,
    plot_flow_map,
    plot_specialisation,
    read_boundaries,
    width_key,
)
from sim.analysis.summary_rows import distinct_sweeps, sweep_keys

#: Metrics drawn over time (seven panels): the headline metrics except circle GDP, and the
#: output relocated out of Wuhan.
TIME_SERIES_METRICS = (*(code for code in registry.HEADLINE if code != "gdp_total"),
                       "relocated_out_of_wuhan_cum")
FIXED_COLOURS = {"homogenised": "#d62728", "coordinated": "#1f77b4"}
MEASURE_COLOURS = {"gdp_physical": "#4c72b0", "gdp_credited": "#dd8452", "fiscal_net": "#55a868"}
LINESTYLES = ("-", "--", ":", "-.")
#: Largest PNG (width, height) in pixels: a 16:9 slide.
MAX_PIXELS = (1600, 900)


def scenario_colours(names) -> dict[str, str]:
    """One fixed colour per scenario: homogenised red, coordinated blue, others from tab20.

    Depends only on the set of names, so every figure of a batch agrees.
    """
    strong = [c for i, c in enumerate(colormaps["tab10"].colors) if i not in (0, 3)]
    light = [c for i, c in enumerate(colormaps["tab20"].colors) if i % 2 and i not in (1, 7)]
    palette = strong + light + list(colormaps["Dark2"].colors)
    others = sorted(set(names) - set(FIXED_COLOURS))
    colours = {name: FIXED_COLOURS[name] for name in set(names) & set(FIXED_COLOURS)}
    colours.update({name: palette[i % len(palette)] for i, name in enumerate(others)})
    return colours


def series_label(scenario: str, keys, values, lang: str = "en") -> str:
    """``Display name (key=value, ...)`` for a sweep point, the last part of each dotted key."""
    extra = [f"{k.split('.')[-1]}={v:g}" if isinstance(v, float) else f"{k.split('.')[-1]}={v}"
             for k, v in zip(keys, values) if not pd.isna(v)]
    name = i18n.scenario_label(scenario, lang)
    return f"{name} ({', '.join(extra)})" if extra else name


def _series(frame: pd.DataFrame, lang: str = "en"):
    """Yield (label, scenario, sweep index, rows) for each scenario and sweep point."""
    sweep = sweep_keys(frame)
    shown = distinct_sweeps(frame)
    counters: dict[str, int] = {}
    for key, rows in frame.groupby(["scenario", *sweep], dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        scenario, point = key[0], dict(zip(sweep, key[1:]))
        label = series_label(scenario, shown, [point[k] for k in shown], lang)
        index = counters[scenario] = counters.get(scenario, -1) + 1
        yield label, scenario, index, rows


def _grid(n: int, ncols: int, width: float = 4.6, height: float = 3.2):
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(width * ncols, height * nrows + 0.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def plot_time_series(over_time: pd.DataFrame, metrics=TIME_SERIES_METRICS,
                     colours: dict | None = None, lang: str = "en") -> Figure:
    """Mean over replicates with its 95% band, one line per scenario (and sweep point)."""
    with i18n.figure_style(lang):
        colours = colours or scenario_colours(over_time["scenario"].unique())
        fig, axes = _grid(len(metrics), 4)
        for ax, metric in zip(axes, metrics):
            data = over_time[over_time["metric"] == metric]
            for label, scenario, index, rows in _series(data, lang):
                rows = rows.sort_values("step")
                ax.plot(rows["step"], rows["mean"], color=colours[scenario], label=label,
                        linestyle=LINESTYLES[index % len(LINESTYLES)])
                ax.fill_between(rows["step"], rows["ci_low"], rows["ci_high"],
                                color=colours[scenario], alpha=0.2, linewidth=0)
            ax.set_title(i18n.metric_label(metric, lang), fontsize=10)
            ax.set_xlabel(i18n.term("step", lang))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        handles, labels = axes[0].get_legend_handles_labels()
        if labels:  # none when every scenario is swept (the sweep figures show those)
            fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)),
                       fontsize=8)
    return fig


def plot_city_gains(city_gains: pd.DataFrame, scenarios, lang: str = "en") -> Figure:
    """Each city's gain or loss against the baseline: physical vs credited GDP, tax − subsidies."""
    with i18n.figure_style(lang):
        fig, axes = _grid(len(scenarios), 2, width=6.0, height=4.2)
        width = 0.8 / len(MEASURE_COLOURS)
        for ax, scenario in zip(axes, scenarios):
            rows, point = _one_point(city_gains[city_gains["scenario"] == scenario])
            order = i18n.city_order(rows["city"].unique())
            for i, (measure, colour) in enumerate(MEASURE_COLOURS.items()):
                part = rows[rows["metric"] == measure].groupby("city").first().reindex(order)
                err = np.nan_to_num([part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]])
                ax.barh(np.arange(len(order)) + (i - 1) * width, part["mean"].fillna(0), width,
                        xerr=err, color=colour, label=registry.get(measure).label(lang),
                        error_kw={"elinewidth": 0.7, "capsize": 2})
            ax.set_yticks(range(len(order)))
            ax.set_yticklabels([i18n.city_label(c, lang) for c in order])
            ax.invert_yaxis()
            ax.axvline(0, color="black", linewidth=0.8)
            base = rows["baseline"].iloc[0] if len(rows) else ""
            ax.set_title(f"{i18n.scenario_label(scenario, lang)}{point} − "
                         f"{i18n.scenario_label(base, lang)}")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=3)
        fig.suptitle(i18n.term("city_gains", lang))
    return fig


def _one_point(rows: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The unswept rows, or else the first sweep point's rows and a ' (key=value)' note."""
    keys = sweep_keys(rows)
    if not keys or rows[keys].isna().all(axis=1).any():
        return (rows[rows[keys].isna().all(axis=1)] if keys else rows), ""
    first = rows.sort_values(keys).iloc[0]
    mask = np.logical_and.reduce([rows[k] == first[k] for k in keys])
    return rows[mask], " (" + ", ".join(f"{k.split('.')[-1]}={first[k]}" for k in keys) + ")"


def plot_sweep(levels: pd.DataFrame, sweep: str, metrics, colours: dict | None = None,
               lang: str = "en", series: str = "scenario", baseline: str | None = None,
               title: str | None = None) -> Figure:
    """Response curves: mean and 95% band of each metric against a swept value.

    Args:
        levels: a levels-shaped table (``mean``, ``ci_low``, ``ci_high``, ``metric``, the
            swept column); only rows at a sweep point (and measure ``last``) are drawn.
        series: the column drawn as separate lines: ``scenario``, or ``city`` for a city table
            filtered to one scenario (e.g. ``city_gains``: who gains at each share).
        baseline: scenario whose unswept mean is drawn as a dashed reference line.
        title: figure title (default: the swept key).
    """
    if "measure" in levels.columns:
        levels = levels[levels["measure"] == "last"]
    data = levels[levels[sweep].notna()]
    names = sorted(data[series].unique(), key=str)
    if series == "city":
        names = i18n.city_order(names)
        colours = dict(zip(names, colormaps["tab10"].colors * 3))
    colours = colours or scenario_colours(names)
    alpha = 0.2 if len(names) <= 4 else 0.08
    with i18n.figure_style(lang):
        fig, axes = _grid(len(metrics), 3, width=4.6 if len(metrics) > 1 else 8.0,
                          height=3.2 if len(metrics) > 1 else 4.5)
        for ax, metric in zip(axes, metrics):
            rows = data[data["metric"] == metric]
            for name in names:
                part = rows[rows[series] == name].sort_values(sweep)
                label = (i18n.city_label(name, lang) if series == "city"
                         else i18n.scenario_label(name, lang))
                ax.plot(part[sweep], part["mean"], marker="o", color=colours[name], label=label)
                ax.fill_between(part[sweep].astype(float), part["ci_low"], part["ci_high"],
                                color=colours[name], alpha=alpha, linewidth=0)
            _reference_line(ax, levels, baseline, metric, lang)
            ax.set_title(i18n.metric_label(metric, lang), fontsize=10)
            ax.set_xlabel(sweep.split(".")[-1].replace("_", " "))
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=min(5, max(1, len(labels))),
                   fontsize=8)
        fig.suptitle(title or f"{i18n.term('sweep', lang)} {sweep}")
    return fig


def _reference_line(ax, levels: pd.DataFrame, baseline: str | None, metric: str, lang: str):
    """A dashed line at the baseline's unswept mean of the metric, labelled 'baseline'."""
    if baseline is None:
        return
    rows, _ = _one_point(levels[(levels["scenario"] == baseline) & (levels["metric"] == metric)])
    if len(rows):
        ax.axhline(float(rows["mean"].iloc[0]), color="grey", linestyle="--", linewidth=1,
                   label=f"{i18n.scenario_label(baseline, lang)} [{i18n.term('baseline', lang)}]")


def png_dpi(fig: Figure, largest: tuple[int, int] = MAX_PIXELS) -> float:
    """100 dpi, or less so that the PNG fits within ``largest`` (width, height) pixels."""
    width, height = fig.get_size_inches()
    return min(100.0, largest[0] / width, largest[1] / height)


def save_figure(fig: Figure, out_dir: str | os.PathLike, name: str, lang: str = "en") -> Path:
    """Save ``name.png`` (at most 1600 x 900 px, see :func:`png_dpi`) and ``name.svg``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with i18n.figure_style(lang):
        fig.savefig(out / f"{name}.png", dpi=png_dpi(fig))
        fig.savefig(out / f"{name}.svg")
    return out / f"{name}.png"


ENCLAVE_SHARE_PANELS = (
    ("output", ("enclave_output", "relocated_out_of_wuhan_cum", "wuhan_investment_in_ring_cum")),
    ("credited GDP", ("source_gdp_credited", "hosts_gdp_credited")),
    ("fiscal balance", ("source_fiscal_balance", "hosts_fiscal_balance")),
)
#: Panel titles and series labels of the enclave share figure, English and Chinese.
ENCLAVE_SHARE_LABELS: dict[str, tuple[str, str]] = {
    "output": ("Output, 100m yuan/yr", "产值(亿元/年)"),
    "credited GDP": ("Credited GDP, 100m yuan/yr", "核算认定GDP(亿元/年)"),
    "fiscal balance": ("Fiscal balance, 100m yuan/yr", "财政收支差额(亿元/年)"),
    "enclave_output": ("Enclave parks' output", "飞地园区产值"),
    "source_gdp_credited": ("Source (Wuhan)", "飞出地(武汉)"),
    "hosts_gdp_credited": ("Host cities", "飞入地城市"),
    "source_fiscal_balance": ("Source (Wuhan)", "飞出地(武汉)"),
    "hosts_fiscal_balance": ("Host cities", "飞入地城市"),
    "x": ("Source's share of the enclave's GDP credit and tax",
          "飞出地分享飞地GDP与税收的比例"),
    "title": ("Enclave sharing: what each share of GDP credit and tax to the source brings "
              "(last quarter, mean and 95% interval)",
              "飞地分成:飞出地分得不同GDP与税收比例时的结果(末期,均值与95%区间)"),
}


def _enclave_label(key: str, lang: str) -> str:
    if key in ENCLAVE_SHARE_LABELS:
        return ENCLAVE_SHARE_LABELS[key][i18n.LANGUAGES.index(lang)]
    return registry.get(key).label(lang)


def plot_enclave_share(table: pd.DataFrame, share_key: str, lang: str = "en") -> Figure:
    """Enclave output, output relocated out of Wuhan, Wuhan investors' new output in the ring,
    and the source's and hosts' credited GDP and fiscal balance (last step, mean and 95%
    interval) against the source's enclave share.

    ``table`` is :func:`sim.analysis.enclaves.enclave_share_table`.
    """
    with i18n.figure_style(lang):
        fig, axes = _grid(len(ENCLAVE_SHARE_PANELS), len(ENCLAVE_SHARE_PANELS), 5.2, 4.0)
        for ax, (title, metrics) in zip(np.ravel(axes), ENCLAVE_SHARE_PANELS):
            for style, metric in zip(LINESTYLES, metrics):
                rows = table[table.metric == metric].sort_values(share_key)
                if rows.empty:
                    continue
                x = rows[share_key].astype(float).to_numpy()
                ax.plot(x, rows["mean"], linestyle=style, marker="o",
                        label=_enclave_label(metric, lang))
                ax.fill_between(x, rows["ci_low"], rows["ci_high"], alpha=0.2)
            ax.set_title(_enclave_label(title, lang), fontsize=11)
            ax.set_xlabel(_enclave_label("x", lang))
            ax.legend(fontsize="small")
        fig.suptitle(_enclave_label("title", lang), fontsize=12)
    return fig
