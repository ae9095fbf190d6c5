"""Scenario discovery (``sim discover``): under which assumptions does the scenario lose to its
baseline? PRIM (Friedman & Fisher 1999, through EMA Workbench) over a sensitivity design.

The design is either the stored points of a paired ``sim sensitivity --against`` study, or a
fresh Latin hypercube (uniform over each uncertain range) run through the same evaluator as the
sensitivity analysis (:class:`~sim.sensitivity.core.ModelEvaluator`: same values, seed and
replicate for scenario and baseline). A point is a *case of interest* when the scenario is
strictly worse than the baseline on the metric. PRIM peels the parameter box towards the cases;
each reported box is the one with the largest coverage (share of all cases inside it) among those
with density (share of its points that are cases) at least ``min_density``, else the densest.
Further boxes cover the cases left outside the earlier ones.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis import registry
from sim.cli_options import SET_HELP
from sim.config.loader import ConfigError, resolved_dict, show_path
from sim.config.sweeps import load_scenario
from sim.config.uncertain import integer_keys
from sim.experiments.store_guard import check_fresh_output
from sim.sensitivity.prim import Box, boxes_table, find_boxes  # noqa: F401 (re-exported)


def loses(outputs: pd.DataFrame, metric: str) -> np.ndarray:
    """True where the scenario is strictly worse than the baseline on ``metric``."""
    column = f"{metric}.diff"
    if column not in outputs:
        raise ConfigError(f"{metric}: expected paired outputs ({column}): the design needs a "
                          f"baseline (sim sensitivity --against)")
    direction = registry.DIRECTIONS.get(metric, 0)
    if direction == 0:
        raise ConfigError(f"--metric {metric}: expected a ranked metric (got one that is only "
                          f"descriptive)")
    return np.sign(outputs[column].to_numpy(float)) == -direction


def markdown(boxes: Sequence[Box], cases: np.ndarray, metric: str, title: str) -> str:
    """A short report: how often the scenario loses and the boxes where it mostly does."""
    n, k = len(cases), int(np.sum(cases))
    lines = [f"## {title}", "",
             f"The scenario is worse than the baseline on {metric} at {k} of {n} sampled points "
             f"({k / n:.0%}). PRIM boxes of assumptions where it mostly loses (coverage: share "
             f"of those {k} points inside the box; density: share of the box's points where it "
             f"loses):", ""]
    if not boxes:
        lines.append("No box: the scenario never loses on this design." if k == 0
                     else "No box found.")
    for i, box in enumerate(boxes, 1):
        lines.append(f"{i}. coverage {box.coverage:.0%}, density {box.density:.0%}, "
                     f"{box.n} points ({box.mass:.0%} of the design): {box.text()}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- designs


def lhs_points(params, n: int, seed: int, integer_keys: Sequence[str] = ()) -> list[dict]:
    """A Latin hypercube of ``n`` points, uniform over each parameter's [low, high]."""
    from scipy.stats import qmc

    # lazy: the study's machinery (the store, the runner's pool) loads when `sim discover` runs,
    # not when `sim` builds its parser
    from sim.sensitivity.core import design_points

    if n < 2:
        raise ConfigError(f"--samples: expected an integer >= 2 (got {n})")
    unit = qmc.LatinHypercube(d=len(params), seed=seed).random(n)
    low = np.array([p.low for p in params])
    high = np.array([p.high for p in params])
    return design_points(low + unit * (high - low), params, integer_keys)


def run_lhs(params, evaluator, n: int, out: Path, *, seed: int, integer_keys=(),
            label: dict | None = None, workers=None, scheduler=None, resume=False,
            progress=True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Evaluate a fresh (resumable) Latin-hypercube design; return (points, outputs)."""
    # lazy: the study's machinery (the store, the runner's pool) loads when `sim discover` runs,
    # not when `sim` builds its parser
    from sim.sensitivity.core import design_record, run_points

    points = lhs_points(params, n, seed, integer_keys)
    outputs = run_points(points, evaluator, out, design_record("lhs", n, seed, params,
                                                                 label or {}),
                         workers=workers, scheduler=scheduler, resume=resume, progress=progress)
    return pd.DataFrame(points), pd.DataFrame(outputs)


def stored_design(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(points, outputs) of a finished ``sim sensitivity`` study folder (its samples.csv)."""
    design, samples = folder / "design.json", folder / "samples.csv"
    if not design.is_file() or not samples.is_file():
        raise ConfigError(f"{show_path(folder)}: --from: expected a sensitivity study folder "
                          f"(design.json and samples.csv, written by sim sensitivity)")
    keys = [p["key"] for p in json.loads(design.read_text())["params"]]
    table = pd.read_csv(samples)
    return table[keys], table.drop(columns=keys)


# --------------------------------------------------------------------------- the command


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``discover`` subcommand to the ``sim`` command."""
    cmd = subparsers.add_parser(
        "discover", help="PRIM: the assumptions under which a scenario loses to its baseline",
        description="Scenario discovery over a sensitivity design: a stored paired study "
                    "(--from) or a fresh Latin hypercube of SCENARIO against --against.")
    cmd.add_argument("scenario", nargs="?", metavar="SCENARIO.yaml")
    cmd.add_argument("--against", metavar="BASELINE.yaml", help="baseline (fresh design)")
    cmd.add_argument("--from", dest="study", type=Path, metavar="STUDY",
                     help="folder of a finished `sim sensitivity --against` study")
    cmd.add_argument("--samples", type=int, default=64, help="Latin-hypercube points (fresh)")
    cmd.add_argument("--params", help="comma-separated uncertain keys (default: all)")
    cmd.add_argument("--metric", default="welfare", help="ranked metric (default welfare)")
    cmd.add_argument("--min-density", type=float, default=0.8,
                     help="least share of losing points in a reported box (default 0.8)")
    cmd.add_argument("--boxes", type=int, default=2, help="boxes to report at most (default 2)")
    cmd.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help=SET_HELP)
    cmd.add_argument("--seed", type=int, help="design seed (default: the scenario's seed)")
    cmd.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    cmd.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, tcp://host:8786")
    cmd.add_argument("--out", type=Path, required=True, help="folder for boxes.csv, discovery.md")
    cmd.add_argument("--resume", action="store_true", help="continue an interrupted design")
    cmd.add_argument("--quiet", action="store_true", help="no progress output")
    cmd.set_defaults(handler=cmd_discover)


def _check_args(args: argparse.Namespace) -> None:
    if (args.study is None) == (args.scenario is None):
        raise ConfigError("sim discover: expected either SCENARIO.yaml --against BASELINE.yaml "
                          "or --from STUDY")
    if args.scenario and not args.against:
        raise ConfigError("--against: expected the baseline scenario file for a fresh design")
    if not 0 < args.min_density <= 1 or args.boxes < 1:
        raise ConfigError(f"--min-density: expected a share in (0, 1] and --boxes >= 1 (got "
                          f"{args.min_density}, {args.boxes})")


def cmd_discover(args: argparse.Namespace) -> int:
    """Find the boxes, write ``boxes.csv`` and ``discovery.md`` into ``--out``."""
    _check_args(args)
    start = time.perf_counter()
    if args.study is not None:
        points, outputs = stored_design(args.study)
        loses(outputs, args.metric)       # checks the metric before the folder
        check_fresh_output(args.out, "choose another --out")
        args.out.mkdir(parents=True, exist_ok=True)
        title = f"Scenario discovery over {show_path(args.study)}"
    else:
        points, outputs, title = _fresh(args)
    cases = loses(outputs, args.metric)
    boxes = find_boxes(points, cases, args.min_density, args.boxes)
    boxes_table(boxes).to_csv(args.out / "boxes.csv", index=False)
    report = args.out / "discovery.md"
    report.write_text(markdown(boxes, cases, args.metric, title), encoding="utf-8")
    print(f"{int(cases.sum())} of {len(cases)} points lose on {args.metric}; {len(boxes)} box(es) "
          f"in {time.perf_counter() - start:.1f} s; report in {show_path(report)}")
    for i, box in enumerate(boxes, 1):
        print(f"  box {i}: coverage {box.coverage:.0%}, density {box.density:.0%}: {box.text()}")
    return 0


def _fresh(args: argparse.Namespace):
    # lazy: the study's machinery (the store, the runner's pool) loads when this command runs
    from sim.sensitivity.core import ModelEvaluator, parse_uncertain, select

    if args.metric not in registry.RANKED:
        raise ConfigError(f"--metric {args.metric}: expected a ranked metric "
                          f"({', '.join(registry.RANKED)})")
    scenario = load_scenario(args.scenario, args.overrides)
    baseline = load_scenario(args.against, args.overrides)
    where = show_path(args.scenario)
    wanted = [k.strip() for k in args.params.split(",") if k.strip()] if args.params else None
    params = select(parse_uncertain(scenario.uncertain, where), wanted, where)
    config, base = resolved_dict(scenario), resolved_dict(baseline)
    seed = scenario.seed if args.seed is None else args.seed
    points, outputs = run_lhs(params, ModelEvaluator(config, base, seed=scenario.seed),
                              args.samples, args.out, seed=seed,
                              integer_keys=integer_keys(config, [p.key for p in params]),
                              label={"scenario": config, "baseline": base},
                              workers=args.workers, scheduler=args.scheduler,
                              resume=args.resume, progress=not args.quiet)
    pd.concat([points, outputs], axis=1).to_csv(args.out / "samples.csv", index=False)
    return points, outputs, f"Scenario discovery: {scenario.name} against {baseline.name}"
