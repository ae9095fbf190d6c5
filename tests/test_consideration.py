"""Attention as consideration (sim/rules/consideration.py) and the base year as the status quo's
equilibrium (sim/model/equilibrium.py): worked by hand and on a small seeded world."""

import numpy as np
import pytest

from sim.config import load_scenario
from sim.model import CircleModel
from sim.model.forecast import decider_groups
from sim.model.utility import utilities
from sim.rules.choice import nested_probabilities
from sim.rules.consideration import (
    circle_logsum,
    consideration_terms,
    relative_reach,
    slot_costs,
    subsidy_equivalent,
    with_platform,
)

U = np.array([[0.0, 0.5, 1.0]])
NEST, LAM, ALL = np.array([0, 0, 1]), 0.5, np.ones((1, 3), bool)


def test_circle_logsum_by_hand():
    # plain logit (λ = 1): ln(1 + e^0.5 + e^1) = 1.7609...
    assert circle_logsum(U, NEST, 2, 1.0, ALL)[0] == pytest.approx(np.log(1 + np.exp(0.5) + np.e))
    # λ = 0.5: nest 0 has IV = ln(e^0 + e^1) = 1.3133, nest 1 has IV = 2; ln(e^0.6566 + e^1)
    iv0 = np.log(1 + np.e)
    assert circle_logsum(U, NEST, 2, LAM, ALL)[0] == pytest.approx(np.log(np.exp(0.5 * iv0) + np.e))


def test_attention_moves_projects_between_parks_not_into_the_circle():
    ref = np.zeros((1, 3))                        # ln(0.5 / 0.5): nobody promoted
    att = np.log(np.array([[1.0, 0.5, 0.5]]) / 0.5)   # park 0 promoted
    shifted = U + consideration_terms(U, att, ref, np.zeros(1), NEST, 2, LAM, ALL)
    before = nested_probabilities(U + ref, NEST, 2, LAM)
    after = nested_probabilities(shifted, NEST, 2, LAM)
    assert after[0, -1] == pytest.approx(before[0, -1])          # outside option unchanged
    assert after[0, 0] > before[0, 0] and after[0, 2] < before[0, 2]
    # the platform's entry effect ε multiplies the circle's odds against the outside by 1 + ε
    entered = nested_probabilities(U + consideration_terms(U, att, ref, np.array([0.1]), NEST, 2,
                                                           LAM, ALL), NEST, 2, LAM)
    def odds(p: np.ndarray) -> float:
        return (1 - p[0, -1]) / p[0, -1]

    assert odds(entered) == pytest.approx(1.1 * odds(before))


def test_base_year_offers_keep_base_shares_and_are_a_fixed_point():
    # local parks alone: with agreements in force their full parks ration arrivals
    # (tests/test_agreement_terms.py checks the shares then)
    cfg = load_scenario("scenarios/homogenised.yaml", overrides=[
        "world.n_units=2000", "agreements=[]", "uncertain={}"])
    model = CircleModel(cfg, seed=3)
    assert model.settle_rounds < 60 and model.settings.offers.max() > 0
    cal = model.calibration
    kg = int(np.flatnonzero(cal.base_promoted.any(axis=0))[0])     # a promoted sector-segment
    groups, weight = decider_groups(model.state, np.array([kg]))
    new = groups.current < 0
    u, available = utilities(model.state, groups.select(np.flatnonzero(new)), model.settings)
    p = nested_probabilities(u, model.parks.city, model.world.n_cities,
                             cfg.economy.nest_parameter, available)
    shares = weight[new] @ p / weight[new].sum()
    base = cal.base_counts[kg] / cal.base_counts[kg].sum()
    np.testing.assert_allclose(shares[:-1], base * (1 - cfg.economy.outside_share_arrivals),
                               rtol=1e-6)
    offers = model.settings.offers.copy()
    model.steps = 1                               # step 1's strategies, before anything moved
    model.cities.do("set_offers", model.state)
    np.testing.assert_allclose(model.settings.offers, offers, atol=1e-3)


def test_the_platform_is_a_second_channel_of_consideration_by_hand():
    # base 0.5, platform 0.9: it reaches (0.9 − 0.5)/0.5 = 80% of those who would not consider
    att = np.array([0.5, 0.8, 1.0])
    np.testing.assert_allclose(with_platform(att, 0.5, 0.9), [0.9, 1 - 0.2 * 0.2, 1.0])
    # a platform weaker than the base rate, or a base rate of 1, changes nothing
    np.testing.assert_allclose(with_platform(att, 0.5, 0.4), att)
    np.testing.assert_allclose(with_platform(att, 1.0, 0.9), att)


def test_slot_costs_scale_with_reach_by_hand():
    reach = relative_reach(np.array([10.0, 30.0]))         # mean 20: reach 0.5 and 1.5
    np.testing.assert_allclose(reach, [0.5, 1.5])
    slots = np.array([[True, True], [False, True], [False, False]])
    # 0.1 per slot of mean reach: city 0 pays 0.1·(0.5 + 1.5) = 0.2, city 1 0.15, city 2 0
    np.testing.assert_allclose(slot_costs(slots, reach, 0.1), [0.2, 0.15, 0.0])


def test_attention_in_subsidy_terms_by_hand():
    # doubling consideration (ln 2 = 0.693) where q/σ = 2.8 is worth a subsidy of 24.8% of
    # value added (the median); where q/σ = 7, 9.9%
    np.testing.assert_allclose(subsidy_equivalent(np.log(2.0), np.array([2.8, 7.0])),
                               [np.log(2) / 2.8, np.log(2) / 7.0])
    assert subsidy_equivalent(np.log(2.0), np.array([2.8]))[0] == pytest.approx(0.2476, abs=1e-4)


def test_promotion_is_booked_at_its_reach_and_paid_from_the_subsidy_budget():
    """Each city pays its promoted slots at their reach (fiscal table ``promotion_cost``), and its
    subsidy budget is what is left of its investment-attraction budget."""
    from sim.model.books import close_books, promotion_reach
    cfg = load_scenario("scenarios/homogenised.yaml", overrides=["world.n_units=2000"])
    model = CircleModel(cfg, seed=3)
    state = model.state
    books = close_books(state, np.zeros(model.world.n_cities))
    reach = promotion_reach(state)
    assert reach.mean() == pytest.approx(1.0)
    expected = cfg.competition.promotion_cost_per_slot * (state.settings.promoted @ reach)
    np.testing.assert_allclose(books.promotion_cost, expected)
    assert (books.promotion_cost > 0).all()
    city = model.cities.to_list()[1]
    assert city.promotion_spent == pytest.approx(books.promotion_cost[1])
    # the budget offers must fit: budget share x fiscal revenue less the promotion cost. Offers
    # whose expected new subsidies are twice the whole budget are scaled to what is left of it
    # after the running contracts, by hand: offers x (budget − promotion − committed) / new
    from sim.model.forecast import budget_bases
    from sim.rules.constants import STEPS_PER_YEAR

    base, cal = budget_bases(state, [1])[0], state.calibration
    budget = cfg.competition.budget_share * city.fiscal_revenue
    per_unit = STEPS_PER_YEAR * (cal.p_review + cal.p_exit) * base.output.sum()
    offers = np.zeros_like(state.settings.offers[1])
    offers[base.kg] = 2 * budget / per_unit
    new = STEPS_PER_YEAR * (cal.p_review + cal.p_exit) * (offers[base.kg] * base.output).sum()
    room = budget - city.promotion_spent - base.committed
    assert new == pytest.approx(2 * budget) and room > 0
    np.testing.assert_allclose(city.within_budget(state, offers, base), offers * room / new)
