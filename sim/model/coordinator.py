"""The circle's coordinator: detects cap breakers, draws the investment map from the model's
state and bargains the transfers that keep every city at least as well off as under competition.

The optimisation and the transfer rule are pure functions in :mod:`sim.rules.planning`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from sim.model.city import (
    City,
    best_offers,
    city_values,
    decider_groups,
    offer_inputs,
    placement_values,
)
from sim.model.utility import Choosers, utilities, utility_parts
from sim.rules import accounts
from sim.rules.choice import nested_probabilities
from sim.rules.constants import SEGMENTS, STEPS_PER_YEAR, ParkKind, per_step
from sim.rules.economy import Settings, park_offers
from sim.rules.offers import target_sectors
from sim.rules.planning import (
    bounded_by_revenue,
    compensation,
    congestion_external,
    draw_map,
    map_slots,
    planner_scores,
    spillover_external,
)

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
        """Cap breakers are detected at random; the map is (re)drawn and transfers bargained
        once a plan period; under a cap, each city's stake in the scheme is projected."""
        model, cfg = self.model, self.model.config
        detect = self.detection_rng.random(model.world.n_cities)
        p_step = per_step(cfg.policies.subsidy_cap.detection_probability_annual)
        for city in model.cities:
            if city.cheating and detect[city.index] < p_step:
                city.detected = True
                model.settings.excluded[city.index] = True
        if cfg.switches.investment_map and not (model.steps - 1) % self._replan_every():
            self.draw_investment_map()
        if cfg.switches.subsidy_cap:
            for city, stake in zip(model.cities, self.scheme_stakes(), strict=True):
                city.scheme_stake = float(stake)

    def _replan_every(self) -> int:
        pol = self.model.config.policies.investment_map
        return max(int(round(pol.replan_years * STEPS_PER_YEAR)), 1)

    def draw_investment_map(self) -> None:
        """Draw the map (slots by size and land) and bargain the compensation that goes with it."""
        model, cfg, w = self.model, self.model.config, self.model.world
        free = self._free_land()
        industrial = model.output_cube().sum(axis=(1, 2))
        slots = map_slots(industrial, free,
                          cfg.competition.lead_sectors * len(SEGMENTS) * w.n_cities)
        mapped = draw_map(self._planner_scores(), self._land_need(), free, slots,
                          cfg.policies.investment_map.max_cities_per_segment)
        model.settings.mapped = mapped
        if cfg.competition.active:
            model.settings.promoted = mapped.copy()
            for city in model.cities:
                city.targets = mapped[city.index].copy()
        self._bargain()

    def _planner_scores(self) -> np.ndarray:
        """Firms' attractiveness of each city's own park plus what a placement does to other
        firms that they do not price: agglomeration spillovers less land and labour congestion
        (both per unit of productivity, in the same logit units)."""
        model, cal, w = self.model, self.model.calibration, self.model.world
        terms, c, econ, g = model.current_terms, w.n_cities, model.config.economy, len(SEGMENTS)
        q, cost = terms.q[:, :c], terms.cost[:, :c]
        attract = cal.delta_arrival + q * (1 - cost) / cal.sigma[:, None]
        cube = model.output_cube()                                            # C x K x G
        mass = cube.sum(axis=2)                                               # C x K
        margin = np.moveaxis((1 - cost).reshape(w.n_sectors, g, c), 2, 0)     # C x K x G
        weight = np.where(mass[:, :, None] > 0, cube, 1.0)   # others' profit per yuan, by output
        per_yuan = (weight * margin).sum(axis=2) / weight.sum(axis=2)
        spill = np.repeat(spillover_external(per_yuan, mass, econ.agglomeration_elasticity),
                          g, axis=1)                                          # C x KG, per yuan
        p = model.parks
        local = p.kind == ParkKind.LOCAL
        used = np.bincount(p.city[local], weights=model.land_used()[local], minlength=c)
        cap = np.bincount(p.city[local], weights=p.capacity[local], minlength=c)
        congest = congestion_external(w.land_per_output.ravel(), w.labour_share.ravel(),
                                      terms.land_price[:c], used / np.maximum(cap, 1e-12),
                                      econ.land_price_utilisation_elasticity, model.wage,
                                      econ.wage_adjustment_elasticity)    # C x KG, per yuan
        external = (spill - congest) * q.T / cal.sigma[None, :]
        pol = model.config.policies.investment_map
        return planner_scores(attract.T, external, pol.spillover_weight, pol.noise_sd,
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
        """Compensation in money: a city is paid, as an annual fiscal flow, what a year of
        coordinated decisions is projected to cost its objective against competition (the present
        value spread over a unit's life), times (1 + premium); the gainers pay, each at most a
        share of its tax revenue."""
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
        everyone = decider_groups(model, np.arange(model.kg))
        if cfg.competition.active:
            parts = utility_parts(model, everyone[0], rival)   # only the rivals' offers move
            for _ in range(2):   # a short damped best-response path as the competition benchmark
                for c in range(model.world.n_cities):
                    kgs = np.flatnonzero(comp_targets[c])
                    br, _ = best_offers(model, c, kgs, rival, cfg.competition.subsidy_max,
                                        offer_inputs(model, c, kgs, rival, everyone, parts))
                    rival.offers[c, kgs] += cfg.competition.damping * (br - rival.offers[c, kgs])
        life = model.calibration.life
        values = city_values(model, np.arange(model.kg))[:, everyone[0].kg, :]
        coordinated = (STEPS_PER_YEAR * projected_values(model, model.settings, everyone,
                                                         values=values) / life)
        competing = STEPS_PER_YEAR * projected_values(model, rival, everyone, values=values) / life
        pol = cfg.policies.investment_map
        tax = np.array([city.tax_revenue for city in model.cities])
        transfers = bounded_by_revenue(
            compensation(coordinated, competing, pol.bargaining_premium), tax,
            pol.compensation_cap_share)
        for city in model.cities:
            city.compensation = transfers[city.index]

    def scheme_stakes(self) -> np.ndarray:
        """What each city expects a year in the scheme to bring (C): inflows from the agreements
        in force (credit valued at λ_Y, tax, platform returns) at today's output, the compensation
        it is owed, and a year of placements it would lose if excluded (platform and map slots;
        projected once a plan period)."""
        model = self.model
        p, w, t, cfg = model.parks, model.world, model.steps, model.config
        park_output = np.bincount(model.units.park, weights=model.units.output, minlength=p.n)
        shares = accounts.share_matrices(p, t, w.n_cities,
                                         cfg.policies.enclave.credited_double_count)
        foreign = p.city[None, :] != np.arange(w.n_cities)[:, None]
        registered_elsewhere = p.registration[None, :] != np.arange(w.n_cities)[:, None]
        inflow = (cfg.competition.promotion_weight_gdp * (shares.statistical * foreign)
                  @ park_output
                  + (shares.tax * registered_elsewhere) @ (cfg.economy.tax_rate * park_output)
                  + accounts.platform_returns(p, park_output,
                                              cfg.policies.park_within_park.platform_return_rate,
                                              w.n_cities, t))
        owed = np.maximum([city.compensation for city in model.cities], 0.0)
        if not (t - 1) % self._replan_every():     # re-projected once a plan period
            placement = STEPS_PER_YEAR * np.maximum(self._placement_stakes(), 0.0)
            for city in model.cities:
                city.placement_stake = float(placement[city.index])
        return inflow + owed + np.array([city.placement_stake for city in model.cities])

    def _placement_stakes(self) -> np.ndarray:
        """Per city, the present value of a step's placements it keeps by staying in the scheme
        (shown on the platform, its map slots free of approval friction) against being excluded."""
        model = self.model
        s = model.settings
        if not (s.platform or s.mapped is not None):
            return np.zeros(model.world.n_cities)
        groups = decider_groups(model, np.arange(model.kg))
        parts = utility_parts(model, groups[0], s)
        u, available = parts.at(park_offers(s, model.parks, model.steps))
        lam, nest, n_c = model.config.economy.nest_parameter, model.parks.city, model.world.n_cities
        probs = nested_probabilities(u, nest, n_c, lam, available)[:, :-1]    # in force
        values = city_values(model, np.arange(model.kg))[:, groups[0].kg, :]
        inside = projected_values(model, s, groups, probs=probs, values=values)
        # exclusion reaches only new projects (platform, map slots, entry): reviewers' utilities
        # are those in force (tests/test_model.py checks it), and so are their choices
        new = np.flatnonzero(groups[0].current < 0)
        arrivals, arriving = groups[0].select(new), parts.select(new)
        out = np.zeros(model.world.n_cities)
        for c in np.flatnonzero(~s.excluded):
            excluded = s.excluded.copy()
            excluded[c] = True
            alone = Settings(offers=s.offers, promoted=s.promoted, mapped=s.mapped,
                             platform=s.platform, excluded=excluded)
            u, available = utility_parts(model, arrivals, alone, arriving).at(
                park_offers(alone, model.parks, model.steps))
            chosen = probs.copy()
            chosen[new] = nested_probabilities(u, nest, n_c, lam, available)[:, :-1]
            out[c] = inside[c] - projected_values(model, alone, groups, probs=chosen,
                                                  values=values)[c]
        return out


def projected_values(model: CircleModel, settings: Settings,
                     groups: tuple[Choosers, np.ndarray] | None = None,
                     utility: tuple[np.ndarray, np.ndarray] | None = None,
                     probs: np.ndarray | None = None,
                     values: np.ndarray | None = None) -> np.ndarray:
    """Each city's expected value of one step of decisions in every sector-segment (C).

    ``groups`` (``decider_groups`` of all sector-segments at this step) saves recomputing them;
    ``utility`` (their ``utilities`` under ``settings``) likewise, or ``probs`` (their choice
    probabilities of the parks, n x P); ``values`` (``city_values`` of their sector-segments,
    C x n x P) likewise.
    """
    cal = model.calibration
    groups, weight = groups or decider_groups(model, np.arange(model.kg))
    kg = groups.kg
    if probs is None:
        u, available = utility or utilities(model, groups, settings)
        probs = nested_probabilities(u, model.parks.city, model.world.n_cities,
                                     model.config.economy.nest_parameter, available)[:, :-1]
    if values is None:
        values = city_values(model, np.arange(model.kg))[:, kg, :]                # C x n x P
    mass = weight[:, None] * probs * model.current_terms.q[kg]            # n x P
    gross, paid = placement_values(model, settings, kg, mass, values)
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
