"""The bundled comparison (`make demo`, `make study`): every bundled scenario, then the report.

``python -m sim.experiments.demo --out results/demo`` runs ``homogenised``, ``coordinated``
and every ablation (``coordinated_without_*``, ``homogenised_with_*``) at the full model size
with ``DEMO_REPLICATES`` (3) paired replicates each into ``OUT/store``, prints the headline
differences against ``homogenised`` as soon as the runs end, then writes ``summary.csv``, the
figures and ``report.html`` under ``OUT`` and prints its path. ``--replicates 20`` is the full
study (``make study``). An existing non-empty ``OUT`` is refused unless ``--force`` (which
removes it). ``--evidence DIR`` (a ``sim evidence`` output folder; ``make demo`` and ``make
study`` write one at its defaults first) puts the model's fit to history near the report's top.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sim.analysis import registry
from sim.paths import SCENARIO_DIR

if TYPE_CHECKING:
    import pandas as pd

#: Replicates of the quick demo: the fewest that give each paired difference an interval.
DEMO_REPLICATES = 3
#: Replicates of the full study (``make study``).
STUDY_REPLICATES = 20
#: Headline metrics printed after the run (the registry's ranked ones), with the direction that
#: counts as better.
HEADLINE = {code: "higher" if registry.DIRECTIONS[code] > 0 else "lower"
            for code in registry.RANKED}


def comparison_files(folder: Path = SCENARIO_DIR) -> list[Path]:
    """The comparison's scenario files: baseline, coordinated, then the ablations (sorted)."""
    files = [folder / "homogenised.yaml", folder / "coordinated.yaml"]
    files += sorted(folder.glob("coordinated_without_*.yaml"))
    files += sorted(folder.glob("homogenised_with_*.yaml"))
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)}: bundled scenario file missing")
    return files


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sim.experiments.demo", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=Path("results/demo"))
    parser.add_argument("--force", action="store_true", help="remove an existing OUT first")
    parser.add_argument("--replicates", type=int, default=DEMO_REPLICATES,
                        help=f"per scenario (default {DEMO_REPLICATES}; the full study: "
                             f"{STUDY_REPLICATES})")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    parser.add_argument("--lang", choices=("en", "zh"), default="en")
    parser.add_argument("--posterior", type=Path, default=None,
                        help="posterior folder: replicate r of every scenario at its draw r")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override for every scenario (repeatable)")
    parser.add_argument("--evidence", type=Path, default=None, metavar="DIR",
                        help="a `sim evidence` output folder whose fit to history the report "
                             "states near its top (`make demo` writes one first)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and write the report; exit code 2 on bad input."""
    args = parse_args(argv)
    out: Path = args.out
    if args.evidence is not None and not (args.evidence / "evidence.json").is_file():
        print(f"sim.experiments.demo: --evidence {args.evidence}: expected a `sim evidence` "
              f"output folder (with evidence.json)", file=sys.stderr)
        return 2
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not args.force:
            print(
                f"sim.experiments.demo: {out}: exists and is not empty; use --force to replace it",
                file=sys.stderr,
            )
            return 2
        if out.is_dir():
            shutil.rmtree(out)
        else:
            out.unlink()
    # lazy: spawned workers import this script's module first, and numpy must load after they pin
    # their threads (sim.experiments.runner)
    from sim.analysis.report import build_report
    from sim.config import ConfigError
    from sim.experiments.runner import run_batch

    try:
        files = comparison_files()
        batch = run_batch(files, out_dir=out / "store", replicates=args.replicates,
                          workers=args.workers, overrides=args.overrides,
                          **({"posterior": args.posterior} if args.posterior else {}))
    except (ConfigError, FileNotFoundError) as error:
        print(f"sim.experiments.demo: {error}", file=sys.stderr)
        return 2
    for run, message in batch.failed:
        print(f"sim.experiments.demo: run {run} failed: {message}", file=sys.stderr)
    if batch.n_ok == 0:
        return 1
    print(f"{batch.n_ok} runs in {batch.wall_s:.1f} s", file=sys.stderr)
    print(headline(store_differences(out / "store"), len(files), args.replicates), flush=True)
    print("writing the report (figures, summary tables) ...", file=sys.stderr, flush=True)
    print(build_report(out / "store", out, baseline="homogenised", lang=args.lang,
                       evidence=args.evidence))
    return 0 if batch.n_failed == 0 else 1


def store_differences(store: Path) -> pd.DataFrame:
    """Paired differences against ``homogenised``, computed as the report computes them."""
    # lazy: spawned workers import this script's module first, and numpy must load after they pin
    # their threads (sim.experiments.runner)
    from sim.analysis import stats
    from sim.experiments.store import load_results

    return stats.summarise(load_results(store), baseline="homogenised").differences


def headline(differences: pd.DataFrame, n_scenarios: int, replicates: int) -> str:
    """The paired differences against ``homogenised`` at the last step, one row per scenario,
    with how many replicates they rest on and how to run the full study.

    Args:
        differences: rows scenario, measure, metric, mean, ci_low, ci_high (as in summary.csv).
    """
    lines = [f"{n_scenarios} scenarios x {replicates} paired replicates; each cell: mean "
             f"difference from homogenised at the last step, * = its 95% interval excludes 0"]
    if replicates < STUDY_REPLICATES:
        lines.append(f"a quick look: the full study is `make study` ({STUDY_REPLICATES} "
                     f"replicates: python -m sim.experiments.demo --replicates {STUDY_REPLICATES} "
                     f"--out results/study)")
    rows = differences[(differences["measure"] == "last")
                       & differences["metric"].isin(list(HEADLINE))]
    if rows.empty:
        return "\n".join(lines)
    cells = rows.assign(text=[f"{m:+.4g}{'*' if lo > 0 or hi < 0 else ' '}" for m, lo, hi in
                              zip(rows["mean"], rows["ci_low"], rows["ci_high"])])
    wide = cells.pivot_table(index="scenario", columns="metric", values="text", aggfunc="first",
                             sort=False)
    wide = wide[[m for m in HEADLINE if m in wide.columns]]
    wide.columns = [f"{m} ({HEADLINE[m]} better)" for m in wide.columns]
    return "\n".join([*lines, wide.to_string()])


if __name__ == "__main__":
    raise SystemExit(main())
