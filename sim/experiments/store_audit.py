"""Before a batch is compared: damaged, failed and missing runs, and runs that cannot be paired.

A paired difference means something only between runs that differ in the compared rules alone,
so scenarios must agree on the model's size (``world.n_units``), ``steps``, the root ``seed`` and
the data folder (its hash), and must share replicates with the baseline.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from sim.config.loader import ConfigError, show_path
from sim.experiments.store import (
    damaged_runs,
    expected_runs,
    manifest_frame,
    read_batch_record,
    run_folder_name,
)

#: What every scenario of a compared batch must share, read from each run's records.
SHARED = (("world.n_units", ("world", "n_units")), ("steps", ("steps",)))


def audit_batch(batch_dir: str | Path, baseline: str) -> list[str]:
    """Notes on failed and missing runs (to state in the report); raise on what makes the
    comparison meaningless.

    Raises:
        ConfigError: damaged runs, a scenario without a successful run, scenarios that differ in
            size, steps, seed or data, or a scenario sharing no replicate with the baseline.
    """
    out = Path(batch_dir)
    where = show_path(out)
    damaged = damaged_runs(out)
    if damaged:
        raise ConfigError(f"{where}: {len(damaged)} damaged run(s): {'; '.join(damaged)}; rerun "
                          f"the batch with --resume to recompute them")
    manifest = manifest_frame(out)
    expected = _expected_scenarios(out, manifest)
    ok = manifest[manifest["status"] == "ok"]
    empty = [name for name in expected if name not in set(ok["scenario"])]
    if empty:
        raise ConfigError(f"{where}: scenario(s) with no successful run: {', '.join(empty)} "
                          f"(see manifest.csv; rerun the batch with --resume)")
    _check_shared(out, ok, where)
    if baseline in set(ok["scenario"]):
        _check_common_replicates(ok, baseline, where)
    return _notes(manifest, ok) + _missing_notes(out, manifest)


def _expected_scenarios(out: Path, manifest: pd.DataFrame) -> list[str]:
    try:
        listed = list(read_batch_record(out)["scenarios"])
    except ConfigError:
        listed = []
    return list(dict.fromkeys([*listed, *manifest["scenario"].astype(str)]))


def _check_shared(out: Path, ok: pd.DataFrame, where: str) -> None:
    """Every successful run agrees on size, steps, root seed and data hash (unless swept)."""
    swept = {k for s in ok["sweep"] for k in (json.loads(s) if s else {})}
    first: dict[str, tuple[str, object]] = {}
    for row in ok.itertuples():
        config = _config(out, row.run)
        values = {label: _get(config, path) for label, path in SHARED if label not in swept}
        values.update({"seed": row.seed, "data": row.data_hash})
        for label, value in values.items():
            if label not in first:
                first[label] = (row.run, value)
            elif str(first[label][1]) != str(value):
                run0, value0 = first[label]
                shown = "the data folder" if label == "data" else label
                raise ConfigError(f"{where}: runs {run0} and {row.run} differ in {shown} "
                                  f"({_short(value0)} vs {_short(value)}); a paired comparison "
                                  f"needs scenarios that differ only in their rules")


def _check_common_replicates(ok: pd.DataFrame, baseline: str, where: str) -> None:
    base = set(ok.loc[ok["scenario"] == baseline, "replicate"].astype(int))
    for name, rows in ok[ok["scenario"] != baseline].groupby("scenario"):
        if not base & set(rows["replicate"].astype(int)):
            raise ConfigError(f"{where}: scenario {name} shares no replicate with the baseline "
                              f"{baseline} (replicates {sorted(set(rows['replicate']))} vs "
                              f"{sorted(base)}); nothing to pair")


def _notes(manifest: pd.DataFrame, ok: pd.DataFrame) -> list[str]:
    notes = [f"run {row.run} failed: {row.message}" for row in
             manifest[manifest["status"] != "ok"].itertuples()]
    reps = {int(r) for r in ok["replicate"]}
    for name, rows in ok.groupby("scenario"):
        missing = sorted(reps - set(rows["replicate"].astype(int)))
        if missing:
            notes.append(f"scenario {name} has no successful run for replicate(s) "
                         f"{', '.join(map(str, missing))}: those pairs are left out")
    return notes


def _missing_notes(out: Path, manifest: pd.DataFrame) -> list[str]:
    """One note per scenario naming every run the batch expects (``batch.json``) that has no
    run folder at all (deleted, or never run): a replicate missing from every scenario leaves
    no unpaired run behind, so only the record can tell it is gone."""
    try:
        expected = expected_runs(read_batch_record(out))
    except ConfigError:
        return []
    present = set(manifest["run"].astype(str))
    notes = []
    for name, runs in expected.items():
        missing = [run for run in runs if run not in present]
        if missing:
            notes.append(f"scenario {name} has no run folder for {len(missing)} of its "
                         f"{len(runs)} run(s): {', '.join(missing)}; those runs are left out "
                         f"(rerun the batch with --resume)")
    return notes


#: PyYAML's safe loader in C (libyaml) where installed: the same values, read about ten times
#: faster than the pure-Python one (a 400-run batch has 400 configs to check).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _config(out: Path, run: str) -> dict:
    path = out / "runs" / run_folder_name(run) / "config.yaml"
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _get(config: dict, path: tuple) -> object:
    node: object = config
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _short(value: object) -> str:
    text = str(value)
    return text[:12] if len(text) == 64 else text
