"""Accounting rules worked by hand on a two-city world.

City A (index 0) is the source and core, B (1) the host. Parks: local A, local B, an enclave
A->B (α_Y 0.5, α_T 0.4, park keeps 20% of tax until step 4, term ends at step 8), a reverse
enclave of B inside A (registered in B, α_Y 1), a park-within-park branch of A in B (equity 0.8).
Park outputs 100, 50, 20, 12, 30; primary 5 and 3; tax 10% of output: 10, 5, 2, 1.2, 3.
"""

import numpy as np
import pytest

from sim.rules import accounts
from sim.rules.park_table import Parks

OUTPUT = np.array([100.0, 50.0, 20.0, 12.0, 30.0])
TAX = 0.1 * OUTPUT
PRIMARY = np.array([5.0, 3.0])


@pytest.fixture
def parks() -> Parks:
    inf = np.inf
    return Parks(
        name=["local:A", "local:B", "enclave", "reverse", "pwp"],
        kind=np.array([0, 0, 1, 3, 2]),
        city=np.array([0, 1, 1, 0, 1]),
        operator=np.array([0, 1, 0, 1, 0]),
        registration=np.array([0, 1, 1, 1, 1]),
        capacity=np.ones(5),
        start=np.zeros(5, int),
        term_end=np.array([inf, inf, 8.0, inf, inf]),
        retention_end=np.array([0, 0, 4.0, 0, 0]),
        gdp_share_source=np.array([0, 0, 0.5, 1.0, 0]),
        tax_share_source=np.array([0, 0, 0.4, 0, 0]),
        retained_share=np.array([0, 0, 0.2, 0, 0]),
        equity_operator=np.array([0, 0, 0, 0, 0.8]),
        rent_subsidy=np.zeros(5),
        rent_end=np.zeros(5),
        productivity_bonus=np.zeros(5),
        referral_strength=np.zeros(5),
        build_cost=np.zeros(5),
        sector_ok=np.ones((5, 1), bool),
        segment_ok=np.ones((5, 4), bool),
        home_only=np.array([0, 0, 0, 1, 0], bool),
    )


def test_physical_gdp_is_where_production_stands(parks):
    # A: 5 + 100 + 12 (reverse enclave stands in A) = 117; B: 3 + 50 + 20 + 30 = 103
    np.testing.assert_allclose(accounts.physical_gdp(OUTPUT, parks.city, PRIMARY), [117, 103])


def test_statistical_gdp_during_term_moves_agreed_credit(parks):
    s = accounts.share_matrices(parks, 2, 2)
    stat = accounts.statistical_gdp(s, OUTPUT, PRIMARY)
    # A: 117 + 0.5*20 (enclave credit) - 12 (reverse credit to B) = 115; B: 103 - 10 + 12 = 105
    np.testing.assert_allclose(stat, [115, 105])
    assert stat.sum() == pytest.approx(accounts.physical_gdp(OUTPUT, parks.city, PRIMARY).sum())


def test_tax_with_park_retained_share_during_retention(parks):
    s = accounts.share_matrices(parks, 2, 2)
    # enclave tax 2: park keeps 0.4; source 0.4*1.6 = 0.64; host 0.96
    # reverse enclave tax 1.2 goes to its registration, B
    np.testing.assert_allclose(accounts.tax_revenue(s, TAX), [10.64, 5 + 0.96 + 1.2 + 3])
    np.testing.assert_allclose(s.retained, [0, 0, 0.2, 0, 0])


def test_tax_after_retention_within_term(parks):
    s = accounts.share_matrices(parks, 5, 2)
    # source 0.4*2 = 0.8, host 1.2
    np.testing.assert_allclose(accounts.tax_revenue(s, TAX), [10.8, 5 + 1.2 + 1.2 + 3])


def test_after_term_everything_goes_to_host(parks):
    s = accounts.share_matrices(parks, 8, 2)
    np.testing.assert_allclose(accounts.statistical_gdp(s, OUTPUT, PRIMARY), [105, 115])
    np.testing.assert_allclose(accounts.tax_revenue(s, TAX), [10, 11.2])


def test_credited_gdp_may_double_count(parks):
    s = accounts.share_matrices(parks, 2, 2, double_count=True)
    # A counts the whole enclave (20) in its reviews, B keeps it too: 117 + 20 - 12 = 125; 115
    np.testing.assert_allclose(accounts.credited_gdp(s, OUTPUT, PRIMARY), [125, 115])
    plain = accounts.share_matrices(parks, 2, 2)
    np.testing.assert_allclose(accounts.credited_gdp(plain, OUTPUT, PRIMARY), [115, 105])


def test_platform_returns_split_by_equity_gdp_stays_with_host(parks):
    # branch output 30, return 2% = 0.6: operator A 0.48, host B 0.12
    np.testing.assert_allclose(accounts.platform_returns(parks, OUTPUT, 0.02, 2, 0), [0.48, 0.12])
    s = accounts.share_matrices(parks, 2, 2)
    assert s.statistical[1, 4] == 1.0 and s.tax[1, 4] == 1.0


def test_flows_table(parks):
    s = accounts.share_matrices(parks, 2, 2)
    flows = accounts.sharing_flows(parks, s, OUTPUT, TAX, 0.02, ("A", "B"), 2)
    got = {(r.from_city, r.to_city, r.kind): round(r.amount, 9) for r in flows.itertuples()}
    assert got == {("B", "A", "gdp_credit"): 10.0, ("B", "A", "tax"): 0.64,
                   ("B", "park:enclave", "tax_retained"): 0.4, ("A", "B", "gdp_credit"): 12.0,
                   ("A", "B", "tax"): 1.2, ("B", "A", "platform_return"): 0.48}


def test_park_capital_cost_is_carried_by_the_city_where_the_land_is(parks):
    """Serviced land costs 0.15 a km² a year, used or idle, to the city where it lies: A's local
    park (10 km²) and the reverse enclave's plot B rents in A (0.5 km²): 0.15 · 10.5 = 1.575; B's
    local park (4 km²) and the land it allotted to A's enclave (2 km²): 0.15 · 6 = 0.9. The
    park-within-park branch (3 km² in B) opens at step 6 and adds 0.15 · 3 = 0.45 from then."""
    import dataclasses
    p = dataclasses.replace(parks, capacity=np.array([10.0, 4.0, 2.0, 0.5, 3.0]),
                            start=np.array([0, 0, 0, 0, 6]))
    np.testing.assert_allclose(accounts.park_capital_cost(p, 2, 2, 0.15), [1.575, 0.9])
    np.testing.assert_allclose(accounts.park_capital_cost(p, 6, 2, 0.15), [1.575, 1.35])
