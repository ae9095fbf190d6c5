"""The explorer's model and views: a CircleModel built from a few policy levers, and matplotlib
figures of the flow map, the time series and the investment map drawn from the tables so far.

Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot state), so they work in
a notebook, in tests and in Solara's ``FigureMatplotlib``.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
import solara
from matplotlib.figure import Figure
from mesa.visualization.utils import update_counter

from sim.analysis.plots import plot_flow_map
from sim.config.inert import InertWarning
from sim.config.loader import data_folder
from sim.explorer.levers import scenario
from sim.model import CircleModel
from sim.model.world import SEGMENTS, World, build_world

REGIMES = ("homogenised", "coordinated")
#: The explorer's default size: small enough for a first view and a step within about a second
#: each; batches run the files' size (world.n_units, 20,000 in scenarios/base.yaml).
EXPLORER_UNITS = 1000
#: Quarters drawn on the time axes before the run gets there (the bundled files' horizon).
HORIZON = 12
#: Figure resolution (dots per inch): the page shows them at about this size.
DPI = 80
SERIES = (("wuhan_share", "Wuhan share of circle GDP"),
          ("similarity_ring_mean", "Ring structure similarity"),
          ("subsidy_total", "Subsidies (100M yuan/yr)"),
          ("relocated_out_of_wuhan_cum", "Relocated out of Wuhan, cum. (100M yuan/yr)"))


class ExplorerModel(CircleModel):
    """The circle model built from the explorer's levers on a bundled regime.

    Args:
        regime: ``homogenised`` or ``coordinated`` (the bundled scenario it starts from).
        enclave_gdp_share: source city's share of an enclave's GDP credit, 0-1.
        enclave_tax_share: source city's share of an enclave's tax, 0-1.
        enclave_term_years: years the sharing lasts.
        park_within_park: park-within-park branches (园外园) on or off.
        reverse_enclave: reverse enclaves (反向飞地) on or off.
        subsidy_cap: highest subsidy rate allowed (share of value added; binds when the
            regime's cap is switched on).
        homogenisation: ω, weight of national hotness against own advantage in targeting.
        n_units: production units in the base year (model resolution).
        seed: root seed.
    """

    def __init__(self, regime: str = "coordinated", enclave_gdp_share: float | None = None,
                 enclave_tax_share: float | None = None, enclave_term_years: float | None = None,
                 park_within_park: bool | None = None, reverse_enclave: bool | None = None,
                 subsidy_cap: float | None = None, homogenisation: float | None = None,
                 n_units: int = EXPLORER_UNITS, seed: int = 1, rng=None,
                 twin: bool = True) -> None:
        if regime not in REGIMES:
            raise ValueError(f"regime must be one of {REGIMES}, got {regime!r}")
        levers = {  # None keeps the regime's own value from its scenario file
            "policies.enclave.gdp_share_source": enclave_gdp_share,
            "policies.enclave.tax_share_source": enclave_tax_share,
            # a share set by hand replaces the bargained one
            "policies.enclave.bargain": (
                None if enclave_gdp_share is None and enclave_tax_share is None else False),
            "policies.enclave.term_years": enclave_term_years,
            "switches.park_within_park": None
            if park_within_park is None
            else bool(park_within_park),
            "switches.reverse_enclave": None if reverse_enclave is None else bool(reverse_enclave),
            "policies.subsidy_cap.cap": subsidy_cap,
            "competition.homogenisation": homogenisation,
        }
        overrides = [f"{key}={str(value).lower() if isinstance(value, bool) else value}"
                     for key, value in levers.items() if value is not None]
        with warnings.catch_warnings():   # the page greys inert levers instead
            warnings.simplefilter("ignore", InertWarning)
            config = scenario(regime, n_units=n_units, steps=400, overrides=overrides)
        seed = int(seed if rng is None else rng)
        world = cached_world(int(n_units))
        super().__init__(config, seed=seed, world=world)
        self._tables: tuple[int, dict[str, pd.DataFrame]] | None = None
        #: The other regime at its file's values, same size, seed and world: same random draws.
        self.twin: CircleModel | None = None
        if twin:
            other = REGIMES[1 - REGIMES.index(regime)]
            self.twin = CircleModel(scenario(other, n_units=n_units, steps=400), seed=seed,
                                    world=world)

    def step(self) -> None:
        """One quarter of this regime and of its twin (the other regime, same draws)."""
        super().step()
        if self.twin is not None:
            self.twin.step()

    def tables(self) -> dict[str, pd.DataFrame]:
        """The run's tables so far, tagged as one run, cached per step."""
        if self._tables is None or self._tables[0] != self.steps:
            self._tables = (self.steps, tagged_tables(self))
        return self._tables[1]

    def twin_tables(self) -> dict[str, pd.DataFrame] | None:
        """The twin's tables so far (None without a twin), cached per step."""
        if self.twin is None:
            return None
        if getattr(self, "_twin_tables", (None,))[0] != self.twin.steps:
            self._twin_tables = (self.twin.steps, tagged_tables(self.twin))
        return self._twin_tables[1]


@functools.lru_cache(maxsize=4)
def cached_world(n_units: int) -> World:
    """The calibrated base-year world of the bundled data at ``n_units`` (built once per size;
    the world depends only on the data and ``world:`` keys, which the levers do not touch)."""
    return build_world(scenario("coordinated", n_units=n_units))


def tagged_tables(model: CircleModel) -> dict[str, pd.DataFrame]:
    """A model's tables so far, tagged as one run."""
    results = model.recorder.results(model.config)
    ids = {"run": "explorer", "scenario": model.config.name, "replicate": 0}
    return {name: frame.assign(**ids) for name, frame in results.tables().items()}


@functools.lru_cache(maxsize=4)
def sector_labels(folder: str) -> dict[str, str]:
    """Readable sector names from the data folder's ``sectors.csv`` (English name before any
    parenthesis), by sector code."""
    table = pd.read_csv(f"{folder}/sectors.csv")
    return {code: name.split(" (")[0] for code, name in zip(table["code"], table["name_en"])}


def flow_map_figure(model: ExplorerModel) -> Figure:
    """Cities sized by GDP; arrows from Wuhan sized by output moved so far, by channel; this
    regime and its twin side by side."""
    runs = [model.tables()]
    if getattr(model, "twin", None) is not None:
        runs.append(model.twin_tables())
    coords = pd.DataFrame({"city": model.world.cities, "lon": model.world.lon,
                           "lat": model.world.lat})
    cities = pd.concat([t["cities"] for t in runs], ignore_index=True)
    transfers = pd.concat([t["transfers"] for t in runs], ignore_index=True)
    names = [t["circle"]["scenario"].iloc[0] for t in runs]
    fig = plot_flow_map(cities, transfers, names, coordinates=coords)
    fig.set_size_inches(4.2 * len(names), 4.0)
    fig.set_dpi(DPI)
    return fig


def time_series_figure(model: ExplorerModel) -> Figure:
    """Four headline series against the step (quarter): this regime, its twin (the other
    regime, same draws) dashed, and the level at step 0 dotted across the horizon."""
    circle = model.tables()["circle"]
    twin = model.twin_tables()["circle"] if getattr(model, "twin", None) else None
    fig = Figure(figsize=(7.0, 4.6), dpi=DPI)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.86, bottom=0.1, hspace=0.45, wspace=0.25)
    end = max(HORIZON, model.steps)
    for ax, (column, label) in zip(fig.subplots(2, 2).ravel(), SERIES):
        ax.axhline(circle[column].iloc[0], color="0.6", linestyle=":", linewidth=1,
                   label="step 0")
        if twin is not None:
            ax.plot(twin["step"], twin[column], color="tab:grey", linestyle="--", marker="o",
                    markersize=2, label=f"{model.twin.config.name} (file values)")
        ax.plot(circle["step"], circle[column], color="tab:blue", marker="o", markersize=3,
                label=model.config.name)
        ax.set_xlim(0, end)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_title(label, fontsize=9)
        ax.tick_params(labelsize=7)
    fig.axes[0].legend(fontsize=7, loc="best")
    other = getattr(model.twin, "config", model.config).name
    fig.suptitle(f"{model.config.name} (solid) and {other}"
                 f" (dashed) on the same random draws: step {model.steps} (quarters)", fontsize=9)
    return fig


def current_map(model: CircleModel) -> tuple[np.ndarray, str]:
    """The coordinator's map if drawn, else the cities' own targets (C x KG bool), with a title."""
    if model.settings.mapped is not None:
        return np.asarray(model.settings.mapped, dtype=bool), "Coordinator's investment map"
    targets = np.array([city.targets for city in model.cities], dtype=bool)
    return targets, "Cities' own targets (competition)"


def investment_map_figure(model: CircleModel) -> Figure:
    """City x sector grid: colour = segments assigned (0-4), text = their initials (R H C S)."""
    mapped, title = current_map(model)
    w = model.world
    grid = mapped.reshape(w.n_cities, w.n_sectors, len(SEGMENTS))
    fig = Figure(figsize=(7.5, 4.6), dpi=DPI)
    fig.subplots_adjust(left=0.12, right=0.97, top=0.93, bottom=0.42)
    ax = fig.subplots()
    image = ax.imshow(grid.sum(axis=2), cmap="Blues", vmin=0, vmax=len(SEGMENTS), aspect="auto")
    for c, k in zip(*np.nonzero(grid.any(axis=2))):
        text = "".join(s[0].upper() for s, on in zip(SEGMENTS, grid[c, k]) if on)
        ax.text(k, c, text, ha="center", va="center", fontsize=6,
                color="white" if grid[c, k].sum() > 2 else "black")
    names = sector_labels(str(data_folder(model.config)))
    ax.set_xticks(range(w.n_sectors), [names.get(k, k) for k in w.sectors], rotation=45,
                  ha="right", rotation_mode="anchor", fontsize=7)
    ax.set_yticks(range(w.n_cities), list(w.cities), fontsize=8)
    bar = fig.colorbar(image, ax=ax, shrink=0.8, ticks=range(len(SEGMENTS) + 1))
    bar.set_label("segments assigned (R&D, HQ, core, supply)", fontsize=8)
    ax.set_title(title, fontsize=10)
    return fig


@solara.component
def FlowMapView(model: ExplorerModel):
    update_counter.get()
    solara.FigureMatplotlib(flow_map_figure(model), format="png", dpi=DPI)


@solara.component
def TimeSeriesView(model: ExplorerModel):
    update_counter.get()
    solara.FigureMatplotlib(time_series_figure(model), format="png", dpi=DPI)


@solara.component
def InvestmentMapView(model: ExplorerModel):
    update_counter.get()
    mapped, title = current_map(model)   # redrawn only when the map itself changes
    key = (id(model), mapped.tobytes(), title)
    fig = solara.use_memo(lambda: investment_map_figure(model), dependencies=[key])
    solara.FigureMatplotlib(fig, dependencies=[key], format="png", dpi=DPI)
