"""``sim backtest``: the 2010 world run through 2019 against each city's share of circle GDP;
``sim evidence`` (:mod:`sim.validation.evidence_cli`): every empirical target."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli_options import SET_HELP
from sim.config.loader import ConfigError, show_path
from sim.experiments.store_guard import check_output, replacing
from sim.validation.evidence_cli import register_evidence

#: Production units of the back-test's 2010 world unless ``--set world.n_units=N`` says otherwise
#: (small, so that the default command takes well under a minute).
DEFAULT_UNITS = 1000


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``backtest`` subcommand to the ``sim`` command."""
    cmd = subparsers.add_parser(
        "backtest", help="out-of-sample back-test of city shares, 2010-2019"
    )
    cmd.add_argument("--replicates", type=int, default=5, help="runs of the 2010 world (default 5)")
    cmd.add_argument("--seed", type=int, default=1, help="root seed (default 1)")
    cmd.add_argument("--out", type=Path, default=Path("results/backtest"), help="output folder")
    cmd.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"{SET_HELP}; here on the pre-plan scenario (default world.n_units={DEFAULT_UNITS})",
    )
    cmd.add_argument("--last-year", type=int, default=2019, help="year the run ends (default 2019)")
    cmd.add_argument("--force", action="store_true", help="replace an existing --out folder")
    cmd.set_defaults(handler=cmd_backtest)
    register_evidence(subparsers)


def cmd_backtest(args: argparse.Namespace) -> int:
    """Run the back-test, write backtest.csv and backtest.png, print the 2019 share errors."""
    # lazy: the back-test loads the model when `sim backtest` runs
    from sim.validation.backtest import (
        FIRST_YEAR,
        LAST_YEAR,
        backtest,
        mean_absolute_errors,
        plot_backtest,
    )

    for flag, least in (("replicates", 1), ("seed", 0)):
        if getattr(args, flag) < least:
            raise ConfigError(
                f"--{flag}: expected an integer >= {least} (got {getattr(args, flag)})"
            )
    if not FIRST_YEAR < args.last_year <= LAST_YEAR:
        raise ConfigError(
            f"--last-year: expected {FIRST_YEAR + 1}..{LAST_YEAR} (got {args.last_year})"
        )
    check_output(args.out, args.force)   # --force: only a folder the tool wrote, never a parent
    overrides = [f"world.n_units={DEFAULT_UNITS}", *args.overrides]
    try:
        frame = backtest(replicates=args.replicates, seed=args.seed, overrides=overrides,
                         last_year=args.last_year)
    except (FileNotFoundError, KeyError, ValueError) as exc:   # a data folder of the wrong form
        raise ConfigError(str(exc).strip("'\"")) from None
    _write(args.out, frame, plot_backtest(frame))
    model, persistence = mean_absolute_errors(frame)
    last = int(frame["year"].max())
    print(
        f"backtest {int(frame['year'].min())}-{last}, {args.replicates} replicates: mean absolute "
        f"error of {last} city shares, model {model:.4f}, persistence {persistence:.4f}; "
        f"written to {show_path(args.out)}"
    )
    return 0


def _write(out: Path, frame, figure) -> None:
    """Write both files into a fresh sibling folder, then swap it into place."""
    with replacing(out) as tmp:   # marked, so a later --force may replace it, and nothing else
        frame.to_csv(tmp / "backtest.csv", index=False)
        figure.savefig(tmp / "backtest.png")
