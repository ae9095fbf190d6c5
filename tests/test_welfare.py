"""Welfare rules worked by hand: residents' welfare and the country's (sim/rules/welfare.py),
and the three invariances the conventions are chosen for: a transfer between two governments, a
uniform wage-level change at equal employment and a relocation at equal productivity and costs
each leave welfare_national unchanged; the wage invariance also on the model's own accounts."""

import dataclasses

import numpy as np
import pytest

from sim.config import load_scenario
from sim.model import welfare_accounts
from sim.model.books import close_books
from sim.model.circle import CircleModel
from sim.model.firms import empty_step
from sim.model.recorder import Recorder
from sim.rules.welfare import (
    PublicAccounts,
    UnitFlows,
    surplus_per_output,
    unit_profits,
    welfare_circle,
    welfare_national,
    welfare_parts,
)

TAU, RHO, MCPF, FORGONE = 0.1, 0.8, 1.25, 0.5


def two_units(**change) -> UnitFlows:
    """Two units at base-year wages (reservation = ρ x wage bill): one resident, one not."""
    base = dict(output=np.array([100.0, 50.0]), labour_cost=np.array([40.0, 20.0]),
                reservation=np.array([32.0, 16.0]),
                land_rent=np.array([5.0, 3.0]), distance_cost=np.array([2.0, 1.0]),
                subsidy=np.array([10.0, 5.0]), platform_fee=np.array([0.0, 1.0]),
                relocation=np.zeros(2), friction=np.zeros(2), resident=np.array([True, False]))
    base.update(change)
    return UnitFlows(**base)


def accounts(revenue=(20.0, 4.0), outlays=(12.0, 5.0)) -> PublicAccounts:
    return PublicAccounts(np.array(revenue), np.array(outlays))


def national(flows: UnitFlows, acc: PublicAccounts, outside: float = 30.0) -> float:
    return welfare_national(flows, acc, TAU, FORGONE, MCPF, outside)


def circle(flows: UnitFlows, acc: PublicAccounts) -> float:
    return welfare_circle(flows, acc, TAU, FORGONE, MCPF)


def test_two_units_by_hand():
    # profits: 100·0.9 − 40 − 5 − 2 + 10 = 53; 50·0.9 − 20 − 3 − 1 − 1 + 5 = 25
    np.testing.assert_allclose(unit_profits(two_units(), TAU), [53.0, 25.0])
    # labour rents 60 − 48 = 12; public 1.25·(24 − 17) = 8.75; W = 12 + 53 + 8.75 − 0.5 = 73.25
    assert circle(two_units(), accounts()) == pytest.approx(73.25)
    # the country also keeps the outside-owned unit's profit (25) and outside production (30)
    assert national(two_units(), accounts()) == pytest.approx(128.25)
    parts = welfare_parts(two_units(), accounts(), TAU, FORGONE, MCPF, 30.0)
    assert (parts.labour_rents, parts.profits_resident, parts.profits_nonresident,
            parts.public, parts.outside) == pytest.approx((12.0, 53.0, 25.0, 8.75, 30.0))


def test_a_transfer_between_two_governments_leaves_both_measures_unchanged():
    """One shadow price for every public yuan, revenue and outlay alike: a compensation of 3
    paid by city 0 to city 1, and 3 of tax handed from city 0 to city 1, change nothing."""
    flows = two_units()
    paid = accounts(revenue=(20.0, 4.0 + 3.0), outlays=(12.0 + 3.0, 5.0))
    shared = accounts(revenue=(20.0 - 3.0, 4.0 + 3.0))
    for measure in (circle, national):
        assert measure(flows, paid) == pytest.approx(measure(flows, accounts()))
        assert measure(flows, shared) == pytest.approx(measure(flows, accounts()))


def test_a_uniform_wage_rise_at_equal_employment_leaves_national_welfare_unchanged():
    """Wages 10% higher on the same labour: the reservation wage stays at the base year's, so
    workers gain 6 in rents and firms lose 6 in profits."""
    flows = two_units()
    richer = two_units(labour_cost=1.1 * flows.labour_cost)
    assert national(richer, accounts()) == pytest.approx(national(flows, accounts()))
    # residents gain the outside-owned unit's share of the rise (2), which leaves the country's
    # outside owners
    assert circle(richer, accounts()) - circle(flows, accounts()) == pytest.approx(2.0)


def test_a_project_moved_in_at_equal_productivity_and_costs_leaves_national_welfare_unchanged():
    """A project producing y = 60 outside, at the outside option's wage, distance cost, land
    rent, subsidy and tax, moves into the circle to the same terms: the country is as well off.
    The outside rate by hand: 1 − 0.8·0.4 − 0.02 + 0.25·(0.1 + 4/60 − 0.05) = 0.6892 (with
    its land rent 4 = 1/15 of y and a subsidy of 5%)."""
    y, wage_share, dist_share, rent, s = 60.0, 0.4, 0.02, 4.0, 0.05
    rate = surplus_per_output(np.array(RHO * wage_share), np.array(dist_share),
                              TAU + rent / y - s, MCPF)
    assert rate == pytest.approx(1 - 0.32 - 0.02 + 0.25 * (0.1 + 4 / 60 - 0.05))
    before = national(two_units(), accounts(), 30.0 + y * rate)
    new = dict(output=y, labour_cost=wage_share * y, reservation=RHO * wage_share * y,
               land_rent=rent, distance_cost=dist_share * y, subsidy=s * y, platform_fee=0.0,
               relocation=0.0, friction=0.0, resident=False)
    moved = two_units(**{f: np.append(getattr(two_units(), f), v) for f, v in new.items()})
    # the host city receives its tax (6) and rent (4) and pays its subsidy (3)
    after_acc = accounts(revenue=(20.0 + TAU * y + rent, 4.0), outlays=(12.0 + s * y, 5.0))
    assert national(moved, after_acc, 30.0) == pytest.approx(before)
    # the circle's residents gain its labour rents and the net public inflow at the shadow price:
    # 0.2·24 + 1.25·(6 + 4 − 3) = 13.55
    gain = circle(moved, after_acc) - circle(two_units(), accounts())
    assert gain == pytest.approx(13.55)


def test_approval_friction_is_a_resource_cost_in_both_measures():
    """A delay worth 4 of the resident unit's value added goes to nobody: both measures lose 4;
    on the outside-owned unit the circle loses nothing, the country 4."""
    on_resident = two_units(friction=np.array([4.0, 0.0]))
    on_outsider = two_units(friction=np.array([0.0, 4.0]))
    assert circle(two_units(), accounts()) - circle(on_resident, accounts()) == pytest.approx(4.0)
    assert national(two_units(), accounts()) - national(on_resident, accounts()) == \
        pytest.approx(4.0)
    assert circle(on_outsider, accounts()) == pytest.approx(circle(two_units(), accounts()))
    assert national(two_units(), accounts()) - national(on_outsider, accounts()) == \
        pytest.approx(4.0)


def test_uniform_five_point_subsidy_rise_lowers_national_welfare_by_its_excess_burden():
    flows = two_units()
    more = two_units(subsidy=flows.subsidy + 0.05 * flows.output)
    acc, acc_more = accounts(), accounts(outlays=(12.0 + 5.0, 5.0 + 2.5))
    drop = national(flows, acc) - national(more, acc_more)
    assert drop == pytest.approx(0.25 * 7.5)                              # (MCPF − 1) · 7.5 > 0
    # residents lose the excess burden on the resident unit's rise and all of the outside one's
    lost = circle(flows, acc) - circle(more, acc_more)
    assert lost == pytest.approx(0.25 * 5.0 + 1.25 * 2.5)


# ----------------------------------------------------------------------------- on the model
def test_the_models_reservation_wage_stays_put_when_the_market_wage_moves():
    """The same invariance on the model's own accounts (sim.model.welfare_accounts, called as
    the recorder calls them), on a tiny world after a quarter in which the market wage moved:
    wages 10% higher everywhere at the same employment raise the wage bill and leave the
    reservation wage at the base year's, so welfare_national is unchanged and residents gain
    only the non-resident owners' share of the rise. Were the reservation wage the current
    wage, the country would lose 10% of it."""
    cfg = load_scenario("scenarios/coordinated.yaml", overrides=[
        "world.n_units=400", "competition.subsidy_grid_points=6", "steps=1"])
    model = CircleModel(cfg, seed=3)
    model.step()
    state, events = model.state, empty_step()
    assert not np.allclose(state.wage, state.world.wage)       # the market wage moved
    books = close_books(state, np.zeros(state.world.n_cities))
    richer = dataclasses.replace(state, wage=1.1 * state.wage)
    rate = cfg.policies.park_within_park.platform_return_rate
    flows, flows_richer = (welfare_accounts.unit_flows(s, events, books.terms, rate)
                           for s in (state, richer))
    np.testing.assert_allclose(flows_richer.labour_cost, 1.1 * flows.labour_cost)
    np.testing.assert_array_equal(flows_richer.reservation, flows.reservation)
    before, after = (Recorder._welfare(s, events, books) for s in (state, richer))
    assert after.national == pytest.approx(before.national, rel=1e-12)
    outside_owned = 0.1 * flows.labour_cost[~flows.resident].sum()
    assert outside_owned > 0
    assert after.circle - before.circle == pytest.approx(outside_owned, rel=1e-9)
