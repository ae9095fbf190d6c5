"""Does the headline settle with the model's size? Paired replicates at several unit counts.

Usage: ``python benchmarks/convergence.py [--sizes 5000 10000 20000 40000] [--replicates 20]
[--workers 2] [--scenario coordinated --baseline homogenised] [--out FILE.json]``.

For every size, replicate r of the scenario and of the baseline run on the same streams (seed 1,
replicate r: common random numbers), so each difference is paired; sizes are not paired with
each other (a world of another size draws other units). The measures are the registry's headline
metrics (:data:`sim.analysis.registry.HEADLINE`): each one's last quarter, and for a money flow
also its present value over the horizon at the scenario's discount rate (亿元). Prints, per size
and measure, the mean paired difference, its 95% t-interval and sd, whether the interval
excludes zero, and the CPU seconds the size took (this process and its workers,
``resource.getrusage``); then, per measure, whether its sign has settled at the scenario's
default size (``world.n_units``) and from which size. A sign "settles" at a size when the
interval there and at every larger size measured excludes zero on the same side. CPU: at 20
replicates and the four default sizes 199 CPU s on this machine (docs/VALIDATION.md, section 10).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from sim.analysis.registry import BY_CODE, HEADLINE

ROOT = Path(__file__).resolve().parents[1]
#: Each headline metric's last quarter, then the present values of those that are money flows.
MEASURES: tuple[str, ...] = (tuple(f"{m}.last" for m in HEADLINE)
                             + tuple(f"{m}.pv" for m in HEADLINE if BY_CODE[m].flow))


def one_run(args: tuple[str, int, int]) -> dict:
    """The headline of one run: each measure's last-quarter value and, for flows, present value."""
    from sim.api import load
    from sim.model import run_scenario
    from sim.rules.metrics import discounted_total
    scenario, units, replicate = args
    config = load(scenario, n_units=units)
    circle = run_scenario(config, seed=1, replicate=replicate).circle
    rate = config.economy.discount_rate_annual
    out = {}
    for key in MEASURES:
        code, when = key.split(".")
        series = circle[code].to_numpy(dtype=float)
        out[key] = float(series[-1] if when == "last" else discounted_total(series, rate))
    return out


def paired_interval(diff: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, 95% t-interval ends and sd of paired differences."""
    from scipy import stats
    mean, sd = float(diff.mean()), float(diff.std(ddof=1))
    half = float(stats.t.ppf(0.975, len(diff) - 1)) * sd / np.sqrt(len(diff))
    return mean, mean - half, mean + half, sd


def interval_sign(low: float, high: float) -> int:
    """+1 or -1 when the interval [low, high] lies on one side of zero, 0 when it spans zero."""
    return int(np.sign(low)) if low * high > 0 else 0


def study(sizes: list[int], replicates: int, workers: int, scenario: str,
          baseline: str) -> list[dict]:
    """One row per size and measure (see the module docstring)."""
    rows = []
    for units in sizes:
        before = _cpu()
        jobs = [(name, units, r) for name in (scenario, baseline) for r in range(replicates)]
        with ProcessPoolExecutor(workers) as pool:
            found = list(pool.map(one_run, jobs))
        cpu = _cpu() - before
        runs, base = found[:replicates], found[replicates:]
        for key in MEASURES:
            diff = np.array([a[key] - b[key] for a, b in zip(runs, base)])
            mean, low, high, sd = paired_interval(diff)
            rows.append(dict(units=units, replicates=replicates, measure=key, mean=mean,
                             ci_low=low, ci_high=high, sd=sd, sign=interval_sign(low, high),
                             cpu_s=round(cpu, 1)))
        print(f"{units:>7} units: {cpu:.0f} CPU s", file=sys.stderr, flush=True)
    return settled(rows)


def settled(rows: list[dict]) -> list[dict]:
    """Mark each size at which a measure's sign is settled: its interval excludes zero, on the
    same side as at every larger size."""
    for measure in {r["measure"] for r in rows}:
        mine = sorted((r for r in rows if r["measure"] == measure), key=lambda r: r["units"])
        later = None
        for row in reversed(mine):
            later = row["sign"] if later is None or later == row["sign"] else 0
            row["settled"] = bool(later)
    return rows


def settled_from(rows: list[dict], measure: str) -> int | None:
    """The smallest size from which the measure's sign is settled, None if at no size."""
    sizes = [r["units"] for r in rows if r["measure"] == measure and r["settled"]]
    return min(sizes) if sizes else None


def at_default(rows: list[dict], default: int) -> list[str]:
    """One line per measure: is its sign settled at the default size, and from which size."""
    lines = []
    for measure in dict.fromkeys(r["measure"] for r in rows):
        here = [r for r in rows if r["measure"] == measure and r["units"] == default]
        start = settled_from(rows, measure)
        since = f"settled from {start:,} units" if start else "settled at no size measured"
        if not here:
            verdict = f"not measured at {default:,} units"
        elif here[0]["settled"]:
            verdict = f"{'positive' if here[0]['sign'] > 0 else 'negative'}, settled"
        elif here[0]["sign"]:
            verdict = "excludes zero here but not at every larger size: not settled"
        else:
            verdict = "interval spans zero: sign not distinguishable"
        lines.append(f"{measure} at {default:,} units: {verdict} ({since})")
    return lines


def _cpu() -> float:
    """CPU seconds of this process and its finished children (user + system)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _number(value: float, measure: str) -> str:
    """Money to the 亿元, indices and shares to four decimals."""
    money = BY_CODE[measure.split(".")[0]].flow
    return f"{value:+,.0f}" if money else f"{value:+.4f}"


def _cell(row: dict) -> str:
    mark = "**" if row["settled"] else ""
    number = lambda v: _number(v, row["measure"])  # noqa: E731
    sd = _number(row["sd"], row["measure"]).lstrip("+")
    return (f"{mark}{number(row['mean'])} [{number(row['ci_low'])}, {number(row['ci_high'])}]"
            f"{mark} (sd {sd})")


def table(rows: list[dict]) -> str:
    """The study as a Markdown table: one row per measure, one column per size."""
    sizes = sorted({r["units"] for r in rows})
    measures = [m for m in MEASURES if any(r["measure"] == m for r in rows)]
    lines = ["| measure | " + " | ".join(f"{s:,} units" for s in sizes) + " |",
             "|---|" + "---|" * len(sizes)]
    for m in measures:
        cells = [_cell(next(r for r in rows if r["measure"] == m and r["units"] == s))
                 for s in sizes]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    cpu = {r["units"]: r["cpu_s"] for r in rows}
    lines.append("| CPU s | " + " | ".join(f"{cpu[s]:,.0f}" for s in sizes) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000, 20000, 40000])
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scenario", default="coordinated")
    parser.add_argument("--baseline", default="homogenised")
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    from sim.api import load  # as in one_run: the model's modules only where runs need them
    default = load(args.scenario).world.n_units
    rows = study(args.sizes, args.replicates, args.workers, args.scenario, args.baseline)
    print(f"{args.scenario} - {args.baseline}, paired by replicate (seed 1), mean [95% "
          f"t-interval] (sd); bold: the sign is settled from this size up")
    print(table(rows))
    print(f"\nAt the default size ({default:,} units, world.n_units):")
    print("\n".join(at_default(rows, default)))
    if args.out:
        args.out.write_text(json.dumps(dict(default_units=default, rows=rows), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
