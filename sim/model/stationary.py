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

import numpy as np

from sim.model.retention import acceptance_lift, accepted_chance, retention_terms
from sim.model.state import State
from sim.model.status_quo import arrivals_by_city, free_after_exits
from sim.model.utility import Choosers, utilities
from sim.rules.choice import nested_probabilities, switching_cost_step
from sim.rules.constants import REVIEWER_REST_TOL, SOLVER_FLOOR, Origin
from sim.rules.economy import Settings
from sim.rules.iteration import secant_damping

#: Steps of the reviewers' fixed point between two choices of the counter-offers.
_RECHOOSE = 8


def reviewer_groups(state: State) -> tuple[Choosers, np.ndarray]:
    """The units that may review their location next step, grouped by sector-segment, park and
    running contract, and each group's productivity mass (in mean-productivity units)."""
    units, cal = state.units, state.calibration
    kg = units.kg
    rate = np.where(units.subsidy_until > state.step, units.subsidy_rate, 0.0)
    rates, rate_of = np.unique(rate, return_inverse=True)
    n_p = state.parks.n
    keys, inverse = np.unique((kg * n_p + units.park) * len(rates) + rate_of.ravel(),
                              return_inverse=True)
    mass = np.bincount(inverse.ravel(),
                       weights=units.productivity / cal.mean_productivity.ravel()[kg],
                       minlength=len(keys))
    cell, g_rate = np.divmod(keys, len(rates))
    g_kg, park = np.divmod(cell, n_p)
    groups = Choosers(kg=g_kg, origin=np.full(len(g_kg), Origin.LOCAL),
                      home=state.parks.registration[park].astype(np.int64), current=park,
                      stay_subsidy=rates[g_rate])
    return groups, mass


def review_outcomes(state: State, who: Choosers, u: np.ndarray,
                    available: np.ndarray) -> np.ndarray:
    """Expected outcome of a review (n x (P + 1), the last column leaving the circle): the logit
    choice, then the current city's counter-offer to every announced departure, accepted with its
    chance (a retained unit stays where it is)."""
    return _reviews(state, who, u, available)[0]


def review_terms(state: State, who: Choosers, u: np.ndarray,
                 available: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`review_outcomes`, with per announced departure (n x (P + 1)) the chance the unit is
    retained and the counter-offer's rate (what a retained unit is paid)."""
    return _reviews(state, who, u, available)


class _ReviewGrid:
    """The (group, destination) pairs of fixed reviewer groups, flattened (n (P + 1); the last
    destination of each group is the outside), kept while a fixed point iterates on the groups;
    with the counter-offers' lift to staying while the counter-offers stay the same."""

    def __init__(self, who: Choosers, n_parks: int) -> None:
        n = len(who.kg)
        self.rows = np.arange(n)
        self.dest = np.tile(np.append(np.arange(n_parks), -1), n)
        self.current = np.repeat(who.current, n_parks + 1)
        self.kg = np.repeat(who.kg, n_parks + 1)
        self.leaves = self.dest != self.current
        self._rates: np.ndarray | None = None
        self._lift: np.ndarray | None = None

    def lift(self, state: State, rates: np.ndarray) -> np.ndarray:
        """:func:`acceptance_lift` of ``rates`` (n x (P + 1)), once per array of rates."""
        if rates is not self._rates:
            self._rates = rates
            self._lift = acceptance_lift(state, self.kg, self.current, rates.ravel())
        return self._lift


def _reviews(state: State, who: Choosers, u: np.ndarray, available: np.ndarray,
             rates: np.ndarray | None = None, grid: _ReviewGrid | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Review outcomes (n x (P + 1)), and per announced departure the chance it is retained
    (choice probability times acceptance) and the counter-offer's rate (n x (P + 1)).

    ``rates``: counter-offers taken as given (only their acceptance is evaluated); None: chosen.
    ``grid``: the groups' :class:`_ReviewGrid`, if kept between calls.
    """
    nest_param, n_c = state.config.economy.nest_parameter, state.world.n_cities
    probs = nested_probabilities(u, state.parks.city, n_c, nest_param, available)
    competition = state.config.competition
    if not (competition.active and competition.retention):
        return probs, np.zeros_like(probs), np.zeros_like(probs)
    n, n_p = u.shape
    grid = grid or _ReviewGrid(who, n_p)
    rows = grid.rows
    u_move = np.concatenate([u, np.zeros((n, 1))], axis=1).ravel()
    u_stay = np.repeat(u[rows, who.current], n_p + 1)
    if rates is None:
        rate, chance = retention_terms(state, grid.kg, grid.current, grid.dest, u_stay, u_move)
    else:
        rate, chance = rates.ravel(), accepted_chance(u_stay, u_move, grid.lift(state, rates))
    chance = np.where(grid.leaves, chance, 0.0).reshape(n, n_p + 1)
    chance[~np.isfinite(chance)] = 0.0
    kept = probs * chance
    out = probs - kept
    out[rows, who.current] += kept.sum(axis=1)
    return out, kept, rate.reshape(n, n_p + 1)


def retention_hazards(state: State, settings: Settings,
                      grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per step, the chance that a unit still at park a of sector-segment kg signs a retention
    contract (KG x P), and the distribution of its rate over ``grid`` (KG x P x len(grid)).

    The chance is conditional on the unit not having left: ``p_r R / (1 − p_r M)``, with R the
    retention chance of a review and M the chance of a review ending elsewhere, each averaged
    over the units of the cell (with and without a running contract) by productivity mass.
    """
    cal, p = state.calibration, state.parks
    who, mass = reviewer_groups(state)
    u, available = utilities(state, who, settings)
    out, kept, rate = _reviews(state, who, u, available)
    rows = np.arange(len(mass))
    cell = who.kg * p.n + who.current
    n_cells = state.kg * p.n
    cell_mass = np.maximum(np.bincount(cell, weights=mass, minlength=n_cells), SOLVER_FLOOR)
    retained = np.bincount(cell, weights=mass * kept.sum(axis=1), minlength=n_cells) / cell_mass
    gone = np.bincount(cell, weights=mass * (1 - out[rows, who.current]),
                       minlength=n_cells) / cell_mass
    hazard = cal.p_review * retained / (1 - cal.p_review * gone)
    which = np.abs(rate[..., None] - grid[None, None, :]).argmin(axis=2)
    dist = np.zeros((n_cells, len(grid)))
    np.add.at(dist, (np.repeat(cell, kept.shape[1]), which.ravel()),
              (mass[:, None] * kept).ravel())
    dist /= np.maximum(dist.sum(axis=1, keepdims=True), SOLVER_FLOOR)
    return hazard.reshape(state.kg, p.n), dist.reshape(state.kg, p.n, len(grid))


def settle_reviewers(state: State, settings: Settings, max_iter: int = 400,
                     tol: float = REVIEWER_REST_TOL, max_outer: int = 4
                     ) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Reviewers' constants (KG x C) and switching cost (KG) at rest under ``settings``.

    A fixed point from the state's values: each constant by a Newton step on its own
    city's expected inflow (the log ratio of target to inflow of
    :func:`sim.rules.choice.calibrate_reviewers`, scaled by inflow over its slope), the switching
    cost by the log-odds gap of the stay share. Where reviewers' consideration equals the base
    year's (promotion and the platform reach arriving projects only), utilities are linear in
    both. A reviewer referred to a park of an agreement in force (a Wuhan unit to Wuhan's
    zones' branches) is not: its consideration term keeps its circle's inclusive value and so
    moves with the constants; the utilities are then taken again at the settled values and the
    fixed point sought anew, until that term stops moving (at most ``max_outer`` times).

    Returns:
        constants, switching cost, iterations used, and whether the fixed point settled (the
        last inner fixed point ended by its tolerance before ``max_iter``, and the
        consideration term stopped moving within ``max_outer`` rounds).
    """
    cal, p = state.calibration, state.parks
    who, mass = reviewer_groups(state)
    moving = np.arange(p.n)[None, :] != who.current[:, None]
    delta, kappa = cal.delta_review.copy(), cal.switching_cost.copy()
    # utilities without the constants and switching cost, linearised at their values now
    u0, available = utilities(state, who, settings)
    u0 = u0 - delta[who.kg][:, p.city] + moving * kappa[who.kg][:, None]
    used, inner_settled, outer_settled = 0, False, False
    for _ in range(max_outer):
        delta, kappa, it, ok = _settle(state, who, mass, u0, available, moving, delta, kappa,
                                       max_iter, tol)
        used, inner_settled = used + it, ok
        at_rest = dataclasses.replace(cal, delta_review=delta, switching_cost=kappa)
        true, _ = utilities(dataclasses.replace(state, calibration=at_rest), who, settings)
        drift = true - (u0 + delta[who.kg][:, p.city] - moving * kappa[who.kg][:, None])
        if np.abs(drift).max() < 10 * tol:     # a thousandth of a percent in the odds
            outer_settled = True
            break
        u0 = u0 + drift
    return delta, kappa, used, inner_settled and outer_settled


def _settle(state: State, who: Choosers, mass: np.ndarray, u0: np.ndarray,
            available: np.ndarray, moving: np.ndarray, delta: np.ndarray, kappa: np.ndarray,
            max_iter: int, tol: float) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """The fixed point of :func:`settle_reviewers` with utilities ``u0`` plus the constants less
    the switching cost (linear in both); the last value says whether it ended by its tolerance
    (False: it stopped at ``max_iter``).

    Each constant and each switching cost takes its own Newton step, whole until its steps
    change sign, then cut to the secant step from its last two
    (:func:`sim.rules.iteration.secant_damping`, at most whole): constants and costs are coupled
    through the stay share, and whole steps on each alone can overshoot by turns for ever (a
    2-cycle of a constant ±0.080 and its cost ±0.042 at a 2,000-unit prior draw). Convergence
    is judged on the whole steps."""
    cal, econ, p = state.calibration, state.config.economy, state.parks
    n_c = state.world.n_cities
    target = cal.base_counts * (1 - econ.leave_share_reviewers)
    goal = np.log(econ.stay_share_reviewers / (1 - econ.stay_share_reviewers))
    kg_mass = np.bincount(who.kg, weights=mass, minlength=state.kg)
    delta, kappa = delta.copy(), kappa.copy()
    cells = (np.repeat(who.kg, p.n) * n_c + np.tile(p.city, len(mass)))   # (KG, city) of (n, P)
    it, rates, fresh = 0, None, 0
    grid = _ReviewGrid(who, p.n)
    # each constant's and each switching cost's share of its Newton step: 1 until its steps
    # change sign, then the secant step (the two are coupled through the stay share, and whole
    # Newton steps on each alone can overshoot by turns without end)
    scale_v, scale_k, last_v, last_k = np.ones(delta.size), np.ones(kappa.size), None, None
    for it in range(1, max_iter + 1):
        u = u0 + delta[who.kg][:, p.city] - moving * kappa[who.kg][:, None]
        # the counter-offers are re-chosen every few steps and before accepting convergence;
        # in between only their acceptance moves with the utilities
        fresh = it if rates is None or it - fresh >= _RECHOOSE else fresh
        out, _, chosen = _reviews(state, who, u, available, None if fresh == it else rates, grid)
        rates = chosen if fresh == it else rates     # given rates come back as they went in
        inflow, slope, stay = _review_flows(state, who, mass, out, cells, kg_mass)
        has = cal.base_counts > 0
        # a Newton step on each constant alone: d inflow_b / dV_b = Σ_a n_a P'_ab (1 − P'_ab)
        gain = np.clip(inflow / np.maximum(slope, SOLVER_FLOOR), 1.0, 10.0)
        step_v = np.where(has, gain * np.log(np.maximum(target, SOLVER_FLOOR)
                                             / np.maximum(inflow, SOLVER_FLOOR)), 0.0)
        step_k = np.where(kg_mass > 0,
                          np.log(stay / np.maximum(1 - stay, SOLVER_FLOOR)) - goal, 0.0)
        if last_v is not None:
            scale_v = secant_damping(scale_v, last_v, step_v.reshape(-1, 1), high=1.0)
            scale_k = secant_damping(scale_k, last_k, step_k.reshape(-1, 1), high=1.0)
        last_v, last_k = step_v.reshape(-1, 1), step_k.reshape(-1, 1)
        _, moved = switching_cost_step(kappa, step_k)     # the convergence test's whole step
        delta += scale_v.reshape(delta.shape) * step_v
        kappa, _ = switching_cost_step(kappa, scale_k * step_k)
        if max(np.abs(step_v).max(), moved) < tol:
            if fresh == it:
                return delta, kappa, it, True
            rates = None
    return delta, kappa, it, False


def _review_flows(state: State, who: Choosers, mass: np.ndarray, out: np.ndarray,
                  cells: np.ndarray, kg_mass: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of reviewer groups' outcomes ``out``: each city's expected inflow of productivity mass
    (KG x C), its slope in the city's own constant (Σ_a n_a P'_ab (1 − P'_ab)) and each
    sector-segment's stay share (KG); ``cells`` is the (KG, city) cell of each (group, park)."""
    n_c = state.world.n_cities
    # summed in the order np.add.at did, far faster
    flow = mass[:, None] * out[:, :-1]
    inflow = np.bincount(cells, weights=flow.ravel(),
                         minlength=state.kg * n_c).reshape(state.kg, n_c)
    slope = np.bincount(cells, weights=(flow * (1 - out[:, :-1])).ravel(),
                        minlength=state.kg * n_c).reshape(state.kg, n_c)
    stay = (np.bincount(who.kg, weights=mass * out[np.arange(len(mass)), who.current],
                        minlength=state.kg) / np.maximum(kg_mass, SOLVER_FLOOR))
    return inflow, slope, stay


def expected_flows(state: State) -> dict[str, np.ndarray]:
    """Expected change of each city's productivity mass (KG x C, mean-productivity units) in this
    step's decisions, by source: ``exits``, ``reviews`` (after counter-offers) and ``arrivals``.

    Call at a step's decision point (a state taken after ``CircleModel.prepare_decisions``).
    Units close first, then a share of the survivors reviews, as in ``CircleModel.step``;
    arrivals are rationed by the land closures free (it binds only in full parks, such as those
    of agreements in force); reviewers are not.
    """
    cal, p, n_c = state.calibration, state.parks, state.world.n_cities
    mean_a = cal.mean_productivity.ravel()
    units = state.units
    kg = units.kg
    mass = np.zeros((state.kg, n_c))
    np.add.at(mass, (kg, p.city[units.park]), units.productivity / mean_a[kg])
    survive = 1 - cal.p_exit
    who, group_mass = reviewer_groups(state)
    util, available = utilities(state, who, state.settings)
    out = review_outcomes(state, who, util, available)
    reviews = np.zeros((state.kg, n_c))
    np.add.at(reviews, (np.repeat(who.kg, p.n), np.tile(p.city, len(group_mass))),
              (group_mass[:, None] * out[:, :-1]).ravel())
    np.add.at(reviews, (who.kg, p.city[who.current]), -group_mass)
    # arrivals take the land closures free; a full park (one in force) rations them
    arrivals = arrivals_by_city(state, free_after_exits(state)) / mean_a[:, None]
    return {"exits": -cal.p_exit * mass, "reviews": cal.p_review * survive * reviews,
            "arrivals": arrivals}


def expected_output_change(state: State) -> dict[str, np.ndarray]:
    """:func:`expected_flows` as the expected change of each city's output in the step (C),
    at today's output per unit of productivity of the city's local park."""
    n_c, cal = state.world.n_cities, state.calibration
    q = state.terms.q[:, :n_c] * cal.mean_productivity.reshape(-1, 1)
    return {name: (q * flow).sum(axis=0) for name, flow in expected_flows(state).items()}
