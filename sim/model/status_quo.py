"""The status quo's parks (the local ones and those of the agreements in force) and the arrival
constants that keep every city's base-year share of arrivals with the parks in force open.

The constants absorb what was observed in the base year, as they absorb the base year's
promotion: the referrals and productivity bonus of a branch that ran in 2021 are in 2021's
allocation (:mod:`sim.model.in_force` puts its units there).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.model.forecast import decider_groups
from sim.model.state import State
from sim.model.utility import Choosers, utilities, utility_parts
from sim.rules.choice import expected_rationing
from sim.rules.constants import IN_FORCE_ARRIVAL_TOL, SOLVER_FLOOR
from sim.rules.economy import park_offers
from sim.rules.park_table import Parks

CLOSED = 10**9      # start step of a park no one may choose


def head(parks: Parks, n: int) -> Parks:
    """The first ``n`` parks (the status quo's, when ``n`` counts the local parks and those in
    force)."""
    return Parks(**{f.name: getattr(parks, f.name)[:n] for f in dataclasses.fields(Parks)})


def arrivals_by_city(state: State, free_land: np.ndarray) -> np.ndarray:
    """Expected productivity mass each city draws from one step's arrivals (KG x C) under the
    state's settings, full parks rationed as the model rations them (``free_land``, P km²)."""
    groups, weight = _arrivals(state)
    u, available = utilities(state, groups, state.settings)
    return _placed(state, groups, weight, u, available, free_land)


def _arrivals(state: State) -> tuple[Choosers, np.ndarray]:
    """The representative arrivals of the next step and their expected productivity mass."""
    groups, weight = decider_groups(state, np.arange(state.kg))
    new = np.flatnonzero(groups.current < 0)
    return groups.select(new), weight[new]


def _placed(state: State, groups: Choosers, weight: np.ndarray, u: np.ndarray,
            available: np.ndarray, free_land: np.ndarray) -> np.ndarray:
    """What the arrival groups place in each city (KG x C), rationed by ``free_land``."""
    p, c, econ = state.parks, state.world.n_cities, state.config.economy
    need = state.world.land_per_output.ravel()[groups.kg][:, None] * state.terms.q[groups.kg]
    placed = expected_rationing(u, available, weight, need, groups.current, free_land, p.city, c,
                                econ.nest_parameter, econ.rejection_rounds)[:, :-1]
    cell = np.repeat(groups.kg, p.n) * c + np.tile(p.city, len(groups.kg))
    return np.bincount(cell, weights=placed.ravel(),
                       minlength=state.kg * c).reshape(state.kg, c)


def free_after_exits(state: State) -> np.ndarray:
    """Land a park has for one step's arrivals (P km²): its idle land and what the step's
    closures free (the share ``p_exit`` of its units' land, in expectation)."""
    used = state.land_used()
    return state.parks.capacity - (1 - state.calibration.p_exit) * used


def arrival_constants(state: State, n_local: int, tol: float = IN_FORCE_ARRIVAL_TOL,
                      max_iter: int = 200) -> np.ndarray:
    """Arrival constants (KG x C) with which every city draws, with the in-force parks open, the
    arrivals it draws without them (the calibration's base-year shares): the contraction
    ``δ ← δ + ln(target) − ln(predicted)`` of Berry, Levinsohn & Pakes (1995) on the cities.
    A park in force stands full, so what it draws is rationed to the land its closures free in
    a step (:func:`free_after_exits`); those rejected take their next best park.

    Args:
        state: the status quo (its parks: the local ones, then those in force).
        n_local: the number of local parks (the cities).
    """
    closed = dataclasses.replace(state.parks, start=state.parks.start.copy())
    closed.start[n_local:] = CLOSED
    free = free_after_exits(state)
    target = arrivals_by_city(state.with_parks(closed), free)
    groups, weight = _arrivals(state)
    parts = utility_parts(state, groups, state.settings)
    offers = park_offers(state.settings, state.parks, state.step)
    city = state.parks.city
    delta = state.calibration.delta_arrival.copy()
    has = target > 0
    for _ in range(max_iter):
        u, available = dataclasses.replace(parts, delta=delta[groups.kg][:, city]).at(offers)
        predicted = _placed(state, groups, weight, u, available, free)
        step = np.where(has, np.log(np.maximum(target, SOLVER_FLOOR))
                        - np.log(np.maximum(predicted, SOLVER_FLOOR)), 0.0)
        delta = delta + step
        if np.abs(step).max() < tol:
            break
    return delta
