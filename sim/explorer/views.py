"""The explorer's model and views: a CircleModel built from a few policy levers, and the flow
map, the time series and the investment map drawn from the tables so far.

The figures live in :mod:`sim.explorer.figures`: each view makes its figure once per model and
updates it in place after every step (redrawn only when what it shows changed).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence

import pandas as pd
import reacton.ipywidgets as rw
import solara
from matplotlib.figure import Figure
from mesa.visualization.utils import update_counter

from sim.config.inert import InertWarning
from sim.explorer.figures import (  # noqa: F401  (current_map, DPI ... are part of this API)
    DPI,
    HORIZON,
    SERIES,
    FlowMap,
    InvestmentMap,
    LiveFigure,
    TimeSeries,
    current_map,
    sector_labels,
)
from sim.explorer.levers import scenario
from sim.model import CircleModel
from sim.model.world import World, build_world

REGIMES = ("homogenised", "coordinated")
#: The explorer's default size: small enough for a first view and a step within about a second
#: each; batches run the files' size (world.n_units, 20,000 in scenarios/base.yaml).
EXPLORER_UNITS = 1000
#: The tables the views read (tagging only these keeps a step's bookkeeping small).
VIEW_TABLES = ("circle", "cities", "transfers")


class ExplorerModel(CircleModel):
    """The circle model built from the explorer's levers on a bundled regime.

    Args:
        regime: ``homogenised`` or ``coordinated`` (the bundled scenario it starts from).
        enclave_gdp_share: source city's share of an enclave's GDP credit, 0-1 (acts only
            with ``impose_shares``: the scenario files let source and host bargain it).
        enclave_tax_share: source city's share of an enclave's tax, 0-1 (likewise).
        impose_shares: impose the two shares above instead of the bargained ones
            (``policies.enclave.bargain`` off); False keeps the file's bargaining.
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
                 enclave_tax_share: float | None = None, impose_shares: bool = False,
                 enclave_term_years: float | None = None,
                 park_within_park: bool | None = None, reverse_enclave: bool | None = None,
                 subsidy_cap: float | None = None, homogenisation: float | None = None,
                 n_units: int = EXPLORER_UNITS, seed: int = 1, rng=None,
                 twin: bool = True) -> None:
        if regime not in REGIMES:
            raise ValueError(f"regime must be one of {REGIMES}, got {regime!r}")
        levers = {  # None keeps the regime's own value from its scenario file
            "policies.enclave.gdp_share_source": enclave_gdp_share,
            "policies.enclave.tax_share_source": enclave_tax_share,
            # shares set by hand replace the bargained ones only when imposed
            "policies.enclave.bargain": False if impose_shares else None,
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
        #: Quarters the scenario files run (the plan period); the axes show at least these.
        self.horizon = file_steps(regime)
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
        """The tables the views draw (``VIEW_TABLES``) so far, tagged as one run, cached per
        step."""
        if self._tables is None or self._tables[0] != self.steps:
            self._tables = (self.steps, tagged_tables(self, VIEW_TABLES))
        return self._tables[1]

    def twin_tables(self) -> dict[str, pd.DataFrame] | None:
        """The twin's ``VIEW_TABLES`` so far (None without a twin), cached per step."""
        if self.twin is None:
            return None
        if getattr(self, "_twin_tables", (None,))[0] != self.twin.steps:
            self._twin_tables = (self.twin.steps, tagged_tables(self.twin, VIEW_TABLES))
        return self._twin_tables[1]


@functools.lru_cache(maxsize=2)
def file_steps(regime: str) -> int:
    """The quarters a bundled regime's file runs (``steps`` of ``scenarios/base.yaml``)."""
    return scenario(regime).steps


@functools.lru_cache(maxsize=4)
def cached_world(n_units: int) -> World:
    """The calibrated base-year world of the bundled data at ``n_units`` (built once per size;
    the world depends only on the data and ``world:`` keys, which the levers do not touch)."""
    return build_world(scenario("coordinated", n_units=n_units))


def tagged_tables(model: CircleModel, names: Sequence[str] | None = None
                  ) -> dict[str, pd.DataFrame]:
    """A model's tables so far (those named, or all), tagged as one run."""
    tables = model.recorder.results(model.config).tables()
    ids = {"run": "explorer", "scenario": model.config.name, "replicate": 0}
    return {name: tables[name].assign(**ids) for name in (names or tables)}


def investment_map_figure(model: CircleModel) -> Figure:
    """The model's current investment map (or the cities' own targets), as a new figure."""
    live = InvestmentMap(model)
    live.refresh(model)
    return live.figure


def _live_image(kind: type[LiveFigure], model: CircleModel) -> None:
    """The figure of ``kind`` for this model: made once per model, updated each step."""
    update_counter.get()
    live = solara.use_memo(lambda: kind(model), dependencies=[model])
    rw.Image(value=live.png(model), format="png")


@solara.component
def FlowMapView(model: ExplorerModel):
    _live_image(FlowMap, model)


@solara.component
def TimeSeriesView(model: ExplorerModel):
    _live_image(TimeSeries, model)


@solara.component
def InvestmentMapView(model: ExplorerModel):
    _live_image(InvestmentMap, model)
