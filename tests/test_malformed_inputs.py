"""A corpus of malformed inputs: each gives exit 2, exactly one line per problem, no traceback,
and leaves every file outside the tool's own folders as it was.

Scenario files, data folders, overrides and flags are tried as a careless user or an attacker
would; nearly all cases run ``sim validate`` (or a command that must stop before any run) in
process.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from conftest import tree_snapshot

from sim.paths import DATA_DIR

EXT = "extends: tiny.yaml\n"
DATA = EXT + "data_dir: data\n"
LAUGHS = "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9) if p.strip() else ', '.join(['x'] * 9)}]\n"
                 for p, c in zip(" abcdefgh", "abcdefghi"))
FLOW_LAUGHS = "[&a [x, x, x, x, x, x, x, x, x], " + ", ".join(
    f"&{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")) + "]"
UNCERTAIN = EXT + "uncertain:\n  economy.tax_rate: [0.06, 0.09]\n"


def edit(name: str, change: Callable[[pd.DataFrame], pd.DataFrame | None]) -> Callable:
    """A data-folder edit: read ``name`` as text cells, change it, write it back."""
    def apply(folder: Path) -> None:
        frame = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        result = change(frame)
        frame = frame if result is None else result
        frame.to_csv(folder / name, index=False)
    return apply


def cell(name: str, row: int, column: str, value: str) -> Callable:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[row, column] = value
        return frame
    return edit(name, change)


def replace_file(name: str, how: str) -> Callable:
    def apply(folder: Path) -> None:
        path = folder / name
        path.unlink()
        if how == "folder":
            path.mkdir()
        elif how == "fifo":
            os.mkfifo(path)
        elif how == "binary":
            path.write_bytes(b"\xff\xfe\x00garbage\x81\x82")
        elif how == "header":
            path.write_text((DATA_DIR / name).read_text().splitlines()[0] + "\n")
    return apply


def drop_row(name: str, row: int) -> Callable:
    return edit(name, lambda f: f.drop(index=row))


def both(*edits: Callable) -> Callable:
    def apply(folder: Path) -> None:
        for one in edits:
            one(folder)
    return apply


def fifo_scenario(folder: Path) -> None:
    os.mkfifo(folder / "bad.yaml")


def self_link(folder: Path) -> None:
    (folder / "bad.yaml").symlink_to("bad.yaml")


def long_chain(folder: Path) -> None:
    for i in range(30):
        (folder / f"c{i}.yaml").write_text(f"extends: c{i + 1}.yaml\n" if i < 29 else EXT)
    (folder / "bad.yaml").write_text("extends: c0.yaml\n")


def extends_fifo(folder: Path) -> None:
    os.mkfifo(folder / "pipe.yaml")
    (folder / "bad.yaml").write_text("extends: pipe.yaml\n")


def data_is_file(folder: Path) -> None:
    shutil.rmtree(folder)
    folder.write_text("not a folder\n")


def data_case(case: str, setup: Callable, n_lines: int, needle: str) -> tuple:
    """A case that edits a copy of the bundled data folder read by ``data_dir: data``."""
    return (case, {"bad.yaml": DATA}, setup, None, n_lines, needle)


def data_cell(case: str, name: str, row: int, column: str, value: str, needle: str) -> tuple:
    """A data case that changes one cell of ``name`` and expects one line."""
    return data_case(case, cell(name, row, column, value), 1, needle)


# (id, scenario files, data-folder edit, argv, lines on stderr, text of the first line)
CASES = [
    # ---- YAML and files
    ("billion_laughs", {"bad.yaml": LAUGHS}, None, None, 1, "aliases expand to more than"),
    ("recursive_alias", {"bad.yaml": "a: &a [*a]\n"}, None, None, 1, "recursive document"),
    (
        "deep_flow_nesting",
        {"bad.yaml": "a: " + "[" * 5000 + "]" * 5000 + "\n"},
        None,
        None,
        1,
        "nesting deeper than 40",
    ),
    (
        "nesting_41",
        {"bad.yaml": "a: " + "{b: " * 41 + "1" + "}" * 41 + "\n"},
        None,
        None,
        1,
        "nesting deeper than 40",
    ),
    (
        "deep_block_nesting",
        {"bad.yaml": "".join(" " * i + f"k{i}:\n" for i in range(60)) + " " * 60 + "v\n"},
        None,
        None,
        1,
        "nesting deeper than 40",
    ),
    ("self_symlink", {}, self_link, None, 1, "cannot read the file"),
    ("fifo_scenario", {}, fifo_scenario, None, 1, "expected a regular file"),
    ("dev_zero", {}, None, ["validate", "/dev/zero"], 1, "expected a regular file"),
    ("folder_scenario", {}, lambda f: (f / "bad.yaml").mkdir(), None, 1, "got a folder"),
    ("extends_chain_31", {}, long_chain, None, 1, "extends: expected a chain of at most 16"),
    ("extends_fifo", {}, extends_fifo, None, 1, "expected a regular file"),
    (
        "huge_file",
        {"bad.yaml": EXT + "#" * (1 << 20) + "\n"},
        None,
        None,
        1,
        "expected a file of at most 1,048,576 bytes",
    ),
    (
        "not_utf8",
        {},
        lambda f: (f / "bad.yaml").write_bytes(b"name: \xff\xfe\n"),
        None,
        1,
        "cannot read the file",
    ),
    ("extends_self", {"bad.yaml": "extends: bad.yaml\n"}, None, None, 1, "extends cycle"),
    (
        "extends_folder",
        {"bad.yaml": "extends: sub\n"},
        lambda f: (f / "sub").mkdir(),
        None,
        1,
        "expected a regular file",
    ),
    (
        "set_overlong",
        {},
        None,
        ["validate", "tiny.yaml", "--set", "name=" + "x" * 3000],
        1,
        "expected at most 2,000 characters",
    ),
    (
        "set_laughs",
        {},
        None,
        ["validate", "tiny.yaml", "--set", "world.n_units=" + FLOW_LAUGHS],
        1,
        "world.n_units: expected an integer",
    ),
    # ---- values: non-finite, absurd, cross-field
    (
        "core_city_atlantis",
        {"bad.yaml": EXT + "world: {core_city: Atlantis}\n"},
        None,
        None,
        1,
        "world.core_city: expected a city of",
    ),
    (
        "origin_share_negative",
        {"bad.yaml": EXT + "economy:\n  origin_shares: {wuhan: -0.5, outside: 0.5, local: 1.0}\n"},
        None,
        None,
        1,
        "economy.origin_shares.wuhan: expected a number >= 0",
    ),
    (
        "origin_share_nan",
        {"bad.yaml": EXT + "economy:\n  origin_shares: {wuhan: .nan, outside: 0.5, local: 0.5}\n"},
        None,
        None,
        1,
        "expected a finite number",
    ),
    (
        "talent_elasticity_huge",
        {
            "bad.yaml": EXT + "economy:\n  talent_elasticity: {rnd: 1e6, "
            "hq: 0.3, core: 0.05, supply: 0.05}\n"
        },
        None,
        None,
        1,
        "talent_elasticity.rnd: expected a number <= 3",
    ),
    (
        "talent_elasticity_unknown",
        {
            "bad.yaml": EXT + "economy:\n  talent_elasticity: {rnd: 0.3, "
            "hq: 0.3, core: 0.05, supply: 0.05, x: 1}\n"
        },
        None,
        None,
        1,
        "talent_elasticity.x",
    ),
    (
        "zero_discount_and_exit",
        {"bad.yaml": EXT + "economy: {discount_rate_annual: 0, exit_rate_annual: 0}\n"},
        None,
        None,
        1,
        "a positive sum with",
    ),
    (
        "zero_weights",
        {"bad.yaml": EXT + "economy: {tax_rate: 0}\ncompetition: {promotion_weight_gdp: 0}\n"},
        None,
        None,
        1,
        "competition.promotion_weight_gdp: expected a positive sum",
    ),
    (
        "infeasible_map",
        {"bad.yaml": EXT + "switches: {investment_map: true}\ncompetition: {lead_sectors: 1}\n"},
        None,
        None,
        1,
        "competition.lead_sectors: expected at least 2",
    ),
    (
        "tax_inf",
        {"bad.yaml": EXT + "economy: {tax_rate: .inf}\n"},
        None,
        None,
        1,
        "expected a finite number",
    ),
    (
        "intra_km_1e308",
        {"bad.yaml": EXT + "world: {intra_city_km: 1e308}\n"},
        None,
        None,
        1,
        "world.intra_city_km: expected a number <= 500",
    ),
    (
        "wage_nan",
        {"bad.yaml": EXT + "world: {wage_core_yuan: .nan}\n"},
        None,
        None,
        1,
        "expected a finite number",
    ),
    (
        "outside_share_0999999",
        {"bad.yaml": EXT + "economy: {outside_share_arrivals: 0.999999}\n"},
        None,
        None,
        1,
        "expected a number <= 0.9",
    ),
    (
        "land_km2_1e308",
        {
            "bad.yaml": EXT + "agreements:\n  - {kind: enclave, source: Wuhan, "
            "host: Ezhou, land_km2: 1e308}\n"
        },
        None,
        None,
        1,
        "land_km2",
    ),
    (
        "term_inf",
        {"bad.yaml": EXT + "policies:\n  enclave: {term_years: .inf}\n"},
        None,
        None,
        1,
        "expected a finite number",
    ),
    ("seed_huge", {"bad.yaml": EXT + "seed: 1" + "0" * 30 + "\n"}, None, None, 1, "seed"),
    (
        "three_problems",
        {"bad.yaml": EXT + "steps: -1\nworld: {n_units: 5}\neconomy: {tax_rate: 2}\n"},
        None,
        None,
        3,
        "steps: expected a number >= 0",
    ),
    (
        "two_agreement_problems",
        {
            "bad.yaml": EXT + "agreements:\n  - {kind: enclave, source: "
            "Paris, host: Rome, land_km2: 1}\n"
        },
        None,
        None,
        2,
        "agreements[0].source",
    ),
    # ---- sweeps and uncertain
    (
        "sweep_seed",
        {"bad.yaml": EXT + "sweep: {grid: {seed: [1, 2, 3]}}\n"},
        None,
        None,
        1,
        "'seed' cannot be varied",
    ),
    (
        "sweep_too_big",
        {
            "bad.yaml": EXT
            + "sweep:\n  grid:\n    economy.tax_rate: ["
            + ", ".join(f"0.{i:03d}" for i in range(1, 201))
            + "]\n"
            "    competition.damping: [" + ", ".join(f"0.{i:03d}" for i in range(1, 101)) + "]\n"
        },
        None,
        None,
        1,
        "expected at most 10,000 sweep points",
    ),
    (
        "sweep_value_out_of_range",
        {"bad.yaml": EXT + "sweep: {grid: {economy.tax_rate: [0.05, .inf]}}\n"},
        None,
        None,
        1,
        "finite",
    ),
    (
        "uncertain_beyond_schema",
        {"bad.yaml": EXT + "uncertain:\n  economy.tax_rate: [0.1, 0.9]\n"},
        None,
        None,
        1,
        "uncertain.economy.tax_rate: expected a range the schema accepts (high = 0.9",
    ),
    (
        "reviewer_shares_sum_to_one",
        {"bad.yaml": EXT + "economy: {stay_share_reviewers: 0.9, leave_share_reviewers: 0.1}\n"},
        None,
        None,
        1,
        "stay_share_reviewers + leave_share_reviewers must be below 1",
    ),
    (
        "uncertain_reviewer_shares_together",
        {"bad.yaml": EXT + "uncertain:\n  economy.stay_share_reviewers: [0.7, 0.92]\n"
                           "  economy.leave_share_reviewers: [0.02, 0.1]\n"},
        None,
        None,
        1,
        "expected ranges the schema accepts together (at the high ends "
        "economy.stay_share_reviewers = 0.92, economy.leave_share_reviewers = 0.1",
    ),
    (
        "uncertain_low_above_high",
        {"bad.yaml": EXT + "uncertain:\n  economy.tax_rate: [0.09, 0.06]\n"},
        None,
        None,
        1,
        "expected numbers low < high",
    ),
    (
        "uncertain_unknown_key",
        {"bad.yaml": EXT + "uncertain:\n  economy.tax: [0.1, 0.2]\n"},
        None,
        None,
        1,
        "unknown key 'tax'",
    ),
    (
        "uncertain_bad_dist",
        {
            "bad.yaml": EXT + "uncertain:\n  economy.tax_rate: {low: 0.06, "
            "high: 0.09, dist: cauchy}\n"
        },
        None,
        None,
        1,
        "dist: expected one of",
    ),
    (
        "uncertain_two_bad",
        {
            "bad.yaml": EXT + "uncertain:\n  economy.tax_rate: [0.1, 0.9]\n"
            "  world.detour_factor: [0.5, 2]\n"
        },
        None,
        None,
        2,
        "tax_rate",
    ),
    (
        "uncertain_nan",
        {"bad.yaml": EXT + "uncertain:\n  economy.tax_rate: [.nan, 0.09]\n"},
        None,
        None,
        1,
        "expected numbers low < high",
    ),
    # ---- flags bounded like the schema (nothing runs)
    (
        "set_steps_100000",
        {},
        None,
        ["validate", "tiny.yaml", "--set", "steps=100000"],
        1,
        "steps: expected a number <= 400",
    ),
    (
        "run_steps_100000",
        {},
        None,
        ["run", "tiny.yaml", "--steps", "100000"],
        1,
        "steps: expected a number <= 400",
    ),
    (
        "run_replicate_huge",
        {},
        None,
        ["run", "tiny.yaml", "--replicate", "100000000"],
        1,
        "--replicate: expected an integer <= 100000",
    ),
    (
        "batch_replicates_huge",
        {},
        None,
        ["batch", "tiny.yaml", "--replicates", "100000000", "--out", "b"],
        1,
        "--replicates: expected an integer <=",
    ),
    (
        "batch_workers_huge",
        {},
        None,
        ["batch", "tiny.yaml", "--workers", "100000", "--out", "b"],
        1,
        "--workers: expected an integer <= 256",
    ),
    (
        "batch_seed_negative",
        {},
        None,
        ["batch", "tiny.yaml", "--seed", "-1", "--out", "b"],
        1,
        "--seed: expected an integer >= 0",
    ),
    (
        "batch_same_run_names",
        {"bad.yaml": EXT + "sweep: {grid: {economy.tax_rate: [0.05, '0.05']}}\n"},
        None,
        ["batch", "bad.yaml", "--out", "b", "--quiet"],
        1,
        "expected distinct run names",
    ),
    (
        "batch_name_too_long",
        {"bad.yaml": EXT + "name: " + "n" * 300 + "\n"},
        None,
        ["batch", "bad.yaml", "--out", "b", "--quiet"],
        1,
        "expected a shorter scenario name",
    ),
    (
        "sensitivity_samples_huge",
        {"bad.yaml": UNCERTAIN},
        None,
        ["sensitivity", "bad.yaml", "--method", "morris", "--samples", "1000000000", "--out", "s"],
        1,
        "--samples: expected an integer >= 2 and <= 100,000",
    ),
    # ---- data folders
    data_case(
        "data_dir_is_file", data_is_file, 1, "data_dir: expected a folder holding cities.csv"
    ),
    data_case(
        "cities_csv_is_folder",
        replace_file("cities.csv", "folder"),
        1,
        "cities.csv: expected a regular file",
    ),
    data_case(
        "segments_csv_is_fifo",
        replace_file("segments.csv", "fifo"),
        1,
        "segments.csv: expected a regular file",
    ),
    data_case(
        "cities_binary",
        replace_file("cities.csv", "binary"),
        1,
        "cities.csv: expected a UTF-8 CSV table",
    ),
    data_case(
        "cities_header_only",
        replace_file("cities.csv", "header"),
        1,
        "cities.csv: expected at least one row",
    ),
    data_case(
        "hotness_missing_file",
        lambda f: (f / "sector_hotness.csv").unlink(),
        1,
        "sector_hotness.csv: expected this data file (missing)",
    ),
    data_case(
        "duplicated_ezhou",
        edit("cities.csv", lambda f: pd.concat([f, f[f["city"] == "Ezhou"]], ignore_index=True)),
        1,
        "cities.csv: city row 11: expected unique values (got 'Ezhou' again, as on row 4)",
    ),
    data_cell(
        "hotness_nan",
        "sector_hotness.csv",
        0,
        "hotness",
        "nan",
        "sector_hotness.csv: hotness row 2: expected a finite number",
    ),
    data_cell(
        "land_per_output_negative",
        "segments.csv",
        0,
        "land_per_output_km2",
        "-0.01",
        "land_per_output_km2 row 2: expected a number > 0",
    ),
    data_case(
        "cities_missing_column",
        edit("cities.csv", lambda f: f.drop(columns=["gdp_2021"])),
        1,
        "expected the column(s) gdp_2021",
    ),
    data_cell(
        "population_text",
        "cities.csv",
        2,
        "population",
        "many",
        "population row 4: expected a finite number written with digits and a point (got 'many')",
    ),
    data_cell(
        "lon_500", "cities.csv", 1, "lon", "500", "lon row 3: expected a number >= -180 and <= 180"
    ),
    data_cell(
        "gdp_inf", "cities.csv", 0, "gdp_2021", "inf", "gdp_2021 row 2: expected a finite number"
    ),
    data_cell(
        "gdp_1e308",
        "cities.csv",
        0,
        "gdp_2021",
        "1e308",
        "gdp_2021 row 2: expected a number > 0 and <= 1e+08",
    ),
    data_cell("empty_city_name", "cities.csv", 3, "city", " ", "city row 5: expected a value"),
    data_case(
        "weights_missing_city",
        drop_row("sector_weights.csv", 8),
        1,
        "sector_weights.csv: city: expected a row for every city of cities.csv (missing Tianmen)",
    ),
    data_case(
        "weights_unknown_city", cell("sector_weights.csv", 8, "city", "Paris"), 2, "missing Tianmen"
    ),
    data_case(
        "weights_missing_sector",
        edit("sector_weights.csv", lambda f: f.drop(columns=["health"])),
        1,
        "expected a column per default sector (missing health)",
    ),
    data_cell(
        "weights_negative",
        "sector_weights.csv",
        1,
        "health",
        "-2",
        "health row 3: expected a number >= 0",
    ),
    data_case(
        "weights_no_manufacturing",
        edit(
            "sector_weights.csv",
            lambda f: f.assign(
                **{
                    c: "0"
                    for c in [
                        "it_optoelectronics",
                        "automotive",
                        "chemicals_energy",
                        "health",
                        "agrifood",
                        "equipment",
                        "materials",
                        "environmental",
                        "textiles",
                        "building_materials",
                        "metallurgy",
                    ]
                }
            ),
        ),
        9,
        "expected a positive total weight over the manufacturing sectors",
    ),
    data_cell(
        "sector_bad_group",
        "sectors.csv",
        0,
        "group",
        "mining",
        "group row 2: expected one of manufacturing, services",
    ),
    data_case(
        "sectors_no_services",
        edit(
            "sectors.csv",
            lambda f: f.assign(default=f["default"].where(f["group"] != "services", "no")),
        ),
        1,
        "expected default (yes) sectors in both groups",
    ),
    data_case(
        "sector_code_twice",
        edit("sectors.csv", lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True)),
        1,
        "sectors.csv: code row",
    ),
    data_case(
        "hotness_missing_sector",
        drop_row("sector_hotness.csv", 0),
        1,
        "expected a row per default sector (missing it_optoelectronics)",
    ),
    data_case(
        "segments_missing_row",
        drop_row("segments.csv", 5),
        1,
        "expected a row for each of services/hq",
    ),
    data_cell(
        "labour_share_15",
        "segments.csv",
        2,
        "labour_cost_share",
        "1.5",
        "labour_cost_share row 4: expected a number >= 0 and <= 1",
    ),
    data_cell(
        "link_unknown_segment",
        "segment_links.csv",
        0,
        "linked_segment",
        "design",
        "linked_segment row 2: expected one of rnd, hq, core, supply",
    ),
    data_cell(
        "structure_unknown_city",
        "structure.csv",
        0,
        "city",
        "Atlantis",
        "structure.csv: city row 2: expected a city of cities.csv",
    ),
    data_cell(
        "structure_pct_150",
        "structure.csv",
        0,
        "primary_pct",
        "150",
        "primary_pct row 2: expected a number >= 0 and <= 100",
    ),
    data_case(
        "two_data_problems",
        both(
            cell("sector_hotness.csv", 0, "hotness", "nan"),
            cell("segments.csv", 0, "land_per_output_km2", "-1"),
        ),
        2,
        "land_per_output_km2",
    ),
    data_case(
        "data_core_city_renamed", cell("cities.csv", 0, "city", "Wuhan2"), 3, "missing Wuhan"
    ),
]


@pytest.mark.parametrize("files, setup, argv, n_lines, needle", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_malformed_input_gives_one_line_per_problem_and_exit_2(
        scenario_dir: Path, cli, files: dict, setup, argv, n_lines: int, needle: str) -> None:
    target = scenario_dir
    if "data_dir: data" in "".join(files.values()):  # setup edits a copy of the bundled data
        target = Path(shutil.copytree(DATA_DIR, scenario_dir / "data"))
    for name, text in files.items():
        (scenario_dir / name).write_text(text)
    if setup is not None:
        setup(target)
    before = tree_snapshot(scenario_dir)
    code, _, err = cli(*(argv or ["validate", "bad.yaml"]))
    assert code == 2, err
    assert len(err) == n_lines, err
    assert needle in err[0], err
    assert all(line.startswith("error: ") for line in err), err
    assert "Traceback" not in "\n".join(err)
    assert tree_snapshot(scenario_dir) == before, "a malformed input changed files"


def test_corpus_size() -> None:
    assert len(CASES) >= 60
