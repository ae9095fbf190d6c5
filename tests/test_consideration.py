"""Attention as consideration (sim/rules/consideration.py) and the base year as the status quo's
equilibrium (sim/model/equilibrium.py): worked by hand and on a small seeded world."""

import numpy as np
import pytest

from sim.config import load_scenario
from sim.model import CircleModel
from sim.model.forecast import decider_groups
from sim.model.utility import utilities
from sim.rules.choice import nested_probabilities
from sim.rules.consideration import circle_logsum, consideration_terms

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
