"""Every malformed scenario, override or option gives one clear line naming file, key and need."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sim.config import ConfigError, expand_runs, load_scenario

AGREEMENT = "agreements:\n  - {kind: enclave, source: Wuhan, host: Ezhou, land_km2: 5%s}\n"
EXT = "extends: tiny.yaml\n"

# (case id, {file: text}, file to load, --set overrides, the exact message)
CASES = [
    ("yaml_syntax", {"bad.yaml": "name: x\nworld:\n  n_units: [1, 2\nsteps: 3\n"}, "bad.yaml", [],
     "bad.yaml:4: invalid YAML: " + ("did not find expected ',' or ']'" if yaml.__with_libyaml__
                                     else "expected ',' or ']', but got ':'")),
    ("unknown_key", {"bad.yaml": EXT + "wrld:\n  n_units: 3000\n"}, "bad.yaml", [],
     "bad.yaml:2: wrld: unknown key 'wrld' (did you mean 'world'?)"),
    ("unknown_nested_key", {"bad.yaml": EXT + "policies:\n  enclave:\n    gdp_share: 0.3\n"},
     "bad.yaml", [], "bad.yaml:4: policies.enclave.gdp_share: unknown key 'gdp_share' in "
     "'policies.enclave' (did you mean 'gdp_share_source'?)"),
    ("wrong_type", {"bad.yaml": EXT + "world:\n  n_units: many\n"}, "bad.yaml", [],
     "bad.yaml:3: world.n_units: expected an integer (got 'many')"),
    ("wrong_bool", {"bad.yaml": EXT + "switches:\n  enclave: maybe\n"}, "bad.yaml", [],
     "bad.yaml:3: switches.enclave: expected true or false (got 'maybe')"),
    ("share_above_one", {"bad.yaml": EXT + "policies:\n  enclave:\n    gdp_share_source: 1.5\n"},
     "bad.yaml", [], "bad.yaml:4: policies.enclave.gdp_share_source: expected a number <= 1 "
     "(got 1.5)"),
    ("negative_land", {"bad.yaml": EXT + AGREEMENT.replace("land_km2: 5", "land_km2: -3") % ""},
     "bad.yaml", [], "bad.yaml:3: agreements[0].land_km2: expected a number > 0 (got -3)"),
    ("unknown_agreement_kind", {"bad.yaml": EXT + AGREEMENT.replace("enclave,", "enclve,") % ""},
     "bad.yaml", [], "bad.yaml:3: agreements[0].kind: expected one of 'enclave', "
     "'park_within_park' or 'reverse_enclave' (got 'enclve')"),
    ("same_source_host", {"bad.yaml": EXT + AGREEMENT.replace("Ezhou", "Wuhan") % ""}, "bad.yaml",
     [], "bad.yaml:3: agreements[0]: source and host are the same city (Wuhan)"),
    ("overlapping_terms", {"bad.yaml": EXT + AGREEMENT % "" + "  - {kind: enclave, source: "
                           "Wuhan, host: Ezhou, land_km2: 2, start_step: 8}\n"}, "bad.yaml", [],
     "bad.yaml: agreements[0] and agreements[1] (enclave Wuhan->Ezhou) overlap in time: the "
     "second starts at year 2, before the first ends at 10"),
    ("origin_shares_sum", {"bad.yaml": EXT + "economy:\n  origin_shares: {wuhan: 0.5, "
                           "outside: 0.3, local: 0.1}\n"}, "bad.yaml", [],
     "bad.yaml:2: economy: origin_shares must sum to 1, got 0.9"),
    ("zero_replicates", {"bad.yaml": EXT + "replicates: 0\n"}, "bad.yaml", [],
     "bad.yaml:2: replicates: expected a number >= 1 (got 0)"),
    ("empty_file", {"bad.yaml": "# nothing here\n"}, "bad.yaml", [],
     "bad.yaml: the file is empty (expected a mapping of scenario keys)"),
    ("not_a_mapping", {"bad.yaml": "- name: x\n"}, "bad.yaml", [],
     "bad.yaml:1: expected a mapping of scenario keys (got list [{\"name\": \"x\"}])"),
    ("duplicate_keys", {"bad.yaml": EXT + "steps: 3\nname: a\nsteps: 4\n"}, "bad.yaml", [],
     "bad.yaml:4: invalid YAML: duplicate key 'steps' (first given on line 2)"),
    ("missing_file", {}, "nowhere.yaml", [], "nowhere.yaml: file not found"),
    ("extends_missing", {"bad.yaml": "extends: base_typo.yaml\nsteps: 3\n"}, "bad.yaml", [],
     "bad.yaml:1: extends: file not found (got 'base_typo.yaml', looked for base_typo.yaml)"),
    ("extends_cycle", {"a.yaml": "extends: b.yaml\n", "b.yaml": "extends: c.yaml\n",
                       "c.yaml": "extends: a.yaml\n"}, "a.yaml", [],
     "c.yaml:1: extends: extends cycle (a.yaml -> b.yaml -> c.yaml -> a.yaml)"),
    ("error_in_parent_names_parent", {"mid.yaml": EXT + "steps: -1\n",
                                      "bad.yaml": "extends: mid.yaml\nname: leaf\n"},
     "bad.yaml", [], "mid.yaml:2: steps: expected a number >= 0 (got -1)"),
    ("unknown_city", {"bad.yaml": EXT + AGREEMENT.replace("Ezhou", "Ezhuo") % ""}, "bad.yaml", [],
     "bad.yaml:3: agreements[0].host: expected a city of {data}/cities.csv (Wuhan, Huangshi, "
     "Ezhou, Xiaogan, Huanggang, Xianning, Xiantao, Qianjiang, Tianmen) (got 'Ezhuo')"),
    ("unknown_sector", {"bad.yaml": EXT + AGREEMENT % ", sectors: [automotive, spaceships]"},
     "bad.yaml", [], "bad.yaml:3: agreements[0].sectors[1]: expected a sector code of "
     "{data}/sectors.csv ({sectors}) (got 'spaceships')"),
    ("missing_data_dir", {"bad.yaml": EXT + "data_dir: no_such_folder\n"}, "bad.yaml", [],
     "bad.yaml:2: data_dir: expected a folder holding cities.csv (got no_such_folder)"),
    ("sweep_unknown_key", {"bad.yaml": EXT + "sweep:\n  grid:\n    competition.homogenization: "
                           "[0, 1]\n"}, "bad.yaml", [],
     "bad.yaml:4: sweep.grid.competition.homogenization: expected a dotted key of the scenario "
     "schema: unknown key 'homogenization' in 'competition' (did you mean 'homogenisation'?)"),
    ("sweep_not_varied_key", {"bad.yaml": EXT + "sweep:\n  grid:\n    name: [a, b]\n"}, "bad.yaml",
     [], "bad.yaml:4: sweep.grid.name: expected a dotted key of the scenario schema: 'name' "
     "cannot be varied"),
    ("sweep_bad_block", {"bad.yaml": EXT + "sweep:\n  product:\n    steps: [1, 2]\n"}, "bad.yaml",
     [], "bad.yaml:2: sweep: expected 'grid:' and/or 'zip:' mappings of dotted key to a list of "
         "values (got unknown key(s) product)"),
    ("sweep_not_a_list", {"bad.yaml": EXT + "sweep:\n  grid:\n    steps: 4\n"}, "bad.yaml", [],
     "bad.yaml:4: sweep.grid.steps: expected a non-empty list of values (got 4)"),
    ("zip_lengths_differ", {"bad.yaml": EXT + "sweep:\n  zip:\n    policies.enclave."
                            "gdp_share_source: [0, 1]\n    policies.enclave.tax_share_source: "
                            "[0, 0.5, 1]\n"}, "bad.yaml", [],
     "bad.yaml:3: sweep.zip: expected lists of equal length (policies.enclave.gdp_share_source "
     "has 2, policies.enclave.tax_share_source has 3)"),
    ("uncertain_unknown_key", {"bad.yaml": EXT + "uncertain:\n  economy.taxrate: [0.06, 0.09]\n"},
     "bad.yaml", [], "bad.yaml:3: uncertain.economy.taxrate: expected a dotted key of the "
     "scenario schema: unknown key 'taxrate' in 'economy' (did you mean 'tax_rate'?)"),
    ("set_without_equals", {}, "tiny.yaml", ["world.n_units"],
     "--set world.n_units: expected key.path=value"),
    ("set_unknown_key", {}, "tiny.yaml", ["policies.enclave.gdp_shares=0.3"],
     "--set policies.enclave.gdp_shares=0.3: unknown key 'gdp_shares' in 'policies.enclave' "
     "(did you mean 'gdp_share_source'?)"),
    ("set_below_scalar", {}, "tiny.yaml", ["steps.first=3"],
     "--set steps.first=3: 'steps' is a value, not a mapping (no key 'first')"),
    ("set_wrong_type", {}, "tiny.yaml", ["world.n_units=abc"],
     "--set world.n_units=abc: world.n_units: expected an integer (got 'abc')"),
]


@pytest.mark.parametrize("files, entry, overrides, expected",
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_scenario_gives_one_exact_line(scenario_dir: Path, files: dict, entry: str,
                                           overrides: list, expected: str) -> None:
    for name, text in files.items():
        (scenario_dir / name).write_text(text)
    data = Path(__file__).resolve().parent.parent / "sim" / "data"
    sectors = [line.split(",")[0] for line in (data / "sectors.csv").read_text().splitlines()[1:]
               if line.rstrip().endswith(",yes")]
    expected = expected.replace("{data}", str(data)).replace("{sectors}", ", ".join(sectors))
    with pytest.raises(ConfigError) as caught:
        load_scenario(entry, overrides)
    assert str(caught.value) == expected
    assert "\n" not in str(caught.value)


def test_sweep_point_out_of_range_names_the_swept_line_and_the_point(scenario_dir: Path) -> None:
    (scenario_dir / "bad.yaml").write_text(
        EXT + "sweep:\n  grid:\n    policies.enclave.gdp_share_source: [0.5, 1.2]\n")
    with pytest.raises(ConfigError, match=r"^bad\.yaml:4 \(sweep point policies\.enclave\."
                       r"gdp_share_source=1\.2\): policies\.enclave\.gdp_share_source: "
                       r"expected a number <= 1 \(got 1\.2\)$"):
        expand_runs(["bad.yaml"])


@pytest.mark.parametrize("kwargs, expected", [
    ({"replicates": 0}, "--replicates: expected an integer >= 1 (got 0)"),
    ({"seed": -4}, "--seed: expected an integer >= 0 (got -4)"),
])
def test_bad_batch_options(scenario_dir: Path, kwargs: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        expand_runs(["tiny.yaml"], **kwargs)
    assert str(caught.value) == expected


def test_two_scenarios_with_one_name_are_refused(scenario_dir: Path) -> None:
    (scenario_dir / "other.yaml").write_text((scenario_dir / "tiny.yaml").read_text())
    with pytest.raises(ConfigError) as caught:
        expand_runs(["tiny.yaml", "other.yaml"])
    assert str(caught.value) == ("other.yaml: name: expected a scenario name not used by another "
                                 "file of the batch (tiny.yaml) (got 'tiny')")


def _sim(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize("args, expected", [
    (["validate", "tiny.yaml", "bad.yaml"], "error: bad.yaml:2: world.n_units: expected an integer "
     "(got 'lots')"),
    (["run", "tiny.yaml", "--set", "world.nunits=3"],
     "error: --set world.nunits=3: unknown key 'nunits' in 'world' (did you mean 'n_units'?)"),
    (["batch", "tiny.yaml", "--out", "taken"], "error: taken: output folder exists and is not "
     "empty (use --resume to continue that batch or choose another --out)"),
    (["batch", "tiny.yaml", "--workers", "two"], "sim batch: error: argument --workers: invalid "
     "int value: 'two'"),
])
def test_cli_user_errors_exit_2_without_traceback(scenario_dir: Path, args: list[str],
                                                 expected: str) -> None:
    (scenario_dir / "bad.yaml").write_text("extends: tiny.yaml\nworld: {n_units: lots}\n")
    (scenario_dir / "taken").mkdir()
    (scenario_dir / "taken" / "keep.txt").write_text("earlier results")
    done = _sim(args, scenario_dir)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == expected
    assert (scenario_dir / "taken" / "keep.txt").read_text() == "earlier results"
