"""The status quo at rest: with growth off and no policy change, competition keeps the base year.

The issue's bounds: circle GDP within ±0.5% and every city within ±1.5% over 20 quarters. The
test checks the deterministic part on a small seeded world: the expected change of each city's
output in the first quarter's decisions (exits, reviews with the cities' counter-offers, and
arrivals), times 20. Sampling noise does not enter it, so the bound is tested exactly.
"""

from types import SimpleNamespace

import numpy as np
import pytest

from sim.config import load_scenario
from sim.model import CircleModel
from sim.model.equilibrium import BaseContracts, sign_base_contracts
from sim.model.stationary import expected_flows, expected_output_change, reviewer_groups
from sim.model.units import new_units
from sim.model.world import build_world

QUARTERS = 20


@pytest.fixture(scope="module")
def first_quarter():
    """The homogenised status quo, growth off, at the decision point of its first quarter."""
    cfg = load_scenario("scenarios/homogenised.yaml",
                        overrides=["world.n_units=2000", "economy.growth_rate_annual=0",
                                   "economy.land_intensity_decline=0",   # no growth of land
                                   "world.core_land_supply_km2=0"])      # either: at rest
    model = CircleModel(cfg, seed=3, world=build_world(cfg))
    gdp = model.world.gdp.copy()
    model.steps = 1
    model.prepare_decisions()
    return model, gdp


def test_status_quo_expected_drift_over_20_quarters_is_within_the_bounds(first_quarter):
    model, gdp = first_quarter
    change = sum(expected_output_change(model.state).values())
    circle = QUARTERS * change.sum() / gdp.sum()
    cities = QUARTERS * change / gdp
    assert abs(circle) < 0.005, circle
    assert np.abs(cities).max() < 0.015, cities


def test_reviews_keep_the_base_allocation_and_the_stay_share(first_quarter):
    model, _ = first_quarter
    cal, econ = model.calibration, model.config.economy
    flows = expected_flows(model.state)
    mass = np.zeros_like(cal.base_counts)
    who, group_mass = reviewer_groups(model.state)
    np.add.at(mass, (who.kg, model.parks.city[who.current]), group_mass)
    np.testing.assert_allclose(mass, cal.base_counts, rtol=1e-9, atol=1e-9)
    # reviews lose exactly the leave share ℓ of the reviewing mass, city by city
    lost = -flows["reviews"] / (cal.p_review * (1 - cal.p_exit))
    np.testing.assert_allclose(lost, econ.leave_share_reviewers * mass, rtol=1e-3, atol=1e-6)
    # the counter-offers are at work: some contracts are retention contracts
    assert model.units.subsidy_retention.any()


def test_latest_retention_contract_is_placed_by_the_hazard_worked_by_hand():
    # ρ = 0.5: lag = floor(ln(1 − u) / ln 0.5): u = 0.3 -> 0, 0.6 -> 1, 0.9 -> 3
    n = 4
    units = new_units(np.arange(n), np.zeros(n, int), np.zeros(n, int), np.ones(n),
                      np.zeros(n, int), np.zeros(n, int))
    units.park = np.zeros(n, np.int32)
    state = SimpleNamespace(units=units, parks=SimpleNamespace(registration=np.array([0])))
    offers = np.zeros((1, 4))
    offers[0, 0] = 0.05
    base = BaseContracts(has=np.array([False, False, False, True]), age=np.array([0, 0, 0, 1]),
                         term=2, lag_draw=np.array([0.3, 0.6, 0.9, 0.6]),
                         rate_draw=np.array([0.2, 0.7, 0.5, 0.5]))
    grid = np.array([0.0, 0.1, 0.2])
    dist = np.zeros((4, 1, 3))
    dist[0, 0] = [0.0, 0.5, 0.5]
    sign_base_contracts(state, offers, base, (np.full((4, 1), 0.5), dist, grid))
    u = state.units
    # unit 0: retained this quarter at 0.1; unit 1: a quarter ago at 0.2; unit 2: too long ago;
    # unit 3 entered a quarter ago (offer 0.05) and a retention at lag 1 is not after its entry
    np.testing.assert_allclose(u.subsidy_rate, [0.1, 0.2, 0.0, 0.05])
    np.testing.assert_array_equal(u.subsidy_until, [2, 1, 0, 1])
    np.testing.assert_array_equal(u.subsidy_retention, [True, True, False, False])
    np.testing.assert_array_equal(u.subsidy_payer, [0, 0, -1, 0])


def test_switching_cost_at_zero_ends_the_reviewers_fixed_point(monkeypatch):
    """At an own-cost elasticity of -2 some sector-segments' reviewers stay more than the
    stated share even with no switching cost: the cost rests at zero there, and the fixed point
    must end by its change (it ran to its cap of 400 steps, every time, before)."""
    import sim.model.stationary as stationary

    used = []
    settle = stationary._settle

    def counted(*args):
        result = settle(*args)
        used.append(result[2])
        return result

    monkeypatch.setattr(stationary, "_settle", counted)
    cfg = load_scenario("scenarios/homogenised.yaml",
                        overrides=["world.n_units=2000", "economy.own_cost_elasticity=-2"])
    model = CircleModel(cfg, seed=1, world=build_world(cfg))
    assert used and max(used) < 400, used
    kappa = model.calibration.switching_cost
    assert (kappa == 0).any() and (kappa > 0).any(), kappa
