"""``sim sensitivity``: Morris or Sobol over a scenario's uncertain parameters, optionally paired
against a baseline scenario (same sampled values, same seed and replicate)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli_options import SET_HELP
from sim.config.loader import ConfigError, resolved_dict, show_path
from sim.config.sweeps import load_scenario
from sim.config.uncertain import integer_keys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sensitivity`` subcommand to the ``sim`` command."""
    cmd = subparsers.add_parser("sensitivity", help="Morris / Sobol over uncertain parameters")
    cmd.add_argument("scenario", metavar="SCENARIO.yaml")
    cmd.add_argument("--against", metavar="BASELINE.yaml", help="baseline for paired differences")
    cmd.add_argument("--method", choices=("morris", "sobol"), required=True)
    cmd.add_argument("--samples", type=int, required=True,
                     help="Morris trajectories, or Sobol base sample (a power of 2)")
    cmd.add_argument("--params", help="comma-separated uncertain keys (default: all)")
    cmd.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    cmd.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, tcp://host:8786")
    cmd.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help=SET_HELP)
    cmd.add_argument("--seed", type=int, help="sampler seed (default: the scenario's seed)")
    cmd.add_argument("--out", type=Path, help="study folder (required unless --dry-run)")
    cmd.add_argument("--resume", action="store_true", help="continue an interrupted study")
    cmd.add_argument("--quiet", action="store_true", help="no progress output")
    cmd.add_argument("--targets", nargs="?", const="", metavar="FILE",
                     help="outputs: the calibration targets' model outputs (the bundled targets "
                          "file, or FILE), and a screen of which parameters to keep "
                          "(screening.csv; with --method morris)")
    cmd.add_argument("--units", type=int, default=2000,
                     help="production units per run with --targets (default 2000)")
    cmd.add_argument("--dry-run", action="store_true",
                     help="print the model-run count and a time estimate from one pilot point; "
                          "write nothing")
    cmd.set_defaults(handler=cmd_sensitivity)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Run the study, write tables, figures and report.md; 1 if some points failed."""
    # lazy: the study's machinery (numpy, the store, SALib) loads when `sim sensitivity` runs, not
    # when `sim` builds its parser
    from sim.sensitivity.core import (
        ModelEvaluator,
        check_samples,
        parse_uncertain,
        run_study,
        select,
    )
    from sim.sensitivity.report import write_report

    check_samples(args.method, args.samples)  # before loading or any folder check
    if args.out is None and not args.dry_run:
        raise ConfigError("--out: expected the study folder (only --dry-run needs none)")
    if args.workers is not None and args.scheduler:
        raise ConfigError("--workers and --scheduler: expected at most one of them")
    scenario = load_scenario(args.scenario, args.overrides)
    baseline = load_scenario(args.against, args.overrides) if args.against else None
    where = show_path(args.scenario)
    wanted = [k.strip() for k in args.params.split(",") if k.strip()] if args.params else None
    params = select(parse_uncertain(scenario.uncertain, where), wanted, where)
    config = resolved_dict(scenario)
    base_config = resolved_dict(baseline) if baseline else None
    seed = scenario.seed if args.seed is None else args.seed
    evaluator = ModelEvaluator(config, base_config, seed=scenario.seed)
    label = {"scenario": config, "baseline": base_config}
    if args.targets is not None:
        evaluator, label = target_evaluator(args, scenario.seed)
    if args.dry_run:
        print(dry_run(params, evaluator, args, seed, integer_keys(config, [p.key for p in params])))
        return 0
    study = run_study(params, evaluator, args.method, args.samples, args.out, seed=seed,
                      integer_keys=integer_keys(config, [p.key for p in params]), label=label,
                      workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                      progress=not args.quiet)
    if study.failed:
        for index, message in study.failed[:10]:
            print(f"  FAILED sample {index}: {message}", file=sys.stderr)
        print(f"{len(study.failed)} of {len(study.points)} points failed; fix and rerun with "
              f"--resume", file=sys.stderr)
        return 1
    title = f"Sensitivity: {scenario.name}" + (f" against {baseline.name}" if baseline else "")
    report = write_report(study, args.out, title)
    if args.targets is not None:
        write_screen(study, evaluator, args.out)
    print(f"{args.method}: {len(study.points)} points over {len(params)} parameters in "
          f"{study.wall_s:.1f} s; report in {show_path(report)}")
    return 0


def target_evaluator(args: argparse.Namespace, seed: int):
    """The calibration targets' simulator at one replicate (common random numbers across the
    design's points), and the label that fixes the design."""
    # lazy: the targets' simulator loads only with --targets
    from sim.estimation.targets import TargetSimulator, calibration_only, load_calibration_targets

    if args.against:
        raise ConfigError("--targets: expected no --against (the outputs are the targets')")
    if args.method != "morris":
        raise ConfigError("--targets: expected --method morris (the screen reads Morris mu*)")
    if args.units < 100:
        raise ConfigError(f"--units: expected an integer >= 100 (got {args.units})")
    targets = tuple(calibration_only(load_calibration_targets(args.targets or None)))
    evaluator = TargetSimulator(targets, seed=seed, replicate=0, n_units=args.units,
                                overrides=tuple(args.overrides))
    return evaluator, {"targets": [t.name for t in targets], "units": args.units,
                       "overrides": list(args.overrides)}


def write_screen(study, evaluator, out: Path, replicates: int = 8) -> None:
    """``noise.csv`` (the targets at the scenario's own values over ``replicates`` replicates),
    ``screening.csv`` and ``screening.md``: which parameters move the targets (kept)."""
    import dataclasses

    import pandas as pd

    # lazy: the screening loads only with --targets
    from sim.estimation.screening import markdown, noise_floor, screen

    noise = pd.DataFrame([dataclasses.replace(evaluator, replicate=r)({})
                          for r in range(replicates)])
    noise.to_csv(out / "noise.csv", index_label="replicate")
    frame = screen(study.indices, evaluator.targets, noise_floor(noise))
    frame.to_csv(out / "screening.csv", index=False)
    (out / "screening.md").write_text(markdown(frame), encoding="utf-8")
    print(f"screen: kept {int(frame['kept'].sum())} of {len(frame)} parameters "
          f"({', '.join(frame.loc[frame['kept'], 'parameter'])}); see screening.md")


def dry_run(params, evaluator, args: argparse.Namespace, seed: int, whole: list[str]) -> str:
    """The design's size in model runs and a time estimate from its first point."""
    # lazy: the dry run loads the model to time a pilot point
    from sim.experiments.dry_run import estimate_line, parallel_slots, timed
    from sim.sensitivity.core import design_points, evaluate_point, salib_problem, sample

    points = design_points(sample(salib_problem(params), args.method, args.samples, seed),
                           params, whole)
    record: dict = {}
    pilot_s = timed(lambda: record.update(evaluate_point(evaluator, 0, points[0])))
    if record["status"] != "ok":
        return f"the pilot point failed: {record['message']}"
    per_point = 2 if getattr(evaluator, "baseline", None) is not None else 1
    line = estimate_line(len(points), pilot_s, parallel_slots(args.workers, args.scheduler,
                                                              len(points)), "point")
    return (f"dry run (nothing written): {args.method} over {len(params)} parameters, "
            f"{len(points) * per_point} model runs as {line}")
