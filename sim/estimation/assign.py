"""Posterior draws in a batch: replicate r of every scenario runs at the posterior's draw r.

The same draw goes to replicate r of every scenario and sweep point, and replicate r keeps its
random streams (seed and r), so a difference between scenarios is paired in both the parameter
values and the draws: averaged over replicates it integrates the posterior's uncertainty. A
batch takes its posterior from ``sim batch --posterior DIR`` or from the scenarios' ``posterior:``
key; all scenarios of a batch must then use the same one, or the comparison would not be paired.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from sim.config.loader import ConfigError, set_dotted, show_path
from sim.config.schema import ScenarioConfig
from sim.config.sweeps import RunSpec
from sim.estimation.posterior import Posterior, load_posterior


def batch_posterior(runs: Sequence[RunSpec], flag: str | os.PathLike | None) -> Path | None:
    """The posterior folder of a batch: the flag's, else the one its scenarios name (the same
    for all), else None."""
    if flag is not None:
        return Path(flag).resolve()
    named = {spec.scenario: spec.config.get("posterior") for spec in runs}
    folders = {Path(p).resolve() for p in named.values() if p}
    if not folders:
        return None
    if len(folders) > 1 or None in named.values():
        shown = ", ".join(f"{s}: {p or 'none'}" for s, p in named.items())
        raise ConfigError(f"posterior: expected the same posterior in every scenario of a batch "
                          f"(the comparison is paired by draw), got {shown}")
    return folders.pop()


def with_posterior(runs: Sequence[RunSpec], folder: Path | None) -> list[RunSpec]:
    """Each run with its replicate's posterior draw set in its config (and ``posterior`` naming
    the folder); the runs unchanged without a posterior."""
    if folder is None:
        return list(runs)
    posterior = load_posterior(folder)
    draws = {r: posterior.draw(r) for r in sorted({spec.replicate for spec in runs})}
    return [_at_draw(spec, posterior, draws[spec.replicate]) for spec in runs]


def _at_draw(spec: RunSpec, posterior: Posterior, values: dict[str, float]) -> RunSpec:
    config = {**spec.config, "posterior": str(posterior.folder.resolve())}
    where = f"{show_path(posterior.folder)}/posterior.parquet"
    for key, value in values.items():
        set_dotted(config, key, value, where)
    try:
        config = ScenarioConfig.model_validate(config).model_dump(mode="json")
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ConfigError(f"{where}: draw {spec.replicate}: "
                          f"{'.'.join(map(str, error['loc']))}: {error['msg']}") from None
    return dataclasses.replace(spec, config=config)


def draws_by_replicate(folder: str | os.PathLike | Posterior, replicates: Sequence[int]):
    """The parameter values replicate r received (a DataFrame indexed by replicate), from a
    posterior folder or one already loaded."""
    posterior = folder if isinstance(folder, Posterior) else load_posterior(folder)
    import pandas as pd

    return pd.DataFrame([posterior.draw(int(r)) for r in replicates],
                        index=pd.Index([int(r) for r in replicates], name="replicate"))
