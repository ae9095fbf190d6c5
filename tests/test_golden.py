"""Golden test: every table of every bundled scenario are unchanged, at three seeds.

The hashes live in ``tests/golden/tables.json``. A change that alters model results on purpose
regenerates them in a commit of its own, from the repository root::

    python -m tests.golden --update

(see ``tests/golden.py`` for the small world and the canonical form that is hashed).
"""

from __future__ import annotations

import pytest
from golden import SEEDS, load_golden, scenario_files, scenario_hashes

WORLDS: dict = {}


def test_golden_file_covers_every_bundled_scenario() -> None:
    assert sorted(load_golden()["scenarios"]) == scenario_files()


@pytest.mark.parametrize("file_name", scenario_files())
def test_tables_match_golden(file_name: str) -> None:
    expected = load_golden()["scenarios"][file_name]
    current = scenario_hashes(file_name, WORLDS)
    changed = [f"seed {seed}: {table}" for seed in map(str, SEEDS)
               for table in expected[seed] if current[seed][table] != expected[seed][table]]
    assert not changed, (f"{file_name}: tables changed ({', '.join(changed)}); if on purpose, "
                         "run `python -m tests.golden --update` in a commit of its own")
