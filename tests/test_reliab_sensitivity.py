"""A sensitivity study survives a worker killed mid-study (SIGKILL, as by the out-of-memory
killer): the points in flight are retried on a renewed pool, finished points are kept, and a point
that kills its worker every time is reported failed alone and redone by ``--resume``.

The evaluator kills its own worker process at one chosen design point, so the kill always lands
mid-study, whatever the machine's speed.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import math
import os
import signal
from pathlib import Path

import pytest

from sim.experiments.runner import WORKER_DIED
from sim.sensitivity.core import (
    Parameter,
    design_points,
    ishigami,
    run_study,
    salib_problem,
    sample,
)

PARAMS = [Parameter(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3)]
TRAJECTORIES, SEED, VICTIM = 4, 1, 5


@dataclasses.dataclass(frozen=True)
class KillsItsWorker:
    """Ishigami, logging each call; at ``victim`` it SIGKILLs the worker process running it, once
    (until the file ``mark`` exists) or, with ``always``, every time."""

    victim: dict
    mark: str
    log: str
    always: bool = False

    def __call__(self, point: dict[str, float]) -> dict[str, float]:
        with open(self.log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(point, sort_keys=True) + "\n")
        if point == self.victim and (self.always or not os.path.exists(self.mark)):
            Path(self.mark).touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return ishigami(point)


def design() -> list[dict[str, float]]:
    return design_points(sample(salib_problem(PARAMS), "morris", TRAJECTORIES, SEED), PARAMS)


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    return {"out": tmp_path / "study", "mark": tmp_path / "killed", "log": tmp_path / "calls"}


def test_a_worker_killed_mid_study_is_retried_and_nothing_is_lost(paths) -> None:
    points = design()
    evaluator = KillsItsWorker(points[VICTIM], str(paths["mark"]), str(paths["log"]))
    study = run_study(PARAMS, evaluator, "morris", TRAJECTORIES, paths["out"], seed=SEED,
                      workers=1, progress=False)
    assert paths["mark"].exists(), "no worker was killed"
    assert study.failed == []
    assert study.outputs["y"].tolist() == [ishigami(p)["y"] for p in points]
    made = calls(paths["log"])
    assert made.count(points[VICTIM]) == 2  # killed once, then retried
    # only what was in flight when the worker died is evaluated again (at most 2 per worker)
    assert all(p in made for p in points) and len(made) <= len(points) + 2
    records = [json.loads(p.read_text()) for p in sorted((paths["out"] / "samples").iterdir())]
    assert [r["index"] for r in records] == list(range(len(points)))
    assert {r["status"] for r in records} == {"ok"}


def test_a_point_that_always_kills_its_worker_fails_alone_and_resumes(paths) -> None:
    points = design()
    poison = KillsItsWorker(points[VICTIM], str(paths["mark"]), str(paths["log"]), always=True)
    study = run_study(PARAMS, poison, "morris", TRAJECTORIES, paths["out"], seed=SEED,
                      workers=1, progress=False)
    bad = [i for i, p in enumerate(points) if p == points[VICTIM]]
    assert study.failed == [(i, WORKER_DIED) for i in bad]
    assert study.indices.empty  # no indices from an incomplete design
    paths["log"].unlink()
    healed = dataclasses.replace(poison, always=False)  # the mark exists: it no longer kills
    with cf.ThreadPoolExecutor(1) as threads:
        again = run_study(PARAMS, healed, "morris", TRAJECTORIES, paths["out"], seed=SEED,
                          executor=threads, resume=True, progress=False)
    assert again.failed == [] and not again.indices.empty
    assert calls(paths["log"]) == [points[i] for i in bad]  # only the failed point is redone


def test_a_fresh_discover_design_runs_on_the_process_pool(tmp_path: Path) -> None:
    from sim.sensitivity.discover import run_lhs

    points, outputs = run_lhs(PARAMS, ishigami, 6, tmp_path / "lhs", seed=SEED, workers=1,
                              progress=False)
    assert outputs["y"].tolist() == [ishigami(p)["y"] for p in points.to_dict("records")]
