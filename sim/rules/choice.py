"""Location choice: a nested logit over parks (nested by city) plus an outside option.

A deciding unit's utility of park j is ``δ_{kg,c(j)} + z_{kg,j}/σ_kg + ln(attention/base)``
where z is profit per unit of productivity. Parks of one city form a nest with parameter λ
(λ = 1 is a plain logit), so a second park in a city is a close substitute of the first rather
than a new alternative that mechanically raises the city's share. Constants δ are calibrated so
that the base year is stationary (Berry 1994 inversion for arrivals; a contraction for reviewers).
"""

from __future__ import annotations

import functools

import numpy as np

from sim.rules.constants import REVIEWER_FIT_TOL, SOLVER_FLOOR, TOLERANCE


def row_max(a: np.ndarray) -> np.ndarray:
    """Largest entry of each row (n x 1; −inf for no columns), as ``np.max(a, axis=1)``: reduced
    across a transposed copy, which is much faster for the few columns of a logit."""
    return np.ascontiguousarray(a.T).max(axis=0, initial=-np.inf)[:, None]


def nest_sums(e: np.ndarray, nest: np.ndarray, n_nests: int) -> np.ndarray:
    """``Σ_{j∈c} e_j`` per row (n x n_nests), each nest summed in park order: the same sums as
    adding park by park, one array operation per rank of a park within its nest."""
    out = np.zeros((e.shape[0], n_nests))
    for parks, nests in _by_rank(tuple(nest.tolist())):
        out[:, nests] += e[:, parks]
    return out


@functools.lru_cache(maxsize=64)
def _by_rank(nest: tuple[int, ...]) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Parks grouped by their rank within their nest (first park of each nest, second, ...),
    with their nests; within a rank every nest appears once."""
    seen: dict[int, int] = {}
    ranks: list[tuple[list[int], list[int]]] = []
    for j, c in enumerate(nest):
        rank = seen[c] = seen.get(c, -1) + 1
        if rank == len(ranks):
            ranks.append(([], []))
        ranks[rank][0].append(j)
        ranks[rank][1].append(c)
    return tuple((np.array(parks, dtype=np.intp), np.array(nests, dtype=np.intp))
                 for parks, nests in ranks)


def nested_probabilities(u: np.ndarray, nest: np.ndarray, n_nests: int, nest_param: float,
                         available: np.ndarray | None = None) -> np.ndarray:
    """Choice probabilities of each alternative and, in the last column, the outside option.

    Args:
        u: n x P systematic utilities (outside option has utility 0).
        nest: P nest (city) index of each park.
        nest_param: nest parameter in (0, 1].
        available: n x P bool; unavailable parks get probability 0.
    Returns:
        n x (P + 1) probabilities, rows summing to 1.
    """
    scaled = u / nest_param
    if available is not None:
        scaled[~available] = -np.inf
    top = row_max(scaled)
    top[~np.isfinite(top)] = 0.0
    e = np.exp(np.subtract(scaled, top, out=scaled), out=scaled)   # n x P
    nest_sum = nest_sums(e, nest, n_nests)                     # n x C, park order as np.add.at
    with np.errstate(divide="ignore"):
        iv = np.log(nest_sum) + top                            # inclusive values
    nest_u = nest_param * iv                                          # n x C (-inf if empty)
    m = np.maximum(row_max(nest_u), 0.0)
    ne = np.exp(nest_u - m)
    denom = ne.sum(axis=1, keepdims=True) + np.exp(-m)
    p_nest = ne / denom                                        # n x C
    park_sum = nest_sum[:, nest]
    park_sum[~(park_sum > 0)] = 1.0
    probs = np.empty((u.shape[0], u.shape[1] + 1))
    np.multiply(p_nest[:, nest], np.divide(e, park_sum, out=e), out=probs[:, :-1])  # nest x within
    probs[:, -1] = np.exp(-m[:, 0]) / denom[:, 0]
    return probs


def sample_choices(probs: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Inverse-CDF draws: column index per row (the last column is the outside option)."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0 + TOLERANCE
    return (cum < uniforms[:, None]).sum(axis=1)


def choice_scale(cost: np.ndarray, shares: np.ndarray, elasticity: float) -> np.ndarray:
    """σ per sector-segment such that the share-weighted own-cost elasticity equals ``elasticity``.

    For a logit, ∂ln P_j/∂ln cost_j = −(cost_j/σ)(1 − P_j) (Train 2009, ch. 3).

    Args:
        cost: KG x C costs per unit of productivity at each city.
        shares: KG x C choice shares (among all alternatives).
        elasticity: target (negative) own-cost elasticity.
    """
    within = shares / shares.sum(axis=1, keepdims=True)
    return (within * cost * (1 - shares)).sum(axis=1) / abs(elasticity)


def arrival_constants(unit_shares: np.ndarray, outside_share: float, z0: np.ndarray,
                      sigma: np.ndarray) -> np.ndarray:
    """Berry (1994) inversion: δ = ln s_j − ln s_0 − z_j/σ reproduces the base-year unit shares.

    With one park per city in the base year the nest parameter drops out.
    """
    s = unit_shares * (1 - outside_share)
    return np.log(s) - np.log(outside_share) - z0 / sigma[:, None]


def calibrate_reviewers(counts: np.ndarray, leave_share: float, money_move: np.ndarray,
                        stay_share: float, tol: float = REVIEWER_FIT_TOL,
                        max_iter: int = 20_000) -> tuple[np.ndarray, np.ndarray, bool]:
    """Reviewer utilities V, a switching cost κ (utility units, per sector-segment) and whether
    the iteration ended by its tolerance (False: it stopped at ``max_iter``).

    Two conditions, solved jointly by a damped fixed-point iteration: the base allocation is
    stationary (``Σ_a n_a P(b | a) = n_b (1 − ℓ)``: reviewers at a move to b with
    ``P(b | a) ∝ exp(V_b − m_b − κ)``, stay with ``exp(V_a)``, leave with 1, and arrivals replace
    leavers in proportion to counts) and a share
    ``stay_share`` of reviewers stays put, which keeps gross relocation flows plausible (without
    κ a small money cost of moving lets most reviewers move while flows still balance).
    """
    n = counts.astype(float)
    target = n * (1 - leave_share)
    v = np.log(np.maximum(n, SOLVER_FLOOR) / n.sum(axis=1, keepdims=True)) + np.log(
        (1 - leave_share) / leave_share
    )
    kappa = np.ones(n.shape[0])
    eye = np.eye(n.shape[1], dtype=bool)
    goal = np.log(stay_share / (1 - stay_share))
    floor_target, total, present = np.maximum(target, SOLVER_FLOOR), n.sum(axis=1), n > 0
    for _ in range(max_iter):
        move = money_move + kappa[:, None]
        util = np.where(eye[None], v[:, None, :], (v - move)[:, None, :])
        top = np.maximum(row_max(util.reshape(-1, util.shape[2])).reshape(*util.shape[:2], 1),
                         0.0)
        e = np.exp(util - top)
        p = e / (e.sum(axis=2, keepdims=True) + np.exp(-top))
        inflow = np.einsum("ka,kab->kb", n, p)
        step_v = np.where(present, np.log(floor_target / np.maximum(inflow, SOLVER_FLOOR)), 0.0)
        stay = np.einsum("ka,kaa->k", n, p) / total
        step_k = np.log(stay / (1 - stay)) - goal
        v += step_v
        kappa, moved = switching_cost_step(kappa, step_k)
        if max(np.abs(step_v).max(), moved) < tol:
            return v, kappa, True
    return v, kappa, False


def switching_cost_step(kappa: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, float]:
    """The switching cost after a Newton step on its stay-share gap, and its largest change.

    The cost is not negative: where reviewers stay more than the stated share even when moving
    costs only its money, it rests at zero and the gap stays open, so a fixed point on it
    converges by the cost's change, not by the gap.
    """
    new = np.maximum(kappa - step, 0.0)
    return new, float(np.abs(kappa - new).max(initial=0.0))


def ration_land(choice: np.ndarray, land_need: np.ndarray, free_land: np.ndarray,
                priority: np.ndarray) -> np.ndarray:
    """Accept choosers of each park in random priority order while its free land lasts.

    Args:
        choice: park index chosen by each unit (-1: none / not rationed).
        land_need: km² each unit needs at its chosen park.
        free_land: P km² free at each park.
        priority: random keys (lower goes first).
    Returns:
        bool, accepted.
    """
    accepted = choice < 0
    order = np.lexsort((priority, choice))
    sorted_choice = choice[order]
    bounds = np.searchsorted(sorted_choice, np.arange(len(free_land) + 1))
    for j in range(len(free_land)):
        lo, hi = bounds[j], bounds[j + 1]
        if hi > lo:
            idx = order[lo:hi]
            accepted[idx] = np.cumsum(land_need[idx]) <= free_land[j] + TOLERANCE
    return accepted


def second_choice(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Choice probabilities of deciders turned away from parks that are full, given their tastes.

    In a random-utility model a decider's tastes stay what they were when a park turns it away,
    so it takes its best alternative among those left. Removing alternatives only moves the
    deciders who had chosen them, so among those the chance of j is
    ``(P_after(j) − P_before(j)) / P_before(removed)``: under a nested logit they mostly stay in
    the nest (city) they had chosen; under a plain logit (IIA) this is ``P_after`` itself.

    Args:
        before: n x (P + 1) probabilities over the alternatives available before (last: outside).
        after: n x (P + 1) probabilities once the full parks are removed.
    Returns:
        n x (P + 1) probabilities, rows summing to 1 (``after`` where nothing was removed).
    """
    gain = np.clip(after - before, 0.0, None)
    total = gain.sum(axis=1, keepdims=True)
    return np.where(total > TOLERANCE, gain / np.where(total > TOLERANCE, total, 1.0), after)


def expected_rationing(u: np.ndarray, available: np.ndarray, weight: np.ndarray,
                       need: np.ndarray, current: np.ndarray, free_land: np.ndarray,
                       nest: np.ndarray, n_nests: int, nest_param: float,
                       rounds: int) -> np.ndarray:
    """Expected placements of decider groups when full parks ration land: the expectation of
    :func:`ration_land` and the model's rounds of choosing again (``sim.model.firms.Firms.choose``).

    Each group's mass first chooses by the nested logit. A park asked for more land than it has
    free accepts the share ``free / demand`` of every group that picked it (random priority, in
    expectation) and is then full; the rejected mass takes its next best among the parks not
    full (:func:`second_choice`; a reviewer may always stay). Staying needs no land. After the
    last round rejected arrivals stay out and rejected reviewers stay where they are. Without a
    full park this is ``weight · P``.

    Args:
        u, available: n x P utilities and availability of the groups.
        weight: n mass of each group; need: n x P land a unit of mass needs at each park.
        current: n park of a reviewer group (-1: arrivals); free_land: P idle land.
        rounds: how often rejected deciders choose again (``economy.rejection_rounds``).
    Returns:
        n x (P + 1) expected mass placed at each park and, in the last column, outside.
    """
    n, p = u.shape
    rows, rev = np.arange(n), current >= 0
    free, full = np.asarray(free_land, float).copy(), np.zeros(p, bool)
    placed = np.zeros((n, p + 1))
    before = nested_probabilities(u, nest, n_nests, nest_param, available)
    pending = weight[:, None] * before
    for round_ in range(rounds + 1):
        placed[rows[rev], current[rev]] += pending[rows[rev], current[rev]]   # stayers
        pending[rows[rev], current[rev]] = 0.0
        placed[:, p] += pending[:, p]
        moving = pending[:, :p]
        demand = (moving * need).sum(axis=0)
        accept = np.where(demand > free, free / np.where(demand > 0, demand, 1.0), 1.0)
        placed[:, :p] += moving * accept
        free = np.where(accept < 1, 0.0, free - demand)
        rejected = (moving * (1 - accept)).sum(axis=1)
        if not (accept < 1).any():
            break
        full |= accept < 1
        if round_ == rounds:       # out of rounds: arrivals stay out, reviewers stay put
            placed[rows[rev], current[rev]] += rejected[rev]
            placed[~rev, p] += rejected[~rev]
            break
        again = available & ~full[None, :]
        again[rows[rev], current[rev]] = True
        after = nested_probabilities(u, nest, n_nests, nest_param, again)
        pending = rejected[:, None] * second_choice(before, after)
        before = after
    return placed
