"""The explorer's figures, built once per model and updated in place quarter by quarter.

Each :class:`LiveFigure` keeps its :class:`~matplotlib.figure.Figure`, axes and artists. A step
changes only what moved (line data, axis limits, marker sizes, arrow widths, a few texts); the
city positions and names, titles, legends and colour bar are made once. A figure is drawn to
PNG again only when its ``key`` (the data it shows) changed, so the investment map is drawn
only in the quarters its map changes. Plain figures (no pyplot state): they work in a notebook,
in tests and in Solara.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
from collections.abc import Hashable

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.transforms import Bbox, IdentityTransform, ScaledTranslation
from PIL import Image

from sim.analysis import i18n, stats
from sim.analysis.maps import CHANNEL_COLOURS, arrow_width, label_offsets, width_key
from sim.config.loader import data_folder
from sim.model import CircleModel
from sim.model.tables import CHANNELS
from sim.model.world import SEGMENTS

#: Quarters drawn on the time axes before the run gets there (the bundled files' horizon).
HORIZON = 12
#: Figure resolution (dots per inch): the page shows them at about this size.
DPI = 80
SERIES = (("wuhan_share", "Wuhan share of circle GDP"),
          ("similarity_ring_mean", "Ring structure similarity"),
          ("subsidy_total", "Subsidies (100M yuan/yr)"),
          ("relocated_out_of_wuhan_cum", "Relocated out of Wuhan, cum. (100M yuan/yr)"))
#: Channels that move output out of Wuhan (exits leave the circle), in the legend's order.
MOVING = tuple(c for c in CHANNELS if c != "exit")


def encode_png(canvas: FigureCanvasAgg) -> bytes:
    """The canvas's current pixels as PNG bytes (fast zlib level: a screen image)."""
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw",
                             "RGBA", 0, 1)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="png", compress_level=1)
    return out.getvalue()


class LiveFigure:
    """A figure made once for a model and updated in place; drawn again only when its key moves.

    Subclasses build their artists in ``__init__`` and implement ``key`` (what the figure
    shows, hashable), ``update`` (set the artists from the model) and ``moving`` (the artists
    a step changes). Everything else (axes, ticks, names, legends) is drawn once into a cached
    background, drawn again only when ``layout`` (e.g. the axis limits) changes.
    """

    def __init__(self, figure: Figure) -> None:
        self.figure = figure
        self.canvas = FigureCanvasAgg(figure)
        self._shown: Hashable = object()     # matches no key: the first refresh updates
        self._png: bytes | None = None
        self._background: tuple[Hashable, object] | None = None
        #: PNGs made and full redraws of the background (tests check what is reused).
        self.draws = self.backgrounds = self.panel_draws = 0
        self._panel_keys: list[Hashable] = []
        self._boxes: list[Bbox] = []

    def key(self, model: CircleModel) -> Hashable:
        raise NotImplementedError

    def update(self, model: CircleModel) -> None:
        raise NotImplementedError

    def moving(self) -> list[Artist]:
        """The artists a step changes, drawn over the background every time."""
        return []

    def layout(self) -> Hashable:
        """What the background shows besides constant parts (the background is kept while it
        stays the same)."""
        return None

    def refresh(self, model: CircleModel) -> bool:
        """Bring the artists up to the model; True when something changed."""
        key = self.key(model)
        if key == self._shown:
            return False
        self.update(model)
        self._shown, self._png = key, None
        return True

    def png(self, model: CircleModel) -> bytes:
        """The figure for the model's current state as PNG, drawn again only after a change."""
        self.refresh(model)
        if self._png is None:
            self._png, self.draws = self.render(), self.draws + 1
        return self._png

    def panels(self) -> list[tuple[Axes, Hashable]]:
        """Axes that can be drawn again alone, each with what its part of the background shows
        (e.g. its limits); a change redraws that axes only."""
        return []

    def render(self) -> bytes:
        """Restore the background (drawing again the panels, or all, whose layout changed),
        draw the moving artists over it in z-order, and encode the pixels."""
        moving = self.moving()
        frames = {id(a.axes): a.axes for a in moving if a.axes is not None}.values()
        moving = sorted([*moving, *(s for ax in frames for s in ax.spines.values())],
                        key=lambda a: a.get_zorder())    # frames stay above what they hold
        layout, panels = self.layout(), self.panels()
        renderer = self.canvas.get_renderer()
        full = self._background is None or self._background[0] != layout
        changed: list[int] = []
        if full:
            with _left_out(moving):
                self.canvas.draw()
            self._boxes = cells([ax for ax, _ in panels], renderer)
            self.backgrounds += 1
        else:
            self.canvas.restore_region(self._background[1])
            changed = [i for i, (_, key) in enumerate(panels) if key != self._panel_keys[i]]
            with _left_out(moving):
                for i in changed:
                    self._clear(self._boxes[i], renderer)
                    panels[i][0].draw(renderer)
            self.panel_draws += len(changed)
        if full or changed:
            self._background = (layout, self.canvas.copy_from_bbox(self.figure.bbox))
        self._panel_keys = [key for _, key in panels]
        for artist in moving:
            if artist.get_visible():
                artist.draw(renderer)
        return encode_png(self.canvas)

    def _clear(self, box: Bbox, renderer) -> None:
        """Paint the figure's background colour over ``box`` (display pixels)."""
        patch = Rectangle((box.x0, box.y0), box.width, box.height,
                          transform=IdentityTransform(), facecolor=self.figure.get_facecolor(),
                          edgecolor="none", linewidth=0, antialiased=False)
        patch.set_figure(self.figure)
        patch.draw(renderer)


def cells(axes: list[Axes], renderer) -> list[Bbox]:
    """The part of the figure each axes owns (display pixels): up to 8 px right of the
    neighbour on its left, half-way to the neighbours above and below, the figure's edges
    elsewhere, and the top of its title when nothing is above (figure titles stay)."""
    boxes = [ax.get_window_extent(renderer) for ax in axes]
    width, height = renderer.get_canvas_width_height()
    out = []
    for ax, box in zip(axes, boxes):
        left = [b.x1 + 8 for b in boxes if b.x1 <= box.x0 and _overlap(b.intervaly, box)]
        right = [box.x1 + 8 for b in boxes if b.x0 >= box.x1 and _overlap(b.intervaly, box)]
        below = [(b.y1 + box.y0) / 2 for b in boxes if b.y1 <= box.y0 and
                 _overlap(b.intervalx, box, x=True)]
        above = [(box.y1 + b.y0) / 2 for b in boxes if b.y0 >= box.y1 and
                 _overlap(b.intervalx, box, x=True)]
        top = min(above) if above else ax.get_tightbbox(renderer).y1 + 2
        out.append(Bbox.from_extents(max(left, default=0), max(below, default=0),
                                     min(right, default=width), top))
    return out


def _overlap(interval, box: Bbox, x: bool = False) -> bool:
    low, high = box.intervalx if x else box.intervaly
    return interval[0] < high and low < interval[1]


@contextlib.contextmanager
def _left_out(artists: list[Artist]):
    """Leave the artists out of a full draw (animated), then make them ordinary again so that
    ``savefig`` and notebooks draw them as usual."""
    for artist in artists:
        artist.set_animated(True)
    try:
        yield
    finally:
        for artist in artists:
            artist.set_animated(False)


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
    """Four headline series against the step (quarter): this regime solid, its twin (the other
    regime, same draws) dashed, and the level at step 0 dotted across the horizon."""

    def __init__(self, model: CircleModel) -> None:
        super().__init__(Figure(figsize=(7.0, 4.6), dpi=DPI))
        fig = self.figure
        fig.subplots_adjust(left=0.08, right=0.98, top=0.82, bottom=0.07, hspace=0.45,
                            wspace=0.25)
        start = model.tables()["circle"].iloc[0]
        twin = getattr(model, "twin", None)
        self.lines: list[tuple[Line2D | None, Line2D]] = []
        for ax, (column, label) in zip(fig.subplots(2, 2).ravel(), SERIES):
            ax.axhline(start[column], color="0.6", linestyle=":", linewidth=1, label="step 0")
            other = None if twin is None else ax.plot(
                [], [], color="tab:grey", linestyle="--", marker="o", markersize=2,
                label=f"{twin.config.name} (file values)")[0]
            own = ax.plot([], [], color="tab:blue", marker="o", markersize=3,
                          label=model.config.name)[0]
            self.lines.append((other, own))
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.set_title(label, fontsize=9)
            ax.tick_params(labelsize=7)
        handles = fig.axes[0].get_lines()[::-1]
        fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.95),
                   ncol=len(handles), fontsize=7, frameon=False)
        name = getattr(twin, "config", model.config).name
        self._title = (f"{model.config.name} (solid) and {name} (dashed) on the same random "
                       "draws: step {} (quarters)")
        self.suptitle = fig.suptitle("", fontsize=9)
        self._fitted = False

    def key(self, model: CircleModel) -> Hashable:
        return _steps(model)

    def update(self, model: CircleModel) -> None:
        circle = model.tables()["circle"]
        twin = model.twin_tables()["circle"] if getattr(model, "twin", None) else None
        end = max(HORIZON, -(-model.steps // 4) * 4)      # the axis grows a year at a time
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


def room(limits: tuple[float, float] | None, values: np.ndarray) -> tuple[float, float]:
    """Y limits holding ``values``: the current ``limits`` while the values stay inside them,
    else widened by a third of the range beyond the values, so the following quarters seldom
    move them (each move redraws the axes)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return limits or (0.0, 1.0)
    low, high = float(values.min()), float(values.max())
    if limits is not None and limits[0] <= low and high <= limits[1]:
        return limits
    span = max(high - low, 0.02 * max(abs(low), abs(high)), 1e-9)
    keep_low, keep_high = (False, False) if limits is None else (limits[0] <= low,
                                                                  high <= limits[1])
    return (limits[0] if keep_low else low - 0.35 * span,
            limits[1] if keep_high else high + 0.35 * span)


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
        largest = max([float(f["output"].max()) for f in flows if len(f)] + [1e-12])
        for i, ((_, tables), moved) in enumerate(zip(runs, flows)):
            cities = tables["cities"]
            gdp = (cities[cities["step"] == cities["step"].max()].set_index("city")
                   ["gdp_physical"].reindex(self.coords.index).fillna(0.0))
            self.dots[i].set_sizes(20 + 900 * gdp.to_numpy() / max(float(gdp.max()), 1e-12))
            self._arrows(i, moved, largest)
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
        ax.set_yticks(range(w.n_cities), list(w.cities), fontsize=8)
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
