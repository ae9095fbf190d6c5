"""Parameters declared inert under a switch setting really do nothing there (same tables), and
a scenario that sets or sweeps one gets a warning line, not an error."""

from __future__ import annotations

import warnings

import pytest

from sim.config import load_scenario, resolved_dict
from sim.config.inert import INERT, InertWarning, inert_under
from sim.explorer.levers import scenario, with_values
from sim.model import run_scenario
from sim.paths import SCENARIO_DIR

TINY = {"n_units": 300, "steps": 2}


def nudged(config, keys):
    """Each key moved to another valid value (halved, toggled, one more, another list)."""
    data = resolved_dict(config)
    out = {}
    for key in keys:
        value = data
        for part in key.split("."):
            value = value[part]
        if isinstance(value, bool):
            out[key] = not value
        elif key == "policies.agreements.formation":
            out[key] = "voluntary" if value == "proposed" else "proposed"
        elif isinstance(value, list) and all(isinstance(v, float) for v in value):
            out[key] = [0.3, 0.6]                 # a range, e.g. policies.enclave.share_range
        elif isinstance(value, list):
            out[key] = ["rnd", "hq"]
        elif isinstance(value, int):
            out[key] = value + 1
        else:
            out[key] = value * 0.5 if value > 0 else 0.1
    return out


def same_tables(a, b) -> bool:
    return all(x.equals(y) for x, y in zip(a.tables().values(), b.tables().values()))


def test_every_fully_inert_key_under_homogenised_changes_nothing():
    config = scenario("homogenised", **TINY)
    keys = [k for k, entry in inert_under(config).items() if entry.still is None]
    assert {inert_under(config)[k].switch for k in keys} >= {   # all switches are off
        "investment_map", "subsidy_cap", "shared_platform", "enclave", "reverse_enclave",
        "gdp_tax_sharing"}
    # ...but the branches in force in the base year use the park-within-park keys in every
    # scenario, so those are live with the switch off
    assert not any(k.startswith("policies.park_within_park.") for k in keys)
    changed = with_values(config, nudged(config, keys))
    assert same_tables(run_scenario(config, seed=3), run_scenario(changed, seed=3))


def test_sharing_keys_inert_without_gdp_tax_sharing_but_live_with_it():
    keys = [k for e in INERT if e.switch == "gdp_tax_sharing" for k in e.keys]
    off = scenario("coordinated_without_gdp_tax_sharing", **TINY)
    assert set(keys) <= set(inert_under(off))
    assert same_tables(run_scenario(off, seed=3),
                       run_scenario(with_values(off, nudged(off, keys)), seed=3))
    on = scenario("coordinated", **TINY)     # the same nudge matters once sharing is on
    live = [k for k in keys if k not in inert_under(on)]
    assert "policies.enclave.retention_years" in live and "policies.enclave.share_range" in live
    assert not same_tables(run_scenario(on, seed=3),
                           run_scenario(with_values(on, nudged(on, live)), seed=3))


def test_declared_enclave_shares_are_inert_while_bargained_and_live_when_imposed():
    # The README's first example once set policies.enclave.gdp_share_source on coordinated.yaml,
    # where shares are bargained: the tables did not move and nothing said so.
    keys = ["policies.enclave.gdp_share_source", "policies.enclave.tax_share_source"]
    bargained = scenario("coordinated", **TINY)
    assert {inert_under(bargained)[k].switch for k in keys} == {"policies.enclave.bargain"}
    shares = {k: 0.3 for k in keys}
    assert same_tables(run_scenario(bargained, seed=3),
                       run_scenario(with_values(bargained, shares), seed=3))
    imposed = with_values(bargained, {"policies.enclave.bargain": False})
    assert not set(keys) & set(inert_under(imposed))
    assert {"policies.enclave.share_range", "policies.enclave.share_grid_points"} <= set(
        inert_under(imposed))
    assert same_tables(run_scenario(imposed, seed=3), run_scenario(with_values(
        imposed, {"policies.enclave.share_range": [0.3, 0.6],
                  "policies.enclave.share_grid_points": 3}), seed=3))
    assert not same_tables(run_scenario(imposed, seed=3),
                           run_scenario(with_values(imposed, shares), seed=3))


def test_competition_keys_are_inert_while_cities_do_not_compete():
    config = with_values(scenario("coordinated", **TINY), {"competition.active": False})
    keys = [k for k, e in inert_under(config).items() if e.switch == "competition.active"]
    assert "competition.damping" in keys and "policies.subsidy_cap.cap" in keys
    assert same_tables(run_scenario(config, seed=3),
                       run_scenario(with_values(config, nudged(config, keys)), seed=3))


def test_an_agreements_own_share_is_inert_when_its_policy_default_is(tmp_path):
    path = tmp_path / "own.yaml"
    enclave = next(i for i, a in enumerate(scenario("coordinated").agreements)
                   if a.kind == "enclave")
    path.write_text(f"extends: {SCENARIO_DIR / 'coordinated.yaml'}\nname: own\n")
    with pytest.warns(InertWarning) as caught:
        load_scenario(path, [f"agreements.{enclave}.gdp_share_source=0.3"])
    assert any(f"agreements.{enclave}.gdp_share_source: is set, but has no effect while "
               "policies.enclave.bargain is on" in str(w.message) for w in caught)


def test_homogenisation_under_the_map_is_narrowed_not_inert():
    # The map replaces targets, yet omega still sets the bargaining benchmark, so runs differ,
    # and they differ in the transfers: this is why the entry is not declared fully inert.
    entry = inert_under(scenario("coordinated", **TINY))["competition.homogenisation"]
    assert entry.still is not None and "transfers" in entry.still
    base = scenario("coordinated", n_units=300, steps=1)
    low = run_scenario(with_values(base, {"competition.homogenisation": 0.0}), seed=1).circle
    high = run_scenario(with_values(base, {"competition.homogenisation": 0.9}), seed=1).circle
    assert low["compensation_total"].iloc[-1] != high["compensation_total"].iloc[-1]


def test_loading_warns_for_set_and_swept_inert_keys(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(f"extends: {SCENARIO_DIR / 'homogenised.yaml'}\nname: s\n"
                    "policies: {subsidy_cap: {cap: 0.05}}\n"
                    "sweep: {grid: {policies.shared_platform.attention: [0.5, 1.0]}}\n")
    with pytest.warns(InertWarning) as caught:
        load_scenario(path)
    lines = sorted((str(w.message) for w in caught), key=lambda line: "swept" in line)
    assert lines[0].endswith("s.yaml:3: policies.subsidy_cap.cap: is set, but has no effect "
                             "while switches.subsidy_cap is off: no cap binds, so no city breaks "
                             "it and there is nothing to detect (sim/model/city.py)")
    assert "policies.shared_platform.attention: is swept, but has no effect" in lines[1]
    with warnings.catch_warnings():   # the bundled files set nothing inert of their own
        warnings.simplefilter("error", InertWarning)
        load_scenario(SCENARIO_DIR / "homogenised.yaml")
        load_scenario(SCENARIO_DIR / "sweep_homogenisation.yaml")


def test_validate_prints_a_warning_line_and_exits_0(tmp_path, capsys, monkeypatch):
    from sim.cli import main

    monkeypatch.chdir(SCENARIO_DIR)
    code = main(["validate", "homogenised.yaml", "--set", "policies.investment_map.noise_sd=0.5"])
    out, err = capsys.readouterr()
    assert code == 0 and out.startswith("homogenised.yaml: OK")
    assert err.splitlines() == [
        "warning: --set policies.investment_map.noise_sd=0.5: policies.investment_map.noise_sd: "
        "is set, but has no effect while switches.investment_map is off: no map is drawn, no "
        "transfer bargained and no approval friction charged without it "
        "(sim/model/coordinator.py, sim/model/utility.py)"]
