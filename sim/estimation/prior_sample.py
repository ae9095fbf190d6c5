"""``sim prior-sample``: draws from the priors, in the folder format a batch integrates over.

When the calibration identifies no parameter (docs/VALIDATION.md section 9), there is no
posterior, and what is assumed is still uncertain. This writes ``--draws`` independent draws
from the priors of the ``uncertain:`` block (all of it, or ``--params``), with equal weights, as a
folder that ``sim batch --posterior DIR`` reads like a posterior: replicate r of every scenario
runs at draw r on the same random streams, so the paired differences integrate the priors
(a prior predictive of the comparison), and the report states P(better) over the priors. The
folder's record says ``"kind": "prior"``: no data were used, and the report says so.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from sim.config.loader import ConfigError, resolved_dict, show_path
from sim.config.sweeps import load_scenario
from sim.config.uncertain import integer_keys, parse_uncertain
from sim.paths import SCENARIO_DIR

if TYPE_CHECKING:
    from sim.estimation.posterior import Posterior

#: Most draws a folder holds (the batch schema's largest replicate count).
MAX_DRAWS = 100_000
#: Spawn key of the prior sample's stream (apart from the reference table's and the draws').
PRIOR_STREAM = 3131


def write_prior_sample(out: Path, scenario: str | Path, keys: list[str] | None, n: int,
                       seed: int) -> Posterior:
    """Write ``n`` independent prior draws (integer keys rounded, equal weights) as
    ``posterior.parquet`` and a record of kind ``prior`` as ``posterior.json`` into ``out``;
    return the folder as read back."""
    # lazy: pandas and the estimation's helpers load when the command runs, not when `sim`
    # builds its parser (this module registers a subcommand)
    import dataclasses

    import pandas as pd

    from sim.estimation.pipeline import model_version
    from sim.estimation.posterior import PRIOR_KIND, load_posterior, write_posterior
    from sim.estimation.reference import prior_points
    from sim.sensitivity.core import select

    where = show_path(scenario)
    config = load_scenario(scenario)
    params = select(parse_uncertain(config.uncertain, where), keys, where)
    if not params:
        raise ConfigError(f"{where}: uncertain: expected at least one parameter to draw")
    whole = integer_keys(resolved_dict(config), [p.key for p in params])
    frame = pd.DataFrame(prior_points(params, n, seed, whole, stream=PRIOR_STREAM))
    frame["weight"] = 1.0 / n
    record = {"kind": PRIOR_KIND,
              "what": "independent draws from the priors of the uncertain: block, equal "
                      "weights; no data were used (not a posterior)",
              "scenario": where, "draws": n, "draw_seed": seed,
              "priors": [dataclasses.asdict(p) for p in params], "model": model_version()}
    return load_posterior(write_posterior(out, frame, record))   # as a batch will read it


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``prior-sample`` to the ``sim`` command."""
    cmd = subparsers.add_parser("prior-sample",
                                help="draws from the priors for sim batch --posterior")
    cmd.add_argument("--scenario", type=Path, help="scenario whose uncertain: block gives the "
                     "priors (default scenarios/base.yaml)")
    cmd.add_argument("--params", help="comma-separated uncertain keys (default: all)")
    cmd.add_argument("--draws", type=int, default=1000, help="draws (default 1000)")
    cmd.add_argument("--seed", type=int, default=1, help="seed of the draws (default 1)")
    cmd.add_argument("--out", type=Path, required=True, help="output folder (new or empty)")
    cmd.set_defaults(handler=cmd_prior_sample)


def cmd_prior_sample(args: argparse.Namespace) -> int:
    """Write the folder and say what it holds."""
    # lazy: as write_prior_sample's
    from sim.experiments.store_guard import check_fresh_output

    if not 1 <= args.draws <= MAX_DRAWS:
        raise ConfigError(f"--draws: expected an integer >= 1 and <= {MAX_DRAWS:,} (a batch "
                          f"reads one draw per replicate; got {args.draws})")
    check_fresh_output(args.out, "choose another --out")
    keys = [k.strip() for k in args.params.split(",") if k.strip()] if args.params else None
    scenario = args.scenario or SCENARIO_DIR / "base.yaml"
    written = write_prior_sample(args.out, scenario, keys, args.draws, args.seed)
    out = show_path(written.folder)
    print(f"{args.draws} draws of {len(written.keys)} parameter(s) from the priors of "
          f"{show_path(scenario)} written to {out} (sim batch --posterior {out})")
    return 0
