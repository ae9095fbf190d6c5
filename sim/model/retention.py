"""Cities' counter-offers to units that announce they will leave (retention subsidies), for
every leaver at once.

The city attracting investment at the park a unit leaves weighs keeping it at a rate against
what it keeps when the unit moves (its agreed credit and tax shares of the destination), so
sharing lowers retention spending. The rule is :func:`sim.rules.offers.retention_choice`.
"""

from __future__ import annotations

import numpy as np

from sim.model.forecast import city_values
from sim.model.state import State
from sim.model.utility import Choosers, utilities
from sim.rules.constants import TOLERANCE
from sim.rules.offers import retention_choice


def retention_offers(state: State, who: Choosers, pick: np.ndarray, rng: np.random.Generator,
                     u: np.ndarray | None = None) -> np.ndarray:
    """Cities counter-offer units that announce they will leave; each unit accepts with the
    chance :func:`retention_terms` gives (draws from ``rng``, the ``choices`` stream).

    ``u`` (the deciders' utilities under the settings in force, n x P) saves recomputing them.
    Returns the retention rate accepted by each decider (0 if none).
    """
    competition = state.config.competition
    leaving = (who.current >= 0) & (pick != who.current)
    if not (competition.active and competition.retention) or not leaving.any():
        return np.zeros(len(who.kg))
    idx = np.flatnonzero(leaving)
    u = utilities(state, who.select(idx), state.settings)[0] if u is None else u[idx]
    rows = np.arange(len(idx))
    current = who.current[idx]
    u_move = np.where(pick[idx] >= 0, u[rows, np.maximum(pick[idx], 0)], 0.0)
    rate, chance = retention_terms(state, who.kg[idx], current, pick[idx],
                                   u[rows, current], u_move)
    accepted = (rate > 0) & (rng.random(len(idx)) < chance)
    out = np.zeros(len(who.kg))
    out[idx] = np.where(accepted, rate, 0.0)
    return out


def retention_terms(state: State, kg: np.ndarray, current: np.ndarray, dest: np.ndarray,
                    u_stay: np.ndarray, u_move: np.ndarray,
                    rate: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The counter-offer to units leaving park a (``current``) for b (``dest``, -1: outside),
    and the chance each accepts it.

    The city c attracting at a picks the rate s maximising
    ``P_stay(s) (L v_c(a) − L_s s) + (1 − P_stay(s)) L v_c(b)``
    (:func:`sim.rules.offers.retention_choice`), with P_stay the probability that staying, its
    utility raised by s q_a / σ, now beats the move the unit chose (a binary logit conditioned
    on the unit having preferred the move). What the city keeps when the unit moves,
    v_c(b), includes its agreed credit and tax shares, so sharing lowers retention spending.
    A city out of the cap scheme (``state.out_of_scheme``) offers up to the subsidy maximum.

    Args:
        u_stay, u_move: systematic utilities of staying and of the move (0 for the outside).
        rate: counter-offers already chosen: only the chance of their acceptance is computed.
    Returns:
        the rate offered (0: none) and the chance it is accepted (0 when no offer).
    """
    competition, p, cal = state.config.competition, state.parks, state.calibration
    if rate is not None:
        return rate, _acceptance(u_move - u_stay, acceptance_lift(state, kg, current, rate))
    c = p.attractor(state.step)[current]
    ceiling = competition.subsidy_max
    bound = ~state.out_of_scheme[c]        # a cap binds only the cities in its scheme
    if bound.any() and state.config.switches.subsidy_cap:
        ceiling = np.where(bound, min(state.config.policies.subsidy_cap.cap, ceiling),
                           competition.subsidy_max)
    grid = (np.linspace(0.0, 1.0, competition.subsidy_grid_points)[None, :]
            * np.broadcast_to(ceiling, len(kg))[:, None])
    q_stay = state.terms.q[kg, current]
    p_stay = _acceptance((u_move - u_stay)[:, None],
                         grid * q_stay[:, None] / cal.sigma[kg][:, None])
    values = city_values(state, np.arange(state.kg))
    v_here = values[c, kg, current]
    v_there = np.where(dest >= 0, values[c, kg, np.maximum(dest, 0)], 0.0)
    rate, chance = retention_choice(grid, p_stay, v_here, v_there, cal.life, cal.sub_life)
    return rate, np.where(rate > 0, chance, 0.0)


def acceptance_lift(state: State, kg: np.ndarray, current: np.ndarray,
                    rate: np.ndarray) -> np.ndarray:
    """What a counter-offer at ``rate`` adds to the utility of staying at park ``current``."""
    return rate * state.terms.q[kg, current] / state.calibration.sigma[kg]


def accepted_chance(u_stay: np.ndarray, u_move: np.ndarray, lift: np.ndarray) -> np.ndarray:
    """The chance that a counter-offer lifting staying by ``lift`` is accepted."""
    return _acceptance(u_move - u_stay, lift)


def _acceptance(gap: np.ndarray, lift: np.ndarray) -> np.ndarray:
    """Chance that a unit which preferred the move (utility ``gap`` above staying) stays when
    staying gains ``lift``: ``(P(lift) − P(0)) / (1 − P(0))`` of a binary logit."""
    binary = 1 / (1 + np.exp(gap - lift))
    base = 1 / (1 + np.exp(gap))
    return (binary - base) / np.maximum(1 - base, TOLERANCE)
