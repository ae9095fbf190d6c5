"""Location-choice building blocks with exact values."""

import numpy as np
import pytest

from sim.rules.choice import (
    arrival_constants,
    calibrate_reviewers,
    expected_rationing,
    nested_probabilities,
    ration_land,
    sample_choices,
    second_choice,
    switching_cost_step,
)


def stay_shares(v: np.ndarray, move_cost: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Share of reviewers who stay put, per sector-segment, given reviewer utilities V (the
    condition :func:`calibrate_reviewers` meets, computed directly)."""
    c = v.shape[1]
    eye = np.eye(c, dtype=bool)
    util = np.where(eye[None], v[:, None, :], (v - move_cost)[:, None, :])
    top = np.maximum(util.max(axis=2, keepdims=True), 0.0)
    e = np.exp(util - top)
    p = e / (e.sum(axis=2, keepdims=True) + np.exp(-top))
    stay = np.einsum("ka,kaa->k", counts, p)
    return stay / counts.sum(axis=1)


def test_nested_logit_with_lambda_one_is_plain_logit():
    u = np.array([[1.0, 0.0, -1.0]])
    p = nested_probabilities(u, np.array([0, 0, 1]), 2, 1.0)
    e = np.exp([1.0, 0.0, -1.0, 0.0])
    np.testing.assert_allclose(p[0], e / e.sum())


def test_nest_makes_a_clone_park_a_close_substitute():
    # a second identical park in city 0: with λ = 1 city 0's share rises as with a new city;
    # with λ small it barely moves
    one = nested_probabilities(np.array([[0.0, 0.0]]), np.array([0, 1]), 2, 0.1)
    two = nested_probabilities(np.array([[0.0, 0.0, 0.0]]), np.array([0, 0, 1]), 2, 0.1)
    assert one[0, 0] == pytest.approx(1 / 3)
    # exact: city-0 inclusive value rises by λ ln 2 = 0.0693
    e = np.exp(0.1 * np.log(2))
    assert two[0, :2].sum() == pytest.approx(e / (e + 2))


def test_unavailable_parks_get_zero_probability():
    p = nested_probabilities(np.zeros((1, 3)), np.array([0, 1, 2]), 3, 0.5,
                             np.array([[True, False, True]]))
    assert p[0, 1] == 0 and p[0].sum() == pytest.approx(1)


def test_arrival_constants_reproduce_shares():
    shares = np.array([[0.5, 0.3, 0.2]])
    z0 = np.array([[0.4, 0.1, 0.3]])
    sigma = np.array([0.5])
    delta = arrival_constants(shares, 0.3, z0, sigma)
    p = nested_probabilities(delta + z0 / sigma, np.arange(3), 3, 1.0)
    np.testing.assert_allclose(p[0, :3], 0.7 * shares[0])
    assert p[0, 3] == pytest.approx(0.3)


def test_ration_land_accepts_in_priority_order_until_full():
    choice = np.array([0, 0, 0, 1, -1])
    need = np.array([2.0, 2.0, 2.0, 5.0, 9.0])
    priority = np.array([0.3, 0.1, 0.2, 0.5, 0.0])
    ok = ration_land(choice, need, np.array([4.0, 4.0]), priority)
    # park 0 takes the two lowest keys (units 1 and 2); park 1 (4 km² free) rejects unit 3
    np.testing.assert_array_equal(ok, [False, True, True, False, True])


def test_second_choice_keeps_a_turned_away_decider_in_the_city_it_chose():
    # city A: parks 0 and 1, city B: park 2, all utilities 0, λ = 0.5: P(0) = P(1) = (√2 − 1)/2,
    # P(2) = P(out) = 1/(2 + √2). Park 0 is full: without it P = 1/3 each, and those who had
    # chosen park 0 go to park 1 with (1/3 − P(0)) / P(0) = (2√2 − 1)/3, not 1/3
    nest, u = np.array([0, 0, 1]), np.zeros((1, 3))
    before = nested_probabilities(u, nest, 2, 0.5)
    after = nested_probabilities(u, nest, 2, 0.5, np.array([[False, True, True]]))
    np.testing.assert_allclose(before, [[(2**0.5 - 1) / 2] * 2 + [1 / (2 + 2**0.5)] * 2])
    np.testing.assert_allclose(after, [[0.0, 1 / 3, 1 / 3, 1 / 3]])
    same_city, rest = (2 * 2**0.5 - 1) / 3, (2 - 2**0.5) / 3
    np.testing.assert_allclose(second_choice(before, after), [[0.0, same_city, rest, rest]])


def test_second_choice_is_the_fresh_choice_under_a_plain_logit_and_when_nothing_was_removed():
    nest, u = np.array([0, 0, 1]), np.array([[0.3, -0.2, 0.1]])
    before = nested_probabilities(u, nest, 2, 1.0)
    after = nested_probabilities(u, nest, 2, 1.0, np.array([[False, True, True]]))
    np.testing.assert_allclose(second_choice(before, after), after)
    np.testing.assert_allclose(second_choice(before, before), before)


def _two_parks(weight, current, free, rounds):
    """Two parks in two nests with λ = 1 (a plain logit): e^u = 2 and 1, the outside 1, so the
    first choice is 1/2, 1/4, 1/4; a unit of mass needs 1 km² anywhere."""
    n = len(weight)
    u = np.tile(np.log([2.0, 1.0]), (n, 1))
    return expected_rationing(u, np.ones((n, 2), bool), np.asarray(weight, float), np.ones((n, 2)),
                              np.asarray(current), np.asarray(free, float), np.array([0, 1]), 2,
                              1.0, rounds)


def test_expected_rationing_sends_the_rejected_share_to_choose_again():
    # 10 arrivals: park 0 is asked for 5 km² with 2 free, accepts 2 (share 0.4) and is full; the
    # 3 rejected choose between park 1 and the outside (1/2 each): park 1 gets 2.5 + 1.5
    np.testing.assert_allclose(_two_parks([10.0], [-1], [2.0, 100.0], 3), [[2.0, 4.0, 4.0]])
    # nothing is full: the plain expectation weight · P
    np.testing.assert_allclose(_two_parks([10.0], [-1], [100.0, 100.0], 3), [[5.0, 2.5, 2.5]])


def test_expected_rationing_out_of_rounds_arrivals_stay_out_and_reviewers_stay():
    # arrivals (10) and reviewers at park 0 (4, half of whom stay: no land needed); park 0 is
    # asked for 5 km² (2 free: share 2/5), park 1 for 2.5 + 1 (1/2 free: share 1/7)
    placed = _two_parks([10.0, 4.0], [-1, 0], [2.0, 0.5], 0)
    np.testing.assert_allclose(placed, [[2.0, 5 / 14, 2.5 + 3 + 2.5 * 6 / 7],
                                        [2.0 + 6 / 7, 1 / 7, 1.0]])
    # one more round: both parks are full, so arrivals can only stay out; a reviewer may stay
    # (2 against the outside's 1): 6/7 rejected -> 4/7 stay, 2/7 leave
    placed = _two_parks([10.0, 4.0], [-1, 0], [2.0, 0.5], 1)
    np.testing.assert_allclose(placed, [[2.0, 5 / 14, 2.5 + 3 + 2.5 * 6 / 7],
                                        [2.0 + 6 / 7 * 2 / 3, 1 / 7, 1.0 + 6 / 7 / 3]])
    np.testing.assert_allclose(placed.sum(axis=1), [10.0, 4.0])


def test_sample_choices_inverse_cdf():
    probs = np.array([[0.2, 0.5, 0.3], [0.2, 0.5, 0.3]])
    np.testing.assert_array_equal(sample_choices(probs, np.array([0.1, 0.75])), [0, 2])


def test_reviewer_calibration_hits_the_stay_share_and_stays_stationary():
    counts = np.array([[600.0, 300.0, 100.0], [50.0, 20.0, 30.0]])
    money = np.array([[0.5, 0.4, 0.3], [0.2, 0.2, 0.2]])
    v, kappa, settled = calibrate_reviewers(counts, 0.05, money, 0.85)
    assert settled
    move = money + kappa[:, None]
    np.testing.assert_allclose(stay_shares(v, move, counts), 0.85, rtol=1e-6)
    for k in range(2):
        util = np.where(np.eye(3, dtype=bool), v[k][None, :], (v[k] - move[k])[None, :])
        e = np.exp(util)
        p = e / (e.sum(axis=1, keepdims=True) + 1)
        np.testing.assert_allclose(counts[k] @ p, counts[k] * 0.95, rtol=1e-6)


def test_reviewer_calibration_stopped_at_its_cap_says_so():
    counts = np.array([[600.0, 300.0, 100.0], [50.0, 20.0, 30.0]])
    money = np.array([[0.5, 0.4, 0.3], [0.2, 0.2, 0.2]])
    assert calibrate_reviewers(counts, 0.05, money, 0.85, max_iter=3)[2] is False


def test_switching_cost_step_rests_at_zero_and_reports_its_change():
    # worked by hand: 0 - 0.3 floors at 0 (no change), 1 - 0.25 = 0.75, 0.5 + 0.1 = 0.6
    new, moved = switching_cost_step(np.array([0.0, 1.0, 0.5]), np.array([0.3, 0.25, -0.1]))
    np.testing.assert_allclose(new, [0.0, 0.75, 0.6])
    assert moved == pytest.approx(0.25)
    # at the floor with the gap still open, nothing moves: a fixed point on it has converged
    assert switching_cost_step(np.zeros(2), np.array([0.4, 0.2]))[1] == 0.0


def test_reviewer_calibration_ends_with_the_cost_at_zero_where_the_stay_share_is_exceeded():
    # moving costs 3 utility units of money: even with κ = 0 more than 70% stay put
    counts = np.array([[600.0, 300.0, 100.0]])
    money = np.full((1, 3), 3.0)
    v, kappa, settled = calibrate_reviewers(counts, 0.05, money, 0.7)
    assert settled
    assert kappa[0] == 0.0
    assert stay_shares(v, money, counts)[0] > 0.7
    util = np.where(np.eye(3, dtype=bool), v[0][None, :], (v[0] - money[0])[None, :])
    e = np.exp(util)
    p = e / (e.sum(axis=1, keepdims=True) + 1)
    np.testing.assert_allclose(counts[0] @ p, counts[0] * 0.95, rtol=1e-6)
