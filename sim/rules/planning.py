"""The coordinator's investment map (产业招商地图) and the bargained transfers.

The map assigns sector-segments to cities by a mixed-integer programme (scipy.optimize.milp):
maximise the planner's estimate of circle surplus, from noisy inputs, subject to each city's free
land and its number of lead sector-segments (slots in proportion to its size and free land).
The planner adds to what firms value what they do not price: agglomeration spillovers on other
firms and congestion of land and labour. Nothing forces the map to be right: with noise it can
send a segment where firms do worse, and new off-map projects then pay an approval friction.
Compensation is money: annual fiscal flows, each payer's bounded by a share of its tax revenue.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from sim.rules.constants import MIN_UNUSED_LAND_SHARE, TOLERANCE


def map_slots(output_share: np.ndarray, land_share: np.ndarray, total: int) -> np.ndarray:
    """Lead sector-segments per city: ``total`` split in proportion to the mean of a city's share
    of circle industrial output and of its free land (largest remainders), at least 1 each."""
    parts = [x / x.sum() for x in (output_share, land_share) if x.sum() > 0]
    weight = sum(parts) / len(parts) if parts else np.full(len(output_share), 1 / len(output_share))
    ideal = weight * max(total - len(weight), 0)
    slots = np.floor(ideal).astype(np.int64)
    order = np.argsort(-(ideal - slots), kind="stable")
    slots[order[:max(total - len(weight), 0) - slots.sum()]] += 1
    return slots + 1


def spillover_external(margin: np.ndarray, mass: np.ndarray, gamma: float) -> np.ndarray:
    """What other firms gain through agglomeration per yuan of output placed in city c, sector k
    (C x K), valued at their profit per yuan ``margin`` (C x K).

    With output ``∝ (X_kc / X̄_k)^γ`` and X̄_k the sector's mean over the C cities, a yuan more
    in c raises the output of the other firms there by γ and lowers the output in every city c'
    by ``γ X_kc' / (C X̄_k)``, also γ in total: other firms' output moves, it does not grow (to
    first order). What they gain is ``γ (m_kc − Σ_c X_kc m_kc / Σ_c X_kc)``: positive where
    they earn more per yuan than the sector's output-weighted mean.
    """
    total = np.maximum(mass.sum(axis=0, keepdims=True), TOLERANCE)
    mean = (mass * margin).sum(axis=0, keepdims=True) / total
    return gamma * (margin - mean)


def congestion_external(land_per_output: np.ndarray, labour_share: np.ndarray, rent: np.ndarray,
                        utilisation: np.ndarray, land_elasticity: float, wage: np.ndarray,
                        wage_elasticity: float) -> np.ndarray:
    """Cost a unit of output in city c imposes on other firms there (C x KG, share of output).

    Land: ``r = r̄ (1 − U)^(−e)`` so one more km² raises others' rent bill by ``e r U / (1 − U)``;
    labour: ``w ∝ (demand/supply)^ε`` so one more worker raises others' wage bill by ``ε w``.
    """
    land = land_elasticity * rent * utilisation / np.maximum(1 - utilisation, MIN_UNUSED_LAND_SHARE)
    return (land[:, None] * land_per_output[None, :]
            + wage_elasticity * wage[:, None] * labour_share[None, :])


def planner_scores(attractiveness: np.ndarray, external: np.ndarray, spillover_weight: float,
                   noise_sd: float, rng: np.random.Generator) -> np.ndarray:
    """The planner's score of placing sector-segment kg in city c (C x KG), with noise.

    ``attractiveness`` is the firms' own valuation (logit index) of each city; ``external`` the
    effects on other firms that they do not price (spillovers less congestion, in the same
    utility units). Scores are centred per sector-segment so that only relative merit counts.
    """
    score = attractiveness + spillover_weight * external
    score = score - score.mean(axis=0, keepdims=True)
    return score + rng.normal(0.0, noise_sd, score.shape)


def draw_map(score: np.ndarray, land_need: np.ndarray, free_land: np.ndarray,
             max_per_city: np.ndarray | int, max_cities: int) -> np.ndarray:
    """Solve the assignment: x[c, kg] ∈ {0, 1} maximising Σ score·x.

    Constraints: every kg in 1..max_cities cities; at most ``max_per_city`` (C, or one number)
    kg per city;
    Σ_kg x·land_need[kg]/max_cities ≤ free land of the city (a placement's expected share of the
    segment's land demand). If the land constraint makes the problem infeasible it is relaxed.

    Args:
        score: C x KG.
        land_need: KG expected km² of new land the segment needs over the plan.
        free_land: C km².
    """
    c, kg = score.shape
    n = c * kg
    per_city = np.broadcast_to(max_per_city, c)
    rows, lo, hi = [], [], []
    for j in range(kg):                       # each segment placed in 1..max_cities cities
        row = np.zeros(n)
        row[j::kg] = 1
        rows.append(row)
        lo.append(1)
        hi.append(max_cities)
    for i in range(c):                        # lead segments per city
        row = np.zeros(n)
        row[i * kg:(i + 1) * kg] = 1
        rows.append(row)
        lo.append(0)
        hi.append(int(per_city[i]))
    land_rows = []
    for i in range(c):
        row = np.zeros(n)
        row[i * kg:(i + 1) * kg] = land_need / max_cities
        land_rows.append(row)
    base = LinearConstraint(np.array(rows), lo, hi)
    land = LinearConstraint(np.array(land_rows), -np.inf, np.maximum(free_land, 0.0))
    for constraints in ([base, land], [base]):
        res = milp(-score.ravel(), constraints=constraints, integrality=np.ones(n),
                   bounds=Bounds(0, 1))
        if res.status == 0:
            return res.x.reshape(c, kg) > 0.5
    raise RuntimeError("the investment map has no feasible assignment: raise max_cities_per_segment"
                       " or the lead sectors per city")


def compensation(projected_coordinated: np.ndarray, projected_competition: np.ndarray,
                 premium: float) -> np.ndarray:
    """Transfers (C, positive = receives) so that no city expects to do worse than under
    competition: losers get their projected loss times (1 + premium), paid by gainers in
    proportion to their gains, never more than the gains (then losers are paid pro rata).
    """
    diff = projected_coordinated - projected_competition
    loss = np.maximum(-diff, 0.0) * (1 + premium)
    gain = np.maximum(diff, 0.0)
    paid = min(loss.sum(), gain.sum())
    if paid <= 0:
        return np.zeros_like(diff)
    return loss / loss.sum() * paid - gain / gain.sum() * paid


def bounded_by_revenue(transfers: np.ndarray, tax_revenue: np.ndarray, share: float) -> np.ndarray:
    """Transfers (C, positive = receives) with each payer paying at most ``share`` of its tax
    revenue; receivers are paid pro rata from what the payers pay, so the flows still balance."""
    out = transfers.astype(float).copy()
    paying, taking = out < 0, out > 0
    out[paying] = -np.minimum(-out[paying], share * np.maximum(tax_revenue[paying], 0.0))
    owed = out[taking].sum()
    if owed > 0:
        out[taking] *= -out[paying].sum() / owed
    return out
