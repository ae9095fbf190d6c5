"""Reviewers at rest under the status quo: their constants with the status quo's own rules in place.

In 2021 cities were already competing, so the units that reconsidered their location saw the
cities' placement offers where they might move, kept their running contract if they stayed, and
were counter-offered (retention) when they announced they would leave. The reviewers' constants
and switching cost are calibrated with all three in place, as the arrival constants are calibrated
with the offers (:mod:`sim.model.equilibrium`): in expectation reviews keep every city's base
productivity mass, ``Σ_a n_a P'(b | a) = n_b (1 − ℓ)``, and the stated share of reviewers stays
put, where ``P'`` is the choice after counter-offers (a retained unit stays). Otherwise the
counter-offers alone keep leavers in the circle, which grows with growth off.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from sim.model.city import decider_groups, retention_terms
from sim.model.utility import Choosers, kg_index, utilities
from sim.rules.choice import nested_probabilities
from sim.rules.constants import Origin
from sim.rules.economy import Settings

#: Steps of the reviewers' fixed point between two choices of the counter-offers.
_RECHOOSE = 8

if TYPE_CHECKING:
    from sim.model.circle import CircleModel


def reviewer_groups(model: CircleModel) -> tuple[Choosers, np.ndarray]:
    """The units that may review their location next step, grouped by sector-segment, park and
    running contract, and each group's productivity mass (in mean-productivity units)."""
    u, cal = model.units, model.calibration
    kg = kg_index(u)
    rate = np.where(u.subsidy_until > model.steps, u.subsidy_rate, 0.0)
    rates, rate_of = np.unique(rate, return_inverse=True)
    n_p = model.parks.n
    keys, inverse = np.unique((kg * n_p + u.park) * len(rates) + rate_of.ravel(),
                              return_inverse=True)
    mass = np.bincount(inverse.ravel(), weights=u.productivity / cal.mean_productivity.ravel()[kg],
                       minlength=len(keys))
    cell, g_rate = np.divmod(keys, len(rates))
    g_kg, park = np.divmod(cell, n_p)
    groups = Choosers(kg=g_kg, origin=np.full(len(g_kg), Origin.LOCAL),
                      home=model.parks.registration[park].astype(np.int64), current=park,
                      stay_subsidy=rates[g_rate])
    return groups, mass


def review_outcomes(model: CircleModel, who: Choosers, u: np.ndarray,
                    available: np.ndarray) -> np.ndarray:
    """Expected outcome of a review (n x (P + 1), the last column leaving the circle): the logit
    choice, then the current city's counter-offer to every announced departure, accepted with its
    chance (a retained unit stays where it is)."""
    return _reviews(model, who, u, available)[0]


def review_terms(model: CircleModel, who: Choosers, u: np.ndarray,
                 available: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`review_outcomes`, with per announced departure (n x (P + 1)) the chance the unit is
    retained and the counter-offer's rate (what a retained unit is paid)."""
    return _reviews(model, who, u, available)


def _reviews(model: CircleModel, who: Choosers, u: np.ndarray, available: np.ndarray,
             rates: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Review outcomes (n x (P + 1)), and per announced departure the chance it is retained
    (choice probability times acceptance) and the counter-offer's rate (n x (P + 1)).

    ``rates``: counter-offers taken as given (only their acceptance is evaluated); None: chosen.
    """
    lam, n_c = model.config.economy.nest_parameter, model.world.n_cities
    probs = nested_probabilities(u, model.parks.city, n_c, lam, available)
    comp = model.config.competition
    if not (comp.active and comp.retention):
        return probs, np.zeros_like(probs), np.zeros_like(probs)
    n, n_p = u.shape
    rows = np.arange(n)
    dest = np.tile(np.append(np.arange(n_p), -1), n)
    current = np.repeat(who.current, n_p + 1)
    u_move = np.concatenate([u, np.zeros((n, 1))], axis=1).ravel()
    u_stay = np.repeat(u[rows, who.current], n_p + 1)
    rate, chance = retention_terms(model, np.repeat(who.kg, n_p + 1), current, dest, u_stay,
                                   u_move, None if rates is None else rates.ravel())
    chance = np.where(dest != current, chance, 0.0).reshape(n, n_p + 1)
    chance[~np.isfinite(chance)] = 0.0
    kept = probs * chance
    out = probs - kept
    out[rows, who.current] += kept.sum(axis=1)
    return out, kept, rate.reshape(n, n_p + 1)


def retention_hazards(model: CircleModel, settings: Settings,
                      grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per step, the chance that a unit still at park a of sector-segment kg signs a retention
    contract (KG x P), and the distribution of its rate over ``grid`` (KG x P x len(grid)).

    The chance is conditional on the unit not having left: ``p_r R / (1 − p_r M)``, with R the
    retention chance of a review and M the chance of a review ending elsewhere, each averaged
    over the units of the cell (with and without a running contract) by productivity mass.
    """
    cal, p = model.calibration, model.parks
    who, mass = reviewer_groups(model)
    u, available = utilities(model, who, settings)
    out, kept, rate = _reviews(model, who, u, available)
    rows = np.arange(len(mass))
    cell = who.kg * p.n + who.current
    n_cells = model.kg * p.n
    cell_mass = np.maximum(np.bincount(cell, weights=mass, minlength=n_cells), 1e-300)
    retained = np.bincount(cell, weights=mass * kept.sum(axis=1), minlength=n_cells) / cell_mass
    gone = np.bincount(cell, weights=mass * (1 - out[rows, who.current]),
                       minlength=n_cells) / cell_mass
    hazard = cal.p_review * retained / (1 - cal.p_review * gone)
    which = np.abs(rate[..., None] - grid[None, None, :]).argmin(axis=2)
    dist = np.zeros((n_cells, len(grid)))
    np.add.at(dist, (np.repeat(cell, kept.shape[1]), which.ravel()),
              (mass[:, None] * kept).ravel())
    dist /= np.maximum(dist.sum(axis=1, keepdims=True), 1e-300)
    return hazard.reshape(model.kg, p.n), dist.reshape(model.kg, p.n, len(grid))


def settle_reviewers(model: CircleModel, settings: Settings, max_iter: int = 400,
                     tol: float = 1e-5) -> tuple[np.ndarray, np.ndarray, int]:
    """Reviewers' constants (KG x C) and switching cost (KG) at rest under ``settings``.

    A fixed point from the model's current values: each constant by a Newton step on its own
    city's expected inflow (the log ratio of target to inflow of
    :func:`sim.rules.choice.calibrate_reviewers`, scaled by inflow over its slope), the switching
    cost by the log-odds gap of the stay share. Reviewers' consideration equals the base year's
    (promotion and the platform reach arriving projects only), so utilities are linear in both.

    Returns:
        constants, switching cost, iterations used.
    """
    cal, econ, p = model.calibration, model.config.economy, model.parks
    who, mass = reviewer_groups(model)
    n_c = model.world.n_cities
    model.calibration = dataclasses.replace(cal, delta_review=np.zeros_like(cal.delta_review),
                                            switching_cost=np.zeros_like(cal.switching_cost))
    try:
        u0, available = utilities(model, who, settings)
    finally:
        model.calibration = cal
    moving = np.arange(p.n)[None, :] != who.current[:, None]
    target = cal.base_counts * (1 - econ.leave_share_reviewers)
    goal = np.log(econ.stay_share_reviewers / (1 - econ.stay_share_reviewers))
    kg_mass = np.bincount(who.kg, weights=mass, minlength=model.kg)
    delta, kappa = cal.delta_review.copy(), cal.switching_cost.copy()
    rows = np.arange(len(mass))
    cells = (np.repeat(who.kg, p.n) * n_c + np.tile(p.city, len(mass)))   # (KG, city) of (n, P)
    it, rates, fresh = 0, None, 0
    for it in range(1, max_iter + 1):
        u = u0 + delta[who.kg][:, p.city] - moving * kappa[who.kg][:, None]
        # the counter-offers are re-chosen every few steps and before accepting convergence;
        # in between only their acceptance moves with the utilities
        fresh = it if rates is None or it - fresh >= _RECHOOSE else fresh
        out, _, chosen = _reviews(model, who, u, available, None if fresh == it else rates)
        rates = chosen
        # summed in the order np.add.at did, far faster
        flow = mass[:, None] * out[:, :-1]
        inflow = np.bincount(cells, weights=flow.ravel(),
                             minlength=model.kg * n_c).reshape(model.kg, n_c)
        slope = np.bincount(cells, weights=(flow * (1 - out[:, :-1])).ravel(),
                            minlength=model.kg * n_c).reshape(model.kg, n_c)
        stay = (np.bincount(who.kg, weights=mass * out[rows, who.current], minlength=model.kg)
                / np.maximum(kg_mass, 1e-300))
        has = cal.base_counts > 0
        # a Newton step on each constant alone: d inflow_b / dV_b = Σ_a n_a P'_ab (1 − P'_ab)
        gain = np.clip(inflow / np.maximum(slope, 1e-300), 1.0, 10.0)
        step_v = np.where(has, gain * np.log(np.maximum(target, 1e-300)
                                             / np.maximum(inflow, 1e-300)), 0.0)
        step_k = np.where(kg_mass > 0, np.log(stay / np.maximum(1 - stay, 1e-300)) - goal, 0.0)
        delta += step_v
        kappa = np.maximum(kappa - step_k, 0.0)
        if max(np.abs(step_v).max(), np.abs(step_k).max()) < tol:
            if fresh == it:
                break
            rates = None
    return delta, kappa, it


def expected_flows(model: CircleModel) -> dict[str, np.ndarray]:
    """Expected change of each city's productivity mass (KG x C, mean-productivity units) in this
    step's decisions, by source: ``exits``, ``reviews`` (after counter-offers) and ``arrivals``.

    Call at a step's decision point (after :meth:`CircleModel.prepare_decisions`). Units close
    first, then a share of the survivors reviews, as in :meth:`CircleModel.step`; land rationing
    is left out (it binds only in full parks).
    """
    cal, p, n_c = model.calibration, model.parks, model.world.n_cities
    lam = model.config.economy.nest_parameter
    mean_a = cal.mean_productivity.ravel()
    u = model.units
    kg = kg_index(u)
    mass = np.zeros((model.kg, n_c))
    np.add.at(mass, (kg, p.city[u.park]), u.productivity / mean_a[kg])
    survive = 1 - cal.p_exit
    who, group_mass = reviewer_groups(model)
    util, available = utilities(model, who, model.settings)
    out = review_outcomes(model, who, util, available)
    reviews = np.zeros((model.kg, n_c))
    np.add.at(reviews, (np.repeat(who.kg, p.n), np.tile(p.city, len(group_mass))),
              (group_mass[:, None] * out[:, :-1]).ravel())
    np.add.at(reviews, (who.kg, p.city[who.current]), -group_mass)
    groups, weight = decider_groups(model, np.arange(model.kg))
    arriving = groups.current < 0
    groups, weight = groups.select(np.flatnonzero(arriving)), weight[arriving]
    util, available = utilities(model, groups, model.settings)
    probs = nested_probabilities(util, p.city, n_c, lam, available)[:, :-1]
    arrivals = np.zeros((model.kg, n_c))
    np.add.at(arrivals, (np.repeat(groups.kg, p.n), np.tile(p.city, len(weight))),
              ((weight / mean_a[groups.kg])[:, None] * probs).ravel())
    return {"exits": -cal.p_exit * mass, "reviews": cal.p_review * survive * reviews,
            "arrivals": arrivals}


def expected_output_change(model: CircleModel) -> dict[str, np.ndarray]:
    """:func:`expected_flows` as the expected change of each city's output in the step (C),
    at today's output per unit of productivity of the city's local park."""
    n_c, cal = model.world.n_cities, model.calibration
    q = model.current_terms.q[:, :n_c] * cal.mean_productivity.reshape(-1, 1)
    return {name: (q * flow).sum(axis=0) for name, flow in expected_flows(model).items()}
