"""The Wuhan city-circle model: cities (Mesa agents) and production units (columns).

``run_scenario(config, seed, replicate)`` is the one entry point the CLI, the runner, notebooks
and tests call. The model is pure: no files, no printing.
"""

from __future__ import annotations

import numpy as np

import mesa

from sim.model.city import City
from sim.model.world import SEGMENTS, World, build_world
from sim.rules.choice import arrival_constants, calibrate_reviewers, choice_scale
from sim.config.schema import ScenarioConfig
from sim.rules.economy import Settings, Terms, land_prices, location_terms
from sim.model.parks import Parks, build_parks
from sim.model.recorder import Recorder
from sim.model.tables import Results
from sim.model.seeds import spawn_streams
from sim.rules.offers import target_sectors, unit_value_factors
from sim.model.units import draw_base_units
from sim.model import city_offers, coordinator, firms

Q = 4  # steps per year


class CircleModel(mesa.Model):
    """Agent-based model of park co-construction in the Wuhan city circle.

    Args:
        config: the validated scenario.
        seed: root seed of the batch.
        replicate: replicate index r; streams derive from (seed, r) only.
        world: a prebuilt world (to share calibration across runs); built from the data if None.
    """

    def __init__(self, config: ScenarioConfig, seed: int = 1, replicate: int = 0,
                 world: World | None = None) -> None:
        self.streams = spawn_streams(seed, replicate)
        super().__init__(rng=self.streams["world"])
        self.config = config
        self.world = world or build_world(config)
        self.t = 0
        self.kg = self.world.n_sectors * len(SEGMENTS)
        self._calibrate()
        self.cities = [City(self, i, name, self.kg) for i, name in enumerate(self.world.cities)]
        self.settings = self._initial_settings()
        for city in self.cities:
            city.offers = self.settings.offers[city.index]   # a view: the city owns its row
        self.map_rng, self.detection_rng = self.streams["strategy"].spawn(2)
        self.compensation = np.zeros(self.world.n_cities)
        self.scheme_stake = np.zeros(self.world.n_cities)   # what staying in the cap scheme is worth
        self.placement_stake = np.zeros(self.world.n_cities)
        self.current_terms = self.terms()
        self.recorder = Recorder(self)
        self.recorder.record(self, firms.empty_step())

    # ----------------------------------------------------------------- calibration
    def _calibrate(self) -> None:
        w, cfg = self.world, self.config
        econ = cfg.economy
        self.wage = w.wage.copy()
        base_parks = build_parks(w, cfg.model_copy(update={"agreements": []}), np.ones(w.n_cities))
        terms0 = location_terms(w, cfg, base_parks, w.output, self.wage, w.land_rent_base
                                * (1 - w.utilisation) ** (-econ.land_price_utilisation_elasticity))
        per_a = terms0.q.T.reshape(w.n_cities, w.n_sectors, len(SEGMENTS))
        self.units, self.mean_productivity = draw_base_units(
            w.output, per_a, cfg.world.n_units, cfg.world.productivity_sd, self.streams["world"])
        self.next_id = len(self.units)
        kg_of = self.units.sector.astype(np.int64) * len(SEGMENTS) + self.units.segment
        # Calibrate on productivity mass, in units of the sector-segment's mean productivity:
        # arrivals draw from that mean wherever they go, so keeping each city's mass (not its
        # integer unit count, which rounding distorts in small cells) keeps its output.
        counts = np.zeros((self.kg, w.n_cities))
        np.add.at(counts, (kg_of, self.units.park), self.units.productivity)
        counts /= self.mean_productivity.reshape(-1, 1)
        land = w.land_per_output.ravel()[kg_of] * self.units.output
        self.units.land = land
        used = np.bincount(self.units.park, weights=land, minlength=w.n_cities)
        self.parks: Parks = build_parks(w, cfg, used / w.utilisation)
        self.labour_supply = self._employment_by_city()
        shares = counts / counts.sum(axis=1, keepdims=True)
        cost0 = terms0.q * terms0.cost
        z0 = terms0.q * (1 - terms0.cost)
        self.sigma = choice_scale(cost0, shares * (1 - econ.outside_share_arrivals),
                                  econ.own_cost_elasticity)
        self.delta_arrival = arrival_constants(shares, econ.outside_share_arrivals, z0, self.sigma)
        move = econ.relocation_cost * terms0.q / self.sigma[:, None]
        v_review, self.switching_cost = calibrate_reviewers(
            counts, econ.leave_share_reviewers, move, econ.stay_share_reviewers)
        self.delta_review = v_review - z0 / self.sigma[:, None]
        self.base_counts = counts
        hazard = lambda annual: 1 - (1 - annual) ** (1 / Q)
        self.p_exit, self.p_review = hazard(econ.exit_rate_annual), hazard(econ.review_rate_annual)
        # potential projects of step 1: they replace closures and leavers (quarterly outflow h)
        # and add the trend's growth g_q; arrivals_now() grows them at g_q a quarter
        self.outflow = self.p_exit + self.p_review * econ.leave_share_reviewers
        self.growth_q = (1 + econ.growth_rate_annual) ** (1 / Q) - 1
        self.arrival_rate = (counts.sum(axis=1) * (self.outflow + self.growth_q)
                             / (1 - econ.outside_share_arrivals))
        self.local_capacity = self.parks.capacity[self.parks.kind == 0].copy()
        self.gdp0 = w.gdp.copy()
        self.life, self.sub_life = unit_value_factors(econ.discount_rate_annual,
                                                      econ.exit_rate_annual,
                                                      cfg.competition.subsidy_years)

    def _initial_settings(self) -> Settings:
        c = self.world.n_cities
        targets = np.zeros((c, self.kg), dtype=bool)
        if self.config.competition.active:
            sectors = target_sectors(self.world.hotness, self.world.advantage,
                                     self.config.competition.homogenisation,
                                     self.config.competition.lead_sectors)
            targets = np.repeat(sectors, len(SEGMENTS), axis=1)
        for city in self.cities:
            city.targets = targets[city.index].copy()
        return Settings(offers=np.zeros((c, self.kg)), promoted=targets.copy(), mapped=None,
                        platform=self.config.switches.shared_platform,
                        excluded=np.zeros(c, dtype=bool))

    # ----------------------------------------------------------------- state
    def output_cube(self) -> np.ndarray:
        """City x sector x segment output where production physically stands."""
        w = self.world
        cube = np.zeros((w.n_cities, w.n_sectors, len(SEGMENTS)))
        np.add.at(cube, (self.parks.city[self.units.park], self.units.sector, self.units.segment),
                  self.units.output)
        return cube

    def _employment_by_city(self) -> np.ndarray:
        w = self.world
        kg_of = self.units.sector.astype(np.int64) * len(SEGMENTS) + self.units.segment
        city = self.parks.city[self.units.park]
        persons = (w.labour_share.ravel()[kg_of] * self.units.output * 1e8
                   / (w.wage[city] * self.config.world.wage_core_yuan))
        return np.bincount(city, weights=persons, minlength=w.n_cities)

    def trend(self, step: int | None = None) -> float:
        """The circle's trend level (1 + g)^(t/4) at a step: 1 at step 0, always 1 without growth."""
        t = self.t if step is None else step
        return (1 + self.config.economy.growth_rate_annual) ** (t / Q)

    def arrivals_now(self) -> np.ndarray:
        """Potential projects per sector-segment this step: they replace exits and leavers and add
        the trend's growth, ``n0 (h + g_q)(1 + g_q)^(t−1) / (1 − o)`` (docs/VALIDATION.md)."""
        return self.arrival_rate * (1 + self.growth_q) ** (self.t - 1)

    @property
    def primary(self) -> np.ndarray:
        """Primary output (not modelled, never moves) grows with the circle's trend."""
        return self.world.primary * self.trend()

    def grow_supplies(self) -> None:
        """Balanced growth: local park land and labour supply grow with the trend, so a city that
        grows with the circle faces its base land price and wage (A)."""
        self.parks.capacity[self.parks.kind == 0] = self.local_capacity * self.trend()

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
        """One quarter: markets, the coordinator, cities' strategies, exits, choices, output."""
        self.t += 1
        self.grow_supplies()
        self.update_wages()
        self.current_terms = self.terms()
        coordinator.coordinate(self)
        for city in self.cities:
            city.set_strategy()
        exits = firms.retire_units(self)
        placed = firms.decide_locations(self)
        self.update_output()
        self.recorder.record(self, firms.merge_step(exits, placed))

    def strategise(self, city: City) -> None:
        city_offers.strategise(self, city)

    def update_wages(self) -> None:
        """w' = w (labour demand / supply)^ε per step (DESIGN.md section 3)."""
        demand = self._employment_by_city()
        ratio = demand / np.maximum(self.labour_supply * self.trend(), 1e-12)
        self.wage = self.wage * ratio ** self.config.economy.wage_adjustment_elasticity

    def update_output(self) -> None:
        """Recompute every unit's output at its park with the new agglomeration terms."""
        terms = self.terms()
        kg_of = self.units.sector.astype(np.int64) * len(SEGMENTS) + self.units.segment
        self.units.output = self.units.productivity * terms.q[kg_of, self.units.park]


def run_scenario(config: ScenarioConfig, seed: int | None = None, replicate: int = 0,
                 steps: int | None = None, world: World | None = None) -> Results:
    """Run one scenario and return its tables.

    Args:
        config: the validated scenario.
        seed: root seed (the scenario's ``seed`` if None).
        replicate: replicate index r (common random numbers across scenarios).
        steps: number of quarters (the scenario's ``steps`` if None).
        world: a prebuilt world for this config's data, to skip recalibration.
    """
    seed = config.seed if seed is None else seed
    model = CircleModel(config, seed=seed, replicate=replicate, world=world)
    for _ in range(config.steps if steps is None else steps):
        model.step()
    return model.recorder.results(config)
