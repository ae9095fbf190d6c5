"""Benchmark: peak memory and CPU time of ``sim compare`` on batches of N runs.

Usage: ``python benchmarks/compare.py [--runs 20 100 400] [--units 20000] [--steps 20]
[--baseline REV] [--out benchmarks/compare.json]``. Runs ``homogenised`` and ``coordinated`` once
each (replicate 0, the seed of ``scenarios/``), then builds a batch of N runs by copying those two
run folders to N/2 replicates each (status records renamed; the tables, and so their checksums,
unchanged), and times ``sim compare`` on it in a fresh process: its peak resident set (the
interpreter and imports included) and its CPU seconds (user + system, from ``wait4``; wall time
means little on a shared machine). Copies give the tables of a real batch of that size, not its
statistics (every replicate is the same run). ``--baseline REV`` also times that revision's
``sim compare`` (its tree from ``git archive``) on the same batches.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("homogenised", "coordinated")


def seed_batch(folder: Path, units: int, steps: int) -> Path:
    """One run of each scenario (replicate 0), as ``sim batch`` writes it."""
    from sim.experiments.runner import run_batch

    done = run_batch([ROOT / "scenarios" / f"{name}.yaml" for name in SCENARIOS],
                     out_dir=folder, replicates=1, workers=1, progress=False,
                     overrides=[f"world.n_units={units}", f"steps={steps}"])
    if done.n_failed:
        raise SystemExit(f"the seed runs failed: {done.failed}")
    return folder


def copied_batch(seed: Path, folder: Path, n_runs: int) -> Path:
    """A batch of ``n_runs`` runs: each seed run copied to ``n_runs // 2`` replicates."""
    from sim.config.sweeps import run_name
    from sim.experiments.store import rebuild_manifest, run_folder_name

    replicates = max(1, n_runs // len(SCENARIOS))
    (folder / "runs").mkdir(parents=True)
    for marker in seed.glob(".sim-*"):
        shutil.copy(marker, folder / marker.name)
    record = json.loads((seed / "batch.json").read_text())
    for name in SCENARIOS:
        record["scenarios"][name]["replicates"] = replicates
        source = seed / "runs" / run_folder_name(run_name(name, "", 0, 1))
        status = json.loads((source / "status.json").read_text())
        for r in range(replicates):
            run = run_name(name, "", r, replicates)
            target = folder / "runs" / run_folder_name(run)
            shutil.copytree(source, target)
            (target / "status.json").write_text(json.dumps({**status, "run": run,
                                                            "replicate": r}, indent=2))
    (folder / "batch.json").write_text(json.dumps(record, indent=2, sort_keys=True))
    rebuild_manifest(folder)
    return folder


def timed_compare(batch: Path, out: Path, tree: Path) -> dict:
    """``sim compare`` on ``batch`` in a fresh process, the package imported from ``tree``."""
    process = subprocess.Popen([sys.executable, "-m", "sim", "compare", str(batch), "--out",
                                str(out)], cwd=tree, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"sim compare failed on {batch}: {process.stderr.read()[-500:]}")
    return {"peak_mb": round(usage.ru_maxrss / 1024), "cpu_s": round(usage.ru_utime
                                                                     + usage.ru_stime, 1)}


def baseline_tree(rev: str, where: Path) -> Path:
    """The tree of git revision ``rev`` unpacked under ``where``."""
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True)
    tree = where / "baseline"
    tree.mkdir()
    with tempfile.TemporaryFile() as handle:
        handle.write(archive.stdout)
        handle.seek(0)
        with tarfile.open(fileobj=handle) as archive_file:
            archive_file.extractall(tree, filter="data")
    return tree


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[20, 100, 400])
    parser.add_argument("--units", type=int, default=20000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--baseline", help="a git revision to time alongside")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        work = Path(tmp)
        seed = seed_batch(work / "seed", args.units, args.steps)
        trees = {"current": ROOT}
        if args.baseline:
            trees[args.baseline] = baseline_tree(args.baseline, work)
        print(f"{'runs':>6} {'tree':>12} {'peak MB':>8} {'CPU s':>7}")
        for n in args.runs:
            batch = copied_batch(seed, work / f"batch{n}", n)
            for label, tree in trees.items():
                row = {"runs": n, "tree": label,
                       **timed_compare(batch, work / f"report{n}-{label}", tree)}
                results.append(row)
                print(f"{n:>6} {label:>12} {row['peak_mb']:>8} {row['cpu_s']:>7}", flush=True)
            shutil.rmtree(batch)
    if args.out:
        args.out.write_text(json.dumps({"units": args.units, "steps": args.steps,
                                        "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
