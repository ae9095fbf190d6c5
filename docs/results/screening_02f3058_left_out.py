"""Which uncertain parameters the calibration runs leave inert, read off today's rules.

The screen of docs/VALIDATION.md section 9, Step 1 (``sim sensitivity --targets``) leaves out a
parameter only for a checked reason: in both runs the calibration targets use (``backtest``:
the 2010-2019 back-test's scenario, ``pre_plan_config``; ``rest``: the homogenised base year at
rest, ``AT_REST``) the parameter is inert by the registry of ``sim/config/inert.py`` (itself
tested with runs, ``tests/test_inert.py``), or it is the area of an agreement the run does not
hold, or the run fixes it after the point's values. Prints one CSV row per uncertain parameter
and the ``--params`` list of the rest.

    .venv/bin/python docs/results/screening_02f3058_left_out.py > screening_02f3058_left_out.csv
"""

from __future__ import annotations

import csv
import re
import sys

from sim.config import load_scenario
from sim.config.inert import inert_under
from sim.config.loader import data_folder
from sim.validation.backtest import SCENARIO, decade_drivers, pre_plan_config
from sim.validation.evidence import AT_REST, REST_SCENARIO

AGREEMENT = re.compile(r"^agreements\.(\d+)\.")


def backtest_config():
    """The back-test's scenario as ``run_backtest`` builds it (no point overrides)."""
    drivers = decade_drivers(SCENARIO, [])
    base = load_scenario(SCENARIO, drivers.overrides())
    return base, pre_plan_config(base, data_folder(base, SCENARIO.parent))


def held(run) -> list:
    """The agreements the run holds: in force, or new while their kind's switch is on."""
    return [a for a in run.agreements
            if a.basis == "in_force" or getattr(run.switches, a.kind)]


#: Keys the registry of sim/config/inert.py does not list, read off the code that uses them:
#: (the condition under which the run leaves them inert, the reason).
READ_OFF_CODE = {
    "policies.shared_platform.operating_cost_per_city": (
        lambda run: not run.switches.shared_platform,
        "inert while switches.shared_platform is off (sim/model/books.py _platform_cost: "
        "zero without the platform)"),
    "policies.investment_map.compensation_cap_share": (
        lambda run: not run.switches.investment_map,
        "inert while switches.investment_map is off (sim/model/coordinator.py: the "
        "compensation is bargained only when a map is drawn)"),
    "policies.reverse_enclave.manufacturing_referral": (
        lambda run: not any(a.kind == "reverse_enclave" for a in held(run)),
        "no reverse enclave held (sim/rules/agreements.py rd_link_attention: multiplier 1 "
        "with no R&D units in reverse enclaves)"),
}


def why_inert(key: str, base, run, fixed: tuple[str, ...]) -> str:
    """Why ``key`` does nothing in the run ``run`` (built from ``base``), or '' if it may act."""
    if any(f.split("=")[0] == key for f in fixed):
        return "fixed by the run after the point's values"
    match = AGREEMENT.match(key)
    if match:
        agreement = base.agreements[int(match.group(1))]
        names = [a.name for a in held(run)]
        return "" if agreement.name in names else f"agreement '{agreement.name}' not held"
    if key in READ_OFF_CODE:
        inert, why = READ_OFF_CODE[key]
        return why if inert(run) else ""
    entry = inert_under(run).get(key)
    if entry is None or entry.still is not None:
        return ""
    return f"inert while {entry.state()}"


def main() -> None:
    base_bt, run_bt = backtest_config()
    run_rest = load_scenario(REST_SCENARIO, list(AT_REST))
    keys = list(load_scenario(SCENARIO, []).uncertain)
    out = csv.writer(sys.stdout)
    out.writerow(["parameter", "backtest", "rest", "left_out"])
    kept = []
    for key in keys:
        bt = why_inert(key, base_bt, run_bt, ())
        rest = why_inert(key, run_rest, run_rest, AT_REST)
        out.writerow([key, bt or "may act", rest or "may act", bool(bt and rest)])
        if not (bt and rest):
            kept.append(key)
    print(f"# screened: {len(kept)} of {len(keys)}", file=sys.stderr)
    print(",".join(kept), file=sys.stderr)


if __name__ == "__main__":
    main()
