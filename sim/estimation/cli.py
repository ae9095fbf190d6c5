"""``sim calibrate`` (ABC-SMC on the calibration targets) and ``sim identifiability`` (coverage
on synthetic data sets from a reference table of prior simulations).

Both read the targets file of ``sim evidence`` and use only its ``calibration`` targets; the
priors are the ``uncertain:`` block of a scenario file (default ``scenarios/base.yaml``). With
``--toy`` they run on the linear-Gaussian stand-in of :mod:`sim.estimation.toy`, whose
posterior is known, to check the machinery without running the model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli_options import SET_HELP
from sim.config.loader import ConfigError, show_path
from sim.config.sweeps import load_scenario
from sim.config.uncertain import parse_uncertain
from sim.estimation import toy
from sim.estimation.budget import PREDICTIVE_DRAWS, SmcSettings
from sim.experiments.runner import check_workers
from sim.experiments.store_guard import check_fresh_output
from sim.paths import SCENARIO_DIR

#: Model size of a calibration's simulations unless ``--units`` says otherwise.
DEFAULT_UNITS = 2000
#: Prior draws the dry run times (after one that warms the process up).
PILOT_DRAWS = 3


def _common(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--scenario", type=Path, help="scenario whose uncertain: block gives the "
                     "priors (default scenarios/base.yaml)")
    cmd.add_argument("--targets", type=Path, help="targets file (default: the bundled one)")
    cmd.add_argument("--params", help="comma-separated uncertain keys to estimate")
    cmd.add_argument("--screening", type=Path, metavar="DIR",
                     help="a `sim sensitivity --targets` study: estimate the parameters it kept")
    cmd.add_argument("--units", type=int, default=DEFAULT_UNITS,
                     help=f"production units per simulation (default {DEFAULT_UNITS})")
    cmd.add_argument("--realisations", type=int, default=1, metavar="K",
                     help="realisations of the model averaged per parameter point (default 1): "
                          "the model's sampling noise falls by sqrt(K), as with K times the "
                          "units; a simulation costs K times as much")
    cmd.add_argument("--seed", type=int, default=1, help="root seed (default 1)")
    cmd.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help=SET_HELP)
    cmd.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    cmd.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, tcp://host:8786")
    cmd.add_argument("--out", type=Path, help="output folder (required unless --dry-run)")
    cmd.add_argument("--resume", action="store_true", help="continue an interrupted run")
    cmd.add_argument("--dry-run", action="store_true",
                     help=f"time {PILOT_DRAWS} pilot simulations at new prior draws (after "
                          f"one that warms the process up), print the estimate from their "
                          f"mean, write nothing")
    cmd.add_argument("--quiet", action="store_true", help="no progress output")
    cmd.add_argument("--toy", action="store_true",
                     help="run on the linear-Gaussian toy with a known posterior (no model runs)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``calibrate`` and ``identifiability`` to the ``sim`` command."""
    defaults = SmcSettings()
    cal = subparsers.add_parser("calibrate", help="ABC-SMC posterior of assumed parameters")
    _common(cal)
    cal.add_argument("--identified", type=Path, metavar="DIR",
                     help="a `sim identifiability` folder: drop parameters it did not identify")
    cal.add_argument("--population", type=int, default=defaults.population,
                     help=f"particles per generation (default {defaults.population})")
    cal.add_argument("--generations", type=int, default=defaults.generations,
                     help=f"generations at most (default {defaults.generations})")
    cal.add_argument("--min-epsilon", type=float, default=defaults.min_epsilon,
                     help="stop at this tolerance (default 0: run the generations)")
    cal.add_argument("--max-simulations", type=int, default=defaults.max_simulations,
                     help=f"start no new generation once this many simulations are done "
                          f"(default {defaults.max_simulations}; pyabc checks between "
                          f"generations, so the last may run past it)")
    cal.add_argument("--predictive", type=int, default=PREDICTIVE_DRAWS,
                     help=f"posterior draws simulated against every target (default "
                          f"{PREDICTIVE_DRAWS}; 0: none)")
    cal.set_defaults(handler=cmd_calibrate)
    ident = subparsers.add_parser("identifiability",
                                  help="coverage of the calibration on synthetic data sets")
    _common(ident)
    ident.add_argument("--draws", type=int, default=1000,
                       help="prior simulations (default 1000)")
    ident.add_argument("--truths", type=int, default=20,
                       help="held-out draws used as synthetic data sets (default 20)")
    ident.add_argument("--accept", type=int, default=150,
                       help="simulations accepted per data set (default 150: the regression "
                            "adjustment needs 5 per coefficient, so up to 29 targets)")
    ident.set_defaults(handler=cmd_identifiability)


def setup(args: argparse.Namespace):
    """(simulator, chosen parameters, every target) from the options."""
    # lazy: the pipeline (scipy, matplotlib, pyabc's helpers) loads when this command runs
    from sim.estimation.pipeline import chosen_keys
    from sim.estimation.targets import TargetSimulator, calibration_only, load_calibration_targets

    check_workers(args.workers)
    if args.out is None and not args.dry_run:
        raise ConfigError("--out: expected the output folder (only --dry-run needs none)")
    if args.workers is not None and args.scheduler:
        raise ConfigError("--workers and --scheduler: expected at most one of them")
    if args.units < 100:
        raise ConfigError(f"--units: expected an integer >= 100 (got {args.units})")
    if args.realisations < 1:
        raise ConfigError(f"--realisations: expected an integer >= 1 (got {args.realisations})")
    keys = [k.strip() for k in args.params.split(",") if k.strip()] if args.params else None
    if args.toy:
        every = toy.toy_targets({"toy.level": 1.0, "toy.slope": 0.5})
        params = chosen_keys(list(toy.PARAMETERS), keys or [p.key for p in toy.PARAMETERS],
                             None, getattr(args, "identified", None))
        simulate, units = toy.toy_simulate_targets, None
    else:
        every = load_calibration_targets(args.targets)
        params = chosen_keys(_priors(args), keys, args.screening, getattr(args, "identified",
                                                                          None))
        simulate, units = None, args.units
    simulator = TargetSimulator(tuple(calibration_only(every)), seed=args.seed, n_units=units,
                                overrides=tuple(args.overrides), simulate=simulate,
                                realisations=args.realisations)
    return simulator, params, every


def _priors(args: argparse.Namespace):
    path = args.scenario or SCENARIO_DIR / "base.yaml"
    return parse_uncertain(load_scenario(path).uncertain, show_path(path))


def _dry_run(simulator, params, n_sims: int, args: argparse.Namespace, what: str) -> str:
    """The estimate from the mean time of :data:`PILOT_DRAWS` prior draws, each a new point: a
    simulation's cost varies with the parameter values (the base year settles more slowly at
    some), and a point simulated twice finds its base year in the cache."""
    # lazy: the dry run loads the model to time the pilot simulations
    from sim.estimation.reference import prior_points
    from sim.experiments.dry_run import estimate_line, parallel_slots, timed

    warm_up, *pilots = prior_points(params, PILOT_DRAWS + 1, args.seed)
    simulator(warm_up)  # the first call imports and builds what later calls reuse
    took = [timed(lambda point=point: simulator(point)) for point in pilots]
    line = estimate_line(n_sims, sum(took) / len(took),
                         parallel_slots(args.workers, args.scheduler, n_sims), "simulation",
                         pilots=len(took))
    return (f"dry run (nothing written): {what} over {len(params)} parameters, {line} (the "
            f"pilots are {len(took)} prior draws, {min(took):.1f}-{max(took):.1f} s; one more "
            f"warmed the process up)")


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit the posterior and write the folder; print where it is."""
    # lazy: the pipeline (scipy, matplotlib, pyabc) loads when this command runs
    from sim.estimation.pipeline import calibrate

    for flag in ("population", "generations", "max_simulations"):
        if getattr(args, flag) < 1:
            raise ConfigError(f"--{flag.replace('_', '-')}: expected an integer >= 1")
    if args.predictive < 0 or args.min_epsilon < 0:
        raise ConfigError("--predictive and --min-epsilon: expected values >= 0")
    simulator, params, every = setup(args)
    settings = SmcSettings(args.population, args.generations, args.min_epsilon,
                           args.max_simulations)
    if args.dry_run:
        n = args.max_simulations + args.predictive
        print(_dry_run(simulator, params, n, args, f"ABC-SMC ({args.max_simulations} "
                       f"simulations, then {args.predictive} predictive draws; the last "
                       f"generation may run past the cap, so up to a generation longer)"))
        return 0
    if not args.resume:
        check_fresh_output(args.out, "pass --resume to continue it or choose another --out")
    posterior = calibrate(simulator, params, every, args.out, settings,
                          predictive_draws=args.predictive, workers=args.workers,
                          scheduler=args.scheduler, resume=args.resume,
                          progress=not args.quiet)
    r = posterior.record
    print(f"posterior of {len(params)} parameter(s) from {r['simulations']} simulations in "
          f"{r['generations']} generation(s), {r['cpu_s']} CPU s; written to "
          f"{show_path(args.out)}")
    if r.get("warning"):
        print(f"warning: {r['warning']}", file=sys.stderr)
    return 0


def cmd_identifiability(args: argparse.Namespace) -> int:
    """Run the reference table and the coverage check; print the per-parameter verdicts."""
    # lazy: the pipeline (scipy, matplotlib, pyabc) loads when this command runs
    from sim.estimation.pipeline import identify

    simulator, params, _ = setup(args)
    if args.dry_run:
        print(_dry_run(simulator, params, args.draws, args, "reference table"))
        return 0
    summary = identify(simulator, params, args.draws, args.truths, args.accept, args.out,
                       seed=args.seed, workers=args.workers, scheduler=args.scheduler,
                       resume=args.resume, progress=not args.quiet)
    print(f"identified {int(summary['identified'].sum())} of {len(summary)} parameter(s) on "
          f"{args.truths} synthetic data sets; written to {show_path(args.out)}")
    for row in summary.itertuples():
        print(f"  {row.parameter}: covers {row.covered}/{row.truths}, contraction "
              f"{row.contraction:.0%}: {'identified' if row.identified else 'not identified'}")
    return 0
