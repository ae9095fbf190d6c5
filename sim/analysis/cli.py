"""``sim compare DIR``: statistics, figures and the report of a stored batch.

Whatever the batch holds, the command ends with the report or with one line and exit 2; the
report is written beside its target and moved into place only when whole, so a failure never
leaves a half-written report (``--force`` replaces an earlier report's own files only)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.analysis import i18n
from sim.config import ConfigError


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``compare`` subcommand; its handler is ``args.handler`` (returns an exit code)."""
    parser = subparsers.add_parser(
        "compare", help="compare the scenarios of a stored batch and write the report",
        description="Statistics (summary.csv/.xlsx), figures and report.md/report.html of a "
                    "batch folder written by `sim batch` (or sim.experiments.runner.run_batch).")
    parser.add_argument("dir", type=Path, help="batch folder (holds runs/ and manifest.csv)")
    parser.add_argument("--baseline", default="homogenised",
                        help="scenario every other is compared against (default: homogenised)")
    parser.add_argument("--out", type=Path, default=None,
                        help="report folder (default: DIR/report); an earlier report there is "
                             "kept unless --force")
    parser.add_argument("--force", action="store_true",
                        help="replace an earlier report that `sim compare` wrote in --out (its "
                             "own files only; nothing else in the folder is touched)")
    parser.add_argument("--lang", choices=i18n.LANGUAGES, default="en",
                        help="language of labels and report (zh needs a CJK font)")
    parser.add_argument("--boundaries", type=Path, default=None,
                        help="GeoJSON file of city boundaries for the flow map")
    parser.add_argument("--discount-rate", type=float, default=0.05,
                        help="annual discount rate for totals over the horizon (default 0.05)")
    parser.add_argument("--sensitivity", type=Path, default=None,
                        help="a `sim sensitivity` output folder (holds beats.csv) whose result "
                             "the executive summary reports")
    parser.add_argument("--evidence", type=Path, default=None,
                        help="a `sim evidence` output folder (holds evidence.json) whose fit to "
                             "history the report states (default: evidence/ inside or beside DIR)")
    parser.set_defaults(handler=run_compare, func=run_compare)
    return parser


def run_compare(args: argparse.Namespace) -> int:
    """Build the report; bad input gives one line on stderr and exit code 2."""
    known = batch_scenarios(args.dir)
    if known and args.baseline not in known:  # checked before any folder is looked at
        return _fail(f"--baseline {args.baseline}: unknown scenario name (expected one of the "
                     f"batch's scenarios: {', '.join(known)})")

    out = args.out if args.out is not None else args.dir / "report"
    if not (args.dir / "runs").is_dir():
        return _fail(f"{args.dir}: not a batch folder (expected runs/ inside)")
    if args.boundaries is not None and not args.boundaries.is_file():
        return _fail(f"{args.boundaries}: --boundaries file not found (expected GeoJSON)")
    if args.sensitivity is not None and not (args.sensitivity / "beats.csv").is_file():
        return _fail(f"{args.sensitivity}: --sensitivity folder has no beats.csv (expected the "
                     "output folder of `sim sensitivity`)")
    if args.evidence is not None and not (args.evidence / "evidence.json").is_file():
        return _fail(f"{args.evidence}: --evidence folder has no evidence.json (expected the "
                     "output folder of `sim evidence`)")
    if not -1 < args.discount_rate < 1:
        return _fail("--discount-rate must be between -1 and 1")
    try:
        # lazy: the store's audit (pandas) loads when `sim compare` runs, not when `sim` builds its
        # parser
        from sim.experiments.store_audit import audit_batch

        notes = audit_batch(args.dir, args.baseline)  # damaged or unpairable runs: exit 2
        for note in notes:
            print(f"sim compare: warning: {note}", file=sys.stderr)
        # lazy: imported after the audit (the plotting libraries load slowly)
        from sim.analysis.report import build_report

        path = build_report(args.dir, out, baseline=args.baseline, lang=args.lang,
                            boundaries=args.boundaries, rate=args.discount_rate,
                            sensitivity=args.sensitivity, notes=notes, force=args.force,
                            evidence=getattr(args, "evidence", None))
    except (ConfigError, ValueError, FileExistsError, i18n.FontMissingError) as error:
        return _fail(str(error))
    except Exception as error:  # noqa: BLE001 (a batch shape the report does not handle yet)
        text = " ".join(f"{type(error).__name__}: {error}".split())
        return _fail(f"{args.dir}: cannot build the report of this batch ({text}); nothing was "
                     f"written to {out}")
    print(path)
    return 0


def batch_scenarios(batch_dir: Path) -> list[str]:
    """Scenario names in a batch's ``manifest.csv`` (empty when there is none to read)."""
    import csv

    try:
        with (batch_dir / "manifest.csv").open(newline="", encoding="utf-8") as handle:
            rows = csv.DictReader(handle)
            return sorted({row["scenario"] for row in rows if row.get("scenario")})
    except (OSError, KeyError, csv.Error):
        return []


def _fail(message: str) -> int:
    print(f"sim compare: {message}", file=sys.stderr)
    return 2
