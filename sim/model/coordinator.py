"""The circle's coordinator: detects cap breakers, draws the investment map from the model's
state and bargains the transfers that keep every city at least as well off as under competition.

The optimisation and the transfer rule are pure functions in :mod:`sim.rules.planning`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from sim.model.city import City, best_offers, city_values, decider_groups
from sim.model.utility import utilities
from sim.rules.choice import nested_probabilities
from sim.rules.constants import SEGMENTS, STEPS_PER_YEAR, per_step
from sim.rules.economy import Settings, park_offers
from sim.rules.offers import target_sectors
from sim.rules.planning import compensation, draw_map, planner_scores

if TYPE_CHECKING:
    from sim.model.circle import CircleModel


class Coordinator:
    """The coordination office of the circle (its investment map, transfers and inspections).

    Args:
        model: the model it coordinates.
        map_rng: draws of the planner's noisy estimates.
        detection_rng: draws of the inspections of cap breakers.
    """

    def __init__(self, model: CircleModel, map_rng: np.random.Generator,
                 detection_rng: np.random.Generator) -> None:
        self.model = model
        self.map_rng = map_rng
        self.detection_rng = detection_rng

    def step(self) -> None:
        """Cap breakers are detected at random; the map is (re)drawn and transfers bargained."""
        model, cfg = self.model, self.model.config
        detect = self.detection_rng.random(model.world.n_cities)
        p_step = per_step(cfg.policies.subsidy_cap.detection_probability_annual)
        for city in model.cities:
            if city.cheating and detect[city.index] < p_step:
                city.detected = True
                model.settings.excluded[city.index] = True
        if not cfg.switches.investment_map:
            return
        every = max(int(round(cfg.policies.investment_map.replan_years * STEPS_PER_YEAR)), 1)
        if (model.steps - 1) % every:
            return
        mapped = draw_map(self._planner_scores(), self._land_need(), self._free_land(),
                          cfg.competition.lead_sectors * len(SEGMENTS),
                          cfg.policies.investment_map.max_cities_per_segment)
        model.settings.mapped = mapped
        if cfg.competition.active:
            model.settings.promoted = mapped.copy()
            for city in model.cities:
                city.targets = mapped[city.index].copy()
        self._bargain()

    def _planner_scores(self) -> np.ndarray:
        """Firms' attractiveness of each city's own park plus the linkage costs firms ignore."""
        model, cal = self.model, self.model.calibration
        terms, c = model.current_terms, model.world.n_cities
        q, cost = terms.q[:, :c], terms.cost[:, :c]
        attract = cal.delta_arrival + q * (1 - cost) / cal.sigma[:, None]
        linkage = -(model.config.economy.distance_cost_per_100km * q * terms.link_km100
                    / cal.sigma[:, None])
        pol = model.config.policies.investment_map
        return planner_scores(attract.T, linkage.T, pol.spillover_weight, pol.noise_sd,
                              self.map_rng)

    def _land_need(self) -> np.ndarray:
        """Expected km² of new land each sector-segment takes over one plan period."""
        model, cal = self.model, self.model.calibration
        econ, pol = model.config.economy, model.config.policies.investment_map
        steps = pol.replan_years * STEPS_PER_YEAR
        q = model.current_terms.q[:, :model.world.n_cities].mean(axis=1)
        return (model.arrivals_now() * (1 - econ.outside_share_arrivals) * steps
                * cal.mean_productivity.ravel() * q * model.world.land_per_output.ravel())

    def _free_land(self) -> np.ndarray:
        model, p = self.model, self.model.parks
        free = np.maximum(p.capacity - model.land_used(), 0.0)
        return np.bincount(p.city, weights=free, minlength=model.world.n_cities)

    def _bargain(self) -> None:
        """Compensation so that no city expects to do worse than under competition."""
        model, cfg = self.model, self.model.config
        comp_targets = np.repeat(
            target_sectors(
                model.world.hotness,
                model.world.advantage,
                cfg.competition.homogenisation,
                cfg.competition.lead_sectors,
            ),
            len(SEGMENTS),
            axis=1,
        )
        rival = Settings(offers=model.settings.offers.copy(), promoted=comp_targets, mapped=None,
                         platform=False, excluded=model.settings.excluded.copy())
        if cfg.competition.active:
            for _ in range(2):   # a short damped best-response path as the competition benchmark
                for c in range(model.world.n_cities):
                    kgs = np.flatnonzero(comp_targets[c])
                    br, _ = best_offers(model, c, kgs, rival, cfg.competition.subsidy_max)
                    rival.offers[c, kgs] += cfg.competition.damping * (br - rival.offers[c, kgs])
        coordinated = projected_values(model, model.settings)
        competing = projected_values(model, rival)
        transfers = STEPS_PER_YEAR * compensation(coordinated, competing,
                                                  cfg.policies.investment_map.bargaining_premium)
        for city in model.cities:
            city.compensation = transfers[city.index]


def projected_values(model: CircleModel, settings: Settings) -> np.ndarray:
    """Each city's expected value of one step of decisions in every sector-segment (C)."""
    cal = model.calibration
    groups, weight = decider_groups(model, np.arange(model.kg))
    u, available = utilities(model, groups, settings)
    probs = nested_probabilities(u, model.parks.city, model.world.n_cities,
                                 model.config.economy.nest_parameter, available)[:, :-1]
    kg = groups.kg
    mass = weight[:, None] * probs * model.current_terms.q[kg]            # n x P
    values = city_values(model, np.arange(model.kg))                      # C x KG x P
    offers = park_offers(settings, model.parks, model.steps)[kg]              # n x P
    pays = model.parks.attractor(model.steps)[None, :] == np.arange(model.world.n_cities)[:, None]
    gross = np.einsum("np,cnp->c", mass, values[:, kg, :])
    paid = np.einsum("np,cp->c", mass * offers, pays)
    return cal.life * gross - cal.sub_life * paid


def compensation_in_force(cities: Sequence[City]) -> np.ndarray:
    """This step's transfers (C, positive = receives): a city caught breaking the cap forfeits
    what it would receive, and the payers' contributions shrink in proportion."""
    comp = np.array([city.compensation for city in cities], dtype=float)
    caught = np.array([city.detected for city in cities])
    comp[caught & (comp > 0)] = 0.0
    owed = comp[comp > 0].sum()
    paying = comp < 0
    if paying.any():
        comp[paying] *= owed / -comp[paying].sum()
    return comp
