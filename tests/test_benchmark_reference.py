"""The per-agent reference of the benchmark reproduces the vectorised placements exactly.

Behaviour only (no timing): from one model state and the same draws, one Mesa agent per unit
choosing its park must put every unit where ``sim.model.firms.Firms.relocate`` puts it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from reference_agents import compare_step  # noqa: E402

from sim.config import load_scenario  # noqa: E402
from sim.model import CircleModel  # noqa: E402


@pytest.mark.parametrize("scenario", ["coordinated", "homogenised"])
def test_reference_places_every_unit_where_the_model_does(scenario: str) -> None:
    cfg = load_scenario(ROOT / "scenarios" / f"{scenario}.yaml",
                        overrides=["world.n_units=1500"])
    model = CircleModel(cfg, seed=7)
    moved = 0
    for _ in range(2):
        before = dict(zip(model.units.unit_id.tolist(), model.units.park.tolist()))
        [result] = compare_step(model)
        assert result["deciders"] > 0
        assert result["reference"] == result["vector"]
        moved += sum(before.get(unit, -1) != park for unit, park in result["vector"].items())
    assert moved > 0          # the comparison covered real placements, not only stayers
