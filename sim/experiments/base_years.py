"""Base years kept on disk, so that a batch's workers compute each base year once between them.

A content-addressed folder behind the process's cache of :mod:`sim.model.base_year_cache`: each
base year is one ``.npz`` file (arrays only, read without pickle) named by the digest of its
inputs (the world and the ``world`` stream) and of the values of the scenario keys its build read;
a small JSON file beside it lists those keys. Everything sits under a scope named by the code that
computes a base year (the source of ``sim/model``, ``sim/rules`` and ``sim/config``, numpy's and
Python's versions), so a changed model never reads an old base year.

The batch runner keeps one in the batch folder (``base_years/``) while the batch runs; the
environment variable ``SIM_BASE_YEARS`` names a folder to keep them in instead, for example
a user cache directory shared by later batches, sensitivity studies and calibrations.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import platform
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from sim.model import base_year_cache
from sim.model.base_year import BaseYear
from sim.model.calibration import Calibration
from sim.model.units import Units
from sim.paths import PACKAGE_DIR

ENVIRONMENT = "SIM_BASE_YEARS"
CODE_FOLDERS = ("model", "rules", "config")


@functools.cache
def code_scope() -> str:
    """Digest of the code that computes a base year, and of numpy's and Python's versions."""
    root = PACKAGE_DIR
    h = hashlib.sha256(f"numpy {np.__version__} python {platform.python_version()}".encode())
    for folder in CODE_FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:20]


class DiskStore:
    """Base years in ``folder`` (created on first write), under the current code's scope."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder) / code_scope()

    def path_sets(self, inputs: str) -> list[tuple[str, ...]]:
        out = []
        for path in sorted(self.folder.glob(f"{inputs}.*.keys.json")):
            try:
                out.append(tuple(json.loads(path.read_text())))
            except (OSError, ValueError):
                continue                 # a file another process is replacing: a miss
        return out

    def load(self, inputs: str, paths: tuple[str, ...], values: str) -> BaseYear | None:
        try:
            with np.load(self.folder / f"{inputs}.{values}.npz", allow_pickle=False) as data:
                return unpack({name: data[name] for name in data.files})
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None                  # absent or damaged: computed again

    def save(self, inputs: str, paths: tuple[str, ...], values: str, base: BaseYear) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = self.folder / f"{inputs}.{base_year_cache.digest(list(paths))[:16]}.keys.json"
        if not keys.exists():
            _write_atomically(keys, lambda f: f.write(json.dumps(list(paths)).encode()))
        _write_atomically(self.folder / f"{inputs}.{values}.npz",
                          lambda f: np.savez(f, **pack(base)))


def _write_atomically(path: Path, write) -> None:
    """Write under a temporary name in the same folder, then rename (readers see all or none)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pack(base: BaseYear) -> dict[str, np.ndarray]:
    """A base year as named arrays (numbers as 0-d arrays, the stream's state as JSON text)."""
    out = {f"calibration.{f.name}": np.asarray(getattr(base.calibration, f.name))
           for f in dataclasses.fields(Calibration)}
    out.update({f"units.{f.name}": getattr(base.units, f.name) for f in dataclasses.fields(Units)})
    out["offers"] = base.offers
    out["settle_rounds"] = np.asarray(base.settle_rounds)
    out["settled"] = np.asarray(base.settled)
    out["world_stream"] = np.asarray(json.dumps(base.world_stream))
    return out


def unpack(data: dict[str, np.ndarray]) -> BaseYear:
    """:func:`pack` read back."""
    def value(name: str, kind: str) -> object:
        array = data[name]
        return float(array) if kind == "float" else array

    calibration = Calibration(**{f.name: value(f"calibration.{f.name}", str(f.type))
                                 for f in dataclasses.fields(Calibration)})
    units = Units(**{f.name: data[f"units.{f.name}"] for f in dataclasses.fields(Units)})
    return BaseYear(calibration=calibration, units=units, offers=data["offers"],
                    settle_rounds=int(data["settle_rounds"]),
                    world_stream=json.loads(str(data["world_stream"])),
                    settled=bool(data["settled"]))


def use_folder(folder: str | os.PathLike) -> None:
    """Keep this process's base years in ``folder`` too (its in-memory cache stays)."""
    folder = Path(folder).absolute()   # a later change of directory must not move the store
    cache = base_year_cache.shared()
    if getattr(cache.store, "folder", None) != folder / code_scope():
        cache.store = DiskStore(folder)


def use_environment() -> None:
    """:func:`use_folder` with the folder ``SIM_BASE_YEARS`` names, if it names one."""
    folder = os.environ.get(ENVIRONMENT)
    if folder:
        use_folder(folder)
