"""Cities' strategies: targeting, subsidy best responses, the cap and cheating on it.

A city's objective (the promotion tournament, Li & Zhou 2005) weighs credited GDP, λ_Y yuan of
fiscal balance per yuan, plus the fiscal balance (tax + land revenue − subsidies). A unit placed
at park j is worth ``λ_Y · credited share + τ · tax share + land rent`` per yuan of value added to
a city, so an agreement that leaves Wuhan a share of a departing unit lowers what Wuhan pays to
keep it: sharing changes behaviour, not only bookkeeping.
"""

from __future__ import annotations

import numpy as np

from sim.rules.choice import nested_probabilities, row_max


def target_sectors(hotness: np.ndarray, advantage: np.ndarray, omega: float, m: int) -> np.ndarray:
    """Each city's top ``m`` sectors by ``ω · national hotness + (1 − ω) · own advantage`` (C x K).

    ω is the homogenisation parameter: at ω = 1 every city chases the same hot sectors.
    Ties are broken by sector order.
    """
    score = omega * hotness[None, :] + (1 - omega) * advantage
    order = np.argsort(-score, axis=1, kind="stable")
    chosen = np.zeros_like(score, dtype=bool)
    np.put_along_axis(chosen, order[:, :m], True, axis=1)
    return chosen


def unit_value_factors(
    discount: float, exit_rate: float, subsidy_years: float
) -> tuple[float, float]:
    """Present-value years of a unit's flows (L) and of its subsidy contract (L_s)."""
    rate = discount + exit_rate
    life = 1.0 / rate
    return life, (1 - np.exp(-rate * subsidy_years)) / rate


def expected_payoff(u: np.ndarray, available: np.ndarray, weight: np.ndarray, q: np.ndarray,
                    value: np.ndarray, pays: np.ndarray, rate: np.ndarray, nest: np.ndarray,
                    n_nests: int, nest_param: float, life: float, sub_life: float) -> np.ndarray:
    """A city's expected value of one step of decisions in one sector-segment.

    Args:
        u: S x N x P utilities of N decider groups under S candidate offers.
        available: N x P.
        weight: N productivity mass of each group.
        q: P output per unit of productivity.
        value: P value per yuan of value added to the city at each park.
        pays: P bool, the city pays its offer at this park.
        rate: S subsidy rate of each candidate.
    Returns:
        S expected values.
    """
    s, n, p = u.shape
    probs = nested_probabilities(u.reshape(s * n, p), nest, n_nests, nest_param,
                                 np.broadcast_to(available, (s, n, p)).reshape(s * n, p))
    probs = probs[:, :-1].reshape(s, n, p)
    per_yuan = life * value[None, :] - sub_life * rate[:, None] * pays[None, :]
    return np.einsum("snp,n,p,sp->s", probs, weight, q, per_yuan)


def best_response(u: np.ndarray, available: np.ndarray, weight: np.ndarray, q: np.ndarray,
                  sigma: float, value: np.ndarray, pays: np.ndarray, current: float,
                  grid: np.ndarray, nest: np.ndarray, n_nests: int, nest_param: float, life: float,
                  sub_life: float) -> tuple[float, np.ndarray]:
    """The offer on ``grid`` that maximises the city's expected value, rivals' offers fixed.

    Returns the best rate and the expected value of every grid point.
    """
    shift = (grid - current)[:, None, None] * (q * pays)[None, None, :] / sigma
    values = expected_payoff(u[None] + shift, available, weight, q, value, pays, grid, nest,
                             n_nests, nest_param, life, sub_life)
    return float(grid[int(np.argmax(values))]), values


def best_responses(u: np.ndarray, available: np.ndarray, weight: np.ndarray, block: np.ndarray,
                   n_blocks: int, q: np.ndarray, sigma: np.ndarray, value: np.ndarray,
                   pays: np.ndarray, current: np.ndarray, grid: np.ndarray, nest: np.ndarray,
                   n_nests: int, nest_param: float, life: float,
                   sub_life: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`best_response` for many sector-segments at once, evaluated nest by nest.

    An offer moves only the utilities of the parks the city pays at, so the nested logit is
    evaluated once at the offers in force and, for each candidate rate, only the nests holding
    those parks are recomputed: the same expected values as :func:`best_response` up to rounding
    (tests/test_rules.py holds them within 1e-12 relative and the chosen rates equal).

    Args:
        u, available, weight: N deciders (groups of all blocks stacked), N x P, N x P, N.
        block: N index in [0, n_blocks) of each decider's sector-segment (its block).
        q, value: N x P output per productivity and value per yuan, of the decider's block.
        sigma, current: N choice scale and offer in force, of the decider's block.
        pays: P bool; grid: S candidate rates (the same for every block).
    Returns:
        best rate per block (n_blocks) and expected values (n_blocks x S).
    """
    return best_responses_on([grid], u, available, weight, block, n_blocks, q, sigma, value,
                             pays, current, nest, n_nests, nest_param, life, sub_life)[0]


def best_responses_on(grids: list[np.ndarray], u: np.ndarray, available: np.ndarray,
                      weight: np.ndarray, block: np.ndarray, n_blocks: int, q: np.ndarray,
                      sigma: np.ndarray, value: np.ndarray, pays: np.ndarray,
                      current: np.ndarray, nest: np.ndarray, n_nests: int, nest_param: float,
                      life: float, sub_life: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`best_responses` on each of several grids (with and without a subsidy cap), the
    logit at the offers in force computed once for all of them."""
    scaled = np.where(available, u / nest_param, -np.inf)
    top = row_max(scaled)
    top[~np.isfinite(top)] = 0.0
    e = np.exp(scaled - top)                               # N x P, at the offers in force
    fixed = (nest[:, None] == np.arange(n_nests)[None, :]) & ~pays[:, None]     # P x C
    sums, worth = e @ fixed, (e * q * (life * value)) @ fixed  # N x C, parks the offer leaves
    touched = np.zeros(n_nests, bool)
    touched[nest[pays]] = True
    m0, rest, rest_value = _untouched(sums[:, ~touched], worth[:, ~touched], top, nest_param)
    paid = np.flatnonzero(pays)
    e_in_force, q_paid, value_paid = e[:, None, paid], q[:, None, paid], value[:, None, paid]
    scale = sigma[:, None, None] * nest_param
    in_block = block[None, :] == np.arange(n_blocks)[:, None]
    nest_paid = nest[paid]
    nests = [(c, np.flatnonzero(nest_paid == c)) for c in np.flatnonzero(touched)]
    rep, of_rep = _block_rows(block, n_blocks, current, sigma, q_paid)
    out = []
    for grid in grids:
        # an offer's factor on the paid parks' weights, computed once per block where its
        # deciders share the block's offer, scale and output (the same numbers, fewer exps)
        e_paid = e_in_force * np.exp((grid[None, :, None] - current[rep, None, None])
                                     * q_paid[rep] / scale[rep])[of_rep]
        worth_paid = e_paid * q_paid * (life * value_paid
                                        - sub_life * grid[None, :, None])   # N x S x J
        num, denom = _touched(e_paid, worth_paid, sums, worth, top, m0, rest, rest_value,
                              nests, nest_param)
        values = in_block @ (weight[:, None] * num / denom)
        out.append((grid[np.argmax(values, axis=1)], values))
    return out


def _block_rows(block: np.ndarray, n_blocks: int, current: np.ndarray, sigma: np.ndarray,
                q_paid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows standing for the deciders in the offer's factor, and each decider's: the first row
    of each block (any row for a block without deciders) where every decider of a block has
    the block's offer, scale and output (as the callers build them), else every row itself."""
    first = np.zeros(n_blocks, dtype=np.intp)
    first[block[::-1]] = np.arange(len(block) - 1, -1, -1)      # the last write is the first row
    rows = first[block]
    if (np.array_equal(current[rows], current) and np.array_equal(sigma[rows], sigma)
            and np.array_equal(q_paid[rows], q_paid)):
        return first, block
    every = np.arange(len(block))
    return every, every


def _over_paid(x: np.ndarray, here: np.ndarray) -> np.ndarray:
    """``x`` (N x S x J) summed over the paid parks ``here`` (N x S); one park is itself."""
    return x[:, :, here[0]] if len(here) == 1 else x[:, :, here].sum(axis=2)


def _touched(e_paid: np.ndarray, worth_paid: np.ndarray, sums: np.ndarray, worth: np.ndarray,
             top: np.ndarray, m0: np.ndarray, rest: np.ndarray, rest_value: np.ndarray,
             nests: list[tuple[int, np.ndarray]],
             nest_param: float) -> tuple[np.ndarray, np.ndarray]:
    """The logit's expected value (numerator) and denominator (N x S), relative to the largest
    nest term, with the nests holding the paid parks (``nests``: each nest and the positions of
    its paid parks among them) recomputed at each candidate rate."""
    parts = []
    m = np.repeat(m0, e_paid.shape[1], axis=1)            # the largest nest term, N x S
    with np.errstate(divide="ignore"):
        for c, here in nests:
            nest_sum = sums[:, c, None] + _over_paid(e_paid, here)               # N x S
            nest_u = nest_param * (np.log(nest_sum) + top)
            m = np.maximum(m, nest_u)
            parts.append((nest_u, nest_sum, worth[:, c, None] + _over_paid(worth_paid, here)))
    scale = np.exp(m0 - m)
    denom, num = rest * scale, rest_value * scale
    for nest_u, nest_sum, nest_worth in parts:
        w_c = np.exp(nest_u - m)
        denom += w_c
        num += w_c * np.divide(nest_worth, nest_sum, out=np.zeros_like(nest_sum),
                               where=nest_sum > 0)
    return num, denom


def _untouched(sums: np.ndarray, worth: np.ndarray, top: np.ndarray,
               nest_param: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nests an offer leaves alone: the scale m0 (N x 1, >= 0), their weight in the logit's
    denominator plus the outside option's, and their expected value, both relative to exp(m0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        nest_u = nest_param * (np.log(sums) + top)
        m0 = np.maximum(row_max(nest_u), 0.0)
        weight = np.exp(nest_u - m0)
        within = np.where(sums > 0, worth / sums, 0.0)
    return (m0, weight.sum(axis=1, keepdims=True) + np.exp(-m0),
            (weight * within).sum(axis=1, keepdims=True))


def retention_choice(grid: np.ndarray, p_stay: np.ndarray, v_here: np.ndarray,
                     v_there: np.ndarray, life: float,
                     sub_life: float) -> tuple[np.ndarray, np.ndarray]:
    """A city's best counter-offer to each unit leaving it, and the chance it is accepted.

    Maximises ``P_stay(s) (L v_here − L_s s) + (1 − P_stay(s)) L v_there`` over each leaver's
    grid of rates s: what the city keeps if the unit stays, less the contract, against what it
    keeps if the unit moves (its agreed credit and tax shares there, so sharing lowers the
    counter-offer to a unit heading for the city's own enclave).

    Args:
        grid: n x S rates; p_stay: n x S chances of staying at each rate.
        v_here, v_there: n, the city's value per yuan of the unit's output where it is and where
            it goes; life, sub_life: present-value years of the unit and of a contract.
    """
    payoff = (p_stay * (life * v_here[:, None] - sub_life * grid)
              + (1 - p_stay) * life * v_there[:, None])
    best = np.argmax(payoff, axis=1)
    rows = np.arange(len(best))
    return grid[rows, best], p_stay[rows, best]


def damped(current: np.ndarray, target: np.ndarray, damping: float) -> np.ndarray:
    """Partial adjustment toward the best response: ``s + η (s* − s)``."""
    return current + damping * (target - current)


def within_budget(
    offers: np.ndarray, committed: float, expected_new: float, budget: float
) -> np.ndarray:
    """Scale offers down so committed plus expected new subsidies stay within the budget."""
    need = committed + expected_new
    if need <= budget or expected_new <= 0:
        return offers
    room = max(budget - committed, 0.0)
    return offers * (room / expected_new)


def present_value(annual: float | np.ndarray, years: float, discount: float):
    """Present value of ``annual`` a year for ``years`` years, discounted continuously."""
    if discount <= 0:
        return annual * years
    return annual * -np.expm1(-discount * years) / discount


def breaks_cap(gain_per_year: float, detection_annual: float, stake_per_year: float,
               years_left: float, discount: float = 0.0) -> bool:
    """A city breaks the subsidy cap when a year's gain beats what it expects to lose if caught.

    If caught (probability ``detection_annual`` within the year) it leaves the scheme and forfeits
    ``stake_per_year`` (shared inflows from the agreements in force, compensation, the platform's
    and the map's placements) for the years left: it breaks iff
    ``gain > p · PV(stake, years left)``.
    """
    if stake_per_year <= 0 or detection_annual <= 0:
        return gain_per_year > 0
    return gain_per_year > detection_annual * present_value(stake_per_year, years_left, discount)
