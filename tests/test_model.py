"""The model as a whole: determinism, stationarity, the placebo, invariants, each mechanism."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from sim.config import load_scenario
from sim.model import CircleModel, run_scenario
from sim.model.forecast import decider_groups
from sim.model.tables import TABLES
from sim.model.utility import Choosers, utilities
from sim.model.world import build_world
from sim.rules.choice import nested_probabilities

SMALL = ["world.n_units=2000"]
MANDATED = ["policies.agreements_voluntary=false"]   # agreements in force whoever gains
SWITCHES = ["investment_map", "subsidy_cap", "shared_platform", "enclave", "gdp_tax_sharing",
            "park_within_park", "reverse_enclave"]


def priced(model, step=None):
    """The model's state at ``step`` (its own if None), its location terms priced afresh."""
    state = model.state
    return dataclasses.replace(state, step=state.step if step is None else step,
                               terms=state.location_terms())


def tables_equal(a, b):
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


def test_same_seed_same_tables_different_seed_different_units():
    cfg = load_scenario("scenarios/coordinated.yaml", overrides=SMALL)
    tables_equal(run_scenario(cfg, seed=4, steps=3), run_scenario(cfg, seed=4, steps=3))
    a, b = CircleModel(cfg, seed=4), CircleModel(cfg, seed=5)
    assert not np.allclose(a.units.productivity[:100], b.units.productivity[:100])


def test_base_world_is_stationary_over_12_steps_mean_of_10_seeds():
    cfg = load_scenario("scenarios/base.yaml", overrides=[
        "competition.active=false", "steps=12", "economy.growth_rate_annual=0",
        "economy.land_intensity_decline=0", "world.core_land_supply_km2=0"])   # nothing grows
    world = build_world(cfg)
    change = []
    for seed in range(10):
        cities = run_scenario(cfg, seed=seed, world=world).cities
        g = cities.pivot(index="step", columns="city", values="gdp_physical")
        change.append(g.iloc[-1] / g.iloc[0] - 1)
    mean = pd.concat(change, axis=1).mean(axis=1)
    assert mean.abs().max() < 0.02, mean


def test_placebo_every_switch_off_regime_name_changes_nothing():
    off = [f"switches.{s}=false" for s in SWITCHES]
    a = load_scenario("scenarios/homogenised.yaml", overrides=SMALL + off)
    b = load_scenario("scenarios/coordinated.yaml", overrides=SMALL + off)
    assert a.regime != b.regime
    tables_equal(run_scenario(a, seed=2, steps=4), run_scenario(b, seed=2, steps=4))


def test_invariants_land_accounts_and_channels():
    cfg = load_scenario("scenarios/coordinated.yaml", overrides=SMALL + MANDATED)
    r = run_scenario(cfg, seed=1, steps=6)
    assert (r.parks.land_used <= r.parks.land_capacity + 1e-9).all()
    by_step = r.cities.groupby("step")
    np.testing.assert_allclose(by_step.gdp_statistical.sum(), by_step.gdp_physical.sum())
    np.testing.assert_allclose(r.circle.gdp_total, by_step.gdp_physical.sum().to_numpy())
    assert set(r.transfers.channel) <= {"relocation", "enclave", "park_within_park",
                                        "reverse_enclave", "new_investment", "exit"}
    assert {"enclave", "park_within_park", "new_investment"} <= set(r.transfers.channel)
    for name, cols in TABLES.items():
        assert list(getattr(r, name).columns) == list(cols)


def _choice_share(state, kg, host, offer):
    """Expected share of arriving units of ``kg`` choosing the host's parks under an offer."""
    groups, weight = decider_groups(state, np.array([kg]))
    arrivals = groups.current < 0
    state.settings.offers[host, kg] = offer
    u, avail = utilities(state, groups.select(arrivals), state.settings)
    p = nested_probabilities(u, state.parks.city, state.world.n_cities,
                             state.config.economy.nest_parameter, avail)[:, :-1]
    host_parks = state.parks.city == host
    return float((weight[arrivals] @ p[:, host_parks]).sum() / weight[arrivals].sum())


def test_raising_a_hosts_subsidy_raises_the_probability_its_parks_are_chosen():
    cfg = load_scenario("scenarios/homogenised.yaml", overrides=SMALL)
    state = priced(CircleModel(cfg, seed=1))
    kg = 2 * 4 + 2   # chemicals_energy, core
    shares = [_choice_share(state, kg, 7, s) for s in (0.0, 0.05, 0.10)]
    assert shares[0] < shares[1] < shares[2]


def test_enclave_share_lowers_the_sources_retention_offers_to_units_heading_there():
    from sim.model.retention import retention_offers
    rates = {}
    for alpha in (0.0, 0.5):
        cfg = load_scenario(
            "scenarios/homogenised.yaml",
            overrides=SMALL + MANDATED
            + [
                "competition.subsidy_max=0.3",   # most counter-offers below the ceiling
                "switches.enclave=true",
                "switches.gdp_tax_sharing=true",
                "policies.enclave.bargain=false",
                f"policies.enclave.gdp_share_source={alpha}",
                f"policies.enclave.tax_share_source={alpha}",
            ],
        )
        model = CircleModel(cfg, seed=1)
        state = priced(model, step=1)
        leavers = model.units.select(model.units.park == model.world.core)
        enclave = np.flatnonzero(model.parks.kind == 1)[0]
        current = leavers.park.astype(np.int64)
        pick = np.full(len(leavers), enclave)
        who = Choosers(kg=leavers.kg, origin=leavers.origin, home=leavers.home,
                       current=current, stay_subsidy=np.zeros(len(leavers)))
        rates[alpha] = retention_offers(state, who, pick, model.streams["choices"])
    # same units, same draws: Wuhan offers less to keep units that go to its own enclave
    assert rates[0.5].sum() < rates[0.0].sum()
    assert (rates[0.5] <= rates[0.0] + 1e-12).mean() > 0.95


def test_a_land_full_park_rejects():
    entered = {}
    for land in (0.02, 10.0):
        cfg = load_scenario("scenarios/homogenised.yaml", overrides=SMALL + MANDATED + [
            "switches.enclave=true",
            "uncertain={}",   # the base ranges index the bundled agreements
            f"agreements=[{{kind: enclave, source: Wuhan, host: Xiaogan, land_km2: {land}}}]"])
        r = run_scenario(cfg, seed=1, steps=6)
        park = r.parks[r.parks.kind == "enclave"]
        assert (park.land_used <= park.land_capacity + 1e-12).all()
        entered[land] = (r.transfers.channel == "enclave").sum()
    assert entered[0.02] < entered[10.0]


def test_park_within_park_raises_output_per_unit_of_productivity():
    cfg = load_scenario("scenarios/coordinated.yaml", overrides=SMALL)
    model = CircleModel(cfg, seed=1)
    terms = model.state.location_terms()
    pwp = np.flatnonzero(model.parks.kind == 2)[0]
    host = model.parks.city[pwp]
    np.testing.assert_allclose(terms.q[:, pwp], terms.q[:, host] * 1.05)


# Every bundled scenario file runs small (to its last step, positive GDP): checked on the golden
# test's runs (tests/test_golden.py), which run each file at three seeds anyway.


def test_land_rationing_keeps_units_accepted_in_earlier_rounds(monkeypatch):
    """Regression: units accepted in round one must not be rationed again in later rounds."""
    import sim.model.firms as d

    cfg = load_scenario(
        "scenarios/homogenised.yaml", overrides=SMALL + ["competition.active=false"]
    )
    model = CircleModel(cfg, seed=1)
    state = priced(model, step=1)
    n, target = 400, 3
    u = np.full((n, model.parks.n), -5.0)
    u[:, target] = 5.0                      # everyone wants park 3 first, park 4 second
    u[:, 4] = 4.0
    monkeypatch.setattr(d, "utilities", lambda *a, **k: (u.copy(), np.ones_like(u, dtype=bool)))
    need_per_a = np.ones((n, model.parks.n))
    need_per_a[:, 4] = 0.0                  # the second park never fills
    free = model.parks.capacity[target] - state.land_used()[target]
    prod = np.full(n, free / 150.5)          # 150 units fit
    fits = 150
    assert 0 < fits < n
    who = Choosers(kg=np.zeros(n, int), origin=np.zeros(n, int), home=np.zeros(n, int),
                   current=np.full(n, -1), stay_subsidy=np.zeros(n))
    pick = model.firms.choose(state, who, need_per_a, prod)
    assert (pick == target).sum() == fits      # the park fills exactly, nobody accepted is dropped
    assert (pick == 4).sum() > 0.9 * (n - fits)  # the rest choose again, mostly their second park


def test_reverse_enclave_units_are_likelier_to_leave_once_the_rent_subsidy_ends():
    cfg = load_scenario("scenarios/homogenised.yaml", overrides=SMALL + [
        "switches.reverse_enclave=true", "policies.reverse_enclave.rent_subsidy_years=1"])
    model = CircleModel(cfg, seed=1)
    park = np.flatnonzero(model.parks.kind == 3)[0]
    source = model.parks.operator[park]
    kg = np.arange(model.world.n_sectors) * 4        # every sector's rnd segment
    n = len(kg)
    stay = {}
    for step in (3, 4):                               # the subsidy runs until step 4
        state = priced(model, step)
        who = Choosers(kg=kg, origin=np.zeros(n, int), home=np.full(n, source),
                       current=np.full(n, park), stay_subsidy=np.zeros(n))
        u, avail = utilities(state, who, state.settings)
        p = nested_probabilities(u, model.parks.city, model.world.n_cities,
                                 model.config.economy.nest_parameter, avail)
        stay[step] = p[:, park]
    assert (stay[4] < stay[3]).all()


def test_shared_platform_draws_projects_in_from_outside_only_by_its_stated_entry_effect():
    """The platform moves projects between parks; only its ``entry_effect`` (0 by default since
    issue 27: no evidence) moves them between the circle and the rest of the country."""
    outside = {}
    for platform, entry in ((False, 0.1), (True, 0.0), (True, 0.1)):
        cfg = load_scenario("scenarios/homogenised.yaml",
                            overrides=SMALL + [f"switches.shared_platform={platform}",
                                               f"policies.shared_platform.entry_effect={entry}"])
        model = CircleModel(cfg, seed=1)
        state = priced(model)
        groups, weight = decider_groups(state, np.arange(state.kg))
        arrivals = groups.current < 0
        u, avail = utilities(state, groups.select(arrivals), state.settings)
        p = nested_probabilities(u, model.parks.city, model.world.n_cities,
                                 model.config.economy.nest_parameter, avail)
        outside[platform, entry] = float(weight[arrivals] @ p[:, -1] / weight[arrivals].sum())
    assert outside[True, 0.0] == pytest.approx(outside[False, 0.1], rel=1e-9)
    assert outside[True, 0.1] < outside[False, 0.1]


def test_exclusion_from_the_scheme_reaches_new_projects_only():
    # the coordinator's placement stakes recompute only arrivals' utilities for an excluded city
    cfg = load_scenario("scenarios/coordinated.yaml", overrides=SMALL)
    model = CircleModel(cfg, seed=2)
    model.step()
    state = model.state
    groups, _ = decider_groups(state, np.arange(state.kg))
    s = model.settings
    excluded = s.excluded.copy()
    excluded[model.world.core] = True
    alone = type(s)(offers=s.offers, promoted=s.promoted, mapped=s.mapped, platform=s.platform,
                    excluded=excluded)
    (u, avail), (u_alone, avail_alone) = utilities(state, groups, s), utilities(state, groups,
                                                                                alone)
    reviewer = groups.current >= 0
    assert np.array_equal(u[reviewer], u_alone[reviewer])
    assert np.array_equal(avail, avail_alone)
    assert not np.array_equal(u[~reviewer], u_alone[~reviewer])


def test_a_deep_copy_of_the_model_steps_on_its_own_state():
    """The copy's cities, coordinator and firms decide on the copy's state: stepping the copy
    leaves the original as it was, and the original then steps to the copy's offers."""
    import copy

    model = CircleModel(load_scenario("scenarios/coordinated.yaml", ["world.n_units=300"]), seed=1)
    twin = copy.deepcopy(model)
    before = model.settings.offers.copy()
    twin.step()
    assert twin.steps == 1 and model.steps == 0
    np.testing.assert_array_equal(model.settings.offers, before)
    model.step()
    np.testing.assert_array_equal(model.settings.offers, twin.settings.offers)
    tables_equal(model.recorder.results(model.config), twin.recorder.results(twin.config))
