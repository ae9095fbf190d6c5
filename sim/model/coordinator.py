"""The coordinator as functions of the model: detection of cap breakers, the investment map
drawn from the model's state, and the bargained transfers.

The optimisation and the transfer rule live in :mod:`sim.rules.planning` (pure functions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.world import SEGMENTS
from sim.rules.choice import nested_probabilities
from sim.model.city_offers import best_offers, city_values, decider_groups
from sim.rules.planning import compensation, draw_map, planner_scores
from sim.model.firms import Q, utilities
from sim.rules.economy import Settings, park_offers
from sim.rules.offers import target_sectors

if TYPE_CHECKING:
    from sim.model import CircleModel


def coordinate(model: "CircleModel") -> None:
    """The coordinator (re)draws the investment map and sets bargained transfers; cap breakers
    are detected at random."""
    cfg = model.config
    detect = model.detection_rng.random(model.world.n_cities)
    p_step = 1 - (1 - cfg.policies.subsidy_cap.detection_probability_annual) ** (1 / Q)
    for city in model.cities:
        if city.cheating and detect[city.index] < p_step:
            city.detected = True
            model.settings.excluded[city.index] = True
    if not cfg.switches.investment_map:
        return
    every = max(int(round(cfg.policies.investment_map.replan_years * Q)), 1)
    if (model.t - 1) % every:
        return
    mapped = draw_map(_planner_scores(model), _land_need(model), _free_land(model),
                      cfg.competition.lead_sectors * len(SEGMENTS),
                      cfg.policies.investment_map.max_cities_per_segment)
    model.settings.mapped = mapped
    if cfg.competition.active:
        model.settings.promoted = mapped.copy()
        for city in model.cities:
            city.targets = mapped[city.index].copy()
    _bargain(model)


def _planner_scores(model: "CircleModel") -> np.ndarray:
    """Firms' attractiveness of each city's own park plus the linkage costs firms ignore."""
    terms, c = model.current_terms, model.world.n_cities
    q, cost = terms.q[:, :c], terms.cost[:, :c]
    attract = model.delta_arrival + q * (1 - cost) / model.sigma[:, None]
    linkage = -(model.config.economy.distance_cost_per_100km * q * terms.link_km100
                / model.sigma[:, None])
    pol = model.config.policies.investment_map
    return planner_scores(attract.T, linkage.T, pol.spillover_weight, pol.noise_sd, model.map_rng)


def _land_need(model: "CircleModel") -> np.ndarray:
    """Expected km² of new land each sector-segment takes over one plan period."""
    econ, pol = model.config.economy, model.config.policies.investment_map
    steps = pol.replan_years * Q
    q = model.current_terms.q[:, :model.world.n_cities].mean(axis=1)
    return (model.arrivals_now() * (1 - econ.outside_share_arrivals) * steps
            * model.mean_productivity.ravel() * q * model.world.land_per_output.ravel())


def _free_land(model: "CircleModel") -> np.ndarray:
    p = model.parks
    free = np.maximum(p.capacity - model.land_used(), 0.0)
    return np.bincount(p.city, weights=free, minlength=model.world.n_cities)


def projected_values(model: "CircleModel", settings) -> np.ndarray:
    """Each city's expected value of one step of decisions in every sector-segment (C)."""
    kgs = np.arange(model.kg)
    kg, origin, home, current, weight = decider_groups(model, kgs)
    u, available = utilities(model, kg, origin, home, current, np.zeros(len(kg)), settings)
    probs = nested_probabilities(u, model.parks.city, model.world.n_cities,
                                 model.config.economy.nest_parameter, available)[:, :-1]
    mass = weight[:, None] * probs * model.current_terms.q[kg]            # n x P
    values = city_values(model, kgs)                                      # C x KG x P
    offers = park_offers(settings, model.parks, model.t)[kg]              # n x P
    pays = model.parks.registration[None, :] == np.arange(model.world.n_cities)[:, None]
    gross = np.einsum("np,cnp->c", mass, values[:, kg, :])
    paid = np.einsum("np,cp->c", mass * offers, pays)
    return model.life * gross - model.sub_life * paid


def _bargain(model: "CircleModel") -> None:
    """Compensation so that no city expects to do worse than under competition."""
    cfg = model.config
    comp_targets = np.repeat(target_sectors(model.world.hotness, model.world.advantage,
                                            cfg.competition.homogenisation,
                                            cfg.competition.lead_sectors), len(SEGMENTS), axis=1)
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
    model.compensation = Q * compensation(coordinated, competing,
                                          cfg.policies.investment_map.bargaining_premium)


def compensation_in_force(model: "CircleModel") -> np.ndarray:
    """This step's transfers (C, positive = receives): a city caught breaking the cap forfeits
    what it would receive, and the payers' contributions shrink in proportion."""
    comp = model.compensation.copy()
    caught = np.array([city.detected for city in model.cities])
    comp[caught & (comp > 0)] = 0.0
    owed = comp[comp > 0].sum()
    paying = comp < 0
    if paying.any():
        comp[paying] *= owed / -comp[paying].sum()
    return comp
