"""Scale-out on a Dask cluster: ``sim batch --scheduler`` and the calibration's pyabc Dask
sampler on a ``LocalCluster`` of 1 and then 2 worker processes.

Usage: ``python benchmarks/scale_out.py [--only batch abc] [--runs 16] [--units 20000]
[--population 16] [--generations 2]``. Each worker runs one task at a time
(``threads_per_worker=1``) and is warmed up (``sim`` imported) before the clock starts. Printed
for each: runs (simulations) per second of wall time with 1 and 2 workers, their ratio against
the target 0.8 x N, and the CPU the parent process spends per run: its serial part, which bounds
the speedup near run time / parent time workers, so a many-core or cluster run can be planned
from it (its main thread apart: the batch's or the sampler's own work; the rest is the Dask
client's threads, which cost CPU in proportion to wall time, not to runs).

The sampler measured is pyabc's ``DaskDistributedSampler`` (``batch_size=4``, as ``sim calibrate
--scheduler`` builds it) running ABC-SMC on a calibration-size simulation: the back-test (2010
world, 36 quarters) at 2,000 units, its summary each city's share of GDP in 2019, two assumed
parameters drawn from their ``uncertain:`` ranges. It needs pyabc (the ``calibration`` extra).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARAMETERS = ("economy.nest_parameter", "economy.attention_base")   # swept by the sampler


@contextlib.contextmanager
def cluster(workers: int) -> Iterator[object]:
    """A Dask client on a local cluster of ``workers`` one-thread processes, ``sim`` imported."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as local, Client(local) as client:
        client.run(_warm)
        yield client


def _warm() -> None:
    import sim.model  # noqa: F401
    import sim.rules.planning  # noqa: F401
    import sim.validation.backtest  # noqa: F401


def measure_batch(workers: int, runs: int, units: int) -> dict:
    """``run_batch`` of ``runs`` replicates of the standard run on the cluster."""
    from sim.experiments.runner import run_batch

    with cluster(workers) as client, tempfile.TemporaryDirectory() as tmp:
        address = client.scheduler.address
        start_cpu, start, start_main = time.process_time(), time.perf_counter(), time.thread_time()
        summary = run_batch([ROOT / "scenarios" / "coordinated.yaml"], Path(tmp) / "b",
                            replicates=runs, scheduler=address,
                            overrides=[f"world.n_units={units}"], progress=False)
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        main = time.thread_time() - start_main
    if summary.n_failed:
        raise SystemExit(f"batch on {workers} worker(s): {summary.failed[0]}")
    return {"workers": workers, "runs": summary.n_ok, "wall_s": wall,
            "runs_per_s": summary.n_ok / wall, "parent_cpu_s_per_run": cpu / summary.n_ok,
            "parent_main_cpu_s_per_run": main / summary.n_ok}


def simulate(point: dict) -> dict:
    """The calibration-size simulation: each city's share of GDP in 2019 in the back-test."""
    from sim.validation.backtest import backtest

    overrides = ["world.n_units=2000", *(f"{k}={float(v)!r}" for k, v in point.items())]
    seed = 1 + zlib.crc32(repr(sorted(point.items())).encode()) % 10_000  # a draw per point
    frame = backtest(replicates=1, seed=seed, overrides=overrides)
    last = frame[frame["year"] == frame["year"].max()]
    return {f"share_{city}": float(v) for city, v in zip(last["city"], last["share_model"])}


def measure_abc(workers: int, population: int, generations: int) -> dict:
    """ABC-SMC with pyabc's Dask sampler: simulations per second and the parent's CPU each."""
    import logging

    import pyabc

    from sim.config import load_scenario
    from sim.config.uncertain import parse_uncertain

    for name in ("ABC", "Sampler", "Epsilon", "Distance", "Acceptor", "pyabc"):
        logging.getLogger(name).setLevel(logging.WARNING)
    ranges = {p.key: (p.low, p.high) for p in parse_uncertain(
        load_scenario(ROOT / "scenarios" / "base.yaml").uncertain, "base.yaml")
        if p.key in PARAMETERS}
    prior = pyabc.Distribution(**{k.replace(".", "__"): pyabc.RV("uniform", lo, hi - lo)
                                  for k, (lo, hi) in ranges.items()})
    observed = simulate({k: (lo + hi) / 2 for k, (lo, hi) in ranges.items()})

    def model(params: dict) -> dict:
        return simulate({k.replace("__", "."): v for k, v in params.items()})

    with cluster(workers) as client, tempfile.TemporaryDirectory() as tmp:
        sampler = pyabc.sampler.DaskDistributedSampler(dask_client=client, batch_size=4)
        abc = pyabc.ABCSMC(model, prior, pyabc.PNormDistance(p=2),
                           population_size=population, sampler=sampler)
        abc.new(f"sqlite:///{Path(tmp) / 'abc.db'}", observed)
        start_cpu, start, start_main = time.process_time(), time.perf_counter(), time.thread_time()
        history = abc.run(max_nr_populations=generations)
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        main = time.thread_time() - start_main
        sims = int(history.total_nr_simulations)
    return {"workers": workers, "simulations": sims, "wall_s": wall, "sims_per_s": sims / wall,
            "parent_cpu_s_per_sim": cpu / sims, "parent_main_cpu_s_per_sim": main / sims}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=["batch", "abc"], default=["batch", "abc"])
    parser.add_argument("--runs", type=int, default=16, help="batch runs (default 16)")
    parser.add_argument("--units", type=int, default=20_000, help="batch model size")
    parser.add_argument("--population", type=int, default=16, help="ABC population (default 16)")
    parser.add_argument("--generations", type=int, default=2, help="ABC generations (default 2)")
    args = parser.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    if "batch" in args.only:
        one, two = (measure_batch(w, args.runs, args.units) for w in (1, 2))
        print(f"sim batch --scheduler, {args.runs} runs of {args.units:,} units: "
              f"{one['runs_per_s']:.3f} -> {two['runs_per_s']:.3f} runs/s "
              f"({two['runs_per_s'] / one['runs_per_s']:.2f}x; target >= 1.6x); parent CPU "
              f"per run {1000 * one['parent_cpu_s_per_run']:.0f} / "
              f"{1000 * two['parent_cpu_s_per_run']:.0f} ms, of which its main thread "
              f"{1000 * one['parent_main_cpu_s_per_run']:.0f} / "
              f"{1000 * two['parent_main_cpu_s_per_run']:.0f} ms (the rest: the Dask client's "
              f"threads, in proportion to wall time)")
    if "abc" in args.only:
        one, two = (measure_abc(w, args.population, args.generations) for w in (1, 2))
        print(f"pyabc DaskDistributedSampler, population {args.population}, "
              f"{args.generations} generations: {one['simulations']} / {two['simulations']} "
              f"simulations, {one['sims_per_s']:.3f} -> {two['sims_per_s']:.3f} per s "
              f"({two['sims_per_s'] / one['sims_per_s']:.2f}x; target >= 1.6x); parent CPU "
              f"per simulation {1000 * one['parent_cpu_s_per_sim']:.0f} / "
              f"{1000 * two['parent_cpu_s_per_sim']:.0f} ms, of which its main thread "
              f"{1000 * one['parent_main_cpu_s_per_sim']:.0f} / "
              f"{1000 * two['parent_main_cpu_s_per_sim']:.0f} ms")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
