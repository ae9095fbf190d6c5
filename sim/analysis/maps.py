"""Map-like figures: the coordinator's investment map, output specialisation (location
quotients), where projects landed, and the flow map of output moved out of Wuhan.

Each function takes stored tables (``investment_map``, ``sectors``, ``transfers``, ``cities``)
and returns a :class:`matplotlib.figure.Figure`; labels follow ``lang``.
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

from sim.analysis import i18n, stats
from sim.model.tables import CHANNELS
from sim.rules.constants import TOLERANCE

CHANNEL_COLOURS = dict(zip(CHANNELS, colormaps["Dark2"].colors))
LQ_CLIP = (0.125, 8.0)


def plot_specialisation(table: pd.DataFrame, scenarios, measure: str = "lq",
                        lang: str = "en") -> Figure:
    """Where each city's output sits by sector: city x sector heatmaps, scenarios side by side.

    Not the coordinator's map (that is :func:`plot_coordinator_map`): this is the outcome.

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
        fig = Figure(figsize=(min(16.0, 5.2 * len(matrices) + 1.2), 5.6),
                     layout="constrained")
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
            ax.set_title(i18n.scenario_label(scenario, lang))
        bar = fig.colorbar(image, ax=list(axes), label=i18n.term(measure, lang), shrink=0.8)
        if measure in ("lq", "arrivals"):
            bar.set_ticks(range(-3, 4), labels=["1/8", "1/4", "1/2", "1", "2", "4", "8"])
        fig.suptitle(i18n.term("specialisation" if measure != "arrivals" else "arrivals_map",
                               lang))
    return fig


def plot_coordinator_map(investment_map: pd.DataFrame, scenario: str, n_runs: int,
                         lang: str = "en") -> Figure:
    """产业招商地图: which city the coordinator assigns each sector-segment (last step).

    Rows cities, columns sector-segments grouped by sector; the shade is the share of runs in
    which the cell is on the map (the planner's scores are noisy, so runs can differ).
    """
    matrix = stats.map_matrix(investment_map, scenario, n_runs)
    with i18n.figure_style(lang):
        fig = Figure(figsize=(16, 6.5), layout="constrained")
        ax = fig.subplots()
        image = ax.imshow(matrix.to_numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
        sectors = list(dict.fromkeys(c[0] for c in matrix.columns))
        spans = [[i for i, c in enumerate(matrix.columns) if c[0] == k] for k in sectors]
        ax.set_xticks([np.mean(span) for span in spans],
                      [i18n.sector_label(k, lang) for k in sectors], rotation=35, ha="right",
                      fontsize=8)
        for span in spans[1:]:
            ax.axvline(span[0] - 0.5, color="#444444", linewidth=0.8)
        top = ax.secondary_xaxis("top")
        top.set_xticks(range(matrix.shape[1]),
                       [i18n.segment_label(c[1], lang)[:1] for c in matrix.columns], fontsize=6)
        ax.set_yticks(range(matrix.shape[0]), [i18n.city_label(c, lang) for c in matrix.index])
        fig.colorbar(image, ax=ax, label=i18n.term("map_share", lang), shrink=0.8)
        key = ", ".join(f"{i18n.segment_label(g, lang)[:1]} = {i18n.segment_label(g, lang)}"
                        for g in dict.fromkeys(c[1] for c in matrix.columns))
        fig.suptitle(f"{i18n.term('coordinator_map', lang)}: {i18n.scenario_label(scenario, lang)}"
                     f" ({key})", fontsize=12)
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
    largest = max([f["output"].max() for f in flows.values() if len(f)] + [TOLERANCE])
    with i18n.figure_style(lang):
        fig = Figure(figsize=(min(16.0, 5.5 * len(scenarios) + 2.0), 5.6), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(scenarios), squeeze=False).ravel())
        for ax, scenario in zip(axes, scenarios):
            if boundaries:
                ax.add_collection(PatchCollection([Polygon(r) for r in boundaries],
                                                  facecolor="#f2f2f2", edgecolor="#999999",
                                                  linewidth=0.6))
            _draw_cities(ax, cities, scenario, coords, lang)
            _draw_arrows(ax, flows[scenario], coords, largest)
            ax.set_title(i18n.scenario_label(scenario, lang))
            ax.set_aspect(1 / math.cos(math.radians(float(coords["lat"].mean()))))
            ax.margins(0.1)
            ax.set_xlabel(i18n.term("lon", lang))
            ax.set_ylabel(i18n.term("lat", lang))
        present = sorted({c for f in flows.values() for c in f["channel"]}, key=CHANNELS.index)
        handles = [Line2D([], [], color=CHANNEL_COLOURS[c], lw=3,
                          label=i18n.channel_label(c, lang)) for c in present]
        if handles:
            fig.legend(handles=handles, loc="outside lower center", ncol=len(handles),
                       title=i18n.term("channel", lang))
        fig.legend(handles=width_key(largest), loc="outside right center",
                   title=i18n.term("width_key", lang), handlelength=3)
        fig.suptitle(f"{i18n.term('flow_map', lang)}; {i18n.term('gdp_size', lang)}")
    return fig


def _draw_cities(ax, cities: pd.DataFrame, scenario: str, coords: pd.DataFrame, lang: str):
    rows = cities[cities["scenario"] == scenario]
    rows = rows[rows["step"] == rows.groupby("run")["step"].transform("max")]
    gdp = rows.groupby("city")["gdp_physical"].mean().reindex(coords.index).fillna(0.0)
    sizes = 20 + 900 * gdp / max(float(gdp.max()), TOLERANCE)
    ax.scatter(coords["lon"], coords["lat"], s=sizes, color="#8c8c8c", alpha=0.6,
               edgecolor="black", linewidth=0.5, zorder=3)
    for city, (dx, dy, ha, va) in label_offsets(coords).items():
        ax.annotate(i18n.city_label(city, lang), (coords.loc[city, "lon"], coords.loc[city, "lat"]),
                    fontsize=9, xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                    zorder=4)


def label_offsets(coords: pd.DataFrame, near: float = 0.25) -> dict[str, tuple]:
    """Label placement per city: above-right, or below-left when a city within ``near`` degrees
    lies north of it (so close neighbours such as Ezhou and Huanggang label apart)."""
    out = {}
    for city, row in coords.iterrows():
        close = np.hypot(coords["lon"] - row["lon"], coords["lat"] - row["lat"]) < near
        above = close & (coords["lat"] > row["lat"])
        out[city] = (-6, -6, "right", "top") if above.any() else (6, 6, "left", "bottom")
    return out


def arrow_width(output: float, largest: float) -> float:
    """Line width (points) of an arrow carrying ``output`` when the largest carries ``largest``."""
    return 0.6 + 4.5 * output / largest


def width_key(largest: float) -> list[Line2D]:
    """Legend entries for arrow widths at the largest flow, half and a tenth of it."""
    return [Line2D([], [], color="#555555", lw=arrow_width(v, largest), label=f"{v:,.3g}")
            for v in (largest, largest / 2, largest / 10)]


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
                                     linewidth=arrow_width(row.output, largest),
                                     color=CHANNEL_COLOURS[row.channel], alpha=0.85))
