"""The floor of a quarter: the irreducible work of one quarter at the standard size, and the
standard run as a multiple of it.

Usage: ``python benchmarks/floor.py [--units N] [--repeats K]``. At the bundled ``coordinated``
scenario's state after its first quarter, one quarter's irreducible work is a single vectorised
pass: the deciders' utilities from their columns (constants, output per productivity, costs and
the offers in force, one array expression over deciders x parks), their nested-logit
probabilities, one draw each, and the parks' and cities' sums over all units (output, land,
units by park, output by city and sector-segment). Everything else a quarter does (the cities'
best responses, the coordinator, agreements, counter-offers, land rationing, attention, the
books and the tables) is what the model adds to that floor; the standard run (cold, every part
included) is printed as a multiple of 20 floors. CPU seconds (``time.process_time``), best of
``--repeats``; the machine's load is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def quarter_floor(model, rng: np.random.Generator) -> None:
    """One quarter's irreducible work on ``model``'s state (results are thrown away)."""
    from sim.rules.choice import nested_probabilities, sample_choices
    from sim.rules.economy import park_offers

    state = model.state
    units, parks, cal, terms = state.units, state.parks, state.calibration, state.terms
    deciding = rng.random(len(units)) < cal.p_review + cal.p_exit      # about a quarter's deciders
    kg, current = units.kg[deciding], units.park[deciding]
    offers = park_offers(state.settings, parks, state.step)
    u = (cal.delta_review[kg][:, parks.city]
         + terms.q[kg] * (1 - terms.cost[kg] + offers[kg]) / cal.sigma[kg][:, None])
    u[np.arange(len(kg)), current] += cal.switching_cost[kg]
    probs = nested_probabilities(u, parks.city, state.world.n_cities,
                                 state.config.economy.nest_parameter)
    sample_choices(probs, rng.random(len(kg)))
    np.bincount(units.park, weights=units.output, minlength=parks.n)
    np.bincount(units.park, weights=units.land, minlength=parks.n)
    np.bincount(units.park, minlength=parks.n)
    cell = parks.city[units.park].astype(np.int64) * state.kg + units.kg
    np.bincount(cell, weights=units.output, minlength=state.world.n_cities * state.kg)


def measure(n_units: int, repeats: int) -> dict:
    """The floor of a quarter and the cold standard run, both in CPU seconds."""
    from sim.config import load_scenario
    from sim.model import CircleModel, base_year_cache, run_scenario

    config = load_scenario(ROOT / "scenarios" / "coordinated.yaml",
                           [f"world.n_units={n_units}"])
    model = CircleModel(config, seed=config.seed)
    model.step()
    rng = np.random.default_rng(0)
    floors = []
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(10):
            quarter_floor(model, rng)
        floors.append((time.process_time() - start) / 10)
    runs = []
    for _ in range(repeats):
        base_year_cache.shared().clear()          # cold: the base year is built in the run
        start = time.process_time()
        run_scenario(config)
        runs.append(time.process_time() - start)
    floor, run = min(floors), min(runs)
    return {"n_units": n_units, "steps": config.steps, "floor_cpu_s": floor, "run_cpu_s": run,
            "multiple": run / (config.steps * floor), "load_1min": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=20_000, help="model size (default 20000)")
    parser.add_argument("--repeats", type=int, default=3, help="best of (default 3)")
    args = parser.parse_args(argv)
    r = measure(args.units, args.repeats)
    print(f"floor of a quarter at {r['n_units']:,} units: {1000 * r['floor_cpu_s']:.1f} ms CPU; "
          f"standard run ({r['steps']} quarters, cold): {r['run_cpu_s']:.2f} s CPU = "
          f"{r['multiple']:.0f} x {r['steps']} floors (load {r['load_1min']:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
