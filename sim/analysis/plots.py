"""Figures of a batch comparison. Every function takes DataFrames and returns a Figure.

Inputs are the tables of :mod:`sim.analysis.stats` (``over_time``, ``levels``, ``city_gains``,
``city_levels``) or stored tables (``sectors``, ``cities``, ``transfers``). Figures are built
with :class:`matplotlib.figure.Figure` (no pyplot state, Agg-safe). Each scenario keeps one
colour across all figures (:func:`scenario_colours`); enter :func:`i18n.figure_style` around
creating and saving figures for Chinese labels.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Polygon
from matplotlib.ticker import MaxNLocator

from sim.analysis import i18n, stats
from sim.model.tables import CHANNELS

TIME_SERIES_METRICS = ("similarity_ring_mean", "wuhan_share", "subsidy_total", "welfare",
                       "relocated_out_of_wuhan_cum", "theil")
FIXED_COLOURS = {"homogenised": "#d62728", "coordinated": "#1f77b4"}
CHANNEL_COLOURS = dict(zip(CHANNELS, colormaps["Dark2"].colors))
MEASURE_COLOURS = {"gdp_physical": "#4c72b0", "gdp_credited": "#dd8452", "fiscal_net": "#55a868"}
LINESTYLES = ("-", "--", ":", "-.")
LQ_CLIP = (0.125, 8.0)
STAT_COLUMNS = ("n", "mean", "sd", "ci_low", "ci_high", "metric", "measure", "step", "city",
                "baseline", "effect_size_dz", "p_ttest", "p_wilcoxon", "section", "value")


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


def sweep_keys(frame: pd.DataFrame) -> list[str]:
    """Swept dotted-key columns of a statistics table."""
    return [c for c in frame.columns if c not in STAT_COLUMNS and c != "scenario"]


def distinct_sweeps(frame: pd.DataFrame) -> list[str]:
    """Swept keys, leaving out keys that move in lockstep with an earlier one (zipped sweeps)."""
    keys: list[str] = []
    for key in sweep_keys(frame):
        codes = pd.factorize(frame[key].astype(str))[0]
        if not any((pd.factorize(frame[k].astype(str))[0] == codes).all() for k in keys):
            keys.append(key)
    return keys


def series_label(scenario: str, keys, values) -> str:
    """``scenario (key=value, ...)`` for a sweep point, the last part of each dotted key."""
    extra = [f"{k.split('.')[-1]}={v:g}" if isinstance(v, float) else f"{k.split('.')[-1]}={v}"
             for k, v in zip(keys, values) if not pd.isna(v)]
    return f"{scenario} ({', '.join(extra)})" if extra else scenario


def _series(frame: pd.DataFrame):
    """Yield (label, scenario, sweep index, rows) for each scenario and sweep point."""
    sweep = sweep_keys(frame)
    shown = distinct_sweeps(frame)
    counters: dict[str, int] = {}
    for key, rows in frame.groupby(["scenario", *sweep], dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        scenario, point = key[0], dict(zip(sweep, key[1:]))
        label = series_label(scenario, shown, [point[k] for k in shown])
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
        fig, axes = _grid(len(metrics), 3)
        for ax, metric in zip(axes, metrics):
            data = over_time[over_time["metric"] == metric]
            for label, scenario, index, rows in _series(data):
                rows = rows.sort_values("step")
                ax.plot(rows["step"], rows["mean"], color=colours[scenario], label=label,
                        linestyle=LINESTYLES[index % len(LINESTYLES)])
                ax.fill_between(rows["step"], rows["ci_low"], rows["ci_high"],
                                color=colours[scenario], alpha=0.2, linewidth=0)
            ax.set_title(i18n.metric_label(metric, lang), fontsize=10)
            ax.set_xlabel(i18n.term("step", lang))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)),
                   fontsize=8)
    return fig


def scenario_rank(name: str, baseline: str) -> tuple:
    """Sort key: the baseline, main scenarios, ``*_without_*`` then ``*_with_*`` ablations."""
    kind = 0 if name == baseline else 3 if "_with_" in name else 2 if "_without_" in name else 1
    return kind, name


def _intervals(ax, data: pd.DataFrame, baseline: str, colours: dict, lang: str,
               labels: bool = True) -> None:
    """One point with its interval per scenario (and sweep point), top to bottom.

    ``labels``: write the scenario names (only the first panel of each row does).
    """
    rows = sorted(_series(data), key=lambda r: (scenario_rank(r[1], baseline), r[2]))
    for y, (_label, scenario, _index, row) in enumerate(rows):
        row = row.iloc[0]
        err = [[row["mean"] - row["ci_low"]], [row["ci_high"] - row["mean"]]]
        ax.errorbar(row["mean"], y, xerr=np.nan_to_num(err), fmt="D" if scenario == baseline
                    else "o", color=colours[scenario], capsize=3)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([_baseline_mark(r[0], r[1], baseline, lang) if labels else ""
                        for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))


def plot_last_step(levels: pd.DataFrame, baseline: str, metrics, colours: dict | None = None,
                   lang: str = "en", measure: str = "last") -> Figure:
    """Point and 95% t-interval per scenario and metric; the baseline's mean a dashed line."""
    data = levels[levels["measure"] == measure]
    colours = colours or scenario_colours(data["scenario"].unique())
    n_series = max(1, len(list(_series(data[data["metric"] == metrics[0]]))))
    with i18n.figure_style(lang):
        fig, axes = _grid(len(metrics), 3, width=5.2, height=0.9 + 0.28 * n_series)
        for i, (ax, metric) in enumerate(zip(axes, metrics)):
            rows = data[data["metric"] == metric]
            _intervals(ax, rows, baseline, colours, lang, labels=i % 3 == 0)
            base = rows[rows["scenario"] == baseline]
            if len(base):
                ax.axvline(base["mean"].iloc[0], color="grey", linestyle="--", linewidth=1)
            ax.set_title(i18n.metric_label(metric, lang), fontsize=10)
        fig.suptitle(i18n.term("last_step", lang))
    return fig


def plot_differences(differences: pd.DataFrame, metrics, colours: dict | None = None,
                     lang: str = "en", measure: str = "last") -> Figure:
    """Paired difference from the baseline with its bootstrap interval; zero a dashed line."""
    data = differences[differences["measure"] == measure]
    baseline = str(data["baseline"].iloc[0]) if len(data) else ""
    colours = colours or scenario_colours(data["scenario"].unique())
    n_series = max(1, len(list(_series(data[data["metric"] == metrics[0]]))))
    with i18n.figure_style(lang):
        fig, axes = _grid(len(metrics), 3, width=5.2, height=0.9 + 0.28 * n_series)
        for i, (ax, metric) in enumerate(zip(axes, metrics)):
            _intervals(ax, data[data["metric"] == metric], baseline, colours, lang,
                       labels=i % 3 == 0)
            ax.axvline(0.0, color="grey", linestyle="--", linewidth=1)
            ax.set_title(i18n.metric_label(metric, lang), fontsize=10)
        fig.suptitle(f"{i18n.term('difference', lang)} ({baseline}), "
                     f"{i18n.term('paired_note', lang)}")
    return fig


def _baseline_mark(label: str, scenario: str, baseline: str, lang: str) -> str:
    return f"{label} [{i18n.term('baseline', lang)}]" if scenario == baseline else label


def plot_investment_map(table: pd.DataFrame, scenarios, measure: str = "lq",
                        lang: str = "en") -> Figure:
    """产业招商地图: city x sector heatmaps, scenarios side by side, on one colour scale.

    Args:
        table: the ``sectors`` table (``measure`` ``lq`` or ``share`` of last-step output), or
            the ``transfers`` table with ``measure="arrivals"`` (LQ of output placed over the
            horizon, see :func:`stats.arrivals_matrix`).
    Location quotients are drawn on a log2 scale clipped to [1/8, 8] (red: specialised, LQ > 1).
    """
    if measure == "arrivals":
        matrices = [stats.arrivals_matrix(table, s) for s in scenarios]
    else:
        matrices = [stats.investment_matrix(table, s, measure) for s in scenarios]
    with i18n.figure_style(lang):
        fig = Figure(figsize=(5.2 * len(matrices) + 1.2, 4.8), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(matrices), squeeze=False).ravel())
        vmax = max(float(np.nanmax(m.to_numpy())) for m in matrices) or 1.0
        for ax, scenario, matrix in zip(axes, scenarios, matrices):
            if measure in ("lq", "arrivals"):
                values = np.log2(np.clip(matrix.to_numpy(), LQ_CLIP[0], LQ_CLIP[1]))
                image = ax.imshow(values, cmap="RdBu_r", vmin=-3, vmax=3, aspect="auto")
            else:
                image = ax.imshow(matrix.to_numpy(), cmap="viridis", vmin=0, vmax=vmax,
                                  aspect="auto")
            ax.set_xticks(range(matrix.shape[1]))
            ax.set_xticklabels([i18n.sector_label(c, lang) for c in matrix.columns],
                               rotation=90, fontsize=7)
            ax.set_yticks(range(matrix.shape[0]))
            ax.set_yticklabels([i18n.city_label(c, lang) for c in matrix.index], fontsize=8)
            ax.set_title(scenario)
        bar = fig.colorbar(image, ax=list(axes), label=i18n.term(measure, lang), shrink=0.8)
        if measure in ("lq", "arrivals"):
            bar.set_ticks(range(-3, 4), labels=["1/8", "1/4", "1/2", "1", "2", "4", "8"])
        fig.suptitle(i18n.term("investment_map" if measure != "arrivals" else "arrivals_map",
                               lang))
    return fig


def city_coordinates(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """City, lon, lat from ``cities.csv`` in ``data_dir`` (default: the package data folder)."""
    path = Path(data_dir or i18n.DATA_DIR) / "cities.csv"
    return pd.read_csv(path, usecols=["city", "lon", "lat"])


def read_boundaries(path: str | os.PathLike) -> list[np.ndarray]:
    """Outer rings (lon, lat arrays) of the Polygon/MultiPolygon features of a GeoJSON file.

    Raises:
        ValueError: the file is not JSON or holds no polygon geometry (message names the file).
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot read GeoJSON boundaries ({error})") from None
    features = data.get("features", [data]) if isinstance(data, dict) else []
    rings = []
    for feature in features:
        geometry = feature.get("geometry", feature) if isinstance(feature, dict) else {}
        kind, coords = geometry.get("type"), geometry.get("coordinates", [])
        polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
        rings += [np.asarray(polygon[0], dtype=float)[:, :2] for polygon in polygons if polygon]
    if not rings:
        raise ValueError(f"{path}: expected a GeoJSON FeatureCollection with Polygon or "
                         "MultiPolygon features, found none")
    return rings


def plot_flow_map(cities: pd.DataFrame, transfers: pd.DataFrame, scenarios,
                  coordinates: pd.DataFrame | None = None, boundaries: list | None = None,
                  lang: str = "en") -> Figure:
    """Cities at their coordinates sized by GDP; arrows Wuhan → ring city, width = output moved."""
    coords = (coordinates if coordinates is not None else city_coordinates()).set_index("city")
    runs = cities.groupby("scenario")["run"].nunique()
    flows = {s: stats.moved_out_of_wuhan(transfers, s, int(runs.get(s, 0))) for s in scenarios}
    largest = max([f["output"].max() for f in flows.values() if len(f)] + [1e-12])
    with i18n.figure_style(lang):
        fig = Figure(figsize=(5.5 * len(scenarios), 5.2), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(scenarios), squeeze=False).ravel())
        for ax, scenario in zip(axes, scenarios):
            if boundaries:
                ax.add_collection(PatchCollection([Polygon(r) for r in boundaries],
                                                  facecolor="#f2f2f2", edgecolor="#999999",
                                                  linewidth=0.6))
            _draw_cities(ax, cities, scenario, coords, lang)
            _draw_arrows(ax, flows[scenario], coords, largest)
            ax.set_title(scenario)
            ax.set_aspect(1 / math.cos(math.radians(float(coords["lat"].mean()))))
            ax.margins(0.08)
            ax.set_xlabel("lon")
            ax.set_ylabel("lat")
        present = sorted({c for f in flows.values() for c in f["channel"]}, key=CHANNELS.index)
        handles = [Line2D([], [], color=CHANNEL_COLOURS[c], lw=3,
                          label=i18n.channel_label(c, lang)) for c in present]
        if handles:
            fig.legend(handles=handles, loc="outside lower center", ncol=len(handles))
        fig.suptitle(f"{i18n.term('flow_map', lang)}; {i18n.term('gdp_size', lang)}")
    return fig


def _draw_cities(ax, cities: pd.DataFrame, scenario: str, coords: pd.DataFrame, lang: str):
    rows = cities[cities["scenario"] == scenario]
    rows = rows[rows["step"] == rows.groupby("run")["step"].transform("max")]
    gdp = rows.groupby("city")["gdp_physical"].mean().reindex(coords.index).fillna(0.0)
    sizes = 20 + 900 * gdp / max(float(gdp.max()), 1e-12)
    ax.scatter(coords["lon"], coords["lat"], s=sizes, color="#8c8c8c", alpha=0.6,
               edgecolor="black", linewidth=0.5, zorder=3)
    for city, row in coords.iterrows():
        ax.annotate(i18n.city_label(city, lang), (row["lon"], row["lat"]), fontsize=8,
                    xytext=(4, 4), textcoords="offset points", zorder=4)


def _draw_arrows(ax, moved: pd.DataFrame, coords: pd.DataFrame, largest: float):
    start = (coords.loc["Wuhan", "lon"], coords.loc["Wuhan", "lat"])
    for row in moved.itertuples():
        if row.output <= 0 or row.to_city not in coords.index:
            continue
        rad = 0.15 * (CHANNELS.index(row.channel) - 2)
        end = (coords.loc[row.to_city, "lon"], coords.loc[row.to_city, "lat"])
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                     connectionstyle=f"arc3,rad={rad}", zorder=2,
                                     shrinkA=6, shrinkB=8,
                                     linewidth=0.6 + 4.5 * row.output / largest,
                                     color=CHANNEL_COLOURS[row.channel], alpha=0.85))


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
                        xerr=err, color=colour, label=i18n.metric_label(measure, lang),
                        error_kw={"elinewidth": 0.7, "capsize": 2})
            ax.set_yticks(range(len(order)))
            ax.set_yticklabels([i18n.city_label(c, lang) for c in order])
            ax.invert_yaxis()
            ax.axvline(0, color="black", linewidth=0.8)
            ax.set_title(f"{scenario}{point} − {rows['baseline'].iloc[0] if len(rows) else ''}")
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
                label = i18n.city_label(name, lang) if series == "city" else name
                ax.plot(part[sweep], part["mean"], marker="o", color=colours[name], label=label)
                ax.fill_between(part[sweep].astype(float), part["ci_low"], part["ci_high"],
                                color=colours[name], alpha=alpha, linewidth=0)
            _reference_line(ax, levels, baseline, metric, lang)
            ax.set_title(i18n.metric_label(metric, lang), fontsize=10)
            ax.set_xlabel(sweep)
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
                   label=f"{baseline} [{i18n.term('baseline', lang)}]")


def save_figure(fig: Figure, out_dir: str | os.PathLike, name: str, lang: str = "en") -> Path:
    """Save ``name.png`` (200 dpi) and ``name.svg``; returns the PNG path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with i18n.figure_style(lang):
        fig.savefig(out / f"{name}.png", dpi=200)
        fig.savefig(out / f"{name}.svg")
    return out / f"{name}.png"
