"""Benchmark: the explorer's STEP at its default size, split into its parts.

Usage: ``python benchmarks/explorer.py [--units N] [--steps K]`` (the ``explorer`` extra must be
installed). Two measurements in this process, CPU seconds (``time.process_time``, which a busy
machine inflates far less than wall time; the load average is printed beside them):

1. the parts of a quarter, stepped by hand: both models' step (and the twin's share of it),
   the tables the views read, and each figure's update and drawing to PNG;
2. the page itself rendered headless by Solara (no browser): the first view, and the STEP
   button clicked K times (what a user waits for, minus the browser's own work);
3. the first view in a fresh Python process (nothing imported or cached): the CPU seconds of
   the whole process, interpreter start and imports included, split into the imports and the
   model and page.

Issue 31 asks for a first view under 5 s and a step under 1 s at 1,000 units on 2 idle cores
(issue 19 asked for 3 s after imports).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def _cpu() -> float:
    return time.process_time()


def parts(n_units: int, steps: int) -> list[dict[str, float]]:
    """Per quarter: CPU seconds of each part of a step."""
    from sim.explorer.figures import FlowMap, InvestmentMap, TimeSeries
    from sim.explorer.views import ExplorerModel

    model = ExplorerModel(n_units=n_units)
    live = {"flow map": FlowMap(model), "time series": TimeSeries(model),
            "investment map": InvestmentMap(model)}
    for figure in live.values():
        figure.png(model)
    twin_step, twin_cpu = model.twin.step, []

    def timed_twin() -> None:
        start = _cpu()
        twin_step()
        twin_cpu.append(_cpu() - start)

    model.twin.step = timed_twin
    rows = []
    for _ in range(steps):
        start = _cpu()
        model.step()
        row = {"models (both)": _cpu() - start, "of which twin": twin_cpu[-1]}
        start = _cpu()
        model.tables(), model.twin_tables()
        row["tables"] = _cpu() - start
        for name, figure in live.items():
            start = _cpu()
            figure.refresh(model)
            middle = _cpu()
            figure.png(model)
            row[f"{name}: update"], row[f"{name}: draw"] = middle - start, _cpu() - middle
        rows.append(row)
    return rows


def page(n_units: int, steps: int) -> tuple[float, list[float]]:
    """CPU seconds of the page's first view and of each click on STEP (headless Solara)."""
    import ipyvuetify as v
    import solara

    from sim.explorer.app import make_page
    from sim.explorer.views import ExplorerModel

    start = _cpu()
    model = ExplorerModel(n_units=n_units)
    _, rc = solara.render(solara.AppLayout(children=[make_page(model)]), handle_error=False)
    first = _cpu() - start
    button, clicks = rc.find(v.Btn, children=["Step"]).widget, []
    for _ in range(steps):
        start = _cpu()
        button.click()
        clicks.append(_cpu() - start)
    rc.close()
    return first, clicks


FRESH = """
import resource, sys
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
import solara
from sim.explorer.app import make_page
from sim.explorer.views import ExplorerModel
imports = cpu()
model = ExplorerModel(n_units=int(sys.argv[1]))
solara.render(solara.AppLayout(children=[make_page(model)]), handle_error=False)
print(imports, cpu() - imports)
"""


def fresh_first_view(n_units: int) -> tuple[float, float]:
    """CPU seconds of a fresh process up to the page's first view: (interpreter start and
    imports, model and page)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", FRESH, str(n_units)], capture_output=True,
                          text=True, check=True)
    imports, page_cpu = map(float, done.stdout.split()[-2:])
    return imports, page_cpu


def main() -> None:
    from sim.explorer.views import EXPLORER_UNITS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=EXPLORER_UNITS)
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    import sim.explorer.app  # noqa: F401  (imports are not timed)

    rows = parts(args.units, args.steps)
    print(f"{args.units:,} units, {args.steps} quarters; CPU seconds per quarter "
          f"(load {os.getloadavg()[0]:.1f})")
    print(f"{'part':28s} {'mean':>6s} {'max':>6s}")
    for name in rows[0]:
        values = [row[name] for row in rows]
        print(f"{name:28s} {statistics.mean(values):6.3f} {max(values):6.3f}")
    total = [sum(v for k, v in row.items() if k != "of which twin") for row in rows]
    print(f"{'sum of parts':28s} {statistics.mean(total):6.3f} {max(total):6.3f}")
    first, clicks = page(args.units, args.steps)
    print(f"page, first view: {first:.2f} s; STEP clicks: mean {statistics.mean(clicks):.2f} s, "
          f"max {max(clicks):.2f} s: {' '.join(f'{c:.2f}' for c in clicks)} "
          f"(load {os.getloadavg()[0]:.1f})")
    imports, page_cpu = fresh_first_view(args.units)
    print(f"fresh process, first view: {imports + page_cpu:.2f} CPU s = imports {imports:.2f} "
          f"+ model and page {page_cpu:.2f} (load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
