"""The results store: one folder per batch, one folder per run, written so a kill loses nothing.

Layout of a batch folder ``OUT``::

    OUT/batch.json            package version, config hash and data hash of every scenario
    OUT/manifest.csv          one row per finished run (rebuilt from the status records)
    OUT/runs/<run>/           <table>.parquet, config.yaml, status.json (the status record)

A run's folder is written as ``runs/.<run>.tmp-<pid>/`` with ``status.json`` last, then renamed
in one step, so a folder not starting with ``.`` is always complete; on a local process pool each
worker writes its own runs this way and the parent writes only the manifest. ``status.json``
records the size and SHA-256 of each file, so a damaged run is found and recomputed by
``--resume``. Run names use ``__`` for ``/`` (see :mod:`sim.experiments.store_guard` for the
encoding, markers and the lock).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sim.config.loader import ConfigError, show_path
from sim.config.sweeps import run_name
from sim.experiments import store_guard as guard
from sim.experiments.store_guard import check_fresh_output, data_hash, data_hash_of_all  # noqa: F401 (re-exported)
from sim.experiments.store_read import read_tables
from sim.model.tables import TABLES, TableSet
from sim.validation.fingerprint import code_hash
from sim.version import __version__

MANIFEST_COLUMNS = ("run", "scenario", "sweep", "replicate", "seed", "status", "duration_s",
                    "message", "version", "config_hash", "data_hash", "base_year_settled")


class StoreError(ConfigError):
    """The batch folder cannot be written (not a folder, read-only, full, busy, a link): one
    line, and the store as it was before the write that failed."""


def store_error(out_dir: Path, exc: OSError) -> StoreError:
    """One line for an operating-system error met while writing ``out_dir``."""
    name = f" ({show_path(exc.filename)})" if exc.filename else ""
    return StoreError(f"{show_path(out_dir)}: cannot write the batch folder: "
                      f"{exc.strerror or type(exc).__name__}{name}; finished runs are kept: fix "
                      f"this, then rerun with --resume")


def run_folder_name(run: str) -> str:
    """A run name as a folder name: ``coordinated/x=1/r07`` -> ``coordinated__x=1__r07``
    (reversible and collision-free, see :func:`sim.experiments.store_guard.encode_name`)."""
    return guard.encode_name(run)


# --------------------------------------------------------------------------- batch folder


def batch_record(scenarios: dict[str, dict]) -> dict:
    """The contents of ``batch.json``: version, the model code's hash (so a report can tell
    whether an evidence scoreboard was made by the code that made the runs) and each scenario's
    config and data hash.

    Args:
        scenarios: scenario name -> ``{"config_hash": ..., "data_hash": ..., "file": ...,
            "points": [point label, ...], "replicates": n}`` (the last two name every run the
            batch expects, so a comparison can name the missing ones).
    """
    return {"version": __version__, "code_hash": code_hash(), "scenarios": scenarios}


def open_batch(out_dir: Path, record: dict, resume: bool) -> dict:
    """Create a batch folder, or check that a folder to resume was made by the same batch, and
    return the record the batch keeps (a batch begun before batches recorded their model code's
    hash keeps none: the code of its finished runs is unknown, so the new code's hash would
    misstate it).

    Call it while holding :func:`sim.experiments.store_guard.batch_lock` on ``out_dir``.
    """
    if not resume:
        check_fresh_output(out_dir, "use --resume to continue that batch or choose another --out")
        guard.write_marker(out_dir, guard.BATCH_MARKER)
        (out_dir / "runs").mkdir(exist_ok=True)
        write_atomic(out_dir / "batch.json", json.dumps(record, indent=2, sort_keys=True))
        return record
    old = read_batch_record(out_dir)
    where = f"{show_path(out_dir)}: cannot resume"
    if old.get("version") != record["version"]:
        raise ConfigError(f"{where}: package version changed ({old.get('version')} -> "
                          f"{record['version']}); start a new --out folder")
    if old.get("code_hash", record["code_hash"]) != record["code_hash"]:
        raise ConfigError(f"{where}: the model code changed since the batch began "
                          f"({old['code_hash']} -> {record['code_hash']}); runs of two models "
                          f"do not make one comparison: start a new --out folder")
    before, now = old["scenarios"], record["scenarios"]
    if set(before) != set(now):
        raise ConfigError(f"{where}: the scenarios differ (batch has {sorted(before)}, "
                          f"got {sorted(now)}); start a new --out folder")
    for name in sorted(now):
        for field, label in (("config_hash", "config"), ("data_hash", "data")):
            if not isinstance(before[name], dict) or before[name].get(field) != now[name][field]:
                raise ConfigError(f"{where}: the {label} of scenario '{name}' changed since the "
                                  f"batch began; start a new --out folder")
    guard.check_real_folder(out_dir / "runs", "runs/")
    (out_dir / "runs").mkdir(exist_ok=True)
    return record if "code_hash" in old else {k: v for k, v in record.items()
                                              if k != "code_hash"}


def update_batch_record(out_dir: Path, record: dict) -> None:
    """After a resume's checks: the record of the runs this batch now expects (``--resume
    --replicates`` may add replicates; :func:`open_batch` returns it), rewritten only if it
    changed."""
    text = json.dumps(record, indent=2, sort_keys=True)
    if (out_dir / "batch.json").read_text(encoding="utf-8") != text:
        write_atomic(out_dir / "batch.json", text)


def expected_runs(record: dict) -> dict[str, list[str]]:
    """Scenario -> the run names a batch record expects (empty for a record written before
    records listed their points and replicates)."""
    expected = {}
    for name, info in record.get("scenarios", {}).items():
        points, n = (info.get("points"), info.get("replicates")) if isinstance(info, dict) \
            else (None, None)
        if isinstance(points, list) and isinstance(n, int) and n > 0:
            expected[name] = [run_name(name, str(label), r, n) for label in points
                              for r in range(n)]
    return expected


def read_batch_record(out_dir: Path) -> dict:
    """``batch.json`` of a batch folder, checked to be the mapping the tool writes."""
    batch_file = out_dir / "batch.json"
    where = f"{show_path(batch_file)}: cannot resume"
    if not batch_file.is_file() or batch_file.is_symlink():
        raise ConfigError(
            f"{show_path(out_dir)}: cannot resume: no batch.json (not a batch folder)"
        )
    try:
        old = json.loads(batch_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{where}: expected the JSON the tool writes ({type(exc).__name__}); "
                          f"start a new --out folder") from None
    if not isinstance(old, dict) or not isinstance(old.get("scenarios"), dict):
        raise ConfigError(f"{where}: expected a mapping with 'version' and 'scenarios'; start a "
                          f"new --out folder")
    return old


def scan_runs(out_dir: Path, names: Iterable[str]) -> set[str]:
    """Check ``runs/`` before a resume and return the runs finished ok and undamaged.

    Removes only the tool's own half-written ``.*.tmp-*`` folders (those holding its marker).
    Refuses links and foreign folders that carry a run's name; leaves anything else alone.
    """
    wanted = set(names)
    finished: set[str] = set()
    for folder in sorted((out_dir / "runs").iterdir()):
        shown = show_path(folder)
        if folder.is_symlink():
            raise ConfigError(f"{shown}: a run folder is a symbolic link; the store neither "
                              f"follows nor removes links (move it away, then --resume)")
        if folder.name.startswith("."):
            if guard.TMP_TAG in folder.name:
                guard.remove_tool_folder(folder, guard.RUN_MARKER)
            continue
        run = guard.decode_name(folder.name)
        if run not in wanted:
            continue
        status = read_status(folder)
        if not _is_own_run(folder, status, run):
            raise ConfigError(f"{shown}: holds a run's name but was not written by the tool (no "
                              f"{guard.RUN_MARKER} or status.json); move it away, then --resume")
        if status is not None and status["status"] == "ok" and run_damage(folder, status) is None:
            finished.add(run)
    return finished


def _is_own_run(folder: Path, status: dict | None, run: str) -> bool:
    if folder.is_symlink() or not folder.is_dir():
        return False
    return (folder / guard.RUN_MARKER).is_file() or (status is not None and status["run"] == run)


def run_damage(folder: Path, status: dict) -> str | None:
    """Why a finished run's files do not match its status record (None when they do)."""
    if "files" in status:
        return guard.damage(folder, status["files"])
    missing = [f"{name}.parquet" for name in TABLES if not (folder / f"{name}.parquet").is_file()]
    return f"{missing[0]} is missing" if missing else None


def read_status(folder: Path) -> dict | None:
    """A run folder's status record, or None when it has none (or an unreadable one)."""
    path = folder / "status.json"
    if path.is_symlink():
        return None
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(status, dict) or not isinstance(status.get("run"), str) \
            or status.get("status") not in ("ok", "failed"):
        return None
    return status


# --------------------------------------------------------------------------- runs


def write_run(out_dir: Path, status: dict, tables: dict[str, pd.DataFrame] | None,
              config: dict | None) -> None:
    """Write one run's folder (:func:`write_run_folder`) and its manifest row."""
    append_manifest(out_dir, write_run_folder(out_dir, status, tables, config))


def write_run_folder(out_dir: Path, status: dict, tables: dict[str, pd.DataFrame] | None,
                     config: dict | None) -> dict:
    """Write one run's tables, config and status record under a temporary name, then rename.

    A worker process may call it for its own run (the temporary name carries its process id);
    only the batch's parent appends to the manifest.

    Args:
        out_dir: the batch folder.
        status: the status record (one manifest row); ``status["run"]`` names the run.
        tables: table name -> DataFrame (None for a failed run).
        config: the run's resolved config, written as ``config.yaml``.
    Returns:
        the status record as written, with the size and SHA-256 of every file.
    """
    final = out_dir / "runs" / run_folder_name(status["run"])
    tmp = guard.temp_sibling(final)
    try:
        for name, frame in (tables or {}).items():
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
        if config is not None:
            (tmp / "config.yaml").write_text(
                yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
            )
        names = sorted(p.name for p in tmp.iterdir() if not p.name.startswith("."))
        status = {**status, "files": guard.file_digests(tmp, names)}
        _write_file(tmp / "status.json", json.dumps(status, indent=2, default=str))
        replace_folder(tmp, final)
    except BaseException:  # a full disk, say: no half-written folder is left behind
        guard.remove_tool_folder(tmp, guard.RUN_MARKER)
        raise
    return status


def append_manifest(out_dir: Path, status: dict) -> None:
    """Append a finished run's row to ``manifest.csv`` (rebuilt from status records at the end
    of a batch and on resume, so a half line left by a kill is repaired)."""
    with (out_dir / "manifest.csv").open("a", encoding="utf-8", newline="") as handle:
        if handle.tell() == 0:
            pd.DataFrame(columns=MANIFEST_COLUMNS).to_csv(handle, index=False)
        pd.DataFrame([_manifest_row(status)]).to_csv(handle, header=False, index=False)


def remove_temporary_runs(out_dir: Path) -> None:
    """Remove the tool's half-written ``.*.tmp-*`` run folders (a worker killed while writing)."""
    for folder in (out_dir / "runs").iterdir():
        if folder.name.startswith(".") and guard.TMP_TAG in folder.name:
            guard.remove_tool_folder(folder, guard.RUN_MARKER)


def replace_folder(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` to ``final``; an existing ``final`` must be the tool's own run folder."""
    if (final.exists() or final.is_symlink()) and not _is_own_run(
            final, read_status(final), guard.decode_name(final.name)):
        raise ConfigError(f"{show_path(final)}: exists and was not written by the tool (or "
                          f"is a link); refusing to replace it")
    guard.swap_into_place(tmp, final)
    _fsync_dir(final.parent)


def manifest_frame(out_dir: Path, order: Iterable[str] = ()) -> pd.DataFrame:
    """The manifest built from the status records (the truth), in ``order`` then by name."""
    rows = [s for s in (read_status(f) for f in (out_dir / "runs").iterdir()
                        if not f.name.startswith(".") and not f.is_symlink()) if s is not None]
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
    try:
        _write_file(tmp, text)
        os.replace(tmp, path)
    except BaseException:  # a full disk, say: the old file stays whole, no temporary is left
        if tmp.is_file() and not tmp.is_symlink():
            tmp.unlink()
        raise


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


def damaged_runs(out_dir: Path) -> list[str]:
    """``run (why)`` for every run folder whose files or status record are damaged.

    Raises:
        ConfigError: when ``runs/`` is a symbolic link (the store never reads through one).
    """
    guard.check_real_folder(out_dir / "runs", "runs/")
    found = []
    for folder in sorted((out_dir / "runs").iterdir()):
        if folder.name.startswith("."):
            continue
        run = guard.decode_name(folder.name)
        if folder.is_symlink():
            found.append(f"{run} (the run folder is a symbolic link)")
            continue
        status = read_status(folder)
        if status is None:
            if (folder / guard.RUN_MARKER).is_file():
                found.append(f"{run} (status.json missing or malformed)")
        elif status["status"] == "ok":
            why = run_damage(folder, status)
            if why:
                found.append(f"{run} ({why})")
    return found


def load_results(directory: str | os.PathLike) -> BatchResults:
    """Read a batch folder's finished (status ok) runs into one DataFrame per table.

    Raises:
        ConfigError: when ``directory`` is not a batch folder, or names every damaged run
            (a table missing or not matching its checksum) in one line.
    """
    out_dir = Path(directory)
    if not (out_dir / "runs").is_dir():
        raise ConfigError(f"{show_path(out_dir)}: not a batch folder (no runs/ inside)")
    damaged = damaged_runs(out_dir)
    if damaged:
        raise ConfigError(f"{show_path(out_dir)}: {len(damaged)} damaged run(s): "
                          f"{'; '.join(damaged)}; rerun the batch with --resume to recompute them")
    manifest = manifest_frame(out_dir, _listed_order(out_dir))
    ok = manifest[manifest["status"] == "ok"]
    sweeps = [json.loads(s) if isinstance(s, str) and s else {} for s in ok["sweep"]]
    swept = list(dict.fromkeys(k for point in sweeps for k in point))
    ids = {"run": list(ok["run"]), "scenario": list(ok["scenario"]),
           "replicate": [int(r) for r in ok["replicate"]],
           **{key: [point.get(key) for point in sweeps] for key in swept}}
    return BatchResults(**read_tables(out_dir, ids), manifest=manifest, swept_keys=swept)
