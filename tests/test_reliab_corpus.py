"""Nothing silent, round two: a corpus of scenario files, sweep points, booleans, schema bounds,
data folders and flags tried as a careless or hostile user would.

Each case runs ``sim`` in process and asserts its exit status, the number of lines it prints on
stderr (one per problem, each ``error: ...``; argparse's own ``sim: error: ...``), the text of the
first, that no traceback is printed, and that no file outside the tool's own output changed.
Cases that must be accepted (valid input once refused) assert exit 0 and their ``OK`` line.
The store, the cluster and the workers are in ``tests/test_reliab_store.py``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from conftest import tree_snapshot
from test_malformed_inputs import cell, edit

from sim.paths import DATA_DIR

EXT = "extends: tiny.yaml\n"
DATA = EXT + "data_dir: data\n"
MAP = EXT + "switches: {investment_map: true}\n"


@dataclasses.dataclass(frozen=True)
class Case:
    """One input and what ``sim`` must answer.

    Attributes:
        files: scenario files written into the working folder (text, or bytes as written).
        setup: a change to the working folder, or with ``data`` to a copy of the bundled data.
        argv: the command (default ``validate bad.yaml``).
        code: the exit status.
        lines: lines on stderr (code 2) .
        needle: text of the first stderr line (code 2) or of stdout (code 0).
        data: the case reads ``data/``, a copy of the bundled data folder.
    """

    files: dict[str, str | bytes] = dataclasses.field(default_factory=dict)
    setup: Callable[[Path], None] | None = None
    argv: tuple[str, ...] = ("validate", "bad.yaml")
    code: int = 2
    lines: int = 1
    needle: str = ""
    data: bool = False


def bad(text: str | bytes, needle: str, lines: int = 1) -> Case:
    return Case(files={"bad.yaml": text}, needle=needle, lines=lines)


def good(text: str, needle: str = "bad.yaml: OK") -> Case:
    return Case(files={"bad.yaml": text}, code=0, needle=needle)


def with_set(*overrides: str, needle: str, code: int = 2, lines: int = 1) -> Case:
    argv = ("validate", "tiny.yaml", *(f"--set={o}" for o in overrides))
    return Case(argv=argv, code=code, needle=needle, lines=lines)


def data_cell(name: str, row: int, column: str, value: str, needle: str, lines: int = 1,
              code: int = 2) -> Case:
    return Case(files={"bad.yaml": DATA}, setup=cell(name, row, column, value), data=True,
                needle=needle if code == 2 else "bad.yaml: OK", lines=lines, code=code)


def data_edit(change: Callable, needle: str, lines: int = 1, code: int = 2) -> Case:
    return Case(files={"bad.yaml": DATA}, setup=change, data=True,
                needle=needle if code == 2 else "bad.yaml: OK", lines=lines, code=code)


def cells(name: str, *changes: tuple[int, str, str]) -> Callable:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        for row, column, value in changes:
            frame.loc[row, column] = value
        return frame
    return edit(name, change)


def add_row(name: str, copy_of: int, **values: str) -> Callable:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        row = frame.iloc[[copy_of]].copy()
        for column, value in values.items():
            row[column] = value
        return pd.concat([frame, row], ignore_index=True)
    return edit(name, change)


def link_loop(folder: Path) -> None:
    (folder / "loop_a.yaml").symlink_to("loop_b.yaml")
    (folder / "loop_b.yaml").symlink_to("loop_a.yaml")


def dangling(folder: Path) -> None:
    (folder / "gone.yaml").symlink_to("nowhere.yaml")


def data_loop(folder: Path) -> None:
    (folder / "dl").symlink_to("dl")


def empty_data(folder: Path) -> None:
    (folder / "empty").mkdir()


def sweep(block: str) -> str:
    return EXT + "sweep:\n  grid:\n" + block


# 101 '[' inside strings and comments, and 45 nested '{' in a comment: none of it is nesting
BRACKETS = EXT + "description: '" + "[" * 101 + "'\nname: x  # " + "{" * 45 + "\n"
MERGE = (EXT + "policies:\n  enclave: {gdp_share_source: 0.4, tax_share_source: 0.4, "
         "park_retained_share: 0.0}\n  reverse_enclave:\n    <<: {gdp_share_source: 0.9}\n"
         "    rent_subsidy: 0.04\n")

CASES: dict[str, Case] = {
    # ---- YAML: control characters, keys, links (each one line with file and line)
    "nul_in_value": bad(EXT + "name: a\x00b\n", "bad.yaml:2: invalid YAML: character U+0000"),
    "esc_in_value": bad(EXT + "name: a\x1bb\n", "bad.yaml:2: invalid YAML: character U+001B"),
    "fffe_in_value": bad(EXT + "name: a\ufffeb\n", "bad.yaml:2: invalid YAML: character U+FFFE"),
    "bel_in_comment": bad(EXT + "# ring \x07\nname: x\n", "bad.yaml:2: invalid YAML: character "
                                                         "U+0007"),
    "del_in_key": bad(EXT + "na\x7fme: x\n", "bad.yaml:2: invalid YAML: character U+007F"),
    "c1_control": bad(EXT + "name: a\x85\x9bb\n", "bad.yaml:2: invalid YAML: character U+009B"),
    "esc_on_line_5": bad(EXT + "steps: 2\nseed: 1\n\nname: \x1b[31mred\n",
                         "bad.yaml:5: invalid YAML: character U+001B"),
    "list_key": bad(EXT + "[a, b]: 1\n", "bad.yaml:2: invalid YAML: expected a plain key (got a "
                                         "list as a key)"),
    "mapping_key": bad(EXT + "{a: 1}: 1\n", "bad.yaml:2: invalid YAML: expected a plain key (got "
                                            "a mapping as a key)"),
    "complex_key": bad(EXT + "? [world]\n: {n_units: 300}\n", "bad.yaml:2: invalid YAML: "
                                                               "expected a plain key"),
    "nested_list_key": bad(EXT + "world:\n  [n_units]: 300\n", "bad.yaml:3: invalid YAML: "
                                                                "expected a plain key"),
    "duplicate_after_merge": bad(EXT + "world: {<<: {n_units: 300}, steps: 1, steps: 2}\n",
                                 "bad.yaml:2: invalid YAML: duplicate key 'steps'"),
    "extends_link_loop": Case(files={"bad.yaml": "extends: loop_a.yaml\n"}, setup=link_loop,
                              needle="bad.yaml:1: extends: cannot read 'loop_a.yaml' (a "
                                     "symbolic-link loop)"),
    "file_is_link_loop": Case(setup=link_loop, argv=("validate", "loop_a.yaml"),
                              needle="loop_a.yaml: cannot read the file"),
    "extends_dangling_link": Case(files={"bad.yaml": "extends: gone.yaml\n"}, setup=dangling,
                                  needle="bad.yaml:1: extends: file not found (got 'gone.yaml'"),
    "extends_name_with_newline": bad('extends: "a\\nb.yaml"\n', "bad.yaml:1: extends: file not "
                                                              "found (got 'a\\nb.yaml'"),
    "unknown_key_with_newline": bad(EXT + '"wor\\nld": 1\n', "bad.yaml:2: wor\\nld: unknown key "
                                                           "'wor\\nld'"),
    "unknown_key_with_tab": bad(EXT + '"step\\ts": 1\n', "unknown key 'step\\ts'"),
    "data_dir_link_loop": Case(files={"bad.yaml": EXT + "data_dir: dl\n"}, setup=data_loop,
                               needle="bad.yaml:2: data_dir: expected a folder holding cities.csv"),
    "data_dir_with_nul_escape": bad(EXT + 'data_dir: "a\\0b"\n',
                                    "bad.yaml:2: data_dir: expected a folder holding cities.csv"),
    "key_is_a_number": bad(EXT + "7: 1\n", "bad.yaml: [7]: keys should be strings (got 7)"),
    "key_is_null": bad(EXT + "~: 1\n", "bad.yaml: None: keys should be strings (got null)"),
    "tab_indentation": bad(EXT + "world:\n\tn_units: 300\n", "bad.yaml:3: invalid YAML"),
    "two_documents": bad(EXT + "---\nsteps: 2\n", "bad.yaml:2: invalid YAML"),
    "anchor_undefined": bad(EXT + "world: *nothing\n", "bad.yaml:2: invalid YAML"),
    "recursive_mapping_alias": bad(EXT + "x: &a {b: *a}\n", "bad.yaml:2: invalid YAML: an alias "
                                                            "refers to a node that contains it"),
    "alias_nests_past_the_limit": bad(EXT + "x: &a " + "[" * 30 + "1" + "]" * 30 + "\ny: "
                                      + "[" * 15 + "*a" + "]" * 15 + "\n",
                                      "invalid YAML: nesting deeper than 40 levels"),
    "block_nesting_41": bad(EXT + "".join(" " * i + f"k{i}:\n" for i in range(41)) + " " * 41
                            + "v\n", "invalid YAML: nesting deeper than 40 levels"),
    "flow_nesting_100000": bad(EXT + "x: " + "[" * 100_000 + "]" * 100_000 + "\n",
                               "bad.yaml:2: invalid YAML: nesting deeper than 40 levels"),
    "compact_sequences_deep": bad(EXT + "x:\n  " + "- " * 2000 + "1\n",
                                  "invalid YAML: nesting deeper than 40 levels"),
    "not_utf8_latin1": bad("name: caf\xe9\n".encode("latin-1"), "bad.yaml: cannot read the file"),
    "utf16_file": bad((EXT + "steps: 2\n").encode("utf-16"), "bad.yaml: cannot read the file"),
    "scalar_document": bad("42\n", "bad.yaml:1: expected a mapping of scenario keys (got int 42)"),
    "list_document": bad("- a\n- b\n", "bad.yaml:1: expected a mapping of scenario keys"),
    "empty_document": bad("", "bad.yaml: the file is empty"),
    "comment_only": bad("# nothing here\n", "bad.yaml: the file is empty"),
    # ---- valid YAML that was refused
    "brackets_in_strings_and_comments": good(BRACKETS),
    "merge_keys": good(MERGE),
    "merge_key_list": good(EXT + "world:\n  <<: [{n_units: 300}, {detour_factor: 1.2}]\n"),
    "aliases_that_add_little": good(EXT + "policies:\n  enclave: {gdp_share_source: &share 0.3, "
                                    "tax_share_source: *share, park_retained_share: 0.0}\n"),
    # ---- sweep points validated like files (the line of the swept key, and the point)
    "sweep_discount_plus_exit_zero": bad(
        EXT + "economy: {exit_rate_annual: 0}\nsweep:\n  grid:\n    "
        "economy.discount_rate_annual: [0.05, 0.0]\n",
        "bad.yaml:5 (sweep point economy.discount_rate_annual=0.0): "
        "economy.discount_rate_annual: expected a positive sum"),
    "sweep_core_city_atlantis": bad(sweep("    world.core_city: [Wuhan, Atlantis]\n"),
                                    "bad.yaml:4 (sweep point world.core_city='Atlantis'): "
                                    "world.core_city: expected a city of"),
    "sweep_agreement_host_atlantis": bad(sweep("    agreements.0.host: [Ezhou, Atlantis]\n"),
                                         "(sweep point agreements.0.host='Atlantis'): "
                                         "agreements[0].host: expected a city of"),
    "sweep_agreement_source_is_host": bad(sweep("    agreements.0.source: [Wuhan, Ezhou]\n"),
                                          "(sweep point agreements.0.source='Ezhou'): "
                                          "agreements[0]: source and host are the same city"),
    "sweep_agreement_sector_unknown": bad(sweep("    agreements.0.sectors: [[automotive], "
                                                "[spaceships]]\n"),
                                          "agreements[0].sectors[0]: expected a sector code of"),
    "sweep_lead_sectors_under_map": bad(MAP + "sweep:\n  grid:\n    competition.lead_sectors: "
                                        "[3, 1]\n", "bad.yaml:5 (sweep point "
                                        "competition.lead_sectors=1): competition.lead_sectors: "
                                        "expected at least 2"),
    "sweep_map_switched_on": bad(EXT + "competition: {lead_sectors: 1}\nsweep:\n  grid:\n    "
                                 "switches.investment_map: [false, true]\n",
                                 "(sweep point switches.investment_map=true): "
                                 "competition.lead_sectors: expected at least 2"),
    "sweep_promotion_plus_tax_zero": bad(EXT + "economy: {tax_rate: 0}\nsweep:\n  grid:\n    "
                                         "competition.promotion_weight_gdp: [1, 0]\n",
                                         "competition.promotion_weight_gdp: expected a positive "
                                         "sum"),
    "sweep_tax_to_zero_with_zero_weight": bad(
        EXT + "competition: {promotion_weight_gdp: 0}\nsweep:\n  zip:\n    economy.tax_rate: "
        "[0.07, 0]\n", "(sweep point economy.tax_rate=0): competition.promotion_weight_gdp"),
    "sweep_data_dir_without_cities": Case(
        files={"bad.yaml": sweep("    data_dir: [data, empty]\n")},
        setup=lambda f: (shutil.copytree(DATA_DIR, f / "data"), empty_data(f)),
        needle="(sweep point data_dir='empty'): data_dir: empty/cities.csv: expected this data "
               "file (missing)", lines=6),
    "sweep_data_dir_missing": bad(sweep("    data_dir: [nowhere]\n"),
                                  "(sweep point data_dir='nowhere'): data_dir: expected a folder"),
    "sweep_agreement_index_past_the_end": bad(sweep("    agreements.3.land_km2: [1, 2]\n"),
                                              "agreements has 1 items (got index 3)"),
    "sweep_overlapping_terms": bad(
        EXT + "agreements:\n  - {kind: enclave, source: Wuhan, host: Ezhou, land_km2: 5}\n"
        "  - {kind: enclave, source: Wuhan, host: Ezhou, land_km2: 5, start_step: 200}\n"
        "sweep:\n  grid:\n    agreements.1.start_step: [200, 4]\n",
        "(sweep point agreements.1.start_step=4): agreements[0] and agreements[1]"),
    "sweep_value_a_mapping": bad(sweep("    economy.tax_rate: [0.05, {a: 1}]\n"),
                                 "economy.tax_rate: expected a number"),
    "sweep_value_a_string": bad(sweep("    world.n_units: [300, many]\n"),
                                "(sweep point world.n_units='many'): world.n_units: expected an "
                                "integer"),
    "sweep_share_range_inverted": bad(EXT + "switches: {enclave: true}\nsweep:\n  grid:\n"
                                      "    policies.enclave.share_range: [[0.2, 0.8], "
                                      "[0.9, 0.1]]\n",
                                      "share_range must satisfy 0 <= low <= high <= 1"),
    "sweep_n_units_below_minimum": bad(sweep("    world.n_units: [300, 50]\n"),
                                       "world.n_units: expected a number >= 100 (got 50)"),
    "sweep_zip_second_point": bad(EXT + "sweep:\n  zip:\n    world.core_city: [Wuhan, Paris]\n"
                                  "    economy.tax_rate: [0.07, 0.08]\n",
                                  "bad.yaml:4 (sweep point world.core_city='Paris', "
                                  "economy.tax_rate=0.08): world.core_city"),
    "sweep_both_grid_and_zip_point": bad(
        EXT + "sweep:\n  grid:\n    economy.tax_rate: [0.07, 0.6]\n  zip:\n    steps: [1]\n",
        "(sweep point economy.tax_rate=0.6, steps=1): economy.tax_rate: expected a number <= 0.5"),
    "sweep_under_a_set_override": Case(
        files={"bad.yaml": sweep("    competition.lead_sectors: [3, 1]\n")},
        argv=("validate", "bad.yaml", "--set", "switches.investment_map=true"),
        needle="(sweep point competition.lead_sectors=1)"),
    "sweep_batch_stops_before_any_run": Case(
        files={"bad.yaml": sweep("    world.core_city: [Wuhan, Atlantis]\n")},
        argv=("batch", "bad.yaml", "--out", "b", "--quiet"),
        needle="(sweep point world.core_city='Atlantis')"),
    "sweep_dry_run_checks_points_too": Case(
        files={"bad.yaml": sweep("    agreements.0.host: [Ezhou, Atlantis]\n")},
        argv=("batch", "bad.yaml", "--out", "b", "--dry-run"),
        needle="(sweep point agreements.0.host='Atlantis')"),
    # ---- booleans are not numbers
    "steps_true": bad(EXT + "steps: true\n", "bad.yaml:2: steps: expected an integer (got true)"),
    "set_steps_true": with_set("steps=true", needle="--set steps=true: steps: expected an "
                                                    "integer (got true)"),
    "run_set_steps_false": Case(argv=("run", "tiny.yaml", "--set", "steps=false"),
                                needle="steps: expected an integer (got false)"),
    "tax_rate_false": bad(EXT + "economy: {tax_rate: false}\n",
                          "economy.tax_rate: expected a number (got false)"),
    "n_units_true": bad(EXT + "world: {n_units: true}\n", "world.n_units: expected an integer"),
    "replicates_true": bad(EXT + "replicates: yes\n", "replicates: expected an integer (got true)"),
    "seed_false": bad(EXT + "seed: off\n", "seed: expected an integer (got false)"),
    "land_km2_true": bad(EXT + "agreements:\n  - {kind: enclave, source: Wuhan, host: Ezhou, "
                         "land_km2: true}\n", "agreements[0].land_km2: expected a number"),
    "optional_term_false": bad(EXT + "agreements:\n  - {kind: enclave, source: Wuhan, host: Ezhou, "
                               "land_km2: 5, term_years: false}\n",
                               "agreements[0].term_years: expected a number (got false)"),
    "talent_elasticity_true": bad(EXT + "economy:\n  talent_elasticity: {rnd: true, hq: 0.3, "
                                  "core: 0.05, supply: 0.05}\n",
                                  "economy.talent_elasticity.rnd: expected a number (got true)"),
    "share_range_true": bad(EXT + "policies:\n  enclave: {share_range: [true, 0.8]}\n",
                            "policies.enclave.share_range[0]: expected a number (got true)"),
    "set_origin_share_true": with_set("economy.origin_shares={wuhan: true, outside: 0.5, "
                                      "local: 0.5}",
                                      needle="economy.origin_shares.wuhan: expected a number"),
    "sweep_steps_true": bad(sweep("    steps: [1, true]\n"),
                            "(sweep point steps=true): steps: expected an integer (got true)"),
    "uncertain_end_true": bad(EXT + "uncertain:\n  economy.tax_rate: [true, 0.09]\n",
                              "uncertain.economy.tax_rate"),
    "uncertain_mode_a_word": bad(EXT + "uncertain:\n  economy.tax_rate: {low: 0.06, high: 0.09, "
                                "dist: triangular, mode: abc}\n",
                                "bad.yaml:3: uncertain.economy.tax_rate.mode: expected a number "
                                "in [low, high] for a triangular distribution (got 'abc'"),
    "uncertain_mode_true": bad(EXT + "uncertain:\n  economy.tax_rate: {low: 0, high: 0.09, "
                               "dist: triangular, mode: true}\n",
                               "uncertain.economy.tax_rate.mode: expected a number"),
    "switch_as_word_is_fine": good(EXT + "switches: {enclave: yes}\n"),
    # ---- schema bounds the model honours: refused with a reason
    "intra_city_km_zero": bad(EXT + "world: {intra_city_km: 0}\n",
                              "world.intra_city_km: expected a number >= 1 (got 0)"),
    "wage_999_yuan": bad(EXT + "world: {wage_core_yuan: 999}\n",
                         "world.wage_core_yuan: expected a number >= 1000"),
    "utilisation_core_tiny": bad(EXT + "world: {utilisation_core: 0.005}\n",
                                 "world.utilisation_core: expected a number >= 0.01"),
    "utilisation_ring_zero": bad(EXT + "world: {utilisation_ring: 0}\n",
                                 "world.utilisation_ring: expected a number >= 0.01"),
    "core_land_stock_subnormal": bad(EXT + "world: {core_land_stock_km2: 5.0e-324}\n",
                                     "world.core_land_stock_km2: expected a number >= 1"),
    "core_land_stock_subnormal_in_a_run": Case(
        argv=("run", "tiny.yaml", "--set=world.core_land_stock_km2=5e-324", "--out=out"),
        needle="--set world.core_land_stock_km2=5e-324: world.core_land_stock_km2: expected a "
               "number >= 1"),
    "outside_share_subnormal": bad(EXT + "economy: {outside_share_arrivals: 5.0e-324}\n",
                                   "economy.outside_share_arrivals: expected a number >= 0.001"),
    "leave_share_zero": bad(EXT + "economy: {leave_share_reviewers: 0}\n",
                            "economy.leave_share_reviewers: expected a number >= 0.001"),
    "nest_parameter_tiny": bad(EXT + "economy: {nest_parameter: 0.005}\n",
                               "economy.nest_parameter: expected a number >= 0.01"),
    "attention_base_tiny": bad(EXT + "economy: {attention_base: 1.0e-4}\n",
                               "economy.attention_base: expected a number >= 0.001"),
    "growth_below_minus_half": bad(EXT + "economy: {growth_rate_annual: -0.6}\n",
                                   "economy.growth_rate_annual: expected a number >= -0.5"),
    "uncertain_range_below_new_bound": bad(EXT + "uncertain:\n  economy.nest_parameter: "
                                           "[0.001, 0.5]\n",
                                           "uncertain.economy.nest_parameter: expected a range "
                                           "the schema accepts (low = 0.001"),
    "negative_growth_is_valid": good(EXT + "economy: {growth_rate_annual: -0.5}\n"),
    # ---- command-line flags
    "set_control_character": with_set("name=a\x1bb", needle="--set name=a\\x1bb: expected "
                                                          "printable text (got the control "
                                                          "character U+001B)"),
    "set_newline_in_name": with_set('name="a\\nb"', needle='--set name="a\\nb": name: expected a '
                                                        "name without control characters"),
    "set_raw_newline_folds_like_yaml": with_set("name=a\nb", code=0, needle="OK (a b;"),
    "name_with_tab": bad(EXT + 'name: "a\\tb"\n', "bad.yaml:2: name: expected a name without "
                                                   "control characters"),
    "set_unicode_digit_index": with_set("agreements.\u00b2.host=Ezhou",
                                        needle="'agreements' is a list: expected an index, "
                                               "got '\u00b2'"),
    "set_fullwidth_digit_index": with_set("agreements.\uff11.host=Ezhou",
                                          needle="'agreements' is a list: expected an index"),
    "set_index_past_the_end": with_set("agreements.5.host=Ezhou",
                                       needle="agreements has 1 items (got index 5)"),
    "set_replaces_mapping_owns_errors": with_set(
        "economy.talent_elasticity={rnd: 9, hq: 0.3, core: 0.05, supply: 0.05}",
        needle="--set economy.talent_elasticity={rnd: 9, hq: 0.3, core: 0.05, supply: 0.05}: "
               "economy.talent_elasticity.rnd: expected a number <= 3"),
    "set_long_value_shortened": with_set("name=" + "\x01" * 100,
                                         needle="expected printable text"),
    "set_yaml_list_for_number": with_set("economy.tax_rate=[1, 2]",
                                         needle="economy.tax_rate: expected a number"),
    "set_empty_value": with_set("economy.tax_rate=", needle="economy.tax_rate: expected a number"),
    "steps_flag_not_a_number": Case(argv=("run", "tiny.yaml", "--steps", "true"),
                                    needle="sim run: error: argument --steps: invalid int value"),
    "workers_zero": Case(argv=("batch", "tiny.yaml", "--workers", "0", "--out", "b"),
                         needle="--workers: expected an integer >= 1 (got 0)"),
    "replicate_negative": Case(argv=("run", "tiny.yaml", "--replicate", "-1"),
                               needle="--replicate: expected an integer >= 0 (got -1)"),
    "validate_missing_file": Case(argv=("validate", "nothere.yaml"),
                                  needle="nothere.yaml: file not found"),
    "validate_a_folder": Case(setup=lambda f: (f / "dir.yaml").mkdir(),
                              argv=("validate", "dir.yaml"), needle="dir.yaml: expected a "
                                                                    "scenario file, got a folder"),
    "unknown_command": Case(argv=("simulate", "tiny.yaml"), needle="sim: error: argument "
                                                                   "command: invalid choice"),
    "scheduler_bad_scheme": Case(argv=("batch", "tiny.yaml", "--scheduler", "http://127.0.0.1:9",
                                       "--out", "b", "--quiet"),
                                 needle="--scheduler http://127.0.0.1:9: cannot reach the Dask "
                                        "scheduler"),
    "scheduler_without_port": Case(argv=("batch", "tiny.yaml", "--scheduler", "tcp://localhost",
                                         "--out", "b", "--quiet"),
                                   needle="--scheduler tcp://localhost: cannot reach the Dask "
                                          "scheduler"),
    "run_out_under_a_file": Case(setup=lambda f: (f / "afile").write_text("x"),
                                 argv=("run", "tiny.yaml", "--out", "afile/run"),
                                 needle="afile/run: output path lies under afile, which is a "
                                        "file"),
    "batch_out_under_a_file": Case(setup=lambda f: (f / "afile").write_text("x"),
                                   argv=("batch", "tiny.yaml", "--out", "afile/b/c", "--quiet"),
                                   needle="afile/b/c: output path lies under afile"),
    "compare_not_a_batch": Case(setup=lambda f: (f / "plain").mkdir(),
                                argv=("compare", "plain", "--baseline", "tiny"),
                                needle="plain: not a batch folder"),
    # ---- data folders: names as written, numbers strictly written, parts that add up
    "city_trailing_space": data_cell("cities.csv", 2, "city", "Ezhou ",
                                     "data/cities.csv: city row 4: expected no spaces before or "
                                     "after the value (got 'Ezhou ')"),
    "city_leading_tab": data_cell("cities.csv", 3, "city", "\tXiaogan",
                                  "city row 5: expected no spaces before or after the value "
                                  "(got '\\tXiaogan')"),
    "gdp_row_without_source": data_cell("gdp_series_2020_2024.csv", 2, "source", "",
                                        "data/gdp_series_2020_2024.csv: source row 4: expected "
                                        "a value (got an empty cell)"),
    "sector_group_trailing_space": data_cell("sectors.csv", 0, "group", "manufacturing ",
                                             "sectors.csv: group row 2: expected no spaces"),
    "default_flag_trailing_space": data_cell("sectors.csv", 0, "default", "yes ",
                                             "sectors.csv: default row 2: expected no spaces"),
    "default_flag_y": data_cell("sectors.csv", 1, "default", "y",
                                "sectors.csv: default row 3: expected one of yes, no (got 'y')"),
    "default_flag_true": data_cell("sectors.csv", 1, "default", "true",
                                   "default row 3: expected one of yes, no (got 'true')"),
    "default_flag_capitalised_is_fine": data_cell("sectors.csv", 1, "default", "Yes", "", code=0),
    "segment_trailing_space": data_cell("segments.csv", 0, "segment", "rnd ",
                                        "segments.csv: segment row 2: expected no spaces"),
    "sector_code_trailing_space": data_cell("sectors.csv", 1, "code", "automotive ",
                                            "sectors.csv: code row 3: expected no spaces"),
    "hotness_code_leading_space": data_cell("sector_hotness.csv", 0, "code",
                                            " it_optoelectronics",
                                            "sector_hotness.csv: code row 2: expected no spaces"),
    "link_segment_space": data_cell("segment_links.csv", 0, "segment", " core",
                                    "segment_links.csv: segment row 2: expected no spaces"),
    "city_named_na": data_cell("cities.csv", 8, "city", "NA",
                               "cities.csv: city row 10: expected a name that is not read as a "
                               "missing value (got 'NA')"),
    "sector_code_none": data_cell("sectors.csv", 0, "code", "None",
                                  "sectors.csv: code row 2: expected a name that is not read as "
                                  "a missing value (got 'None')"),
    "gdp_with_underscore": data_cell("cities.csv", 0, "gdp_2021", "17_716.76",
                                     "gdp_2021 row 2: expected a finite number written with "
                                     "digits and a point (got '17_716.76')"),
    "gdp_with_thousands_comma": data_cell("cities.csv", 0, "gdp_2021", "17,716.76",
                                          "gdp_2021 row 2: expected a finite number written"),
    "population_with_spaces": data_cell("cities.csv", 1, "population", " 2469079",
                                        "population row 3: expected a finite number written"),
    "lon_hexadecimal": data_cell("cities.csv", 1, "lon", "0x73",
                                 "lon row 3: expected a finite number written"),
    "lat_arabic_digits": data_cell("cities.csv", 1, "lat", "\u0663\u0660",
                                   "lat row 3: expected a finite number written"),
    "weight_with_underscore": data_cell("sector_weights.csv", 1, "health", "1_0",
                                        "sector_weights.csv: health row 3: expected a finite "
                                        "number written"),
    "numbers_plain_forms_are_fine": data_edit(cells("cities.csv", (1, "lon", "+115.077"),
                                                    (1, "lat", "3.02201e1"),
                                                    (2, "population", "1079353.")), "", code=0),
    "primary_above_total": data_cell("cities.csv", 2, "gdp_2019_primary", "2000",
                                     "cities.csv: gdp_2019_primary+gdp_2019_secondary+"
                                     "gdp_2019_tertiary row 4: expected a sum within 1% of "
                                     "gdp_2019 (1140.07) (got 3039.58)"),
    "sector_parts_2_percent_off": data_cell("cities.csv", 0, "gdp_2019_tertiary", "10200",
                                            "row 2: expected a sum within 1% of gdp_2019"),
    "sector_parts_half_percent_off_is_fine": data_cell("cities.csv", 0, "gdp_2019_tertiary",
                                                       "9900", "", code=0),
    "secondary_and_tertiary_zero": data_edit(
        cells("cities.csv", (3, "gdp_2019_primary", "2301.4"), (3, "gdp_2019_secondary", "0"),
              (3, "gdp_2019_tertiary", "0")),
        "cities.csv: gdp_2019_secondary+gdp_2019_tertiary row 5: expected a positive sum"),
    "structure_197_percent": data_cell("structure.csv", 0, "primary_pct", "100",
                                       "structure.csv: primary_pct+secondary_pct+tertiary_pct "
                                       "row 2: expected a sum within 1% of 100 (got 197.5)"),
    "structure_102_percent": data_cell("structure.csv", 1, "tertiary_pct", "43",
                                       "structure.csv: primary_pct+secondary_pct+tertiary_pct "
                                       "row 3: expected a sum within 1% of 100 (got 102)"),
    "structure_rounding_is_fine": data_cell("structure.csv", 1, "tertiary_pct", "41.3", "",
                                            code=0),
    "structure_all_primary": data_edit(
        cells("structure.csv", (0, "primary_pct", "100"), (0, "secondary_pct", "0"),
              (0, "tertiary_pct", "0")),
        "structure.csv: secondary_pct+tertiary_pct row 2: expected a positive sum"),
    "two_cities_at_one_point": data_edit(
        cells("cities.csv", (1, "lon", "114.2986"), (1, "lat", "30.5844")),
        "cities.csv: lon+lat row 3: expected unique values (got '114.2986, 30.5844' again, as "
        "on row 2)"),
    "same_point_written_differently": data_edit(
        cells("cities.csv", (1, "lon", "114.29860"), (1, "lat", "30.58440")),
        "cities.csv: lon+lat row 3: expected unique values"),
    "close_cities_are_fine": data_edit(cells("cities.csv", (1, "lon", "114.2987"),
                                             (1, "lat", "30.5844")), "", code=0),
    "wuhan_and_wuhan_space": data_edit(
        lambda f: (add_row("cities.csv", 0, city="Wuhan ", lon="114.5")(f),
                   add_row("sector_weights.csv", 0, city="Wuhan ")(f)),
        "cities.csv: city row 11: expected no spaces before or after the value (got 'Wuhan ')",
        lines=4),
    "wuhan_and_lowercase_wuhan": data_edit(
        lambda f: (add_row("cities.csv", 0, city="wuhan", lon="114.5")(f),
                   add_row("sector_weights.csv", 0, city="wuhan")(f)),
        "cities.csv: city row 11: expected unique values (got 'wuhan' again, as on row 2)",
        lines=2),
    "sector_code_twice_by_case": data_edit(add_row("sectors.csv", 1, code="Automotive"),
                                           "sectors.csv: code row 37: expected unique values "
                                           "(got 'Automotive' again, as on row 3)"),
    "segment_in_capitals": data_cell("segments.csv", 0, "segment", "RND",
                                     "segments.csv: group+segment: expected a row for each of "
                                     "manufacturing/rnd", lines=2),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_each_case_is_answered_in_one_line_and_changes_nothing(scenario_dir: Path, cli,
                                                               case: Case) -> None:
    if case.data:
        shutil.copytree(DATA_DIR, scenario_dir / "data")
    for name, text in case.files.items():
        path = scenario_dir / name
        path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
    if case.setup is not None:
        case.setup(scenario_dir / "data" if case.data else scenario_dir)
    before = tree_snapshot(scenario_dir)
    code, out, err = cli(*case.argv)
    assert "Traceback" not in out + "\n".join(err)
    assert code == case.code, (out, err)
    if case.code == 0:
        assert case.needle in out, out
    else:
        assert len(err) == case.lines, err
        assert case.needle in err[0], err
        assert all(line.startswith(("error: ", "sim ", "sim: error: ")) for line in err), err
    assert tree_snapshot(scenario_dir) == before, "the command changed files it does not own"


def test_a_file_with_more_values_than_the_alias_limit_but_no_alias_is_read() -> None:
    """101,000 written values: the limit counts what aliases add, not what is written."""
    from sim.config.yaml_reader import MAX_NODES, parse_yaml

    data, _ = parse_yaml("x: [" + "0, " * (MAX_NODES + 1000) + "0]\n", "big.yaml")
    assert len(data["x"]) == MAX_NODES + 1001


def test_aliases_that_add_more_than_the_limit_are_refused() -> None:
    from sim.config import ConfigError
    from sim.config.yaml_reader import parse_yaml

    # a 400-value list, then 300 aliases to it: 120,000 values added
    text = "a: &a [" + ", ".join(["0"] * 400) + "]\nb: [" + ", ".join(["*a"] * 300) + "]\n"
    with pytest.raises(ConfigError, match=r"^big\.yaml:\d+: invalid YAML: aliases expand to more "
                                          r"than 100,000 values$"):
        parse_yaml(text, "big.yaml")


def test_a_sweep_at_the_documented_maximum_validates_in_seconds(scenario_dir: Path, cli) -> None:
    """10,000 points x 100 replicates (a million runs) once took more than 120 s to validate;
    run names are now checked once per point (about 4 CPU s on this machine)."""
    values = ", ".join(f"{0.0001 * i:.4f}" for i in range(1, 101))
    omegas = ", ".join(f"{0.01 * i:.2f}" for i in range(1, 101))
    (scenario_dir / "max.yaml").write_text(
        EXT + f"replicates: 100\nsweep:\n  grid:\n    economy.tax_rate: [{values}]\n"
        f"    competition.homogenisation: [{omegas}]\n")
    code, out, err = cli("validate", "max.yaml")
    assert (code, err) == (0, [])
    assert out == "max.yaml: OK (tiny; 10000 sweep point(s), 100 replicate(s))\n"


def test_the_corpus_holds_at_least_150_cases() -> None:
    from test_reliab_store import STORE_CASES

    assert len(CASES) + STORE_CASES >= 150


def test_the_sweep_points_are_the_runs_checked(scenario_dir: Path) -> None:
    """A point's resolved config is what its runs get (the base mapping is not changed by
    another point: each point copies the path it sets)."""
    from sim.config import expand_runs

    (scenario_dir / "s.yaml").write_text(sweep("    agreements.0.land_km2: [1, 2, 3]\n"))
    runs = expand_runs(["s.yaml"], ["world.n_units=300"], replicates=1)
    assert [r.config["agreements"][0]["land_km2"] for r in runs] == [1.0, 2.0, 3.0]
    assert os.path.basename(runs[0].file) == "s.yaml"
