"""Coordination rules (issue 14): the planner's map, cap enforcement with a future, compensation
in money and the fiscal table. Hand-worked rules first, then tiny seeded model runs."""

from __future__ import annotations

import numpy as np
import pytest

from sim.config import load_scenario
from sim.model.circle import CircleModel, run_scenario
from sim.model.city import out_of_scheme
from sim.rules.offers import breaks_cap, present_value
from sim.rules.planning import (
    bounded_by_revenue,
    congestion_external,
    draw_map,
    map_slots,
    spillover_external,
)

SMALL = ["world.n_units=1000", "competition.subsidy_grid_points=6"]


# ----------------------------------------------------------------------------- the map
def test_map_slots_follow_output_and_land():
    # weights 0.5·(0.6, 0.2, 0.2) + 0.5·(0.2, 0.4, 0.4) = (0.4, 0.3, 0.3); 13 − 3 = 10 shared:
    # (4, 3, 3), plus the 1 each city is guaranteed
    slots = map_slots(np.array([60.0, 20.0, 20.0]), np.array([2.0, 4.0, 4.0]), 13)
    assert slots.tolist() == [5, 4, 4]


def test_map_slots_keep_the_total_and_give_every_city_one():
    # weights (0.5, 0.25, 0.25) of 7 − 3 = 4: (2, 1, 1); a city with neither output nor land keeps 1
    slots = map_slots(np.array([1.0, 1.0, 0.0]), np.array([1.0, 0.0, 1.0]), 7)
    assert slots.tolist() == [3, 2, 2]
    slots = map_slots(np.array([5.0, 0.0, 0.0]), np.array([0.0, 0.0, 0.0]), 6)
    assert slots.tolist() == [4, 1, 1] and slots.sum() == 6


def test_draw_map_honours_per_city_slots():
    score = np.array([[3.0, 2.0, 1.0], [0.0, 0.0, 0.0]])   # city 0 is best everywhere
    mapped = draw_map(score, np.zeros(3), np.array([10.0, 10.0]), np.array([2, 3]), 1)
    assert mapped.sum(axis=1).tolist() == [2, 1]
    assert mapped[0, :2].all() and mapped[1, 2]


def test_spillover_is_what_other_firms_earn_on_the_output_that_moves():
    # others' profit per yuan (0.3, 0.1), output (3, 1): output-weighted mean 0.25, so
    # γ·(0.05, −0.15) per yuan placed, with γ = 0.04
    ext = spillover_external(np.array([[0.3], [0.1]]), np.array([[3.0], [1.0]]), 0.04)
    assert ext.ravel() == pytest.approx([0.002, -0.006])


def test_agglomeration_moves_other_firms_output_without_adding_to_it():
    """The derivation behind the spillover, checked on the model's agglomeration function: a
    yuan placed in one city changes the other firms' total output by nothing to first order, and
    their profits by the rule's value."""
    from sim.rules.economy import agglomeration
    gamma, eps = 0.04, 1e-6
    mass = np.array([[5.0], [2.0], [1.0]])                 # output of the sector in 3 cities
    margin = np.array([[0.3], [0.2], [0.1]])               # other firms' profit per yuan there
    before = agglomeration(mass, gamma)
    rule = spillover_external(margin, mass, gamma)
    for c in range(3):
        placed = mass.copy()
        placed[c] += eps
        change = mass * (agglomeration(placed, gamma) / before - 1)     # others' output
        assert change.sum() / eps == pytest.approx(0.0, abs=1e-6)
        assert (margin * change).sum() / eps == pytest.approx(rule[c, 0], rel=1e-4)


def test_congestion_counts_land_and_wages_of_other_firms():
    # land: 0.5 · 0.4 · 0.9 / 0.1 = 1.8 per km², times 0.01 km² per output = 0.018;
    # wages: 0.1 · wage 1.0 · labour share 0.4 = 0.04
    cost = congestion_external(np.array([0.01]), np.array([0.4]), np.array([0.4]), np.array([0.9]),
                               0.5, np.array([1.0]), 0.1)
    assert cost[0, 0] == pytest.approx(0.058)


MAP_ONLY = ["policies.investment_map.noise_sd=0", "policies.investment_map.approval_friction=0"]


#: Participation imposed: every city in the scheme, so no transfer is needed to buy it (the
#: transfers are a separate instrument, tested below).
IMPOSED = [*MAP_ONLY, "policies.investment_map.compensation_cap_share=0"]
REPLICATES = range(4)


def _quarter_one_values(extra: tuple[str, ...] = (),
                        imposed: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Expected welfare_national (per year) that quarter 1's decisions bring, per replicate:
    without the map, with the planner's map, and with a map drawn from the planner's scores
    reversed (the worst map by its own criterion), participation imposed in both maps; each
    from the same base year (the same in every scenario)."""
    from sim.model import coordinator
    from sim.model.welfare_projection import expected_national_value
    from sim.model.world import build_world
    from sim.rules.planning import planner_scores
    plain, mapped = "scenarios/homogenised.yaml", "scenarios/homogenised_with_investment_map.yaml"
    small = [*SMALL, *extra]
    world = build_world(load_scenario(plain, small))
    values = {"none": [], "planner": [], "reversed": []}
    configs = {name: load_scenario(*((plain, small + ["steps=1"]) if name == "none" else
                                     (mapped, small + ["steps=1", *IMPOSED, *imposed])))
               for name in values}
    for r in REPLICATES:
        for name, found in values.items():
            cfg = configs[name]
            with pytest.MonkeyPatch.context() as mp:
                if name == "reversed":
                    mp.setattr(coordinator, "planner_scores", lambda *a: -planner_scores(*a))
                model = CircleModel(cfg, seed=cfg.seed, replicate=r, world=world)
                model.steps = 1                   # the decision point of quarter 1
                model.prepare_decisions()
            found.append(expected_national_value(model.state))
    return {name: np.array(v) for name, v in values.items()}


def test_a_noiseless_frictionless_map_never_lowers_expected_national_welfare():
    """Issue 14's test, on the deterministic part: from the same base year, the expected
    welfare_national of quarter 1's decisions (choice probabilities, no draws) with the
    planner's map is at least that without a map, in every replicate of the small world. The
    map drawn from the planner's scores reversed does worse than the planner's map in every
    replicate; and once the map's approval friction is priced (its point value 0.05, a resource
    cost since issue 27) the same check fails for both maps: the test can fail.

    A sampled run pairs the two only until their decisions differ; after that its difference
    carries the units' draws (at 1,000 units its standard deviation is about 25 a year against
    an effect of about 8, so it falls below zero in some replicate-quarters; at 256,000 units it
    is positive in all 32 of 8 replicates x 4 quarters, docs/VALIDATION.md, section 7)."""
    v = _quarter_one_values()
    gain = v["planner"] - v["none"]          # +9.02, +8.80, +8.70, +9.31 a year
    assert (gain >= 0).all(), gain
    assert (v["planner"] > v["reversed"]).all()
    # Frictionless, the reversed map also gains: +2.15, +1.88, +2.17, +1.68 (and +0.63 to +3.59
    # in replicates 4-11 with land per output fixed). Before the status quo's offers settled by
    # secant steps (1,000 units stopped them at their cap in replicates 0 and 3) it gave
    # -0.64, +1.88, +2.17, -0.17, and the check failed for it with land per output fixed.
    # With the friction priced: planner -50.0, -48.6, -52.4, -51.9; reversed -174 to -176.
    priced = _quarter_one_values(imposed=("policies.investment_map.approval_friction=0.05",))
    assert (priced["planner"] < priced["none"]).all(), priced["planner"] - priced["none"]
    assert (priced["reversed"] < priced["planner"]).all()


def test_the_projection_values_a_yuan_as_welfare_national_does():
    """Per unit in place, what welfare_national counts (labour rents, profit, the tax, land
    rent and platform fee the cities receive and the subsidies they pay, at MCPF) is
    ``y · national_rate − (MCPF − 1) · subsidy``: taxes, rents, fees and subsidies are transfers
    but for the shadow price of public money. The branches in force in the base year (issue 28)
    put units that pay the platform fee in the homogenised world."""
    from sim.model import firms, welfare_accounts
    from sim.model.welfare_projection import national_rate
    from sim.rules import welfare
    cfg = load_scenario("scenarios/homogenised.yaml", SMALL + ["steps=1"])
    model = CircleModel(cfg, seed=cfg.seed, replicate=0)
    econ, u = cfg.economy, model.units
    f = welfare_accounts.unit_flows(model.state, firms.empty_step(), model.current_terms,
                                    cfg.policies.park_within_park.platform_return_rate)
    counted = (f.labour_cost - f.reservation + welfare.unit_profits(f, econ.tax_rate)
               + econ.mcpf * (econ.tax_rate * f.output + f.land_rent + f.platform_fee
                              - f.subsidy))
    assert (f.subsidy > 0).any() and (f.platform_fee > 0).any()
    rate = national_rate(model.state)[u.kg, u.park]
    assert counted == pytest.approx(u.output * rate - (econ.mcpf - 1) * f.subsidy, rel=1e-9,
                                    abs=1e-12)


@pytest.fixture(scope="module")
def transfers_on_and_off():
    """The noiseless, frictionless map over 2 quarters with payers bound to 5% of their tax
    revenue, and with a bound of 0% (no transfers): (config, with transfers, without)."""
    path, over = "scenarios/homogenised_with_investment_map.yaml", SMALL + ["steps=2", *MAP_ONLY]
    cfg = load_scenario(path, over + ["policies.investment_map.compensation_cap_share=0.05"])
    none = load_scenario(path, over + ["policies.investment_map.compensation_cap_share=0"])
    return cfg, run_scenario(cfg), run_scenario(none)


def test_the_maps_transfers_leave_both_welfare_measures_unchanged(transfers_on_and_off):
    """Compensation moves money between budgets and changes no decision while the cap is off;
    every public yuan has one shadow price (MCPF), so in a run the map with and without its
    transfers differ in neither welfare measure (the invariance of a transfer between two
    governments, on the model: until issue 27 revenue counted at face value and outlays at MCPF,
    so each transferred yuan cost 0.25)."""
    cfg, paid, unpaid = transfers_on_and_off
    comp = paid.circle.compensation_total.to_numpy()
    assert (comp[1:] > 0).all() and (unpaid.circle.compensation_total == 0).all()
    for measure in ("welfare_national", "welfare"):
        assert paid.circle[measure].to_numpy() == pytest.approx(
            unpaid.circle[measure].to_numpy(), rel=1e-12, abs=1e-6)
    assert paid.circle.gdp_total.to_numpy() == pytest.approx(unpaid.circle.gdp_total.to_numpy())


def test_compensation_in_a_run_stays_within_the_payers_bound_and_is_booked_twice(
        transfers_on_and_off):
    """With a bound of 5% of the tax revenue the coordinator bargains on (the last quarter's),
    no payer (Wuhan and Ezhou in this world) pays more than its bound and Wuhan pays exactly
    its bound (Ezhou's gain is below its bound since issue 27: it pays its gain); receivers get
    what is paid; the payer's and the receiver's balances both carry it."""
    cfg, res, unpaid = transfers_on_and_off
    c = res.cities.set_index(["step", "city"])
    f = res.fiscal.set_index(["step", "city"])
    bound = cfg.policies.investment_map.compensation_cap_share * c.loc[0, "tax_revenue"]
    paid, received = f.loc[1, "compensation_paid"], f.loc[1, "compensation_received"]
    payers = paid > 0
    assert payers.sum() == 2
    assert (paid <= bound + 1e-9).all()
    assert paid["Wuhan"] == pytest.approx(bound["Wuhan"])
    assert received.sum() == pytest.approx(paid.sum()) and not (received[payers] > 0).any()
    # the same decisions without transfers: each balance moves by exactly what it gets or pays
    moved = f.loc[1, "balance"] - unpaid.fiscal.set_index(["step", "city"]).loc[1, "balance"]
    assert moved.to_numpy() == pytest.approx((received - paid).to_numpy(), abs=1e-9)


def test_a_caught_city_loses_its_map_slots():
    """Off-map placements pay the friction; a city out of the scheme has no map slot left."""
    from types import SimpleNamespace

    from sim.rules.economy import Settings, friction
    parks = SimpleNamespace(city=np.array([0, 1, 1]), n=3)      # city 1 has two parks
    mapped = np.array([[True, False], [False, True]])           # 2 cities x 2 sector-segments
    s = Settings(offers=np.zeros((2, 2)), promoted=mapped, mapped=mapped, platform=False,
                 excluded=np.array([False, False]))
    assert friction(s, parks, 0.05).tolist() == [[0.0, 0.05, 0.05], [0.05, 0.0, 0.0]]
    s.excluded[1] = True
    assert friction(s, parks, 0.05).tolist() == [[0.0, 0.05, 0.05], [0.05, 0.05, 0.05]]


def test_the_platform_shows_what_cities_target_not_every_park_and_drops_a_caught_city():
    """Without a map the platform shows arriving projects the parks of the segments their city
    promotes, as a channel independent of the city's own promotion (promotion 0.8, platform 0.9,
    base 0.5: 1 − 0.2 · (1 − 0.4/0.5) = 0.96); a segment the city does not promote keeps the base
    weight (the platform before issue 27 raised it to 0.9); a city out of the scheme is shown no
    more (its promoted parks fall back to the promotion's 0.8)."""
    from sim.model.utility import Choosers, attention
    from sim.rules.constants import Origin, ParkKind
    cfg = load_scenario("scenarios/homogenised.yaml",
                        SMALL + ["steps=1", "switches.shared_platform=true",
                                 "competition.attention_promoted=0.8",
                                 "policies.shared_platform.attention=0.9"])
    model = CircleModel(cfg, seed=1, replicate=0)
    s, p = model.settings, model.parks
    city = 2
    local = int(np.flatnonzero((p.city == city) & (p.kind == ParkKind.LOCAL))[0])
    kgs = [int(np.flatnonzero(s.promoted[city])[0]), int(np.flatnonzero(~s.promoted[city])[0])]
    who = Choosers(kg=np.array(kgs), origin=np.full(2, Origin.OUTSIDE), home=np.full(2, -1),
                   current=np.full(2, -1), stay_subsidy=np.zeros(2))
    vshare = np.zeros((model.world.n_cities, p.n))
    promoted, unpromoted = attention(model.state, who, s, vshare)[:, local]
    s.excluded[city] = True
    hidden, _ = attention(model.state, who, s, vshare)[:, local]
    assert (promoted, unpromoted, hidden) == pytest.approx((0.96, 0.5, 0.8))


# ----------------------------------------------------------------------------- the cap
def test_breaks_cap_weighs_the_gain_against_the_present_value_of_staying():
    # no discounting, 5 years: 0.3 · 20 · 5 = 30 > 10, stay; 31 > 30, break
    assert not breaks_cap(10.0, 0.3, 20.0, 5.0)
    assert breaks_cap(31.0, 0.3, 20.0, 5.0)
    # open-ended scheme at 5%: PV = 20 / 0.05 = 400, times 0.3 = 120
    assert present_value(20.0, np.inf, 0.05) == pytest.approx(400.0)
    assert not breaks_cap(119.0, 0.3, 20.0, np.inf, 0.05)
    assert breaks_cap(121.0, 0.3, 20.0, np.inf, 0.05)
    # nothing at stake, or no chance of being caught: any gain breaks the cap
    assert breaks_cap(0.1, 0.3, 0.0, np.inf, 0.05) and breaks_cap(0.1, 0.0, 20.0, np.inf, 0.05)


def _coordinated(extra=(), steps=1) -> CircleModel:
    cfg = load_scenario("scenarios/coordinated.yaml", SMALL + [f"steps={steps}", *extra])
    model = CircleModel(cfg, seed=1, replicate=0)
    for _ in range(steps):
        model.step()
    return model


def test_quarter_one_cities_break_the_cap_only_when_the_gain_beats_the_stake():
    model = _coordinated()
    cfg = model.config
    p = cfg.policies.subsidy_cap.detection_probability_annual
    # the stake is projected from the agreements in force: not zero in quarter 1
    assert model.cities.to_list()[model.world.core].scheme_stake > 0
    for city in model.cities:
        value = p * present_value(city.scheme_stake, np.inf,
                                  cfg.economy.discount_rate_annual)
        if value > city.cap_gain:
            assert not city.cheating, city.name
        assert city.cheating == (city.cap_gain > value), city.name
    # with no chance of being caught the same rule lets every city with a gain break the cap
    free = _coordinated(["policies.subsidy_cap.detection_probability_annual=0"])
    assert any(city.cheating for city in free.cities)
    assert all(city.cheating == (city.cap_gain > 0) for city in free.cities)


def test_out_of_scheme_covers_breakers_and_the_caught():
    class Stub:
        def __init__(self, cheating, detected):
            self.cheating, self.detected = cheating, detected
    assert out_of_scheme(Stub(True, False)) and out_of_scheme(Stub(False, True))
    assert not out_of_scheme(Stub(False, False))


def test_caught_cities_are_uncapped_for_retention_as_well():
    """With a cap of 0 a city in the scheme can sign no subsidy, retention included; a city
    caught earlier (here: Wuhan, marked caught before the first quarter) is out of the scheme for
    its retention offers as for its other offers."""
    cfg = load_scenario("scenarios/coordinated.yaml",
                        SMALL + ["steps=4", "policies.subsidy_cap.cap=0"])
    model = CircleModel(cfg, seed=1, replicate=0)
    core = model.world.core
    model.cities.to_list()[core].detected = True
    model.settings.excluded[core] = True
    for _ in range(cfg.steps):
        model.step()
    res = model.recorder.results(cfg)
    cities = res.cities.assign(out=res.cities.cheating.astype(bool))
    cities["ever_out"] = cities.groupby("city").out.cummax()
    inside = ~cities.ever_out & (cities.city != model.world.cities[core])
    assert (cities.loc[inside, "retention_spent"] == 0).all()
    assert (cities.loc[cities.city == model.world.cities[core], "retention_spent"] > 0).any()
    f = res.fiscal
    wuhan = f[(f.city == model.world.cities[core]) & (f.step >= 1)]
    assert wuhan.caught.all() and not wuhan.breaks_cap.any()


def test_the_fiscal_table_tells_breaking_the_cap_from_being_caught():
    """With no inspections every city breaks the cap from quarter 1 and none is caught (a column
    of "caught" alone would show them all in the scheme); once inspections are certain, every
    breaker is caught at the next quarter's inspection and, out of the scheme, no longer counts
    as breaking a cap that binds it no more."""
    cfg = load_scenario("scenarios/coordinated.yaml", SMALL + [
        "steps=3", "policies.subsidy_cap.detection_probability_annual=0"])
    model = CircleModel(cfg, seed=1, replicate=0)
    for _ in range(2):
        model.step()
    model.config.policies.subsidy_cap.detection_probability_annual = 1.0
    model.step()
    res = model.recorder.results(cfg)
    f = res.fiscal
    assert f.breaks_cap.to_numpy().tolist() == res.cities.cheating.astype(bool).tolist()
    early, last = f[f.step.isin([1, 2])], f[f.step == 3]
    assert early.breaks_cap.all() and not early.caught.any()
    assert last.caught.all() and not last.breaks_cap.any()
    assert not f[f.step == 0][["breaks_cap", "caught"]].any(axis=None)


# ----------------------------------------------------------------------------- money
def test_compensation_is_bounded_by_the_payers_tax_revenue():
    # payers may give at most 25% of 200 and of 40: 50 + 10 = 60 reach the receiver
    out = bounded_by_revenue(np.array([100.0, -80.0, -20.0]), np.array([0.0, 200.0, 40.0]), 0.25)
    assert out.tolist() == pytest.approx([60.0, -50.0, -10.0])
    # within the bound nothing changes
    out = bounded_by_revenue(np.array([30.0, -20.0, -10.0]), np.array([0.0, 200.0, 40.0]), 0.25)
    assert out.tolist() == pytest.approx([30.0, -20.0, -10.0])


def test_fiscal_table_adds_up_to_the_balance():
    res = run_scenario(load_scenario("scenarios/coordinated.yaml", SMALL + ["steps=2"]))
    f, c = res.fiscal, res.cities
    inflows = (f.tax_collected + f.tax_shared_in - f.tax_shared_out + f.land_revenue
               + f.platform_return + f.compensation_received + f.side_payment_received)
    outlays = (f.subsidies + f.retention + f.compensation_paid + f.side_payment_paid
               + f.park_operating_cost + f.park_capital_cost + f.platform_cost + f.promotion_cost)
    assert (inflows - outlays).to_numpy() == pytest.approx(f.balance.to_numpy(), abs=1e-9)
    assert f.balance.to_numpy() == pytest.approx(c.fiscal_balance.to_numpy(), abs=1e-9)
    assert (f.tax_collected + f.tax_shared_in - f.tax_shared_out).to_numpy() == pytest.approx(
        c.tax_revenue.to_numpy(), abs=1e-9)
    by_step = f.groupby("step")
    assert by_step.compensation_paid.sum().to_numpy() == pytest.approx(
        by_step.compensation_received.sum().to_numpy())
    # side payments are booked in both budgets: what payers pay, payees receive
    assert f.side_payment_paid.sum() > 0
    assert by_step.side_payment_paid.sum().to_numpy() == pytest.approx(
        by_step.side_payment_received.sum().to_numpy())
    assert by_step.tax_shared_in.sum().to_numpy() == pytest.approx(
        by_step.tax_shared_out.sum().to_numpy())


# ----------------------------------------------------------------------------- the report
def _batch(values):
    """A stored-batch look-alike: last step 1 of two cities, two replicates per scenario."""
    from types import SimpleNamespace

    import pandas as pd
    rows = []
    for (scenario, replicate, city), (gdp, balance, paid) in values.items():
        rows.append(dict(run=f"{scenario}-{replicate}", scenario=scenario, replicate=replicate,
                         step=1, city=city, gdp_credited=gdp, tax_revenue=100.0, balance=balance,
                         compensation_received=0.0, compensation_paid=paid))
    frame = pd.DataFrame(rows)
    return SimpleNamespace(cities=frame, fiscal=frame, swept_keys=[])


def test_who_pays_flags_a_city_losing_credited_gdp_and_budget():
    from sim.analysis.fiscal import display_table, who_pays
    values = {("homogenised", r, c): (1000.0, 50.0, 0.0)
              for r in (0, 1, 2) for c in ("Wuhan", "Ezhou", "Xiaogan")}
    # Ezhou: credited GDP −10, −12, −11, balance −4, −5, −6, paying 5, 15 and 10 of 100 tax:
    # mean −11 and −5, each with sd 1 and t(2) = 4.303, so both intervals end below zero
    # (−11 + 4.303/√3 = −8.52; −5 + 2.48 = −2.52)
    values.update({("coordinated", 0, "Ezhou"): (990.0, 46.0, 5.0),
                   ("coordinated", 1, "Ezhou"): (988.0, 45.0, 15.0),
                   ("coordinated", 2, "Ezhou"): (989.0, 44.0, 10.0),
                   ("coordinated", 0, "Wuhan"): (1010.0, 40.0, 0.0),
                   ("coordinated", 1, "Wuhan"): (1030.0, 40.0, 0.0),
                   ("coordinated", 2, "Wuhan"): (1020.0, 40.0, 0.0),
                   # Xiaogan: both means below zero, but credited GDP's interval crosses it
                   ("coordinated", 0, "Xiaogan"): (990.0, 45.0, 0.0),
                   ("coordinated", 1, "Xiaogan"): (1004.0, 44.0, 0.0),
                   ("coordinated", 2, "Xiaogan"): (997.0, 46.0, 0.0)})
    table = who_pays(_batch(values), "homogenised")
    ezhou = table[table.city == "Ezhou"].set_index("metric")
    assert ezhou.loc["gdp_credited", "mean"] == pytest.approx(-11.0)
    assert ezhou.loc["balance", "mean"] == pytest.approx(-5.0)
    assert ezhou.loc["gdp_credited", "ci_high"] == pytest.approx(-11 + 4.302653 / 3 ** 0.5)
    assert ezhou["compensation_share"].iloc[0] == pytest.approx(-0.10)
    assert ezhou["defector"].all()
    assert not table[table.city == "Wuhan"]["defector"].any()    # gains GDP, loses budget
    xiaogan = table[table.city == "Xiaogan"].set_index("metric")
    assert (xiaogan["mean"] < 0).all() and not xiaogan["defector"].any()
    shown = display_table(table, "coordinated", "zh")
    assert "可能退出" in shown.to_string() and "鄂州" in shown.to_string()
