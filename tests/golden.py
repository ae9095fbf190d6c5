"""Golden tables: a content hash of every output table of every bundled scenario at three seeds.

The golden test (``tests/test_golden.py``) proves that a refactoring changes no model result.
A change that alters results on purpose regenerates the hashes, in a commit of its own that says
why, with::

    python -m tests.golden --update

run from the repository root. Each bundled scenario file in ``scenarios/`` (a sweep file: its
first sweep point) runs on a small world for a few quarters at each seed; each table is written
canonically (declared columns, ``to_csv`` with 12 significant digits) and hashed with sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
GOLDEN_FILE = ROOT / "tests" / "golden" / "tables.json"
SEEDS = (1, 2, 3)
#: A small world (units, quarters, subsidy grid) so that all scenarios run in seconds.
OVERRIDES = ("world.n_units=1000", "steps=3", "competition.subsidy_grid_points=6")


def scenario_files() -> list[str]:
    """The bundled scenario files, by name."""
    return sorted(path.name for path in SCENARIOS.glob("*.yaml"))


def table_hash(frame: pd.DataFrame) -> str:
    """sha256 of the table written canonically (columns as declared, 12 significant digits)."""
    text = frame.to_csv(index=False, float_format="%.12g", lineterminator="\n")
    return hashlib.sha256(text.encode()).hexdigest()


def scenario_results(file_name: str, worlds: dict | None = None) -> dict[int, Any]:
    """Seed -> the results of one scenario file's first sweep point on the small world."""
    from sim.config import ScenarioConfig
    from sim.config.sweeps import plan_scenario
    from sim.model import run_scenario
    from sim.model.world import build_world

    first = plan_scenario(SCENARIOS / file_name, OVERRIDES, replicates=1).runs()[0]
    config = ScenarioConfig(**first.config)
    worlds = {} if worlds is None else worlds
    key = (config.data_dir, config.world.model_dump_json())
    if key not in worlds:
        worlds[key] = build_world(config)
    return {seed: run_scenario(config, seed=seed, world=worlds[key]) for seed in SEEDS}


def table_hashes(results: Any) -> dict[str, str]:
    """Table name -> hash for one run's results."""
    return {name: table_hash(frame) for name, frame in results.tables().items()}


def scenario_hashes(file_name: str, worlds: dict | None = None) -> dict[str, dict[str, str]]:
    """Seed -> table name -> hash for one scenario file (its first sweep point)."""
    return {str(seed): table_hashes(results)
            for seed, results in scenario_results(file_name, worlds).items()}


def load_golden() -> dict:
    return json.loads(GOLDEN_FILE.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--update", action="store_true",
                        help=f"rewrite {GOLDEN_FILE.relative_to(ROOT)} from the current code")
    args = parser.parse_args(argv)
    worlds: dict = {}
    current = {name: scenario_hashes(name, worlds) for name in scenario_files()}
    if args.update:
        GOLDEN_FILE.parent.mkdir(parents=True, exist_ok=True)
        payload = {"overrides": list(OVERRIDES), "seeds": list(SEEDS), "scenarios": current}
        GOLDEN_FILE.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
        print(f"wrote {GOLDEN_FILE.relative_to(ROOT)} ({len(current)} scenario files)")
        return 0
    golden = load_golden()["scenarios"]
    changed = [name for name in current if golden.get(name) != current[name]]
    print("\n".join(f"changed: {name}" for name in changed) or "all tables identical")
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
