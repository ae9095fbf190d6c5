"""The coordinator's investment map (产业招商地图) and the bargained transfers.

The map assigns sector-segments to cities by a mixed-integer programme (scipy.optimize.milp):
maximise the planner's estimate of circle surplus, from noisy inputs, subject to each city's free
land and a limit on its lead sector-segments. Nothing forces the map to be right: with noise it
can send a segment where firms do worse, and off-map placements then pay an approval friction.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp


def planner_scores(attractiveness: np.ndarray, linkage_gain: np.ndarray, spillover_weight: float,
                   noise_sd: float, rng: np.random.Generator) -> np.ndarray:
    """The planner's score of placing sector-segment kg in city c (C x KG), with noise.

    ``attractiveness`` is the firms' own valuation (logit index) of each city; ``linkage_gain``
    the distance costs that a placement saves linked units, which firms ignore (in the same
    utility units). Scores are centred per sector-segment so that only relative merit counts.
    """
    score = attractiveness + spillover_weight * linkage_gain
    score = score - score.mean(axis=0, keepdims=True)
    return score + rng.normal(0.0, noise_sd, score.shape)


def draw_map(score: np.ndarray, land_need: np.ndarray, free_land: np.ndarray,
             max_per_city: int, max_cities: int) -> np.ndarray:
    """Solve the assignment: x[c, kg] ∈ {0, 1} maximising Σ score·x.

    Constraints: every kg in 1..max_cities cities; at most ``max_per_city`` kg per city;
    Σ_kg x·land_need[kg]/max_cities ≤ free land of the city (a placement's expected share of the
    segment's land demand). If the land constraint makes the problem infeasible it is relaxed.

    Args:
        score: C x KG.
        land_need: KG expected km² of new land the segment needs over the plan.
        free_land: C km².
    """
    c, kg = score.shape
    n = c * kg
    rows, lo, hi = [], [], []
    for j in range(kg):                       # each segment placed in 1..max_cities cities
        row = np.zeros(n); row[j::kg] = 1
        rows.append(row); lo.append(1); hi.append(max_cities)
    for i in range(c):                        # lead segments per city
        row = np.zeros(n); row[i * kg:(i + 1) * kg] = 1
        rows.append(row); lo.append(0); hi.append(max_per_city)
    land_rows = []
    for i in range(c):
        row = np.zeros(n); row[i * kg:(i + 1) * kg] = land_need / max_cities
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
