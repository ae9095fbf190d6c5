"""The Wuhan city-circle model: cities and the coordinator (Mesa agents) and production units
(a population of columns).

``run_scenario(config, seed, replicate)`` is the one entry point the CLI, the runner, notebooks
and tests call; the nine tables of :mod:`sim.model.tables` are its output. The model is pure: no
files, no printing. For Mesa's tools it also takes a bundled scenario's name and dotted keys
(``CircleModel(scenario="coordinated", **{"world.n_units": 1000})``), stops (``running``) after
the scenario's steps and collects headline circle metrics, its seed and replicate and each
city's books in a ``DataCollector`` (:mod:`sim.model.collector`).
"""

from __future__ import annotations

import os
from typing import Any

import mesa
import numpy as np

from sim.config.schema import ScenarioConfig
from sim.model import agreement_book, base_year_cache, diagnostics, negotiation
from sim.model.base_year import settle_base_year
from sim.model.base_year_cache import BaseYearCache
from sim.model.books import Books, close_books
from sim.model.bundled import resolve_config
from sim.model.calibration import core_gravity, employment_by_city, stationary_outside_mass
from sim.model.city import City, SharedDecisions
from sim.model.collector import CircleCollector
from sim.model.coordinator import Coordinator, compensation_in_force
from sim.model.firms import Firms, StepEvents, empty_step, merge_step
from sim.model.parks import build_parks
from sim.model.recorder import Recorder
from sim.model.seeds import spawn_streams
from sim.model.state import State, priced_terms, trend_level
from sim.model.tables import Results, check_finite
from sim.model.units import Units
from sim.model.utility import reverse_enclave_attention
from sim.model.world import World, build_world, technology
from sim.rules.constants import STEPS_PER_YEAR, TOLERANCE, ParkKind, n_sector_segments
from sim.rules.economy import Settings, Terms
from sim.rules.land import core_land_factor


class CircleModel(mesa.Model):
    """Agent-based model of park co-construction in the Wuhan city circle.

    Args:
        config: the validated scenario, a scenario file, or a bundled scenario's name.
        seed: root seed of the batch; None draws one (``self.seed`` keeps it). ``mesa.batch_run``
            passes its ``rng`` values here, so runs of one value share their draws.
        replicate: replicate index r; streams derive from (seed, r) only.
        world: a prebuilt world (to share calibration across runs); built from the data if None.
        scenario: a bundled scenario's name or a scenario file, when ``config`` is not given
            (the name Mesa's batch_run passes).
        base_years: where the base year is looked up and kept (the process's cache,
            :func:`sim.model.base_year_cache.shared`, if None).
        **values: dotted keys of the scenario to set, e.g. ``**{"world.n_units": 1000}``.
    """

    def __init__(self, config: ScenarioConfig | str | os.PathLike | None = None,
                 seed: int | None = 1, replicate: int = 0, world: World | None = None, *,
                 scenario: str | os.PathLike | None = None,
                 base_years: BaseYearCache | None = None, **values: Any) -> None:
        if (config is None) == (scenario is None):
            raise TypeError("CircleModel needs either config or scenario")
        config = resolve_config(config if scenario is None else scenario, values)
        self.seed = int(np.random.SeedSequence().entropy) if seed is None else seed
        self.replicate = replicate
        self.streams = spawn_streams(self.seed, replicate)
        super().__init__(rng=self.streams["mesa"])   # Mesa's own stream, apart from the world's
        # The world stream starts one draw in, where Mesa's seeding from it used to leave it,
        # so that results stay those of earlier versions (tests/golden).
        self.streams["world"].integers(np.iinfo(np.int32).max)
        self.config = config
        self.world = world or build_world(config)
        self.technology = technology(self.world, config)
        base = (base_years or base_year_cache.shared()).base_year(
            self.world, config, self.streams["world"], settle_base_year)
        self.calibration, units = base.calibration, base.units
        self.settle_rounds = base.settle_rounds
        self.base_year_settled = base.settled      # False: a fixed point stopped at its cap
        diagnostics.note_base_year(base.settled)   # for studies whose evaluators return numbers
        self.parks = build_parks(self.world, config, self.calibration.local_capacity)
        self.agreements = agreement_book.prepare(self.parks, config, self.world.n_cities)
        agreement_book.record_in_force(self.agreements, self.parks, self.world.cities)
        self.gravity = self.calibration.gravity0
        self.wage = self.world.wage.copy()
        self.settings = self._initial_settings(base.offers)
        n = self.world.n_cities
        self.cities = City.create_agents(self, n, index=list(range(n)),
                                         name=list(self.world.cities),
                                         targets=list(self.settings.promoted))
        self.coordinator = Coordinator(self, self.cities, *self.streams["strategy"].spawn(2))
        # outside_mass: productivity mass of projects producing outside the circle (KG)
        self.firms = Firms(units, stationary_outside_mass(config, self.calibration),
                           *(self.streams[name] for name in ("arrivals", "reviews", "choices")))
        self.current_terms = priced_terms(self.world, config, self.technology, self.parks,
                                          units, self.wage)
        self.rd_attention = reverse_enclave_attention(self.world, config, self.parks, units)
        self._negotiate()      # agreements due at the start are offered in that equilibrium
        self.recorder = Recorder()
        self.datacollector = CircleCollector(self.recorder.rows["circle"], self.cities)
        self._close_step(empty_step())

    @property
    def state(self) -> State:
        """The model's state now, as one value (:mod:`sim.model.state`)."""
        return State(world=self.world, config=self.config, calibration=self.calibration,
                     technology=self.technology, parks=self.parks, units=self.firms.units,
                     settings=self.settings, terms=self.current_terms, step=self.steps,
                     wage=self.wage, gravity=self.gravity, rd_attention=self.rd_attention,
                     out_of_scheme=np.array([city.out_of_scheme for city in self.cities],
                                            dtype=bool),
                     outside_mass=self.firms.outside_mass)

    @property
    def units(self) -> Units:
        """The production units now (the firms' columns)."""
        return self.firms.units

    @property
    def kg(self) -> int:
        """The number of sector-segments (rows of every by-sector-segment array)."""
        return n_sector_segments(self.world.n_sectors)

    # the state's queries, for callers that hold the model (the model's decisions read a State)
    def output_cube(self) -> np.ndarray:
        """City x sector x segment output where production physically stands now."""
        return self.state.output_cube()

    def land_used(self) -> np.ndarray:
        """P km² held at each park now."""
        return self.state.land_used()

    def terms(self) -> Terms:
        """The location terms of the units, parks and wages as they stand now."""
        return self.state.location_terms()

    def trend(self, step: int | None = None) -> float:
        """The circle's trend level at ``step`` (now if None)."""
        return self.state.trend(step)

    def arrivals_now(self) -> np.ndarray:
        """Potential projects per sector-segment this step (``State.arrivals_now``)."""
        return self.state.arrivals_now()

    @property
    def primary(self) -> np.ndarray:
        """Primary output now (it grows with the circle's trend)."""
        return self.state.primary

    def _initial_settings(self, offers: np.ndarray) -> Settings:
        """The status quo's offers (the base year's); under competition each city promotes its
        base-year target sectors."""
        c = self.world.n_cities
        targets = self.calibration.base_promoted.copy()
        return Settings(offers=offers.copy(), promoted=targets, mapped=None,
                        platform=self.config.switches.shared_platform,
                        excluded=np.zeros(c, dtype=bool))

    # ----------------------------------------------------------------- the schedule
    def step(self) -> None:
        """One quarter: markets, agreements, the coordinator and the cities decide; then the
        firms retire, relocate and produce; the books close and the recorder reads.

        Mesa counts the step in ``self.steps`` before calling this method.
        """
        self.prepare_decisions()
        exits = self.firms.retire(self.state)
        moves = self.firms.relocate(self.state)
        self.firms.update_output(self.state)
        self._close_step(merge_step(exits, moves))

    def prepare_decisions(self) -> None:
        """The part of a step before firms decide: markets, agreements, the coordinator, cities'
        offers."""
        self.open_markets()
        self._negotiate()
        # the deciders of the step, shared by the coordinator's projections and the cities'
        # moves (the coordinator changes settings before it asks for their utilities)
        shared = SharedDecisions(self.state)
        self.coordinator.step(self.state, shared)
        # Each city best-responds to the offers in force when it moves, so the outcome depends
        # on the order: cities move in the data file's order, never shuffled.
        self.cities.do("set_offers", self.state, shared)

    def open_markets(self) -> None:
        """Land and labour supplies grow, wages adjust; the location terms and the pull of core
        investors and of reverse enclaves' R&D are those of the units as they stand."""
        self.grow_supplies()
        self.update_wages()
        state = self.state
        self.current_terms = state.location_terms()
        self.gravity = core_gravity(self.world, state.output_cube(),
                                    self.calibration.gravity_decay)
        self.rd_attention = reverse_enclave_attention(self.world, self.config, self.parks,
                                                      self.units)

    def land_trend(self, step: int | None = None) -> np.ndarray:
        """Per city, its serviced park land since the base year, in base-year intensity units:
        the trend in a ring city (balanced growth), and in the core the new land it releases a
        year (``world.core_land_supply_km2``) on its stock, each km² holding more output as land
        per unit of real output falls (``economy.land_intensity_decline``;
        :func:`sim.rules.land.core_land_factor`)."""
        t = self.steps if step is None else step
        factor = np.full(self.world.n_cities, trend_level(self.config, t))
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
        agreement_book.open_land(self.parks, self.agreements, self.steps,
                                 self.config.policies.agreements.build_out_years)

    def update_wages(self) -> None:
        """w' = w (labour demand / supply)^ε per step."""
        demand = employment_by_city(self.world, self.config, self.units, self.parks)
        supply = self.calibration.labour_supply * trend_level(self.config, self.steps)
        ratio = demand / np.maximum(supply, TOLERANCE)
        self.wage = self.wage * ratio ** self.config.economy.wage_adjustment_elasticity

    def _negotiate(self) -> None:
        """Agreements due now are offered; signed ones change the parks and so the terms."""
        signed = negotiation.negotiate(self.state, self.agreements, self.coordinator)
        if signed is not None:
            self.parks = signed
            self.current_terms = self.state.location_terms()

    def _note_books(self) -> Books:
        """Close the books (the map's compensation, the agreements' side payments and which
        agreed shares are paid this period); cities take note of their revenue and stakes."""
        book, n = self.agreements, self.world.n_cities
        books = close_books(self.state, compensation_in_force(self.cities),
                            agreement_book.settlement(book, self.parks, self.steps, n))
        for city in self.cities:
            city.note_books(books)
        return books

    def _close_step(self, events: StepEvents) -> None:
        """This period's agreed shares are paid or not; the books close: cities take note of
        their revenue and stakes; the recorder reads."""
        pol, book = self.config.policies.agreements, self.agreements
        draws = self.streams["payments"].random(len(self.config.agreements))
        agreement_book.settle_payments(book, self.parks, self.steps, draws,
                                       pol.payment_probability)
        books = self._note_books()
        flows = agreement_book.payment_flow_rows(book, self.parks, self.steps, books.park_output,
                                             books.park_tax, self.world.cities)
        self.recorder.record(self.state, events, books, self.cities, book.flush(), flows)
        self.datacollector.collect(self)
        self.running = self.steps < self.config.steps


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
    results.diagnostics = {"base_year_settled": bool(model.base_year_settled),
                           "settle_rounds": int(model.settle_rounds)}
    check_finite(results.tables(), config.name, seed, replicate)  # a NaN fails the run, loudly
    return results
