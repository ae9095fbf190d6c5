"""What a process reads once and reuses (parsed scenario files, checked data folders, worlds):
reused only while the files are the same, and never shared in a way one run could change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sim.config import load_scenario
from sim.config.data_schema import check_data_folder
from sim.config.loader import ConfigError
from sim.model.world import build_world

DATA = Path(__file__).resolve().parents[1] / "sim" / "data"


def test_an_edited_scenario_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nsteps: 2\n")
    first = load_scenario(path)
    path.write_text("name: s\nsteps: 3\n")
    assert (first.steps, load_scenario(path).steps) == (2, 3)
    path.write_text("name: s\nsteps: [\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_scenario(path)


def test_a_loaded_scenario_is_its_callers_own(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: s\neconomy:\n"
                    "  origin_shares: {wuhan: 0.25, outside: 0.35, local: 0.4}\n")
    first = load_scenario(path)
    first.economy.origin_shares["wuhan"] = 0.9
    assert load_scenario(path).economy.origin_shares["wuhan"] == 0.25


def test_an_edited_data_folder_is_checked_again(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    shutil.copytree(DATA, folder)
    assert check_data_folder(folder).problems == []
    check_data_folder(folder).problems.append("a caller's own list")
    assert check_data_folder(folder).problems == []
    cities = folder / "cities.csv"
    cities.write_text(cities.read_text().replace("city,", "town,", 1))
    assert check_data_folder(folder).problems


def test_a_process_builds_each_world_once_and_its_arrays_are_read_only() -> None:
    small = ["world.n_units=300"]
    world = build_world(load_scenario("scenarios/homogenised.yaml", small))
    again = load_scenario("scenarios/coordinated.yaml", [*small, "economy.tax_rate=0.08"])
    assert build_world(again) is world
    other = load_scenario("scenarios/homogenised.yaml", [*small, "world.detour_factor=1.4"])
    assert build_world(other) is not world
    with pytest.raises(ValueError):
        world.wage[0] = 2.0
