"""Cities' and the coordinator's rules as pure functions, with numbers worked by hand."""

import numpy as np
import pytest

from sim.rules.iteration import secant_damping
from sim.rules.offers import (
    best_response,
    best_responses,
    breaks_cap,
    damped,
    target_sectors,
    unit_value_factors,
    within_budget,
)
from sim.rules.planning import compensation, draw_map, planner_scores


def test_targets_mix_hotness_and_own_advantage():
    hot = np.array([1.0, 0.0, 0.5])
    adv = np.array([[0.0, 1.0, 0.2],     # city 0 is strong in sector 1
                    [0.0, 0.0, 1.0]])    # city 1 is strong in sector 2
    # ω = 1: both chase the hottest sector 0; ω = 0: each its own advantage
    np.testing.assert_array_equal(target_sectors(hot, adv, 1.0, 1), [[1, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(target_sectors(hot, adv, 0.0, 1), [[0, 1, 0], [0, 0, 1]])
    # ω = 0.5, city 0: scores 0.5, 0.5, 0.35 -> tie broken by order, sectors 0 and 1
    np.testing.assert_array_equal(target_sectors(hot, adv, 0.5, 2)[0], [1, 1, 0])


def test_unit_value_factors():
    # r + e = 0.05 + 0.08 = 0.13: life 1/0.13 = 7.692; 3-year contract (1 - e^-0.39)/0.13 = 2.5955
    life, sub = unit_value_factors(0.05, 0.08, 3.0)
    assert life == pytest.approx(7.6923, abs=1e-4)
    assert sub == pytest.approx((1 - np.exp(-0.39)) / 0.13)


def test_damped_and_budget():
    np.testing.assert_allclose(
        damped(np.array([0.0, 0.1]), np.array([0.1, 0.0]), 0.5), [0.05, 0.05]
    )
    # committed 8, expected new 4, budget 10: room 2 -> offers halved
    np.testing.assert_allclose(within_budget(np.array([0.1, 0.2]), 8.0, 4.0, 10.0), [0.05, 0.1])
    np.testing.assert_allclose(within_budget(np.array([0.1]), 1.0, 4.0, 10.0), [0.1])
    np.testing.assert_allclose(within_budget(np.array([0.1]), 12.0, 4.0, 10.0), [0.0])


def test_breaks_cap_when_gain_beats_expected_loss_of_shared_flows():
    # expected loss 0.3 * 10 * 2 = 6
    assert breaks_cap(6.5, 0.3, 10.0, 2.0)
    assert not breaks_cap(5.5, 0.3, 10.0, 2.0)
    assert breaks_cap(0.1, 0.3, 0.0, 2.0)   # nothing shared, nothing to lose


def test_best_response_one_group_one_park_by_hand():
    # one group of mass 1 choosing between the city's park (utility u0 + s q/σ) and outside (0):
    # value = P(s) (L v - L_s s) q with P = 1/(1 + e^-(u0 + s q/σ)); u0 = 0, q = 1, σ = 0.1,
    # L v = 1, L_s = 1: V(0) = 0.5, V(0.1) = 0.7311*0.9 = 0.6580, V(0.2) = 0.8808*0.8 = 0.7046
    grid = np.array([0.0, 0.1, 0.2])
    best, values = best_response(
        u=np.zeros((1, 1)), available=np.ones((1, 1), bool), weight=np.ones(1), q=np.ones(1),
        sigma=0.1, value=np.ones(1), pays=np.ones(1, bool), current=0.0, grid=grid,
        nest=np.zeros(1, int), n_nests=1, nest_param=1.0, life=1.0, sub_life=1.0)
    np.testing.assert_allclose(values, [0.5, 0.73106 * 0.9, 0.88080 * 0.8], atol=1e-4)
    assert best == 0.2


def _blocks(rng, n_parks, nest, pays, lam, grid):
    """Three sector-segments of random deciders: the grid search of each (the reference) and
    the stacked inputs of the nest-by-nest evaluation."""
    ref, stacked = [], []
    for b, n in enumerate((1, 4, 7)):
        u = rng.normal(0.0, 2.0, (n, n_parks))
        available = rng.random((n, n_parks)) > 0.3
        available[0, :] = b != 1                       # one block's first decider sees no park
        q, value = rng.random(n_parks) + 0.5, rng.random(n_parks)
        weight, sigma, current = rng.random(n), 0.05 + 0.5 * rng.random(), 0.1 * rng.random()
        ref.append(best_response(u, available, weight, q, sigma, value, pays, current, grid,
                                 nest, 3, lam, 12.0, 4.0))
        stacked.append((u, available, weight, np.full(n, b), np.tile(q, (n, 1)),
                        np.full(n, sigma), np.tile(value, (n, 1)), np.full(n, current)))
    return ref, [np.concatenate(part) for part in zip(*stacked, strict=True)]


@pytest.mark.parametrize("paid_parks", [[], [0], [1, 4], [2, 3, 5]])
@pytest.mark.parametrize("lam", [0.3, 1.0])
def test_best_responses_by_nest_equal_the_grid_search(paid_parks, lam):
    # the city pays at none, one or several parks, in one nest or two; some deciders see no park
    rng = np.random.default_rng(len(paid_parks) + int(10 * lam))
    nest = np.array([0, 0, 1, 2, 1, 2])
    pays = np.isin(np.arange(6), paid_parks)
    grid = np.linspace(0.0, 0.15, 16)
    ref, (u, av, weight, block, q, sigma, value, current) = _blocks(rng, 6, nest, pays, lam, grid)
    best, values = best_responses(u, av, weight, block, 3, q, sigma, value, pays, current, grid,
                                  nest, 3, lam, 12.0, 4.0)
    np.testing.assert_allclose(values, [v for _, v in ref], rtol=1e-12, atol=1e-14)
    assert best.tolist() == [b for b, _ in ref]


def test_compensation_covers_losers_with_premium_paid_by_gainers():
    coordinated = np.array([10.0, 5.0, 20.0])
    competing = np.array([12.0, 5.0, 10.0])
    # city 0 loses 2 -> gets 2.3 with a 15% premium, paid by city 2 (gain 10)
    np.testing.assert_allclose(compensation(coordinated, competing, 0.15), [2.3, 0.0, -2.3])
    # gains too small: losers share what the gainers have
    np.testing.assert_allclose(compensation(np.array([0.0, 1.0]), np.array([4.0, 0.0]), 0.15),
                               [1.0, -1.0])
    np.testing.assert_allclose(compensation(np.array([1.0, 2.0]), np.array([0.0, 0.0]), 0.15), 0.0)


def test_map_respects_limits_and_picks_the_best_feasible_assignment():
    score = np.array([[3.0, 2.0, -1.0],
                      [1.0, 2.5, 0.5],
                      [0.0, 0.0, 0.2]])
    x = draw_map(score, land_need=np.zeros(3), free_land=np.ones(3), max_per_city=1, max_cities=1)
    # each segment in exactly one city, each city one segment: the best is 3 + 2.5 + 0.2
    np.testing.assert_array_equal(x, np.eye(3, dtype=bool))
    # land: city 0 cannot host segment 0 (needs 5 km², has 1), so it goes elsewhere
    x = draw_map(score, land_need=np.array([5.0, 0.0, 0.0]), free_land=np.array([1.0, 9.0, 9.0]),
                 max_per_city=2, max_cities=1)
    assert not x[0, 0] and x[:, 0].sum() == 1


def test_planner_scores_are_centred_per_segment_without_noise():
    rng = np.random.default_rng(0)
    s = planner_scores(np.array([[1.0], [3.0]]), np.array([[0.0], [-1.0]]), 1.0, 0.0, rng)
    np.testing.assert_allclose(s, [[-0.5], [0.5]])


def test_a_caught_cap_breaker_forfeits_its_compensation():
    from types import SimpleNamespace

    from sim.model.coordinator import compensation_in_force
    transfers = (1.0, 2.0, -3.0)
    # city 1 was to receive 2 of the 3 paid by city 2; caught, it gets nothing and city 2 pays 1
    cities = [SimpleNamespace(compensation=c, detected=d)
              for c, d in zip(transfers, (False, True, False))]
    np.testing.assert_allclose(compensation_in_force(cities), [1.0, 0.0, -1.0])
    cities = [SimpleNamespace(compensation=c, detected=False) for c in transfers]
    np.testing.assert_allclose(compensation_in_force(cities), [1.0, 2.0, -3.0])


def test_secant_damping_worked_by_hand():
    """Ratios of the last two gaps r = g'.g / g.g, step a / (1 - r) within [0.05, 0.5]."""
    damping = np.array([0.5, 0.5, 0.5, 0.2, 0.5])
    last = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [1.0, 0.0]])
    gap = np.array([[-0.9, 0.0], [0.3, 0.0], [0.5, 0.5], [2.2, 0.0], [-20.0, 0.0]])
    out = secant_damping(damping, last, gap)
    # r = -0.9: 0.5 / 1.9; no last gap: kept; r = 0.5: 1.0, held at 0.5; r = 1.1: kept;
    # r = -20: 0.5 / 21 = 0.0238, held at 0.05
    assert out == pytest.approx([0.5 / 1.9, 0.5, 0.5, 0.2, 0.05], abs=1e-12)


def test_secant_damping_settles_a_budget_that_sees_its_own_offers():
    """A budget-bound offer o is allowed f(o) = (B - k o) / c (running contracts k o signed at
    the offers, a year of new ones c): with B = 1, k = 3, c = 1 the fixed point is 0.25. Half
    steps from 0 give gaps 1, -1, 1, ... forever (r = -1); the secant step 0.5 / 2 = 0.25
    lands on the fixed point at the third round."""
    def gap_at(o):
        return np.array([[(1.0 - 3.0 * o) - o]])

    offer, damping = 0.0, np.array([0.5])
    g0 = gap_at(offer)
    offer += damping[0] * g0[0, 0]                 # 0.5
    g1 = gap_at(offer)                              # -1
    assert (g0[0, 0], g1[0, 0]) == (1.0, -1.0)
    damping = secant_damping(damping, g0, g1)
    assert damping[0] == pytest.approx(0.25)
    offer += damping[0] * g1[0, 0]
    assert offer == pytest.approx(0.25) and gap_at(offer)[0, 0] == pytest.approx(0.0)
