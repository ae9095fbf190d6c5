"""Welfare rules worked by hand: residents' welfare and the country's (sim/rules/welfare.py)."""

import numpy as np
import pytest

from sim.rules.welfare import (
    PublicAccounts,
    UnitFlows,
    surplus_per_output,
    unit_profits,
    welfare_circle,
    welfare_national,
)

TAU, RHO, MCPF, FORGONE = 0.1, 0.8, 1.25, 0.5


def two_units(**change) -> UnitFlows:
    base = dict(output=np.array([100.0, 50.0]), labour_cost=np.array([40.0, 20.0]),
                land_rent=np.array([5.0, 3.0]), distance_cost=np.array([2.0, 1.0]),
                subsidy=np.array([10.0, 5.0]), platform_fee=np.array([0.0, 1.0]),
                relocation=np.zeros(2), resident=np.array([True, False]))
    base.update(change)
    return UnitFlows(**base)


def accounts(revenue=(20.0, 4.0), outlays=(12.0, 5.0)) -> PublicAccounts:
    return PublicAccounts(np.array(revenue), np.array(outlays))


def test_two_units_by_hand():
    # profits: 100·0.9 − 40 − 5 − 2 + 10 = 53; 50·0.9 − 20 − 3 − 1 − 1 + 5 = 25
    np.testing.assert_allclose(unit_profits(two_units(), TAU), [53.0, 25.0])
    # labour rents 0.2·60 = 12; public 24 − 1.25·17 = 2.75; W = 12 + 53 + 2.75 − 0.5 = 67.25
    assert welfare_circle(two_units(), accounts(), TAU, RHO, FORGONE, MCPF) == pytest.approx(67.25)
    # the country also keeps the outside-owned unit's profit (25) and outside production (30)
    national = welfare_national(two_units(), accounts(), TAU, RHO, FORGONE, MCPF, 30.0)
    assert national == pytest.approx(122.25)


def test_project_moved_in_from_outside_at_equal_productivity_leaves_national_welfare_unchanged():
    # the project produces y = 60 outside or inside, with the same wage bill and distance share
    y, wage_share, dist_share = 60.0, 0.4, 0.02
    outside_rate = surplus_per_output(np.array(wage_share), np.array(dist_share), RHO)
    assert outside_rate == pytest.approx(1 - 0.8 * 0.4 - 0.02)           # 0.66
    before = welfare_national(two_units(), accounts(), TAU, RHO, FORGONE, MCPF,
                              30.0 + y * outside_rate)
    moved = two_units(**{f: np.append(getattr(two_units(), f), v) for f, v in dict(
        output=y, labour_cost=wage_share * y, land_rent=4.0, distance_cost=dist_share * y,
        subsidy=0.0, platform_fee=0.0, relocation=0.0, resident=False).items()})
    # the host city receives its tax (6) and rent (4)
    after_acc = accounts(revenue=(20.0 + TAU * y + 4.0, 4.0))
    after = welfare_national(moved, after_acc, TAU, RHO, FORGONE, MCPF, 30.0)
    assert after == pytest.approx(before)
    # the circle's residents gain its labour rents, tax and rent: 0.2·24 + 6 + 4 = 14.8
    gain = (welfare_circle(moved, after_acc, TAU, RHO, FORGONE, MCPF)
            - welfare_circle(two_units(), accounts(), TAU, RHO, FORGONE, MCPF))
    assert gain == pytest.approx(14.8)


def test_uniform_five_point_subsidy_rise_lowers_national_welfare_by_its_excess_burden():
    flows = two_units()
    more = two_units(subsidy=flows.subsidy + 0.05 * flows.output)
    acc, acc_more = accounts(), accounts(outlays=(12.0 + 5.0, 5.0 + 2.5))
    drop = (welfare_national(flows, acc, TAU, RHO, FORGONE, MCPF, 30.0)
            - welfare_national(more, acc_more, TAU, RHO, FORGONE, MCPF, 30.0))
    assert drop == pytest.approx(0.25 * 7.5)                              # (MCPF − 1) · 7.5 > 0
    # residents lose the excess burden on the resident unit's rise and all of the outside one's
    lost = (welfare_circle(flows, acc, TAU, RHO, FORGONE, MCPF)
            - welfare_circle(more, acc_more, TAU, RHO, FORGONE, MCPF))
    assert lost == pytest.approx(0.25 * 5.0 + 1.25 * 2.5)


def test_credit_and_tax_transfer_between_cities_changes_no_welfare_but_compensation_costs():
    flows = two_units()
    shared = accounts(revenue=(20.0 - 3.0, 4.0 + 3.0))   # city 0 hands 3 of tax (and credit) to 1
    for measure in (lambda a: welfare_circle(flows, a, TAU, RHO, FORGONE, MCPF),
                    lambda a: welfare_national(flows, a, TAU, RHO, FORGONE, MCPF, 30.0)):
        assert measure(shared) == pytest.approx(measure(accounts()))
        # a compensation of 3 paid out of city 0's budget costs its excess burden
        paid = accounts(revenue=(20.0, 4.0 + 3.0), outlays=(12.0 + 3.0, 5.0))
        assert measure(accounts()) - measure(paid) == pytest.approx(0.25 * 3.0)
