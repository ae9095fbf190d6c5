"""A real Dask cluster (``distributed.LocalCluster``, one in-process worker) that loses its last
worker mid-batch: the batch ends with one line and exit 2, keeps the runs it finished, and
``--resume`` on a new cluster completes it.

The second run holds its worker thread until the test has closed that worker, so the loss always
lands mid-batch; events decide the order, and the time limits are only hang guards.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import threading
import time
from pathlib import Path

import pytest

from sim.experiments import runner
from sim.experiments.store import run_folder_name

distributed = pytest.importorskip("distributed")

SMALL = ["--set=steps=1", "--set=world.n_units=2000"]
#: Seconds after which a step that should happen is taken to hang (far above its normal time).
HANG_GUARD = 120
HELD = threading.Event()      # the second run has started and holds its worker thread
CLOSED = threading.Event()    # the test has closed the worker
CALLS: list[str] = []
EXECUTE_RUN = runner.execute_run


def execute_or_hold(spec):
    """``execute_run``, except that the second call, once the batch has stored the first run (a
    result not yet fetched from a closed worker is lost with it), waits until its worker has been
    closed."""
    CALLS.append(spec.name)
    if len(CALLS) == 2:
        stored = Path("b", "runs", run_folder_name(CALLS[0]), "status.json")
        deadline = time.monotonic() + HANG_GUARD
        while not stored.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        HELD.set()
        CLOSED.wait(HANG_GUARD)
        raise RuntimeError("this run's worker was closed under it")
    return EXECUTE_RUN(spec)


def close_the_worker_when_held(cluster) -> None:
    assert HELD.wait(HANG_GUARD), "the second run never started"
    worker = next(iter(cluster.workers.values()))
    cluster.sync(worker.close, executor_wait=False)  # the held thread is left to end by itself
    CLOSED.set()


@pytest.fixture
def held_batch(scenario_dir: Path, monkeypatch: pytest.MonkeyPatch):
    HELD.clear(), CLOSED.clear(), CALLS.clear()
    monkeypatch.setattr(runner, "execute_run", execute_or_hold)
    monkeypatch.setattr(runner, "DASK_POLL_S", 0.05)  # how often a quiet cluster is checked
    return scenario_dir


def run_cli(cli, *args: str):
    """``sim`` in a thread, so that a hang fails the test instead of stalling it."""
    with cf.ThreadPoolExecutor(1) as thread:
        return thread.submit(cli, *args).result(timeout=HANG_GUARD)


def cluster() -> distributed.LocalCluster:
    return distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                    dashboard_address=":0")  # any free port


def test_losing_the_last_dask_worker_ends_the_batch_and_keeps_finished_runs(held_batch, cli):
    with cluster() as first:
        closer = threading.Thread(target=close_the_worker_when_held, args=(first,))
        closer.start()
        code, out, err = run_cli(cli, "batch", "tiny.yaml", "--replicates", "2", "--out", "b",
                                 "--scheduler", first.scheduler_address, "--quiet", *SMALL)
        closer.join(HANG_GUARD)
    assert CLOSED.is_set(), "the worker was not closed"
    assert code == 2 and out == ""
    assert err == [f"error: --scheduler {first.scheduler_address}: the Dask scheduler or its last "
                   f"worker is gone; finished runs are kept: rerun with --resume"]
    runs = held_batch / "b" / "runs"
    finished = CALLS[:1]
    statuses = {f.name: json.loads((f / "status.json").read_text())["status"]
                for f in runs.iterdir() if not f.name.startswith(".")}
    assert {name: s for name, s in statuses.items() if s == "ok"} == {
        run_folder_name(name): "ok" for name in finished}
    with cluster() as second:
        code, out, err = run_cli(cli, "batch", "tiny.yaml", "--replicates", "2", "--out", "b",
                                 "--scheduler", second.scheduler_address, "--resume", "--quiet",
                                 *SMALL)
    assert code == 0, err
    assert out.startswith("1 ok, 0 failed, 1 already done (of 2)"), out
