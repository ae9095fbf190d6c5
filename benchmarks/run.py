"""Benchmark: one standard run, scaling with units, the per-agent reference, batch throughput.

Usage: ``python benchmarks/run.py [--out benchmarks/results.json] [--skip-1m] [--batch-runs N]``
(``make bench``). Every measurement runs in a fresh Python process, so each peak memory (the
process's maximum resident set, interpreter and imports included) belongs to that measurement
alone. Times are wall seconds after imports. Prints a table and writes the figures as JSON.

Targets (issue 7, a 2-core machine): standard run < 1 s and < 300 MB; vectorised location choice
>= 20x faster than the per-agent reference at 10,000 units; time per step at 1,000,000 units
<= 12x that at 100,000 and < 2 GB; 2 workers >= 1.7x the runs per second of 1 worker.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "coordinated.yaml"
SCALING_STEPS = 4        # quarters timed at each size (the first one draws the investment map)
REFERENCE_STEPS = 3      # quarters whose location choices are compared and timed
REPEATS = 3              # the standard run and each choice comparison: best of REPEATS


# ----------------------------------------------------------------------------- in the child
def _peak_mb() -> float:
    """Maximum resident set of this process so far, MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _warm_imports() -> None:
    """Import what a run imports lazily, so no timing includes an import."""
    import sim.rules.planning  # noqa: F401  (pulls scipy.optimize)
    import sim.model  # noqa: F401
    import sim.rules.offers  # noqa: F401


def measure_standard() -> dict:
    """The bundled ``coordinated`` scenario at its default size and steps, best of REPEATS."""
    from sim.config import load_scenario
    from sim.model import run_scenario
    _warm_imports()
    cfg = load_scenario(SCENARIO)
    times, cpu = [], []
    for _ in range(REPEATS):
        start, start_cpu = time.perf_counter(), time.process_time()
        run_scenario(cfg)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return {"run_s": min(times), "run_s_all": times, "cpu_s": min(cpu),
            "n_units": cfg.world.n_units, "steps": cfg.steps, "peak_mb": _peak_mb()}


def measure_scaling(n_units: int) -> dict:
    """Build the model at ``n_units`` (untimed), then time SCALING_STEPS steps."""
    from sim.config import load_scenario
    from sim.model import CircleModel
    _warm_imports()
    cfg = load_scenario(SCENARIO, overrides=[f"world.n_units={n_units}"])
    start = time.perf_counter()
    model = CircleModel(cfg, seed=cfg.seed)
    build_s = time.perf_counter() - start
    step_s, start_cpu = [], time.process_time()
    for _ in range(SCALING_STEPS):
        start = time.perf_counter()
        model.step()
        step_s.append(time.perf_counter() - start)
    cpu_s = (time.process_time() - start_cpu) / SCALING_STEPS
    return {"n_units": n_units, "build_s": build_s, "step_s": sum(step_s) / len(step_s),
            "step_s_all": step_s, "step_cpu_s": cpu_s, "units_end": len(model.units),
            "peak_mb": _peak_mb()}


def measure_reference(n_units: int) -> dict:
    """Location choices of REFERENCE_STEPS quarters, vectorised and per agent, same draws.

    Each quarter is compared REPEATS times from the same state; the best time of each counts.
    Placements must agree exactly, else the measurement fails.
    """
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from reference_agents import compare_step
    from sim.config import load_scenario
    from sim.model import CircleModel
    _warm_imports()
    cfg = load_scenario(SCENARIO, overrides=[f"world.n_units={n_units}"])
    model = CircleModel(cfg, seed=cfg.seed)
    vector_s, reference_s, deciders = 0.0, 0.0, 0
    for _ in range(REFERENCE_STEPS):
        runs = compare_step(model, REPEATS)
        if any(r["vector"] != r["reference"] for r in runs):
            raise SystemExit(f"reference placements differ from the model's at step {model.t}")
        vector_s += min(r["vector_s"] for r in runs)
        reference_s += min(r["reference_s"] for r in runs)
        deciders += runs[0]["deciders"]
    return {"n_units": n_units, "vector_s": vector_s / REFERENCE_STEPS,
            "reference_s": reference_s / REFERENCE_STEPS, "ratio": reference_s / vector_s,
            "deciders_per_step": deciders / REFERENCE_STEPS, "placements_identical": True,
            "peak_mb": _peak_mb()}


def measure_batch(workers: int, runs: int) -> dict:
    """Runs per second of ``sim.experiments.runner.run_batch`` on ``runs`` replicates of the standard run."""
    from sim.experiments.runner import run_batch
    with tempfile.TemporaryDirectory() as tmp:
        summary = run_batch([SCENARIO], Path(tmp) / "batch", replicates=runs, workers=workers,
                            progress=False)
    if summary.n_failed:
        raise SystemExit(f"batch with {workers} worker(s) failed: {summary.failed[0]}")
    return {"workers": workers, "runs": summary.n_ok, "wall_s": summary.wall_s,
            "runs_per_s": summary.n_ok / summary.wall_s}


MEASURES = {"standard": measure_standard, "scaling": measure_scaling,
            "reference": measure_reference, "batch": measure_batch}


# ----------------------------------------------------------------------------- in the parent
def in_child(name: str, *args: int) -> dict:
    """Run one measurement in a fresh interpreter and return its figures."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", name, *map(str, args)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"benchmark {name} {args} failed: {tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def collect(skip_1m: bool, batch_runs: int) -> dict:
    """All measurements, each in its own process; the keys of issue 7 plus the details."""
    standard = in_child("standard")
    sizes = [10_000, 100_000] + ([] if skip_1m else [1_000_000])
    scaling = {n: in_child("scaling", n) for n in sizes}
    try:
        reference = in_child("reference", 10_000)
    except SystemExit as failed:          # the reference lags a rule change: report, go on
        print(failed, file=sys.stderr)
        reference = {"ratio": None, "failed": str(failed)}
    batch = {w: in_child("batch", w, batch_runs) for w in (1, 2)}
    big = scaling.get(1_000_000, {})
    return {
        "standard_run_s": standard["run_s"], "standard_peak_mb": standard["peak_mb"],
        "reference_ratio_10k": reference["ratio"],
        "step_time_10k_s": scaling[10_000]["step_s"], "step_time_100k_s": scaling[100_000]["step_s"],
        "step_time_1m_s": big.get("step_s"), "peak_mb_1m": big.get("peak_mb"),
        "batch_speedup_2_workers": batch[2]["runs_per_s"] / batch[1]["runs_per_s"],
        "details": {"standard": standard, "scaling": {str(n): s for n, s in scaling.items()},
                    "reference": reference, "batch": {str(w): b for w, b in batch.items()},
                    "machine": machine()},
    }


def machine() -> dict:
    """Where the figures were measured."""
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "load_1min_at_end": load,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def table(r: dict) -> str:
    """The figures against the targets, one line each."""
    d = r["details"]
    ratio_1m = (r["step_time_1m_s"] / r["step_time_100k_s"]) if r["step_time_1m_s"] else None
    step = lambda n: _step_cell(d["scaling"], n)  # noqa: E731
    rows = [
        ("standard run (20k units, 12 steps)",
         f"{r['standard_run_s']:.2f} s (cpu {d['standard']['cpu_s']:.2f})", "< 1 s",
         r["standard_run_s"] < 1),
        ("standard run peak memory", f"{r['standard_peak_mb']:.0f} MB", "< 300 MB",
         r["standard_peak_mb"] < 300),
        ("per-agent reference / vectorised, 10k", _fmt(r["reference_ratio_10k"], "{:.1f}x"),
         ">= 20x", None if r["reference_ratio_10k"] is None else r["reference_ratio_10k"] >= 20),
        ("time per step, 10k units", step("10000"), "", None),
        ("time per step, 100k units", step("100000"), "", None),
        ("time per step, 1M units", step("1000000"),
         f"<= 12x 100k ({_fmt(ratio_1m, '{:.1f}x')})", None if ratio_1m is None else ratio_1m <= 12),
        ("peak memory, 1M units", _fmt(r["peak_mb_1m"], "{:.0f} MB"), "< 2048 MB",
         None if r["peak_mb_1m"] is None else r["peak_mb_1m"] < 2048),
        ("runs/s, 1 worker", f"{d['batch']['1']['runs_per_s']:.2f}", "", None),
        ("runs/s, 2 workers", f"{d['batch']['2']['runs_per_s']:.2f}",
         f">= 1.7x ({r['batch_speedup_2_workers']:.2f}x)", r["batch_speedup_2_workers"] >= 1.7),
    ]
    mark = {True: "met", False: "MISSED", None: ""}
    lines = [f"| {'measure':38} | {'value':>24} | {'target':20} | {'':6} |",
             f"|{'-' * 40}|{'-' * 26}|{'-' * 22}|{'-' * 8}|"]
    lines += [f"| {a:38} | {b:>24} | {c:20} | {mark[ok]:6} |" for a, b, c, ok in rows]
    return "\n".join(lines)


def _step_cell(scaling: dict, n_units: str) -> str:
    if n_units not in scaling:
        return "skipped"
    return f"{scaling[n_units]['step_s']:.3f} s (cpu {scaling[n_units]['step_cpu_s']:.3f})"


def _fmt(value: float | None, pattern: str) -> str:
    return "n/a" if value is None else pattern.format(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results.json"),
                        help="where to write the figures (the latest results; rewritten each run)")
    parser.add_argument("--skip-1m", action="store_true", help="skip the 1,000,000-unit run")
    parser.add_argument("--batch-runs", type=int, default=16,
                        help="runs per batch measurement (enough to amortise worker start-up)")
    parser.add_argument("--measure", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.batch_runs < 1:
        parser.error(f"--batch-runs: expected an integer >= 1 (got {args.batch_runs})")
    if not Path(args.out).parent.is_dir():
        parser.error(f"--out {args.out}: folder {Path(args.out).parent} does not exist")
    if args.measure:
        name, *rest = args.measure
        print(json.dumps(MEASURES[name](*map(int, rest))))
        return 0
    results = collect(args.skip_1m, args.batch_runs)
    print(table(results))
    m = results["details"]["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, "
          f"load {m['load_1min_at_end']:.1f} at end")
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
