"""The Wuhan city-circle model: cities (Mesa agents) and production units (columns).

``run_scenario(config, seed, replicate)`` is the one entry point the CLI, the runner, notebooks
and tests call; the nine tables of :mod:`sim.model.tables` are its output. The model is pure: no
files, no printing. For Mesa's tools it also takes a bundled scenario's name and dotted keys
(``CircleModel(scenario="coordinated", **{"world.n_units": 1000})``), stops (``running``) after
the scenario's steps and collects headline circle metrics in a ``DataCollector``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import mesa
import numpy as np

from sim.config.schema import ScenarioConfig
from sim.model import firms, negotiation, welfare_accounts
from sim.model.books import Books, close_books
from sim.model.bundled import resolve_config
from sim.model.calibration import calibrate, core_gravity, employment_by_city
from sim.model.city import City, SharedDecisions
from sim.model.coordinator import Coordinator
from sim.model.equilibrium import draw_base_contracts, status_quo_offers
from sim.model.parks import build_parks
from sim.model.recorder import Recorder
from sim.model.seeds import spawn_streams
from sim.model.tables import Results, check_finite
from sim.model.world import World, build_world
from sim.rules.agreements import rd_link_attention
from sim.rules.constants import SEGMENTS, STEPS_PER_YEAR, ParkKind
from sim.rules.economy import Settings, Terms, land_prices, location_terms
from sim.rules.land import core_land_factor

#: Headline circle metrics collected by the model's DataCollector (columns of the circle table).
HEADLINES = ("gdp_total", "wuhan_share", "similarity_ring_mean", "subsidy_total", "welfare",
             "welfare_national", "relocated_out_of_wuhan_cum")


class CircleModel(mesa.Model):
    """Agent-based model of park co-construction in the Wuhan city circle.

    Args:
        config: the validated scenario, a scenario file, or a bundled scenario's name.
        seed: root seed of the batch; None draws one (``self.seed`` keeps it).
        replicate: replicate index r; streams derive from (seed, r) only.
        world: a prebuilt world (to share calibration across runs); built from the data if None.
        scenario: a bundled scenario's name or a scenario file, when ``config`` is not given
            (the name Mesa's batch_run passes).
        **values: dotted keys of the scenario to set, e.g. ``**{"world.n_units": 1000}``.
    """

    def __init__(self, config: ScenarioConfig | str | os.PathLike | None = None,
                 seed: int | None = 1, replicate: int = 0, world: World | None = None, *,
                 scenario: str | os.PathLike | None = None, **values: Any) -> None:
        if (config is None) == (scenario is None):
            raise TypeError("CircleModel needs either config or scenario")
        config = resolve_config(config if scenario is None else scenario, values)
        self.seed = int(np.random.SeedSequence().entropy) if seed is None else seed
        self.streams = spawn_streams(self.seed, replicate)
        super().__init__(rng=self.streams["mesa"])   # Mesa's own stream, apart from the world's
        # The world stream starts one draw in, where Mesa's seeding from it used to leave it,
        # so that results stay those of earlier versions (tests/golden).
        self.streams["world"].integers(np.iinfo(np.int32).max)
        self.config = config
        self.world = world or build_world(config)
        self.kg = self.world.n_sectors * len(SEGMENTS)
        self.calibration, self.units, self.parks = calibrate(self.world, config,
                                                             self.streams["world"])
        self.agreements = negotiation.prepare(self.parks)
        self.gravity = self.calibration.gravity0
        self.next_id = len(self.units)
        self.wage = self.world.wage.copy()
        self.settings = self._initial_settings()
        n = self.world.n_cities
        self.cities = City.create_agents(
            self, n, index=list(range(n)), name=list(self.world.cities)
        )
        self.coordinator = Coordinator(self, *self.streams["strategy"].spawn(2))
        # productivity mass of projects producing outside the circle (KG; the country's welfare)
        self.outside_mass = welfare_accounts.stationary_outside_mass(config, self.calibration)
        self.current_terms = self.terms()
        self.rd_attention = self._rd_attention()
        self.settle_rounds = 0
        self.shared_decisions: SharedDecisions | None = None   # while the cities move in turn
        if config.competition.active:          # the base year is the status quo's equilibrium
            self._note_books()
            self._settle_status_quo()
        self._negotiate()      # agreements due at the start are offered in that equilibrium
        self.recorder = Recorder()
        self.datacollector = mesa.DataCollector(
            model_reporters={name: _headline(name) for name in HEADLINES})
        self._close_step(firms.empty_step())

    def _initial_settings(self) -> Settings:
        """No offers yet; under competition each city promotes its base-year target sectors."""
        c = self.world.n_cities
        targets = self.calibration.base_promoted.copy()
        return Settings(offers=np.zeros((c, self.kg)), promoted=targets, mapped=None,
                        platform=self.config.switches.shared_platform,
                        excluded=np.zeros(c, dtype=bool))

    def _settle_status_quo(self) -> None:
        """Start from the status quo's offers, with the arrival constants calibrated on them."""
        w, econ, cal = self.world, self.config.economy, self.calibration
        c = w.n_cities
        local = build_parks(w, self.config.model_copy(update={"agreements": []}),
                            self.parks.capacity[:c])
        prices = land_prices(w, local, self.land_used()[:c], econ.land_price_utilisation_elasticity,
                             econ.max_utilisation)
        terms = location_terms(w, self.config, local, self.output_cube(), self.wage, prices)
        term = int(round(self.config.competition.subsidy_years * STEPS_PER_YEAR))
        # units close before the survivors review; a unit is new if it arrived or moved in
        turnover = cal.p_exit + (1 - cal.p_exit) * cal.p_review * (1 - econ.stay_share_reviewers)
        contracts = draw_base_contracts(len(self.units), turnover, term, self.streams["world"])
        offers, self.calibration, self.settle_rounds = status_quo_offers(
            self, local, terms, cal.delta_arrival.copy(), contracts)
        self.settings.offers[:] = offers

    # ----------------------------------------------------------------- state
    def output_cube(self) -> np.ndarray:
        """City x sector x segment output where production physically stands."""
        w, u, g = self.world, self.units, len(SEGMENTS)
        cell = ((self.parks.city[u.park].astype(np.int64) * w.n_sectors + u.sector) * g
                + u.segment)        # summed in unit order, as np.add.at did, far faster
        return np.bincount(cell, weights=u.output,
                           minlength=w.n_cities * w.n_sectors * g).reshape(w.n_cities,
                                                                         w.n_sectors, g)

    def trend(self, step: int | None = None) -> float:
        """The circle's trend level (1 + g)^(t/4) at a step: 1 at step 0, 1 without growth."""
        t = self.steps if step is None else step
        return (1 + self.config.economy.growth_rate_annual) ** (t / STEPS_PER_YEAR)

    def arrivals_now(self) -> np.ndarray:
        """Potential projects per sector-segment this step: they replace exits and leavers and add
        the trend's growth, ``n0 (h + g_q)(1 + g_q)^(t−1) / (1 − o)`` (docs/VALIDATION.md)."""
        cal = self.calibration
        return cal.arrival_rate * (1 + cal.growth_q) ** (self.steps - 1)

    @property
    def primary(self) -> np.ndarray:
        """Primary output (not modelled, never moves) grows with the circle's trend."""
        return self.world.primary * self.trend()

    def land_trend(self, step: int | None = None) -> np.ndarray:
        """Per city, its serviced park land since the base year, in base-year intensity units:
        the trend in a ring city (balanced growth), and in the core the new land it releases a
        year (``world.core_land_supply_km2``) on its stock, each km² holding more output as land
        per unit of real output falls (``economy.land_intensity_decline``;
        :func:`sim.rules.land.core_land_factor`)."""
        t = self.steps if step is None else step
        factor = np.full(self.world.n_cities, self.trend(t))
        wc, core = self.config.world, self.world.core
        stock = wc.core_land_stock_km2 or float(self.calibration.local_capacity[core])
        factor[core] = core_land_factor(t / STEPS_PER_YEAR, wc.core_land_supply_km2, stock,
                                        self.config.economy.land_intensity_decline)
        return factor

    def grow_supplies(self) -> None:
        """Balanced growth: local park land and labour supply grow with the trend, so a city that
        grows with the circle faces its base land price and wage (A); the core's land follows
        its released land and land intensity (``land_trend``), so growth may fill it; land a
        host allotted to agreement parks stays theirs."""
        local = self.parks.kind == ParkKind.LOCAL
        self.parks.capacity[local] = (self.calibration.local_capacity * self.land_trend()
                                      - self.agreements.allotted)

    def land_used(self) -> np.ndarray:
        return np.bincount(self.units.park, weights=self.units.land, minlength=self.parks.n)

    def terms(self) -> Terms:
        econ = self.config.economy
        prices = land_prices(self.world, self.parks, self.land_used(),
                             econ.land_price_utilisation_elasticity, econ.max_utilisation)
        return location_terms(self.world, self.config, self.parks, self.output_cube(),
                              self.wage, prices)

    # ----------------------------------------------------------------- the schedule
    def step(self) -> None:
        """One quarter: markets, the coordinator, cities' strategies, exits, choices, output.

        Mesa counts the step in ``self.steps`` before calling this method.
        """
        self.prepare_decisions()
        exits = firms.retire_units(self)
        self.outside_mass *= 1 - self.calibration.p_exit   # projects producing outside close too
        placed = firms.decide_locations(self)
        self.update_output()
        self._close_step(firms.merge_step(exits, placed))

    def prepare_decisions(self) -> None:
        """The part of a step before firms decide: markets, the coordinator, cities' offers."""
        self.grow_supplies()
        self.update_wages()
        self.current_terms = self.terms()
        self.gravity = core_gravity(self.world, self.output_cube(), self.calibration.gravity_decay)
        self.rd_attention = self._rd_attention()
        self._negotiate()
        self.coordinator.step()
        # Each city best-responds to the offers in force when it moves, so the outcome depends
        # on the order: cities move in the data file's order, never shuffled.
        self.shared_decisions = SharedDecisions(self)
        try:
            self.cities.do("step")
        finally:
            self.shared_decisions = None

    def _rd_attention(self) -> np.ndarray:
        """KG x C attention multiplier from R&D units in each ring city's reverse enclaves."""
        w, p, u = self.world, self.parks, self.units
        rnd = SEGMENTS.index("rnd")
        rd = (p.kind[u.park] == ParkKind.REVERSE_ENCLAVE) & (u.segment == rnd)
        n = np.zeros((w.n_sectors, w.n_cities))
        np.add.at(n, (u.sector[rd], p.operator[u.park[rd]]), 1.0)
        link = w.links[rnd] / max(w.links[rnd].max(), 1e-12)
        strength = self.config.policies.reverse_enclave.manufacturing_referral
        return rd_link_attention(n, link, strength).reshape(self.kg, w.n_cities)

    def _negotiate(self) -> None:
        """Agreements due now are offered; signed ones change the parks and so the terms."""
        if negotiation.negotiate(self):
            self.current_terms = self.terms()

    def _note_books(self) -> Books:
        """Close the books; cities take note of their revenue and stakes."""
        books = close_books(self)
        for city in self.cities:
            city.close_books(books.fiscal_revenue[city.index], books.tax[city.index],
                              books.shared_inflow[city.index])
        return books

    def _close_step(self, events: firms.StepEvents) -> None:
        """Close the books: cities take note of their revenue and stakes; the recorder reads."""
        books = self._note_books()
        self.recorder.record(self, events, books)
        self.datacollector.collect(self)
        self.running = self.steps < self.config.steps

    def update_wages(self) -> None:
        """w' = w (labour demand / supply)^ε per step."""
        demand = employment_by_city(self.world, self.config, self.units, self.parks)
        ratio = demand / np.maximum(self.calibration.labour_supply * self.trend(), 1e-12)
        self.wage = self.wage * ratio ** self.config.economy.wage_adjustment_elasticity

    def update_output(self) -> None:
        """Recompute every unit's output at its park with the new agglomeration terms."""
        terms = self.terms()
        kg_of = self.units.sector.astype(np.int64) * len(SEGMENTS) + self.units.segment
        self.units.output = self.units.productivity * terms.q[kg_of, self.units.park]


def _headline(column: str) -> Callable[[CircleModel], float]:
    """A DataCollector reporter: the latest value of a column of the circle table."""
    return lambda model: model.recorder.rows["circle"][-1][column]


def run_scenario(config: ScenarioConfig, seed: int | None = None, replicate: int = 0,
                 steps: int | None = None, world: World | None = None) -> Results:
    """Run one scenario and return its tables.

    Args:
        config: the validated scenario.
        seed: root seed (the scenario's ``seed`` if None).
        replicate: replicate index r (common random numbers across scenarios).
        steps: number of quarters (the scenario's ``steps`` if None).
        world: a prebuilt world for this config's data, to skip recalibration.

    Raises:
        NonFiniteOutputError: an output column holds NaN or an infinity (names table, column, step).
    """
    seed = config.seed if seed is None else seed
    model = CircleModel(config, seed=seed, replicate=replicate, world=world)
    for _ in range(config.steps if steps is None else steps):
        model.step()
    results = model.recorder.results(config)
    check_finite(results.tables(), config.name, seed, replicate)  # a NaN fails the run, loudly
    return results
