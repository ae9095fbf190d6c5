"""Scenario discovery: PRIM boxes on a planted region, the Latin hypercube, ``sim discover``."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest

from sim.sensitivity.core import Parameter
from sim.sensitivity.discover import boxes_table, find_boxes, lhs_points, loses

# skipped without the extra; found, not imported (sim imports it only where PRIM runs), so a
# pytest-xdist worker that runs none of these tests does not pay for the import at collection
pytestmark = pytest.mark.skipif(importlib.util.find_spec("ema_workbench") is None,
                                reason="the ema extra is not installed")


def planted(n: int = 300, seed: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Welfare difference < 0 exactly where a > 0.6 and b < 0.5; c is noise."""
    rng = np.random.default_rng(seed)
    points = pd.DataFrame({"a": rng.random(n), "b": rng.random(n), "c": rng.random(n)})
    lose = (points["a"] > 0.6) & (points["b"] < 0.5)
    return points, pd.DataFrame({"welfare.diff": np.where(lose, -1.0, 1.0)})


def test_loses_is_strictly_worse_in_the_metric_direction():
    out = pd.DataFrame({"welfare.diff": [-1.0, 0.0, 2.0], "subsidy_total.diff": [-1.0, 0.0, 2.0]})
    assert loses(out, "welfare").tolist() == [True, False, False]
    assert loses(out, "subsidy_total").tolist() == [False, False, True]   # lower is better


def test_prim_finds_the_planted_box():
    points, outputs = planted()
    boxes = find_boxes(points, loses(outputs, "welfare"), min_density=0.9, max_boxes=1)
    box = boxes[0]
    assert set(box.limits) == {"a", "b"}                 # c is left unrestricted
    assert box.limits["a"][0] == pytest.approx(0.6, abs=0.05)
    assert box.limits["b"][1] == pytest.approx(0.5, abs=0.05)
    assert box.density >= 0.9 and box.coverage >= 0.8
    table = boxes_table(boxes)
    assert list(table["parameter"]) == ["a", "b"] and (table["box"] == 1).all()


def test_latin_hypercube_hits_every_stratum_once():
    params = [Parameter("x", 0.0, 10.0), Parameter("k", 2, 5)]
    points = pd.DataFrame(lhs_points(params, 10, seed=1, integer_keys=["k"]))
    assert sorted(np.floor(points["x"]).astype(int)) == list(range(10))
    assert set(points["k"]) <= {2, 3, 4, 5}


def test_a_second_process_cannot_write_into_a_running_study(tmp_path):
    from sim.config.yaml_reader import ConfigError
    from sim.experiments.store_guard import batch_lock
    from sim.sensitivity.discover import run_lhs

    out = tmp_path / "study"
    never_called = lambda point: pytest.fail("evaluated a point")  # noqa: E731
    held = pytest.raises(ConfigError, match="another sim process is using this batch folder")
    with batch_lock(out), held:  # another process's study holds the folder
        run_lhs([Parameter("x", 0.0, 1.0)], never_called, 4, out, seed=1, progress=False)
    assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing written


def test_discover_from_a_stored_study(tmp_path, capsys):
    from sim.cli import main

    points, outputs = planted()
    study = tmp_path / "study"
    study.mkdir()
    params = [{"key": k, "low": 0.0, "high": 1.0, "dist": "uniform", "mode": None} for k in "abc"]
    (study / "design.json").write_text(json.dumps({"method": "morris", "params": params}))
    pd.concat([points, outputs], axis=1).to_csv(study / "samples.csv", index=False)
    code = main(["discover", "--from", str(study), "--boxes", "1", "--out", str(tmp_path / "d")])
    assert code == 0
    out = capsys.readouterr().out
    n_lose = int(loses(outputs, "welfare").sum())
    assert out.startswith(f"{n_lose} of 300 points lose on welfare; 1 box(es)")
    boxes = pd.read_csv(tmp_path / "d" / "boxes.csv")
    assert set(boxes["parameter"]) == {"a", "b"}
    assert "PRIM boxes" in (tmp_path / "d" / "discovery.md").read_text()
    assert main(["discover", "--from", str(study), "--out", str(tmp_path / "d")]) == 2
