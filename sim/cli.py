"""The ``sim`` command: ``run``, ``validate``, ``batch``, plus subcommands other modules register.

Every user error (a bad scenario file, override or option, an existing output folder) prints one
line on stderr and exits with status 2, without a traceback. A batch in which some runs failed
exits with status 1 after listing them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from sim.cli_options import SET_HELP
from sim.config.inert import InertWarning
from sim.config.loader import ConfigError, resolved_dict, show_path
from sim.config.schema import ScenarioConfig
from sim.config.sweeps import load_scenario, plan_scenario
from sim.experiments import runner
from sim.experiments.store_guard import check_output, check_run_names, replacing
from sim.version import __version__

#: Modules that add subcommands through ``register(subparsers)`` when they are installed.
PLUGINS = ("sim.analysis.cli", "sim.sensitivity.cli", "sim.sensitivity.discover",
           "sim.validation.cli", "sim.estimation.cli", "sim.estimation.prior_sample")

SUMMARY_COLUMNS = (("gdp_total", "circle GDP (100m yuan/yr)", "{:,.1f}"),
                   ("wuhan_share", "Wuhan share of GDP", "{:.4f}"),
                   ("similarity_ring_mean", "structure similarity, ring mean", "{:.4f}"),
                   ("subsidy_total", "subsidies (100m yuan/yr)", "{:,.2f}"),
                   ("welfare", "welfare (100m yuan/yr)", "{:,.1f}"))


#: Largest replicate index (the schema's cap on ``replicates``).
MAX_REPLICATE = 100_000



def steps_bounds() -> tuple[int, int]:
    """The range the schema allows for ``steps`` (quarters)."""
    meta = ScenarioConfig.model_fields["steps"].metadata
    low = next(m.ge for m in meta if hasattr(m, "ge"))
    high = next(m.le for m in meta if hasattr(m, "le"))
    return int(low), int(high)


class UserError(ConfigError):
    """A bad command-line option (reported like a bad scenario file)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sim", description="Wuhan city-circle park co-construction model.")
    parser.add_argument("--version", action="version", version=f"sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_run(sub)
    check = sub.add_parser("validate", help="check scenario files (and every sweep point)")
    check.add_argument("files", nargs="+", metavar="FILE",
                       help="scenario files or bundled scenario names")
    check.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help=SET_HELP)
    check.set_defaults(handler=cmd_validate)
    _add_batch(sub)
    for module in PLUGINS:
        plugin = _import_plugin(module)
        if plugin is not None:
            plugin.register(sub)
    return parser


def _import_plugin(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return None  # the plugin itself is not installed
        raise


def _add_run(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run one scenario and write its tables")
    run.add_argument("scenario", metavar="SCENARIO",
                     help="scenario file, or a bundled scenario's name (e.g. coordinated)")
    run.add_argument("--seed", type=int, help="root seed (default: the file's seed)")
    run.add_argument("--replicate", type=int, default=0, help="replicate index r (default 0)")
    run.add_argument("--steps", type=int, help="quarters to simulate (default: the file's steps)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help=SET_HELP)
    run.add_argument("--out", type=Path, help="folder for the Parquet tables and config.yaml")
    run.add_argument("--force", action="store_true", help="replace an existing --out folder")
    run.set_defaults(handler=cmd_run)


def _add_batch(sub: argparse._SubParsersAction) -> None:
    batch = sub.add_parser("batch", help="run scenario files x sweep points x replicates")
    batch.add_argument("files", nargs="+", metavar="FILE",
                       help="scenario files or bundled scenario names")
    batch.add_argument("--replicates", type=int, help="replicates per point (default: the file's)")
    batch.add_argument("--seed", type=int, help="root seed (default: the file's seed)")
    batch.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    batch.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, tcp://host:8786")
    batch.add_argument("--out", type=Path, default=Path("results/batch"), help="batch folder")
    batch.add_argument("--resume", action="store_true", help="continue an interrupted batch")
    batch.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help=SET_HELP)
    batch.add_argument("--steps", type=int,
                       help="quarters per run (default: each file's steps; the schema's range)")
    batch.add_argument("--dry-run", action="store_true",
                       help="print the run count and a time estimate from one pilot run; "
                            "write nothing")
    batch.add_argument("--posterior", metavar="DIR",
                       help="posterior folder (sim calibrate): replicate r of every scenario runs "
                            "at its draw r (default: the scenarios' posterior: key, if any)")
    batch.add_argument("--quiet", action="store_true", help="no progress output")
    batch.set_defaults(handler=cmd_batch)


# --------------------------------------------------------------------------- commands


def cmd_validate(args: argparse.Namespace) -> int:
    """Print ``OK`` per valid file (with its run count) or its error; 2 if any is bad."""
    status = 0
    for path in args.files:
        try:
            plan = plan_scenario(path, args.overrides)  # every sweep point, like a file
            check_run_names(plan.point_names())  # distinct, usable run folder names
        except ConfigError as exc:
            for line in str(exc).splitlines():
                print(f"error: {line}", file=sys.stderr)
            status = 2
            continue
        print(f"{show_path(path)}: OK ({plan.name}; {len(plan.points)} sweep point(s), "
              f"{plan.n_replicates} replicate(s))")
    return status


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario once and print the final step's headline figures (1 if the run fails)."""
    for flag in ("seed", "replicate", "steps"):
        value = getattr(args, flag)
        if value is not None and value < 0:
            raise UserError(f"--{flag}: expected an integer >= 0 (got {value})")
    if args.replicate is not None and args.replicate > MAX_REPLICATE:
        raise UserError(f"--replicate: expected an integer <= {MAX_REPLICATE} "
                        f"(got {args.replicate})")
    flags = [f"{flag}={getattr(args, flag)}" for flag in ("steps", "seed")
             if getattr(args, flag) is not None]  # bounded like the file, and in config.yaml
    config = load_scenario(args.scenario, [*args.overrides, *flags])

    if args.out is not None:
        check_output(args.out, args.force)
    # lazy: the model (Mesa) loads when `sim run` runs, not for `sim --help` or `sim validate`
    from sim.model import run_scenario
    from sim.model.tables import NonFiniteOutputError

    seed = config.seed
    try:
        results = run_scenario(config, seed=seed, replicate=args.replicate)
    except NonFiniteOutputError as exc:  # the run failed: one line, nothing written
        print(f"error: run failed: {exc}", file=sys.stderr)
        return 1
    if args.out is not None:
        check_output(args.out, args.force)  # again: the folder may have changed during the run
        try:
            _write_run_folder(args.out, results, resolved_dict(config))
        except OSError as exc:  # read-only, full, busy: the folder as it was, one line
            where = f" ({show_path(exc.filename)})" if exc.filename else ""
            raise UserError(f"{show_path(args.out)}: cannot write the run folder: "
                            f"{exc.strerror or type(exc).__name__}{where}; nothing was "
                            f"written") from None
    last = results.circle.iloc[-1]
    print(f"{config.name}: seed {seed}, replicate {args.replicate}, step {int(last['step'])}")
    for column, label, fmt in SUMMARY_COLUMNS:
        print(f"  {label:34s} {fmt.format(float(last[column]))}")
    if config.sweep:
        print("  (this file declares a sweep; `sim run` ran its base point, `sim batch` runs all)")
    if not results.diagnostics["base_year_settled"]:
        print(f"warning: a fixed point of the status quo stopped at its cap (offer rounds used: "
              f"{results.diagnostics['settle_rounds']}): the base year is not exactly at rest, "
              f"so part of the change over the horizon is its drift", file=sys.stderr)
    where = f"tables written to {show_path(args.out)}" if args.out else "pass --out DIR to keep"
    print(f"  {where}")
    return 0


def _write_run_folder(out: Path, results, config: dict) -> None:
    """Write tables + config.yaml into a fresh hidden sibling folder, then swap it into place."""
    import yaml

    with replacing(out) as tmp:
        results.write(tmp)
        (tmp / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False,
                                                        allow_unicode=True))


def cmd_batch(args: argparse.Namespace) -> int:
    """Run a batch; print a summary and list failed runs (exit 1 if any failed)."""
    if args.steps is not None:
        low, high = steps_bounds()
        if not low <= args.steps <= high:
            raise UserError(f"--steps: expected an integer from {low} to {high} (got {args.steps})")
        args.overrides = [*args.overrides, f"steps={args.steps}"]
    if args.dry_run:
        # lazy: the dry run loads the model to time a pilot run
        from sim.experiments.dry_run import batch_dry_run

        print(batch_dry_run(args.files, args.overrides, args.replicates, args.seed,
                            args.workers, args.scheduler, args.posterior))
        return 0
    summary = runner.run_batch(args.files, args.out, replicates=args.replicates, seed=args.seed,
                               workers=args.workers, scheduler=args.scheduler,
                               overrides=args.overrides, resume=args.resume,
                               progress=not args.quiet, posterior=args.posterior)
    ran = summary.n_ok + summary.n_failed
    rate = ran / summary.wall_s if summary.wall_s > 0 else 0.0
    print(f"{summary.n_ok} ok, {summary.n_failed} failed, {summary.n_skipped} already done "
          f"(of {summary.n_total}) in {summary.wall_s:.1f} s ({rate:.2f} runs/s); "
          f"results in {show_path(summary.out_dir)}")
    for name, message in summary.failed:
        print(f"  FAILED {name}: {message}")
    return 1 if summary.failed else 0


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Model warnings (e.g. an inert parameter) as one ``warning:`` line on stderr."""
    if issubclass(category, InertWarning):
        print(f"warning: {message}", file=sys.stderr)
    else:
        _SHOW_WARNING(message, category, filename, lineno, file, line)


_SHOW_WARNING = warnings.showwarning


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sim`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", InertWarning)   # every one, as a line on stderr
            warnings.showwarning = _show_warning
            return args.handler(args)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file the command had to read or write: one line, not a traceback
        where = f"{show_path(exc.filename)}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
