"""Non-finite output: a NaN or an infinity in any numeric output column fails its run with one
message naming scenario, seed, table, column and first step; such a run is never written as ok.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.config import load_scenario
from sim.experiments.runner import run_batch
from sim.experiments.store import load_results, run_folder_name
from sim.model import run_scenario, tables
from sim.model.tables import NonFiniteOutputError, first_non_finite
from sim.rules import metrics

ONE_STEP = ["steps=1", "world.n_units=2000"]
#: What the NaN rule below makes the run report: the circle's Theil index from the second
#: recorded step (step 0 is the start, step 1 the first quarter).
NAN_MESSAGE = "circle.theil is nan from step 1"


@pytest.fixture
def theil_nan_from_step_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken rule: the Theil index turns NaN from its third call (the recorder asks twice a
    step, physical then credited GDP, so from the record of step 1 on)."""
    real, calls = metrics.theil_index, []

    def theil(*args, **kwargs):
        calls.append(1)
        return float("nan") if len(calls) >= 3 else real(*args, **kwargs)

    monkeypatch.setattr(metrics, "theil_index", theil)


def test_first_non_finite_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({"step": [0, 1, 2, 3], "city": ["a", "b", "a", "b"],
                          "x": [1.0, 2.0, np.inf, np.nan], "ok": [True, False, True, True]})
    assert first_non_finite({"t": frame.assign(x=1.0)}) is None
    assert first_non_finite({"t": frame}) == ("t", "x", 2, np.inf)
    assert first_non_finite({"t": frame.assign(x=[1, 2, None, 3])})[:3] == ("t", "x", 2)
    monkeypatch.setitem(tables.NAN_ALLOWED, "t", ("x",))  # NaN may be declared, inf never
    assert first_non_finite({"t": frame})[:3] == ("t", "x", 2)
    assert first_non_finite({"t": frame.assign(x=[1, np.nan, 2, 3])}) is None


def test_a_nan_fails_the_run_naming_where(scenario_dir: Path, theil_nan_from_step_1) -> None:
    config = load_scenario("tiny.yaml", ONE_STEP)
    with pytest.raises(NonFiniteOutputError) as caught:
        run_scenario(config, seed=7, replicate=3)
    assert str(caught.value).startswith(f"scenario 'tiny', seed 7, replicate 3: {NAN_MESSAGE}")


def test_a_nan_run_is_stored_failed_without_tables(scenario_dir: Path,
                                                   theil_nan_from_step_1) -> None:
    with cf.ThreadPoolExecutor(1) as threads:  # in process, so the broken rule applies
        summary = run_batch(["tiny.yaml"], "out", replicates=1, seed=5, executor=threads,
                            overrides=ONE_STEP, progress=False)
    assert summary.n_ok == 0 and [name for name, _ in summary.failed] == ["tiny/r00"]
    assert NAN_MESSAGE in summary.failed[0][1] and "seed 5" in summary.failed[0][1]
    folder = scenario_dir / "out" / "runs" / run_folder_name("tiny/r00")
    assert json.loads((folder / "status.json").read_text())["status"] == "failed"
    assert not list(folder.glob("*.parquet"))
    assert load_results(scenario_dir / "out").circle.empty


def test_sim_run_reports_a_nan_in_one_line_and_writes_nothing(scenario_dir: Path, cli,
                                                              theil_nan_from_step_1) -> None:
    code, out, err = cli("run", "tiny.yaml", "--seed", "2", "--out", "o",
                         *[f"--set={s}" for s in ONE_STEP])
    assert code == 1 and out == ""
    assert err == [f"error: run failed: scenario 'tiny', seed 2, replicate 0: {NAN_MESSAGE} "
                   f"(expected a finite number; the run's tables are not written)"]
    assert sorted(p.name for p in scenario_dir.iterdir()) == ["tiny.yaml"]
