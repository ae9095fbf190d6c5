"""``sim evidence``: score every empirical target at a stated size and number of replicates."""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

from sim.cli_options import SET_HELP
from sim.config import load_scenario
from sim.config.loader import ConfigError, show_path
from sim.experiments.runner import check_workers
from sim.experiments.store_guard import check_output, replacing
from sim.validation.fingerprint import code_hash
from sim.version import __version__

#: Default size: the bundled scenarios' production units, and replicates enough for a 5-95% band
#: (about 2 CPU minutes in all at this size; `--dry-run` estimates first).
DEFAULT_UNITS = 20_000
DEFAULT_REPLICATES = 40
MAX_UNITS = 5_000_000


def register_evidence(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evidence`` subcommand to the ``sim`` command."""
    cmd = subparsers.add_parser(
        "evidence", help="score the model on every empirical target (sim/data/targets.csv)",
        description="Runs the back-test (2010-2019), the as_happened forecast (2021-2024) and "
                    "the base year at rest, and writes evidence.csv, evidence.md, evidence.png "
                    "and evidence.json (hit, miss or no data per target).")
    cmd.add_argument("--targets", type=Path, default=None,
                     help="targets file (default: the bundled sim/data/targets.csv)")
    cmd.add_argument("--replicates", type=int, default=DEFAULT_REPLICATES,
                     help=f"realisations of every run (default {DEFAULT_REPLICATES})")
    cmd.add_argument("--units", type=int, default=DEFAULT_UNITS,
                     help=f"production units of every run's base world (default {DEFAULT_UNITS})")
    cmd.add_argument("--seed", type=int, default=1, help="root seed (default 1)")
    cmd.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help=f"{SET_HELP}; applied to every run, except that the back-test keeps "
                          "its measured 2010-2019 drivers (growth, land supply, fall of land "
                          "intensity; its 2010 land stock is back-cast from the 2021 one) and the "
                          "run at rest its own (sim backtest --set changes the drivers)")
    cmd.add_argument("--workers", type=int, default=None,
                     help="local worker processes (default: all cores; 1 runs here)")
    cmd.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, tcp://host:8786")
    cmd.add_argument("--out", type=Path, default=Path("results/evidence"), help="output folder")
    cmd.add_argument("--force", action="store_true", help="replace an existing --out folder")
    cmd.add_argument("--doc", type=Path, default=None,
                     help="also put the table into this document between its evidence markers "
                          "(e.g. docs/VALIDATION.md)")
    cmd.add_argument("--posterior", type=Path, metavar="DIR",
                     help="posterior folder (sim calibrate): replicate r at its draw r, so the "
                          "scoreboard is the posterior predictive (validation targets held out)")
    cmd.add_argument("--dry-run", action="store_true",
                     help="print the run count and a time estimate from one pilot replicate; "
                          "write nothing")
    cmd.set_defaults(handler=cmd_evidence)


def _check(args: argparse.Namespace) -> None:
    for flag, low, high in (("replicates", 1, 100_000), ("units", 100, MAX_UNITS),
                            ("seed", 0, 2**63 - 1)):
        value = getattr(args, flag)
        if not low <= value <= high:
            raise ConfigError(f"--{flag}: expected an integer from {low} to {high} (got {value})")
    if args.doc is not None and not args.doc.is_file():
        raise ConfigError(f"--doc {show_path(args.doc)}: expected an existing document")


def _check_overrides(targets, overrides: list[str]) -> None:
    """Bad ``--set`` values fail here, in one line, before any run starts."""
    # lazy: the model loads when this command runs, not when `sim` builds its parser
    from sim.validation import evidence

    files = {"backtest": evidence.SCENARIO, "forecast": evidence.FORECAST_SCENARIO,
             "rest": evidence.REST_SCENARIO}
    for run in dict.fromkeys(t.run for t in targets):
        load_scenario(files[run], overrides)


def cmd_evidence(args: argparse.Namespace) -> int:
    """Score the targets; write the four files (and the document's table with ``--doc``)."""
    # lazy: pandas and the targets file load when this command runs
    from sim.validation.targets import load_targets

    _check(args)
    check_workers(args.workers)
    targets = load_targets(args.targets)
    _check_overrides(targets, args.overrides)
    if args.dry_run:
        print(_dry_run(targets, args))
        return 0
    check_output(args.out, args.force)   # --force: only a folder the tool wrote, never a parent
    frame, meta = _score(targets, args)
    with replacing(args.out) as tmp:
        # lazy: the files' figures (matplotlib) load when they are written
        from sim.validation.evidence_report import write_outputs

        write_outputs(tmp, frame, meta)
    if args.doc is not None:
        # lazy: the files' figures (matplotlib) load when they are written
        from sim.validation.evidence_report import update_document

        update_document(args.doc, args.out)
    # lazy: the files' figures (matplotlib) load when they are written
    from sim.validation.evidence_report import summary, summary_line

    print(f"evidence, {args.replicates} replicates of {args.units:,} units: "
          f"{summary_line(summary(frame))}; {meta['cpu_seconds']:.0f} CPU s; written to "
          f"{show_path(args.out)}")
    return 0


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)   # pool workers, once reaped
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _score(targets, args: argparse.Namespace):
    """The scoreboard and what it was computed from."""
    # lazy: the model and the store load when `sim evidence` runs
    from sim.experiments.store import data_hash
    from sim.validation.evidence import evidence

    start, code = _cpu_seconds(), code_hash()   # the code the runs start with
    try:
        draws = None
        if args.posterior is not None:
            # lazy: the posterior (pandas, scipy) loads only with --posterior
            from sim.estimation.posterior import override_sets

            draws = override_sets(args.posterior, args.replicates)
        frame = evidence(targets, args.replicates, args.seed, args.overrides, args.units,
                         workers=args.workers, scheduler=args.scheduler, draws=draws)
    except (FileNotFoundError, KeyError, ValueError) as exc:   # a data folder of the wrong form
        raise ConfigError(" ".join(str(exc).strip("'\"").split())) from None
    meta = {"version": __version__, "code_hash": code, "data_hash": data_hash(None),
            "created": time.strftime("%Y-%m-%d %H:%M:%S"), "n_units": args.units,
            "replicates": args.replicates, "seed": args.seed, "overrides": args.overrides,
            "targets_file": str(args.targets or "sim/data/targets.csv"),
            "posterior": str(args.posterior) if args.posterior else None,
            "cpu_seconds": _cpu_seconds() - start,
            "unsettled_replicates": int(frame.attrs.get("unsettled_replicates", 0))}
    if meta["unsettled_replicates"]:
        # lazy: the model's package loads when this command runs, not when `sim` builds its parser
        from sim.model import diagnostics

        ran = diagnostics.ran_not_at_rest(meta["unsettled_replicates"], args.replicates,
                                          "replicates")
        print(f"warning: {ran}; their targets carry its drift", file=sys.stderr)
    return frame, meta


def _dry_run(targets, args: argparse.Namespace) -> str:
    """Replicates and an estimate from one pilot replicate timed here (nothing is written)."""
    # lazy: the dry run loads the model to time a pilot replicate
    from sim.experiments.dry_run import estimate_line, parallel_slots, timed
    from sim.validation.evidence import simulate_targets

    try:
        pilot = timed(lambda: simulate_targets(targets, args.overrides, args.seed, 0, args.units))
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise ConfigError(" ".join(str(exc).strip("'\"").split())) from None
    runs = len({t.run for t in targets})
    slots = parallel_slots(args.workers, args.scheduler, args.replicates)
    line = estimate_line(args.replicates, pilot, slots, unit="replicate")
    return (f"dry run (nothing written): {line}; each replicate makes {runs} run(s) of "
            f"{args.units:,} units")
