"""Scenario files: extends chains, overrides, data folders, sweeps and run names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from sim.config import ScenarioConfig, expand_runs, load_scenario, resolved_dict
from sim.config.loader import schema_key_error
from sim.config.sweeps import point_label
from sim.paths import DATA_DIR

CHILD = """\
extends: tiny.yaml
name: child
world:
  detour_factor: 1.5
agreements:
  - {kind: reverse_enclave, source: Xiaogan, host: Wuhan, land_km2: 0.2}
"""


def test_child_deep_merges_mappings_and_replaces_lists(scenario_dir: Path) -> None:
    (scenario_dir / "child.yaml").write_text(CHILD)
    config = load_scenario("child.yaml")
    assert config.name == "child"
    assert (config.world.n_units, config.world.detour_factor) == (2000, 1.5)  # merged
    assert config.steps == 2  # inherited
    assert [(a.kind, a.source) for a in config.agreements] == [("reverse_enclave", "Xiaogan")]


def test_extends_is_relative_to_the_file_not_the_working_folder(scenario_dir: Path,
                                                                 monkeypatch) -> None:
    (scenario_dir / "sub").mkdir()
    (scenario_dir / "sub" / "child.yaml").write_text(CHILD.replace("tiny.yaml", "../tiny.yaml"))
    monkeypatch.chdir(scenario_dir / "sub")
    assert load_scenario("child.yaml").world.n_units == 2000


def test_extends_a_bare_name_is_the_bundled_scenario_unless_a_file_beside_has_it(
        scenario_dir: Path, cli) -> None:
    """``extends: homogenised`` resolves as ``sim batch homogenised`` does: a file of that
    name beside the extending file wins, else the bundled scenario; neither is one line."""
    from sim.config.loader import ConfigError
    from sim.paths import SCENARIO_DIR

    bundled = load_scenario(SCENARIO_DIR / "homogenised.yaml")
    (scenario_dir / "child.yaml").write_text("extends: homogenised\nname: child\nsteps: 3\n")
    config = load_scenario("child.yaml")
    assert (config.name, config.steps, config.regime) == ("child", 3, bundled.regime)
    assert resolved_dict(config) == {**resolved_dict(bundled), "name": "child", "steps": 3}
    (scenario_dir / "homogenised").write_text("extends: tiny.yaml\nregime: coordinated\n")
    beside = load_scenario("child.yaml")
    assert (beside.world.n_units, beside.regime) == (2000, "coordinated") != (
        bundled.world.n_units, bundled.regime)
    (scenario_dir / "child.yaml").write_text("extends: nowhere_such\n")
    with pytest.raises(ConfigError, match=r"^child.yaml:1: extends: file not found \(got "
                       r"'nowhere_such', looked for nowhere_such\), and not a bundled scenario "
                       r"name \(one of .*homogenised"):
        load_scenario("child.yaml")
    code, out, err = cli("validate", "child.yaml")
    assert code == 2 and len(err) == 1 and "not a bundled scenario name" in err[0]


def test_a_folder_named_like_a_bundled_scenario_does_not_shadow_it(scenario_dir: Path) -> None:
    """An output folder ``coordinated/`` beside a file: ``extends: coordinated`` and the bare
    name on the command line still mean the bundled scenario."""
    from sim.config.loader import scenario_file
    from sim.paths import SCENARIO_DIR

    (scenario_dir / "coordinated").mkdir()
    (scenario_dir / "child.yaml").write_text("extends: coordinated\nname: child\n")
    assert load_scenario("child.yaml").regime == load_scenario(
        SCENARIO_DIR / "coordinated.yaml").regime
    assert scenario_file("coordinated") == SCENARIO_DIR / "coordinated.yaml"
    assert scenario_file("child.yaml") == Path("child.yaml")

def test_overrides_apply_last_and_parse_yaml_scalars(scenario_dir: Path) -> None:
    config = load_scenario("tiny.yaml", ["world.n_units=3000", "switches.enclave=true",
                                         "policies.enclave.gdp_share_source=0.3",
                                         "agreements.0.land_km2=7", "description=a b=c"])
    assert config.world.n_units == 3000
    assert config.switches.enclave is True
    assert config.policies.enclave.gdp_share_source == 0.3
    assert config.agreements[0].land_km2 == 7.0
    assert config.description == "a b=c"


def test_name_defaults_to_the_file_stem(scenario_dir: Path) -> None:
    (scenario_dir / "unnamed.yaml").write_text("steps: 3\n")
    assert load_scenario("unnamed.yaml").name == "unnamed"


def test_data_dir_is_relative_to_the_file_that_sets_it(scenario_dir: Path) -> None:
    assert load_scenario("tiny.yaml").data_dir is None  # the bundled sim/data
    shutil.copytree(DATA_DIR, scenario_dir / "mydata")
    (scenario_dir / "sub").mkdir()
    (scenario_dir / "withdata.yaml").write_text("extends: tiny.yaml\ndata_dir: mydata\n")
    (scenario_dir / "sub" / "leaf.yaml").write_text("extends: ../withdata.yaml\n")
    config = load_scenario("sub/leaf.yaml")
    assert Path(config.data_dir) == (scenario_dir / "mydata").resolve()


def test_resolved_dict_round_trips_through_yaml(scenario_dir: Path) -> None:
    config = load_scenario("tiny.yaml", ["economy.tax_rate=0.08"])
    text = yaml.safe_dump(resolved_dict(config))
    again = ScenarioConfig.model_validate(yaml.safe_load(text))
    assert again == config
    assert again.economy.tax_rate == 0.08


def test_schema_keys() -> None:
    assert schema_key_error("policies.enclave.gdp_share_source") is None
    assert schema_key_error("economy.talent_elasticity.rnd") is None
    assert schema_key_error("agreements.0.land_km2") is None
    assert schema_key_error("economy.origin_shares.abroad") == (
        "unknown key 'abroad' in 'economy.origin_shares' (expected one of: wuhan, outside, local)")


def test_grid_times_zip_times_replicates(scenario_dir: Path) -> None:
    (scenario_dir / "sweep.yaml").write_text(
        "extends: tiny.yaml\nname: sw\nreplicates: 2\nseed: 11\nsweep:\n"
        "  grid:\n    competition.homogenisation: [0.2, 0.8]\n"
        "  zip:\n    policies.enclave.gdp_share_source: [0, 1]\n"
        "    policies.enclave.tax_share_source: [0.1, 0.9]\n")
    runs = expand_runs(["sweep.yaml"])
    assert len(runs) == 2 * 2 * 2
    first = runs[0]
    assert first.name == ("sw/competition.homogenisation=0.2,enclave.gdp_share_source=0,"
                          "enclave.tax_share_source=0.1/r00")
    assert first.sweep == {"competition.homogenisation": 0.2,
                           "policies.enclave.gdp_share_source": 0,
                           "policies.enclave.tax_share_source": 0.1}
    assert (first.seed, first.replicate) == (11, 0)
    assert first.config["policies"]["enclave"]["tax_share_source"] == 0.1
    assert first.config["sweep"] is None
    last = runs[-1]
    assert last.name.endswith("enclave.gdp_share_source=1,enclave.tax_share_source=0.9/r01")
    assert last.config["competition"]["homogenisation"] == 0.8
    assert len({r.name for r in runs}) == len(runs)


def test_cli_replicates_and_seed_override_the_file(scenario_dir: Path) -> None:
    runs = expand_runs(["tiny.yaml"], replicates=12, seed=5)
    assert [r.name for r in runs[:2]] == ["tiny/r00", "tiny/r01"]
    assert runs[-1].name == "tiny/r11"
    assert {r.seed for r in runs} == {5} and {r.config["seed"] for r in runs} == {5}


def test_point_label_uses_the_shortest_unique_suffix() -> None:
    point = {"policies.enclave.gdp_share_source": 0.25,
             "policies.reverse_enclave.gdp_share_source": 1, "switches.enclave": True}
    assert point_label(point) == ("enclave.gdp_share_source=0.25,"
                                  "reverse_enclave.gdp_share_source=1,switches.enclave=true")


def test_bundled_sweeps_expand() -> None:
    folder = Path(__file__).resolve().parent.parent / "scenarios"
    if not (folder / "coordinated.yaml").exists() or not (folder / "homogenised.yaml").exists():
        pytest.skip("coordinated.yaml / homogenised.yaml not in the tree yet")
    share = expand_runs([folder / "sweep_enclave_share.yaml"], replicates=1)
    assert [r.sweep["policies.enclave.tax_share_source"] for r in share] == [0, .25, .5, .75, 1]
    assert all(r.config["switches"]["enclave"] and r.config["switches"]["gdp_tax_sharing"]
               for r in share)
    cap = expand_runs([folder / "sweep_subsidy_cap.yaml"], replicates=1)
    assert [r.config["policies"]["subsidy_cap"]["cap"] for r in cap] == [0, 0.02, 0.05, 0.1]
    omega = expand_runs([folder / "sweep_homogenisation.yaml"], replicates=1)
    assert [r.config["competition"]["homogenisation"] for r in omega] == [0, .25, .5, .75, 1]
