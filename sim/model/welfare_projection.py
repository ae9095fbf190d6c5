"""The country's welfare from one step's location decisions, in expectation (no draws).

What the step's deciders add to ``welfare_national`` at the step's close, by the accounts of
:mod:`sim.rules.welfare`: a yuan of value added at park j of city c is worth
``1 − ρ w₀_c λ_g − d D_kgc + (MCPF − 1)(τ + r_j a_g)`` to the country (taxes, land rent and the
platform fee are transfers, public money at its shadow price), a subsidy costs its excess burden
``(MCPF − 1) s``, a move its relocation cost and a new project placed off the map its approval
friction (each a year's rate in the step it happens), and a project outside the circle what it
produces there (``outside_q · outside_rate``). Arrivals choose by the nested logit; reviewers,
after exits, by the review rule with the cities' counter-offers (a retained unit stays on the
retention rate).
Left out: land rationing (it binds only in full parks) and the feedback of the step's placements
on other firms' output through agglomeration, which is zero to first order with output
``∝ (X_kc / X̄_k)^γ`` (others in c gain ``γ`` times the new output, every city loses as much
through the circle mean ``X̄_k``). Comparing two settings from the same state gives the
deterministic part of their difference in the step's ``welfare_national``.
"""

from __future__ import annotations

import numpy as np

from sim.model.forecast import decider_groups
from sim.model.state import State
from sim.model.stationary import review_terms, reviewer_groups
from sim.model.utility import utilities
from sim.rules import welfare
from sim.rules.choice import nested_probabilities
from sim.rules.constants import STEPS_PER_YEAR, ParkKind
from sim.rules.economy import Settings, friction, park_offers


def national_rate(state: State) -> np.ndarray:
    """The country's value per yuan of value added at each park before subsidies (KG x P):
    ``1 − ρ w₀_c λ_g − d D_kgc + (MCPF − 1)(τ + f_j + r_j a_g)``, f_j a branch's platform fee
    (:func:`sim.rules.welfare.surplus_per_output`)."""
    econ, w, p, terms = state.config.economy, state.world, state.parks, state.terms
    reservation = (econ.reservation_wage_share * w.wage[p.city][None, :]
                   * w.labour_share.ravel()[:, None])
    branch = (p.kind == ParkKind.PARK_WITHIN_PARK) & p.open_at(state.step)   # platform fee
    fee = np.where(branch, state.config.policies.park_within_park.platform_return_rate, 0.0)
    public = (econ.tax_rate + fee[None, :]
              + terms.land_price[None, :] * w.land_per_output.ravel()[:, None])
    return welfare.surplus_per_output(
        reservation, econ.distance_cost_per_100km * terms.link_km100[:, p.city], public,
        econ.mcpf)


def expected_national_value(state: State, settings: Settings | None = None) -> float:
    """Expected ``welfare_national`` per year that this step's deciders bring (arrivals and
    reviewers, wherever they go), under ``settings`` (the state's if None).

    Call at a step's decision point (a state taken after ``CircleModel.prepare_decisions``).
    """
    s = state.settings if settings is None else settings
    cal, econ, q = state.calibration, state.config.economy, state.terms.q
    # per unit of productivity placed at each park (KG x P): its value less the subsidy's burden
    placed = q * (national_rate(state) - (econ.mcpf - 1.0) * park_offers(s, state.parks,
                                                                         state.step))
    outside = cal.outside_q * cal.outside_rate                                    # KG
    return _arrivals(state, s, placed, outside) + _reviewers(state, s, placed, outside)


def _arrivals(state: State, s: Settings, placed: np.ndarray, outside: np.ndarray) -> float:
    """Expected value of the step's new projects (their expected productivity mass by origin)."""
    groups, weight = decider_groups(state, np.arange(state.kg))
    new = np.flatnonzero(groups.current < 0)
    arrivals, weight = groups.select(new), weight[new]
    u, available = utilities(state, arrivals, s)
    probs = nested_probabilities(u, state.parks.city, state.world.n_cities,
                                 state.config.economy.nest_parameter, available)
    kg = arrivals.kg
    cfg = state.config
    fric = (friction(s, state.parks, cfg.policies.investment_map.approval_friction)
            if cfg.switches.investment_map else 0.0)    # paid once, a year's rate this step
    value = placed - STEPS_PER_YEAR * fric * state.terms.q
    return float(weight @ ((probs[:, :-1] * value[kg]).sum(axis=1) + probs[:, -1] * outside[kg]))


def _reviewers(state: State, s: Settings, placed: np.ndarray, outside: np.ndarray) -> float:
    """Expected value of the step's reviewers after exits: a move pays its relocation cost (a
    year's rate) and signs the new park's offer; a stayer keeps its running contract, or signs
    the counter-offer it accepted."""
    cal, econ, q = state.calibration, state.config.economy, state.terms.q
    who, mass = reviewer_groups(state)
    kg, here, rows = who.kg, who.current, np.arange(len(who.kg))
    weight = cal.p_review * (1 - cal.p_exit) * mass * cal.mean_productivity.ravel()[kg]
    u, available = utilities(state, who, s)
    out, kept, retention = review_terms(state, who, u, available)
    value = placed[kg] - STEPS_PER_YEAR * econ.relocation_cost * q[kg]           # n x P moves
    plain = q[kg, here] * national_rate(state)[kg, here]
    value[rows, here] = plain - (econ.mcpf - 1.0) * q[kg, here] * who.stay_subsidy
    share = out[:, :-1].copy()
    share[rows, here] -= kept.sum(axis=1)                     # stayed by choice (contract kept)
    retained = kept.sum(axis=1) * plain - (econ.mcpf - 1.0) * q[kg, here] * (kept * retention).sum(
        axis=1)
    return float(weight @ ((share * value).sum(axis=1) + retained + out[:, -1] * outside[kg]))
