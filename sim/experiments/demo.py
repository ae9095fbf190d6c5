"""The bundled comparison (``make demo``): every bundled scenario, then the report.

``python -m sim.experiments.demo --out results/demo`` runs ``homogenised``, ``coordinated`` and every
ablation (``coordinated_without_*``, ``homogenised_with_*``) with 20 replicates each into
``OUT/store``, writes ``summary.csv``, the figures and ``report.html`` under ``OUT`` and prints
the report's path. An existing non-empty ``OUT`` is refused unless ``--force`` (which removes it).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"


def bundled_scenarios(folder: Path = SCENARIO_DIR) -> list[Path]:
    """The comparison's scenario files: baseline, coordinated, then the ablations (sorted)."""
    files = [folder / "homogenised.yaml", folder / "coordinated.yaml"]
    files += sorted(folder.glob("coordinated_without_*.yaml"))
    files += sorted(folder.glob("homogenised_with_*.yaml"))
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)}: bundled scenario file missing")
    return files


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sim.experiments.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("results/demo"))
    parser.add_argument("--force", action="store_true", help="remove an existing OUT first")
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    parser.add_argument("--lang", choices=("en", "zh"), default="en")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override for every scenario (repeatable)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and write the report; exit code 2 on bad input."""
    args = parse_args(argv)
    out: Path = args.out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not args.force:
            print(f"sim.experiments.demo: {out}: exists and is not empty; use --force to replace it",
                  file=sys.stderr)
            return 2
        if out.is_dir():
            shutil.rmtree(out)
        else:
            out.unlink()
    from sim.analysis.report import build_report
    from sim.config import ConfigError
    from sim.experiments.runner import run_batch

    try:
        files = bundled_scenarios()
        batch = run_batch(files, out_dir=out / "store", replicates=args.replicates,
                          workers=args.workers, overrides=args.overrides)
    except (ConfigError, FileNotFoundError) as error:
        print(f"sim.experiments.demo: {error}", file=sys.stderr)
        return 2
    for run, message in batch.failed:
        print(f"sim.experiments.demo: run {run} failed: {message}", file=sys.stderr)
    if batch.n_ok == 0:
        return 1
    print(f"{batch.n_ok} runs in {batch.wall_s:.1f} s", file=sys.stderr)
    print(build_report(out / "store", out, baseline="homogenised", lang=args.lang))
    return 0 if batch.n_failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
