"""The explorer's figures, built once per model and updated in place quarter by quarter.

The flow map, the time series and the investment map are :class:`~sim.explorer.live.LiveFigure`
objects: a step changes only what moved (line data, marker sizes, arrow widths, a few texts); the
city positions and names, titles, legends and colour bar are made once, and a figure is drawn to
PNG again only when what it shows changed (the investment map only in quarters its map changes).
Plain figures (no pyplot state): they work in a notebook, in tests and in Solara.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Hashable

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch
from matplotlib.transforms import ScaledTranslation

from sim.analysis import i18n, stats
from sim.analysis.maps import CHANNEL_COLOURS, arrow_width, label_offsets, width_key
from sim.config.loader import data_folder
from sim.explorer.live import LiveFigure, encode_png, room  # noqa: F401  (encode_png: API)
from sim.model import CircleModel
from sim.model.tables import CHANNELS
from sim.model.world import SEGMENTS
from sim.rules.constants import TOLERANCE

#: Quarters drawn on the time axes before the run gets there when the model does not say
#: (an ExplorerModel's ``horizon``: the bundled files' 20 quarters, 2021-2025).
HORIZON = 20
#: Figure resolution (dots per inch): the page shows them at about this size.
DPI = 80
SERIES = (("welfare", "Welfare of the circle (100m yuan/yr)"),
          ("welfare_national", "National welfare (100m yuan/yr)"),
          ("wuhan_share", "Wuhan share of circle GDP"),
          ("similarity_ring_mean", "Ring structure similarity"),
          ("subsidy_total", "Subsidies (100m yuan/yr)"),
          ("relocated_out_of_wuhan_cum", "Relocated out of Wuhan, cum. (100m yuan/yr)"))
#: Channels that move output out of Wuhan (exits leave the circle), in the legend's order.
MOVING = tuple(c for c in CHANNELS if c != "exit")


def _runs(model: CircleModel) -> list[tuple[str, dict[str, pd.DataFrame]]]:
    """(scenario name, tables so far) of the model and, if it has one, its twin."""
    runs = [(model.config.name, model.tables())]
    if getattr(model, "twin", None) is not None:
        runs.append((model.twin.config.name, model.twin_tables()))
    return runs


def _steps(model: CircleModel) -> tuple[int, ...]:
    twin = getattr(model, "twin", None)
    return (id(model), model.steps) + ((twin.steps,) if twin is not None else ())


class TimeSeries(LiveFigure):
    """Six headline series against the step (quarter), welfare first: this regime solid, its
    twin (the other regime, same draws) dashed, and the level at step 0 dotted across the
    horizon (the scenario files' 20 quarters at least)."""

    def __init__(self, model: CircleModel) -> None:
        super().__init__(Figure(figsize=(7.0, 6.4), dpi=DPI))
        fig = self.figure
        fig.subplots_adjust(left=0.09, right=0.98, top=0.85, bottom=0.05, hspace=0.5,
                            wspace=0.28)
        start = model.tables()["circle"].iloc[0]
        twin = getattr(model, "twin", None)
        self.lines: list[tuple[Line2D | None, Line2D]] = []
        for ax, (column, label) in zip(fig.subplots(3, 2).ravel(), SERIES):
            ax.axhline(start[column], color="0.6", linestyle=":", linewidth=1, label="step 0")
            other = None if twin is None else ax.plot(
                [], [], color="tab:grey", linestyle="--", marker="o", markersize=2,
                label=f"{i18n.scenario_label(twin.config.name)} (file values)")[0]
            own = ax.plot([], [], color="tab:blue", marker="o", markersize=3,
                          label=i18n.scenario_label(model.config.name))[0]
            self.lines.append((other, own))
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.set_title(label, fontsize=9)
            ax.tick_params(labelsize=7)
        handles = fig.axes[0].get_lines()[::-1]
        fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.925),
                   ncol=len(handles), fontsize=7, frameon=False)
        name = i18n.scenario_label(getattr(twin, "config", model.config).name)
        self._title = (f"Quarter {{}}: {i18n.scenario_label(model.config.name)} (solid) and\n"
                        f"{name} (dashed) on the same random draws")
        self.suptitle = fig.suptitle("", fontsize=9)
        self._fitted = False

    def key(self, model: CircleModel) -> Hashable:
        return _steps(model)

    def update(self, model: CircleModel) -> None:
        circle = model.tables()["circle"]
        twin = model.twin_tables()["circle"] if getattr(model, "twin", None) else None
        horizon = getattr(model, "horizon", HORIZON)
        end = max(horizon, -(-model.steps // 4) * 4)      # beyond it, a year at a time
        for ax, (column, _), (other, own) in zip(self.figure.axes, SERIES, self.lines):
            own.set_data(circle["step"].to_numpy(), circle[column].to_numpy())
            values = [circle[column].to_numpy(), ax.get_lines()[0].get_ydata()]
            if other is not None:
                other.set_data(twin["step"].to_numpy(), twin[column].to_numpy())
                values.append(twin[column].to_numpy())
            ax.set_ylim(*room(ax.get_ylim() if self._fitted else None,
                              np.concatenate(values)))
            if ax.get_xlim() != (0, end):
                ax.set_xlim(0, end)
        self.suptitle.set_text(self._title.format(model.steps))
        self._fitted = True

    def moving(self) -> list[Artist]:
        return [line for pair in self.lines for line in pair if line is not None] \
            + [self.suptitle]

    def panels(self) -> list[tuple[Axes, Hashable]]:
        return [(ax, (ax.get_xlim(), ax.get_ylim())) for ax in self.figure.axes]


class FlowMap(LiveFigure):
    """Cities sized by GDP; arrows from Wuhan sized by output moved so far, by channel; this
    regime and its twin side by side (one arrow per channel and city, made when first used)."""

    def __init__(self, model: CircleModel, lang: str = "en") -> None:
        names = [name for name, _ in _runs(model)]
        super().__init__(Figure(figsize=(4.2 * len(names) + 1.6, 3.7), dpi=DPI))
        fig, w = self.figure, model.world
        self.lang = lang
        self.coords = pd.DataFrame({"lon": w.lon, "lat": w.lat}, index=list(w.cities))
        fig.subplots_adjust(left=0.07, right=0.82, top=0.86, bottom=0.24, wspace=0.3)
        self.axes = list(np.atleast_1d(fig.subplots(1, len(names), squeeze=False).ravel()))
        self.labels: list = []      # city names, drawn over the dots
        self.dots = [self._panel(ax, name) for ax, name in zip(self.axes, names)]
        self.arrows: dict[tuple[int, str, str], FancyArrowPatch] = {}
        fig.legend(handles=[Line2D([], [], color=CHANNEL_COLOURS[c], lw=3,
                                   label=i18n.channel_label(c, lang)) for c in MOVING],
                   loc="lower center", ncol=len(MOVING), fontsize=8,
                   title=i18n.term("channel", lang), title_fontsize=8)
        self.key_legend = fig.legend(handles=width_key(1.0), loc="center right", fontsize=8,
                                     title=i18n.term("width_key", lang), title_fontsize=8,
                                     handlelength=3)
        fig.suptitle(f"{i18n.term('flow_map', lang)}; {i18n.term('gdp_size', lang)}",
                     fontsize=10)

    def _panel(self, ax, name: str):
        lon, lat = self.coords["lon"], self.coords["lat"]
        dots = ax.scatter(lon, lat, s=20, color="#8c8c8c", alpha=0.6, edgecolor="black",
                          linewidth=0.5, zorder=3)
        for city, (dx, dy, ha, va) in label_offsets(self.coords).items():
            shift = ScaledTranslation(dx / 72, dy / 72, self.figure.dpi_scale_trans)
            self.labels.append(ax.text(lon[city], lat[city], i18n.city_label(city, self.lang),
                                       fontsize=8, ha=ha, va=va, zorder=4,
                                       transform=ax.transData + shift))
        pad_x, pad_y = 0.1 * np.ptp(lon), 0.1 * np.ptp(lat)
        ax.set_xlim(lon.min() - pad_x, lon.max() + pad_x)
        ax.set_ylim(lat.min() - pad_y, lat.max() + pad_y)
        ax.set_aspect(1 / math.cos(math.radians(float(lat.mean()))), adjustable="box")
        ax.set_title(i18n.scenario_label(name, self.lang), fontsize=9)
        ax.set_xlabel(i18n.term("lon", self.lang), fontsize=8)
        ax.set_ylabel(i18n.term("lat", self.lang), fontsize=8)
        ax.tick_params(labelsize=7)
        return dots

    def key(self, model: CircleModel) -> Hashable:
        return _steps(model)

    def update(self, model: CircleModel) -> None:
        runs = _runs(model)
        flows = [stats.moved_out_of_wuhan(tables["transfers"], name, 1) for name, tables in runs]
        largest = max([float(f["output"].max()) for f in flows if len(f)] + [0.0])
        for i, ((_, tables), moved) in enumerate(zip(runs, flows)):
            cities = tables["cities"]
            gdp = (cities[cities["step"] == cities["step"].max()].set_index("city")
                   ["gdp_physical"].reindex(self.coords.index).fillna(0.0))
            self.dots[i].set_sizes(20 + 900 * gdp.to_numpy() / max(float(gdp.max()), TOLERANCE))
            self._arrows(i, moved, largest)
        self.key_legend.set_visible(largest > 0)      # nothing moved yet: no width key
        if largest <= 0:
            return
        for handle, text, entry in zip(self.key_legend.legend_handles,
                                       self.key_legend.get_texts(), width_key(largest)):
            handle.set_linewidth(entry.get_linewidth())
            text.set_text(entry.get_label())

    def moving(self) -> list[Artist]:
        return [*self.dots, *self.labels, *self.arrows.values(), self.key_legend]

    def _arrows(self, panel: int, moved: pd.DataFrame, largest: float) -> None:
        """Set each arrow of the panel to its flow: width by output, hidden when none."""
        wanted = {(panel, row.channel, row.to_city): row.output for row in moved.itertuples()
                  if row.output > 0 and row.to_city in self.coords.index}
        for key, arrow in self.arrows.items():
            if key[0] == panel and key not in wanted:
                arrow.set_visible(False)
        start = tuple(self.coords.loc["Wuhan"])
        for key, output in wanted.items():
            arrow = self.arrows.get(key)
            if arrow is None:
                rad = 0.15 * (CHANNELS.index(key[1]) - 2)
                arrow = self.arrows[key] = FancyArrowPatch(
                    start, tuple(self.coords.loc[key[2]]), arrowstyle="-|>", mutation_scale=10,
                    connectionstyle=f"arc3,rad={rad}", zorder=2, shrinkA=6, shrinkB=8,
                    color=CHANNEL_COLOURS[key[1]], alpha=0.85)
                self.axes[panel].add_artist(arrow)
            arrow.set_linewidth(arrow_width(output, largest))
            arrow.set_visible(True)


class InvestmentMap(LiveFigure):
    """City x sector grid: colour = segments assigned (0-4), text = their initials (R H C S);
    drawn again only when the map (or the cities' own targets) changed."""

    def __init__(self, model: CircleModel) -> None:
        super().__init__(Figure(figsize=(7.5, 4.6), dpi=DPI))
        fig, w = self.figure, model.world
        fig.subplots_adjust(left=0.12, right=0.97, top=0.93, bottom=0.42)
        self.ax = ax = fig.subplots()
        self.image = ax.imshow(np.zeros((w.n_cities, w.n_sectors)), cmap="Blues", vmin=0,
                               vmax=len(SEGMENTS), aspect="auto")
        names = sector_labels(str(data_folder(model.config)))
        ax.set_xticks(range(w.n_sectors), [names.get(k, k) for k in w.sectors], rotation=45,
                      ha="right", rotation_mode="anchor", fontsize=7)
        ax.set_yticks(range(w.n_cities), [i18n.city_label(c) for c in w.cities], fontsize=8)
        bar = fig.colorbar(self.image, ax=ax, shrink=0.8, ticks=range(len(SEGMENTS) + 1))
        bar.set_label("segments assigned (R&D, HQ, core, supply)", fontsize=8)
        self.title = ax.set_title("", fontsize=10)

    def key(self, model: CircleModel) -> Hashable:
        mapped, title = current_map(model)
        return id(model), mapped.tobytes(), title

    def update(self, model: CircleModel) -> None:
        mapped, title = current_map(model)
        w = model.world
        grid = mapped.reshape(w.n_cities, w.n_sectors, len(SEGMENTS))
        self.image.set_data(grid.sum(axis=2))
        for text in list(self.ax.texts):
            text.remove()
        for c, k in zip(*np.nonzero(grid.any(axis=2))):
            text = "".join(s[0].upper() for s, on in zip(SEGMENTS, grid[c, k]) if on)
            self.ax.text(k, c, text, ha="center", va="center", fontsize=6,
                         color="white" if grid[c, k].sum() > 2 else "black")
        self.title.set_text(title)

    def moving(self) -> list[Artist]:
        return [self.image, *self.ax.texts, self.title]


def current_map(model: CircleModel) -> tuple[np.ndarray, str]:
    """The coordinator's map if drawn, else the cities' own targets (C x KG bool), with a title."""
    if model.settings.mapped is not None:
        return np.asarray(model.settings.mapped, dtype=bool), "Coordinator's investment map"
    targets = np.array([city.targets for city in model.cities], dtype=bool)
    return targets, "Cities' own targets (competition)"


@functools.lru_cache(maxsize=4)
def sector_labels(folder: str) -> dict[str, str]:
    """Readable sector names from the data folder's ``sectors.csv`` (English name before any
    parenthesis), by sector code."""
    table = pd.read_csv(f"{folder}/sectors.csv")
    return {code: name.split(" (")[0] for code, name in zip(table["code"], table["name_en"])}
