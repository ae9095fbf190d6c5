"""``--dry-run``: how many model runs a command would make and roughly how long they would take,
from the count of its design and one pilot run timed in this process. Nothing is written."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

import sim.model.circle  # noqa: F401  (the model loads before the pilot is timed: it times the run)
from sim.config.sweeps import expand_runs
from sim.experiments.runner import execute_run, posterior_runs


def parallel_slots(workers: int | None, scheduler: str | None, n_runs: int) -> int | None:
    """Runs that execute at once: the local workers (default all cores), None on a cluster."""
    if scheduler:
        return None
    return max(1, min(workers or os.cpu_count() or 1, n_runs))


def _clock(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def estimate_line(n_runs: int, pilot_s: float, slots: int | None, unit: str = "run",
                  pilots: int = 1) -> str:
    """One line: the count, the pilot's time (the mean of ``pilots`` timed pilots) and the
    expected wall time on ``slots`` workers."""
    serial = n_runs * pilot_s
    took = (f"one pilot {unit} took {pilot_s:.1f} s" if pilots == 1
            else f"{pilots} pilot {unit}s took {pilot_s:.1f} s each on average")
    head = f"{n_runs} {unit}(s); {took}"
    if slots is None:
        return f"{head}; {_clock(serial)} of compute in all (wall time depends on the cluster)"
    return (f"{head}; about {_clock(serial / slots)} on {slots} worker(s) "
            f"({_clock(serial)} of compute; the first run of each worker also imports the model)")


def timed(call: Callable[[], object]) -> float:
    """Seconds one call takes (the pilot run)."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def batch_dry_run(files: Sequence[str], overrides: Sequence[str], replicates: int | None,
                  seed: int | None, workers: int | None, scheduler: str | None,
                  posterior: str | None = None) -> str:
    """The batch's run count and a time estimate from its first run (nothing is written)."""
    runs = posterior_runs(expand_runs(files, overrides, replicates, seed), posterior)
    outcome = {}
    pilot_s = timed(lambda: outcome.update(execute_run(runs[0])))
    if outcome.get("status") != "ok":
        return f"the pilot run {runs[0].name} failed: {outcome.get('message')}"
    line = estimate_line(len(runs), pilot_s, parallel_slots(workers, scheduler, len(runs)))
    return f"dry run (nothing written): {line}; pilot {runs[0].name}"
