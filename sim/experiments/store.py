"""The results store: one folder per batch, one folder per run, written so a kill loses nothing.

Layout of a batch folder ``OUT``::

    OUT/batch.json            package version, config hash and data hash of every scenario
    OUT/manifest.csv          one row per finished run (rebuilt from the status records)
    OUT/runs/<run>/           <table>.parquet, config.yaml, status.json (the status record)

A run's folder is written as ``runs/<run>.tmp-<pid>/`` with ``status.json`` last, then renamed in
one step, so a folder without ``.tmp-`` is always complete. Run names use ``__`` for ``/``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
import yaml

import sim
from sim.config.loader import ConfigError, DEFAULT_DATA_DIR, show_path
from sim.model.tables import TABLES, TableSet

MANIFEST_COLUMNS = ("run", "scenario", "sweep", "replicate", "seed", "status", "duration_s",
                    "message", "version", "config_hash", "data_hash")


def run_folder_name(run: str) -> str:
    """A run name as a folder name: ``coordinated/x=1/r07`` -> ``coordinated__x=1__r07``."""
    return run.replace("/", "__")


def data_hash(data_dir: str | os.PathLike | None) -> str:
    """SHA-256 over the names and bytes of the files in a data folder (default ``sim/data``)."""
    folder = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def is_nonempty_dir(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())


def check_fresh_output(path: Path, hint: str) -> None:
    """Refuse to write into an existing non-empty folder (outputs are never overwritten)."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{show_path(path)}: output path exists and is not a folder")
    if is_nonempty_dir(path):
        raise ConfigError(f"{show_path(path)}: output folder exists and is not empty ({hint})")


# --------------------------------------------------------------------------- batch folder


def batch_record(scenarios: dict[str, dict]) -> dict:
    """The contents of ``batch.json``: version plus each scenario's config and data hash.

    Args:
        scenarios: scenario name -> ``{"config_hash": ..., "data_hash": ..., "file": ...}``.
    """
    return {"version": sim.__version__, "scenarios": scenarios}


def open_batch(out_dir: Path, record: dict, resume: bool) -> None:
    """Create a batch folder, or check that a folder to resume was made by the same batch."""
    if not resume:
        check_fresh_output(out_dir, "use --resume to continue that batch or choose another --out")
        (out_dir / "runs").mkdir(parents=True, exist_ok=True)
        write_atomic(out_dir / "batch.json", json.dumps(record, indent=2, sort_keys=True))
        return
    batch_file = out_dir / "batch.json"
    if not batch_file.is_file():
        raise ConfigError(f"{show_path(out_dir)}: cannot resume: no batch.json (not a batch folder)")
    old = json.loads(batch_file.read_text())
    where = f"{show_path(out_dir)}: cannot resume"
    if old.get("version") != record["version"]:
        raise ConfigError(f"{where}: package version changed ({old.get('version')} -> "
                          f"{record['version']}); start a new --out folder")
    before, now = old.get("scenarios", {}), record["scenarios"]
    if set(before) != set(now):
        raise ConfigError(f"{where}: the scenarios differ (batch has {sorted(before)}, "
                          f"got {sorted(now)}); start a new --out folder")
    for name in sorted(now):
        for field, label in (("config_hash", "config"), ("data_hash", "data")):
            if before[name].get(field) != now[name][field]:
                raise ConfigError(f"{where}: the {label} of scenario '{name}' changed since the "
                                  f"batch began; start a new --out folder")
    (out_dir / "runs").mkdir(exist_ok=True)


def clean_stale(out_dir: Path) -> list[str]:
    """Remove half-written ``.tmp-*`` run folders and failed runs; return the finished names."""
    finished = []
    for folder in sorted((out_dir / "runs").iterdir()):
        status = read_status(folder)
        if ".tmp-" in folder.name or status is None or status["status"] != "ok":
            shutil.rmtree(folder, ignore_errors=True)
        else:
            finished.append(status["run"])
    return finished


def read_status(folder: Path) -> dict | None:
    """A run folder's status record, or None when it has none (or an unreadable one)."""
    try:
        return json.loads((folder / "status.json").read_text())
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------- runs


def write_run(out_dir: Path, status: dict, tables: dict[str, pd.DataFrame] | None,
              config: dict | None) -> None:
    """Write one run's tables, config and status record under a temporary name, then rename.

    Args:
        out_dir: the batch folder.
        status: the status record (one manifest row); ``status["run"]`` names the run.
        tables: table name -> DataFrame (None for a failed run).
        config: the run's resolved config, written as ``config.yaml``.
    """
    final = out_dir / "runs" / run_folder_name(status["run"])
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, frame in (tables or {}).items():
        frame.to_parquet(tmp / f"{name}.parquet", index=False)
    if config is not None:
        (tmp / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    _write_file(tmp / "status.json", json.dumps(status, indent=2, default=str))
    if final.exists():
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_dir(final.parent)
    with (out_dir / "manifest.csv").open("a", encoding="utf-8", newline="") as handle:
        if handle.tell() == 0:
            pd.DataFrame(columns=MANIFEST_COLUMNS).to_csv(handle, index=False)
        pd.DataFrame([_manifest_row(status)]).to_csv(handle, header=False, index=False)


def manifest_frame(out_dir: Path, order: Iterable[str] = ()) -> pd.DataFrame:
    """The manifest built from the status records (the truth), in ``order`` then by name."""
    rows = [s for s in (read_status(f) for f in (out_dir / "runs").iterdir()
                        if ".tmp-" not in f.name) if s is not None]
    rank = {name: i for i, name in enumerate(order)}
    rows.sort(key=lambda s: (rank.get(s["run"], len(rank)), s["run"]))
    return pd.DataFrame([_manifest_row(s) for s in rows], columns=list(MANIFEST_COLUMNS))


def rebuild_manifest(out_dir: Path, order: Iterable[str] = ()) -> pd.DataFrame:
    """Rewrite ``manifest.csv`` from the status records, in ``order`` then by name."""
    frame = manifest_frame(out_dir, order)
    write_atomic(out_dir / "manifest.csv", frame.to_csv(index=False))
    return frame


def _listed_order(out_dir: Path) -> list[str]:
    """Run names in ``manifest.csv`` order (it may end in a half line after a kill)."""
    try:
        listed = pd.read_csv(out_dir / "manifest.csv", usecols=["run"], on_bad_lines="skip")
    except (OSError, ValueError):
        return []
    return list(listed["run"].dropna().astype(str))


def _manifest_row(status: dict) -> dict[str, Any]:
    row = {column: status.get(column, "") for column in MANIFEST_COLUMNS}
    row["sweep"] = json.dumps(status.get("sweep", {}), sort_keys=True)
    return row


def _write_file(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary sibling, flushed to disk, then rename it over ``path``."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    _write_file(tmp, text)
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- reading


@dataclasses.dataclass
class BatchResults(TableSet):
    """A batch's tables, each with ``run``, ``scenario``, ``replicate`` and one column per
    swept dotted key ahead of the table's own columns; ``manifest`` lists every run."""

    manifest: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    swept_keys: list[str] = dataclasses.field(default_factory=list)


def load_results(directory: str | os.PathLike) -> BatchResults:
    """Read a batch folder's finished (status ok) runs into one DataFrame per table.

    Raises:
        ConfigError: when ``directory`` is not a batch folder.
    """
    out_dir = Path(directory)
    if not (out_dir / "runs").is_dir():
        raise ConfigError(f"{show_path(out_dir)}: not a batch folder (no runs/ inside)")
    manifest = manifest_frame(out_dir, _listed_order(out_dir))
    ok = manifest[manifest["status"] == "ok"]
    sweeps = [json.loads(s) if isinstance(s, str) and s else {} for s in ok["sweep"]]
    swept = list(dict.fromkeys(k for point in sweeps for k in point))
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    for (_, row), point in zip(ok.iterrows(), sweeps):
        folder = out_dir / "runs" / run_folder_name(row["run"])
        ids = {"run": row["run"], "scenario": row["scenario"], "replicate": int(row["replicate"])}
        ids.update({key: point.get(key) for key in swept})
        for name in TABLES:
            if not (folder / f"{name}.parquet").exists():   # a table newer than the batch
                continue
            frame = pd.read_parquet(folder / f"{name}.parquet")
            parts[name].append(frame.assign(**ids)[list(ids) + list(frame.columns)])
    id_columns = ["run", "scenario", "replicate", *swept]
    frames = {name: (pd.concat(parts[name], ignore_index=True) if parts[name]
                     else pd.DataFrame(columns=id_columns + list(TABLES[name])))
              for name in TABLES}
    return BatchResults(**frames, manifest=manifest, swept_keys=swept)
