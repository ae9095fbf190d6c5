"""Benchmark: one standard run, scaling with units, the per-agent reference, batch throughput.

Usage: ``python benchmarks/run.py [--out benchmarks/results.json] [--skip-1m] [--batch-runs N]
[--baseline REV] [--only standard batch ...]`` (``make bench``). Every measurement runs in a fresh
Python process, so each peak memory (the process's maximum resident set, interpreter and imports
included) belongs to that measurement alone. Times are wall seconds after imports; ``cpu`` the
process's CPU seconds; each measurement notes the machine's load. Prints a table and writes the
figures as JSON.

Targets (issues 7 and 17, a 2-core machine): standard run < 1 s and < 300 MB, and at most half
the time of the ``--baseline`` revision measured alongside (its tree checked out by ``git
archive`` into a temporary folder, runs alternating with the current tree's); vectorised
location choice >= 20x faster than the per-agent reference at 10,000 units; time per step at
1,000,000 units <= 12x that at 100,000 and < 2 GB; N workers >= 0.8 N times the runs per second
of 1 worker (N = 2, and 8 and 16 where the machine has that many cores).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tarfile
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
    import sim.model  # noqa: F401
    import sim.rules.offers  # noqa: F401
    import sim.rules.planning  # noqa: F401  (pulls scipy.optimize)


def measure_standard() -> dict:
    """The bundled ``coordinated`` scenario at its default size and steps, best of REPEATS
    (of the tree this process imports ``sim`` from)."""
    from sim.config import load_scenario
    from sim.model import run_scenario
    _warm_imports()
    cfg = load_scenario(Path(sim_root()) / "scenarios" / "coordinated.yaml")
    times, cpu, load = [], [], [os.getloadavg()[0]]
    for _ in range(REPEATS):
        _forget_base_years()          # every run builds its base year (none comes from a cache)
        start, start_cpu = time.perf_counter(), time.process_time()
        run_scenario(cfg)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        load.append(os.getloadavg()[0])
    return {"run_s": min(times), "run_s_all": times, "cpu_s": min(cpu), "cpu_s_all": cpu,
            "load_1min": load, "n_units": cfg.world.n_units, "steps": cfg.steps,
            "peak_mb": _peak_mb()}


def _forget_base_years() -> None:
    """Empty the process's cache of base years (a tree without one has nothing to empty)."""
    try:
        from sim.model import base_year_cache
    except ImportError:
        return
    base_year_cache.shared().clear()


def sim_root() -> str:
    """Root of the tree whose ``sim`` package this process runs."""
    import sim
    return str(Path(sim.__file__).resolve().parents[1])


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
    The ratio is of CPU seconds (a busy machine inflates wall time unevenly); ``ratio_wall`` is
    of wall seconds. Placements must agree exactly, else the measurement fails.
    """
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from reference_agents import compare_step

    from sim.config import load_scenario
    from sim.model import CircleModel
    _warm_imports()
    cfg = load_scenario(SCENARIO, overrides=[f"world.n_units={n_units}"])
    model = CircleModel(cfg, seed=cfg.seed)
    clocks = ("vector_s", "reference_s", "vector_cpu_s", "reference_cpu_s")
    best, deciders = dict.fromkeys(clocks, 0.0), 0
    for _ in range(REFERENCE_STEPS):
        runs = compare_step(model, REPEATS)
        if any(r["vector"] != r["reference"] for r in runs):
            raise SystemExit(f"reference placements differ from the model's at step {model.steps}")
        for clock in clocks:
            best[clock] += min(r[clock] for r in runs)
        deciders += runs[0]["deciders"]
    return {"n_units": n_units, **{clock: best[clock] / REFERENCE_STEPS for clock in clocks},
            "ratio": best["reference_cpu_s"] / best["vector_cpu_s"],
            "ratio_wall": best["reference_s"] / best["vector_s"],
            "deciders_per_step": deciders / REFERENCE_STEPS, "placements_identical": True,
            "peak_mb": _peak_mb()}


def measure_batch(workers: int, runs: int) -> dict:
    """Runs per second of ``sim.experiments.runner.run_batch`` on ``runs`` replicates of the
    standard run, and the CPU seconds the batch's own process spent per run (its serial part:
    scheduling, and whatever it writes)."""
    from sim.experiments.runner import run_batch
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        start_cpu = time.process_time()
        summary = run_batch([Path(sim_root()) / "scenarios" / "coordinated.yaml"],
                            Path(tmp) / "batch", replicates=runs, workers=workers,
                            progress=False)
        parent_cpu = time.process_time() - start_cpu
    if summary.n_failed:
        raise SystemExit(f"batch with {workers} worker(s) failed: {summary.failed[0]}")
    return {"workers": workers, "runs": summary.n_ok, "wall_s": summary.wall_s,
            "runs_per_s": summary.n_ok / summary.wall_s, "parent_cpu_s_per_run": parent_cpu / runs,
            "load_1min": [load, os.getloadavg()[0]]}


MEASURES = {"standard": measure_standard, "scaling": measure_scaling,
            "reference": measure_reference, "batch": measure_batch}


# ----------------------------------------------------------------------------- in the parent
def in_child(name: str, *args: int, tree: Path = ROOT) -> dict:
    """Run one measurement in a fresh interpreter importing ``sim`` from ``tree``."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", name, *map(str, args)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tree)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"benchmark {name} {args} failed: {tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def checked_out(revision: str):
    """The tree of a git revision, extracted into a temporary folder (``git archive``)."""
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", revision],
                                 capture_output=True)
        if archive.returncode != 0:
            raise SystemExit(f"--baseline {revision}: {archive.stderr.decode().strip()}")
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp)


def side_by_side(baseline: str | None, rounds: int) -> tuple[dict, dict | None]:
    """The standard run of this tree and, alternating with it, of the baseline revision's."""
    if baseline is None:
        return in_child("standard"), None
    with checked_out(baseline) as tree:
        pairs = [(in_child("standard", tree=tree), in_child("standard"))
                 for _ in range(rounds)]
    best = lambda runs: min(runs, key=lambda r: r["cpu_s"])  # noqa: E731
    old, new = best([a for a, _ in pairs]), best([b for _, b in pairs])
    old["revision"] = baseline
    old["rounds"] = new["rounds"] = rounds
    return new, old


def batch_sizes() -> list[int]:
    """Worker counts to compare with one worker: 2, and 8 and 16 where the machine has them."""
    return [n for n in (2, 8, 16) if n == 2 or n <= (os.cpu_count() or 1)]


def collect(skip_1m: bool, batch_runs: int, only: set[str], baseline: str | None = None,
            rounds: int = 2) -> dict:
    """The measurements in ``only``, each in its own process; the keys of issues 7 and 17."""
    standard, old = side_by_side(baseline, rounds) if "standard" in only else ({}, None)
    sizes = [10_000, 100_000] + ([] if skip_1m else [1_000_000])
    scaling = {n: in_child("scaling", n) for n in sizes} if "scaling" in only else {}
    reference = {"ratio": None}
    if "reference" in only:
        try:
            reference = in_child("reference", 10_000)
        except SystemExit as failed:          # the reference lags a rule change: report, go on
            print(failed, file=sys.stderr)
            reference = {"ratio": None, "failed": str(failed)}
    batch = ({w: in_child("batch", w, batch_runs) for w in [1, *batch_sizes()]}
             if "batch" in only else {})
    old_batch = {}
    if baseline is not None and "batch" in only:       # the parent wrote every run there
        with checked_out(baseline) as tree:
            old_batch = {w: in_child("batch", w, batch_runs, tree=tree) for w in (1, 2)}
    out = {
        "standard_run_s": standard.get("run_s"),
        "standard_cpu_s": standard.get("cpu_s"),
        "standard_peak_mb": standard.get("peak_mb"),
        "baseline_run_s": old and old["run_s"],
        "baseline_cpu_s": old and old["cpu_s"],
        "speedup_cpu": old and old["cpu_s"] / standard["cpu_s"],
        "speedup_wall": old and old["run_s"] / standard["run_s"],
        "reference_ratio_10k": reference["ratio"],
        "step_time_10k_s": scaling.get(10_000, {}).get("step_s"),
        "step_time_100k_s": scaling.get(100_000, {}).get("step_s"),
        "step_time_1m_s": scaling.get(1_000_000, {}).get("step_s"),
        "peak_mb_1m": scaling.get(1_000_000, {}).get("peak_mb"),
    }
    for w in batch_sizes():
        out[f"batch_speedup_{w}_workers"] = (batch[w]["runs_per_s"] / batch[1]["runs_per_s"]
                                             if batch else None)
    out["details"] = {"standard": standard, "baseline": old, "baseline_revision": baseline,
                      "scaling": {str(n): v for n, v in scaling.items()},
                      "reference": reference, "batch": {str(w): b for w, b in batch.items()},
                      "baseline_batch": {str(w): b for w, b in old_batch.items()},
                      "machine": machine()}
    return out


def machine() -> dict:
    """Where the figures were measured."""
    cpu = "unknown"
    with contextlib.suppress(OSError, StopIteration), open("/proc/cpuinfo") as info:
        cpu = next(line.split(":", 1)[1].strip() for line in info
                   if line.startswith("model name"))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "load_1min_at_end": load,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def table(r: dict) -> str:
    """The figures measured, against their targets, one line each."""
    d = r["details"]
    rows = _standard_rows(r) + _scaling_rows(r)
    for w in batch_sizes():
        speedup = r[f"batch_speedup_{w}_workers"]
        if speedup is None:
            continue
        if w == 2:
            rows.append(("runs/s, 1 worker", f"{d['batch']['1']['runs_per_s']:.2f}", "", None))
        rows.append((f"runs/s, {w} workers", f"{d['batch'][str(w)]['runs_per_s']:.2f}",
                     f">= {0.8 * w:.1f}x ({speedup:.2f}x)", speedup >= 0.8 * w))
    rows += _baseline_batch_rows(d)
    mark = {True: "met", False: "MISSED", None: ""}
    lines = [f"| {'measure':38} | {'value':>24} | {'target':20} | {'':6} |",
             f"|{'-' * 40}|{'-' * 26}|{'-' * 22}|{'-' * 8}|"]
    lines += [f"| {a:38} | {b:>24} | {c:20} | {mark[ok]:6} |" for a, b, c, ok in rows]
    return "\n".join(lines)


def _baseline_batch_rows(d: dict) -> list[tuple]:
    rows = [(f"batch process cpu/run, {w} worker(s)",
             f"{b['parent_cpu_s_per_run'] * 1000:.0f} ms", "", None)
            for w, b in d["batch"].items()]
    old = d.get("baseline_batch") or {}
    if old:
        rev = d["baseline_revision"][:12]
        rows += [(f"{rev}: runs/s 1 -> 2 workers",
                  f"{old['1']['runs_per_s']:.2f} -> {old['2']['runs_per_s']:.2f}",
                  f"({old['2']['runs_per_s'] / old['1']['runs_per_s']:.2f}x)", None)]
        rows += [(f"{rev}: batch process cpu/run, {w}",
                  f"{b['parent_cpu_s_per_run'] * 1000:.0f} ms", "", None) for w, b in old.items()]
    return rows


def _standard_rows(r: dict) -> list[tuple]:
    if r["standard_run_s"] is None:
        return []
    d = r["details"]["standard"]
    label = f"standard run ({d['n_units'] // 1000}k units, {d['steps']} steps)"
    rows = [(label, f"{r['standard_run_s']:.2f} s (cpu {r['standard_cpu_s']:.2f})", "< 1 s",
             r["standard_run_s"] < 1),
            ("standard run peak memory", f"{r['standard_peak_mb']:.0f} MB", "< 300 MB",
             r["standard_peak_mb"] < 300)]
    if r["baseline_cpu_s"] is not None:
        rev = r["details"]["baseline"]["revision"]
        rows += [(f"same, baseline {rev[:12]}",
                  f"{r['baseline_run_s']:.2f} s (cpu {r['baseline_cpu_s']:.2f})", "", None),
                 ("baseline / current, cpu (wall)",
                  f"{r['speedup_cpu']:.2f}x ({r['speedup_wall']:.2f}x)", ">= 2x",
                  r["speedup_cpu"] >= 2)]
    return rows


def _scaling_rows(r: dict) -> list[tuple]:
    d = r["details"]
    rows = []
    if r["reference_ratio_10k"] is not None or "failed" in d["reference"]:
        ref = d["reference"]
        rows.append(("per-agent reference / vectorised, 10k",
                     _fmt(r["reference_ratio_10k"], "{:.1f}x cpu")
                     + (f" (wall {ref['ratio_wall']:.1f}x)" if "ratio_wall" in ref else ""),
                     ">= 20x",
                     None if r["reference_ratio_10k"] is None
                     else r["reference_ratio_10k"] >= 20))
    if not d["scaling"]:
        return rows
    ratio_1m = (r["step_time_1m_s"] / r["step_time_100k_s"]) if r["step_time_1m_s"] else None
    rows += [("time per step, 10k units", _step_cell(d["scaling"], "10000"), "", None),
             ("time per step, 100k units", _step_cell(d["scaling"], "100000"), "", None),
             ("time per step, 1M units", _step_cell(d["scaling"], "1000000"),
              f"<= 12x 100k ({_fmt(ratio_1m, '{:.1f}x')})",
              None if ratio_1m is None else ratio_1m <= 12),
             ("peak memory, 1M units", _fmt(r["peak_mb_1m"], "{:.0f} MB"), "< 2048 MB",
              None if r["peak_mb_1m"] is None else r["peak_mb_1m"] < 2048)]
    return rows


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
    parser.add_argument("--baseline", metavar="REV",
                        help="also time the standard run of this git revision, alternating")
    parser.add_argument("--rounds", type=int, default=2,
                        help="alternations of baseline and current standard runs (best counts)")
    parser.add_argument("--only", nargs="+", choices=sorted(MEASURES), default=sorted(MEASURES),
                        help="measure only these (default: all)")
    parser.add_argument("--measure", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for flag, value in (("--batch-runs", args.batch_runs), ("--rounds", args.rounds)):
        if value < 1:
            parser.error(f"{flag}: expected an integer >= 1 (got {value})")
    if not Path(args.out).parent.is_dir():
        parser.error(f"--out {args.out}: folder {Path(args.out).parent} does not exist")
    if args.measure:
        name, *rest = args.measure
        print(json.dumps(MEASURES[name](*map(int, rest))))
        return 0
    results = collect(args.skip_1m, args.batch_runs, set(args.only), args.baseline, args.rounds)
    print(table(results))
    m = results["details"]["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, "
          f"load {m['load_1min_at_end']:.1f} at end")
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
