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
from sim.rules import accounts
from sim.rules.economy import agglomeration
from sim.rules.planning import (bounded_by_revenue, compensation, congestion_external, draw_map,
                                map_slots, planner_scores, spillover_external)
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
    if cfg.switches.investment_map and not (model.t - 1) % _replan_every(model):
        draw_investment_map(model)
    if cfg.switches.subsidy_cap:
        model.scheme_stake = scheme_stakes(model)


def _replan_every(model: "CircleModel") -> int:
    return max(int(round(model.config.policies.investment_map.replan_years * Q)), 1)


def draw_investment_map(model: "CircleModel") -> None:
    """Draw the map (slots by size and land) and bargain the compensation that goes with it."""
    cfg, w = model.config, model.world
    free = _free_land(model)
    industrial = model.output_cube().sum(axis=(1, 2))
    slots = map_slots(industrial, free, cfg.competition.lead_sectors * len(SEGMENTS) * w.n_cities)
    mapped = draw_map(_planner_scores(model), _land_need(model), free, slots,
                      cfg.policies.investment_map.max_cities_per_segment)
    model.settings.mapped = mapped
    if cfg.competition.active:
        model.settings.promoted = mapped.copy()
        for city in model.cities:
            city.targets = mapped[city.index].copy()
    _bargain(model)


def _planner_scores(model: "CircleModel") -> np.ndarray:
    """Firms' attractiveness of each city's own park plus what a placement does to other firms
    that they do not price: agglomeration spillovers less land and labour congestion."""
    terms, c, w, econ = model.current_terms, model.world.n_cities, model.world, model.config.economy
    q, cost = terms.q[:, :c], terms.cost[:, :c]
    attract = model.delta_arrival + q * (1 - cost) / model.sigma[:, None]
    mass = model.output_cube().sum(axis=2)                                # C x K
    agg = agglomeration(mass, econ.agglomeration_elasticity)
    spill = np.repeat(spillover_external(agg, mass, econ.agglomeration_elasticity), len(SEGMENTS),
                      axis=1)                                             # C x KG, per productivity
    local = model.parks.kind == 0
    used = np.bincount(model.parks.city[local], weights=model.land_used()[local], minlength=c)
    cap = np.bincount(model.parks.city[local], weights=model.parks.capacity[local], minlength=c)
    congest = congestion_external(w.land_per_output.ravel(), w.labour_share.ravel(),
                                  terms.land_price[:c], used / np.maximum(cap, 1e-12),
                                  econ.land_price_utilisation_elasticity, model.wage,
                                  econ.wage_adjustment_elasticity)        # C x KG, per output
    external = (spill - congest * q.T) / model.sigma[None, :]
    pol = model.config.policies.investment_map
    return planner_scores(attract.T, external, pol.spillover_weight, pol.noise_sd, model.map_rng)


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


def projected_values(model: "CircleModel", settings, groups: tuple | None = None) -> np.ndarray:
    """Each city's expected value of one step of decisions in every sector-segment (C).

    ``groups`` (``decider_groups`` of all sector-segments at this step) saves recomputing them.
    """
    kgs = np.arange(model.kg)
    kg, origin, home, current, weight = groups or decider_groups(model, kgs)
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
    """Compensation in money: a city is paid, as an annual fiscal flow, what a year of coordinated
    decisions is projected to cost its objective against competition (the present value spread
    over a unit's life), times (1 + premium); the gainers pay, each at most a share of its tax
    revenue."""
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
    coordinated = Q * projected_values(model, model.settings) / model.life
    competing = Q * projected_values(model, rival) / model.life
    pol = cfg.policies.investment_map
    model.compensation = bounded_by_revenue(compensation(coordinated, competing, pol.bargaining_premium),
                                            model.recorder.tax_revenue, pol.compensation_cap_share)


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


def scheme_stakes(model: "CircleModel") -> np.ndarray:
    """What each city expects a year in the scheme to bring (C): inflows from the agreements in
    force (credit valued at λ_Y, tax, platform returns) at today's output, the compensation it is
    owed, and a year of placements it would lose if excluded (platform and map slots; projected
    once a plan period)."""
    p, w, t = model.parks, model.world, model.t
    cfg = model.config
    park_output = np.bincount(model.units.park, weights=model.units.output, minlength=p.n)
    shares = accounts.share_matrices(p, t, w.n_cities, cfg.policies.enclave.credited_double_count)
    foreign = p.city[None, :] != np.arange(w.n_cities)[:, None]
    registered_elsewhere = p.registration[None, :] != np.arange(w.n_cities)[:, None]
    inflow = (cfg.competition.promotion_weight_gdp * (shares.statistical * foreign) @ park_output
              + (shares.tax * registered_elsewhere) @ (cfg.economy.tax_rate * park_output)
              + accounts.platform_returns(p, park_output,
                                          cfg.policies.park_within_park.platform_return_rate,
                                          w.n_cities, t))
    owed = np.maximum(model.compensation, 0.0)
    if not (t - 1) % _replan_every(model):     # re-projected once a plan period
        model.placement_stake = Q * np.maximum(_placement_stakes(model), 0.0)
    return inflow + owed + model.placement_stake


def _placement_stakes(model: "CircleModel") -> np.ndarray:
    """Per city, the present value of a step's placements it keeps by staying in the scheme
    (shown on the platform, its map slots free of approval friction) against being excluded."""
    s = model.settings
    if not (s.platform or s.mapped is not None):
        return np.zeros(model.world.n_cities)
    groups = decider_groups(model, np.arange(model.kg))
    inside = projected_values(model, s, groups)
    out = np.zeros(model.world.n_cities)
    for c in np.flatnonzero(~s.excluded):
        excluded = s.excluded.copy()
        excluded[c] = True
        alone = Settings(offers=s.offers, promoted=s.promoted, mapped=s.mapped, platform=s.platform,
                         excluded=excluded)
        out[c] = inside[c] - projected_values(model, alone, groups)[c]
    return out
