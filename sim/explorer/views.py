"""The explorer's model and views: a CircleModel built from a few policy levers, and matplotlib
figures of the flow map, the time series and the investment map drawn from the tables so far.

Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot state), so they work in
a notebook, in tests and in Solara's ``FigureMatplotlib``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import solara
from matplotlib.figure import Figure
from mesa.visualization.utils import update_counter

from sim.analysis.plots import plot_flow_map
from sim.model.world import SEGMENTS
from sim.explorer.levers import scenario
from sim.model import CircleModel

REGIMES = ("homogenised", "coordinated")
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
                 n_units: int = 3000, seed: int = 1, rng=None) -> None:
        if regime not in REGIMES:
            raise ValueError(f"regime must be one of {REGIMES}, got {regime!r}")
        levers = {  # None keeps the regime's own value from its scenario file
            "policies.enclave.gdp_share_source": enclave_gdp_share,
            "policies.enclave.tax_share_source": enclave_tax_share,
            "policies.enclave.term_years": enclave_term_years,
            "switches.park_within_park": None if park_within_park is None else bool(park_within_park),
            "switches.reverse_enclave": None if reverse_enclave is None else bool(reverse_enclave),
            "policies.subsidy_cap.cap": subsidy_cap,
            "competition.homogenisation": homogenisation,
        }
        overrides = [f"{key}={str(value).lower() if isinstance(value, bool) else value}"
                     for key, value in levers.items() if value is not None]
        config = scenario(regime, n_units=n_units, steps=400, overrides=overrides)
        super().__init__(config, seed=int(seed if rng is None else rng))
        self._tables: tuple[int, dict[str, pd.DataFrame]] | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The run's tables so far, tagged as one run, cached per step."""
        if self._tables is None or self._tables[0] != self.t:
            results = self.recorder.results(self.config)
            ids = {"run": "explorer", "scenario": self.config.name, "replicate": 0}
            self._tables = (self.t, {name: frame.assign(**ids)
                                     for name, frame in results.tables().items()})
        return self._tables[1]


def flow_map_figure(model: ExplorerModel) -> Figure:
    """Cities sized by GDP; arrows from Wuhan sized by output moved so far, by channel."""
    tables = model.tables()
    coords = pd.DataFrame({"city": model.world.cities, "lon": model.world.lon,
                           "lat": model.world.lat})
    fig = plot_flow_map(tables["cities"], tables["transfers"], [model.config.name],
                        coordinates=coords)
    fig.set_size_inches(5.5, 5.0)
    return fig


def time_series_figure(model: ExplorerModel) -> Figure:
    """Four headline series of the circle table against the step (quarter)."""
    circle = model.tables()["circle"]
    fig = Figure(figsize=(7.0, 4.6), layout="constrained")
    for ax, (column, label) in zip(fig.subplots(2, 2).ravel(), SERIES):
        ax.plot(circle["step"], circle[column], marker="o", markersize=3)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("step (quarter)", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{model.config.name}: step {model.t}", fontsize=10)
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
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(grid.sum(axis=2), cmap="Blues", vmin=0, vmax=len(SEGMENTS), aspect="auto")
    for c, k in zip(*np.nonzero(grid.any(axis=2))):
        text = "".join(s[0].upper() for s, on in zip(SEGMENTS, grid[c, k]) if on)
        ax.text(k, c, text, ha="center", va="center", fontsize=6,
                color="white" if grid[c, k].sum() > 2 else "black")
    ax.set_xticks(range(w.n_sectors), list(w.sectors), rotation=90, fontsize=7)
    ax.set_yticks(range(w.n_cities), list(w.cities), fontsize=8)
    fig.colorbar(image, ax=ax, label="segments (R&D, HQ, core, supply)", shrink=0.8)
    ax.set_title(f"{title}, step {model.t}", fontsize=10)
    return fig


@solara.component
def FlowMapView(model: ExplorerModel):
    update_counter.get()
    solara.FigureMatplotlib(flow_map_figure(model), format="png", bbox_inches="tight")


@solara.component
def TimeSeriesView(model: ExplorerModel):
    update_counter.get()
    solara.FigureMatplotlib(time_series_figure(model), format="png", bbox_inches="tight")


@solara.component
def InvestmentMapView(model: ExplorerModel):
    update_counter.get()
    solara.FigureMatplotlib(investment_map_figure(model), format="png", bbox_inches="tight")
