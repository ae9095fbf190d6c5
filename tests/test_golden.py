"""Golden test: every table of every bundled scenario are unchanged, at three seeds.

The hashes live in ``tests/golden/tables.json``. A change that alters model results on purpose
regenerates them in a commit of its own, from the repository root::

    python -m tests.golden --update

(see ``tests/golden.py`` for the small world and the canonical form that is hashed).
"""

from __future__ import annotations

import pytest
from golden import SEEDS, load_golden, scenario_files, scenario_results, table_hashes

WORLDS: dict = {}
#: The quarters of the small world (``steps=3`` in ``golden.OVERRIDES``).
STEPS = 3


def test_golden_file_covers_every_bundled_scenario() -> None:
    assert sorted(load_golden()["scenarios"]) == scenario_files()


@pytest.mark.parametrize("file_name", scenario_files())
def test_tables_match_golden(file_name: str) -> None:
    """Every bundled scenario runs to its last step with positive circle GDP at every step (the
    smoke check of each file), and its tables equal the golden hashes."""
    expected = load_golden()["scenarios"][file_name]
    runs = scenario_results(file_name, WORLDS)
    for seed, results in runs.items():
        assert list(results.circle["step"]) == list(range(STEPS + 1)), f"seed {seed}"
        assert results.circle["gdp_total"].gt(0).all(), f"seed {seed}"
    current = {str(seed): table_hashes(results) for seed, results in runs.items()}
    changed = [f"seed {seed}: {table}" for seed in map(str, SEEDS)
               for table in expected[seed] if current[seed][table] != expected[seed][table]]
    assert not changed, (f"{file_name}: tables changed ({', '.join(changed)}); if on purpose, "
                         "run `python -m tests.golden --update` in a commit of its own")
