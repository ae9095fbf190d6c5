"""Base years computed once: every run that shares a base year's inputs reuses it.

A base year (:func:`sim.model.base_year.settle_base_year`) is a function of the world, the
``world`` stream's state and the scenario keys its build reads. Which keys those are is not
listed by hand, where it could go stale: the build runs on a :class:`ReadTrace` of the scenario,
which notes every key it reads (a whole part when a method reads it). An entry is reused when
the world, the stream and each noted key's value are equal, so a run that differs only in keys
the build never read (the regime's switches, the policies, the steps) gets the same base year,
and one that differs in any key it read does not. The build is deterministic, so equal reads
mean the same path through it and the same result.

The cache is in memory, one per process (:func:`shared`); a :class:`BaseYearStore` (for example
the batch folder's, :mod:`sim.experiments.base_years`) extends it across processes. Each run
gets its own copy of the arrays.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel

from sim.config.schema import ScenarioConfig
from sim.model.base_year import BaseYear
from sim.model.world import World

#: Bytes of base years one process keeps by default (a 20,000-unit base year holds about 1.3 MB).
DEFAULT_MAX_BYTES = 64 * 2**20
WHOLE = ""          # the path of a whole scenario read at once (a method of the scenario called)


class ReadTrace:
    """A scenario, or a part of one, that notes the dotted path and value of every key read.

    A field that is itself a part (``economy``) is returned traced; any other field's value is
    noted and returned as it is. A method or property of a part (``model_copy``) notes the whole
    part. Each path maps to the value it holds (read once per path).
    """

    __slots__ = ("_part", "_path", "_reads")

    def __init__(self, part: BaseModel, path: str = WHOLE,
                 reads: dict[str, Any] | None = None) -> None:
        object.__setattr__(self, "_part", part)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_reads", {} if reads is None else reads)

    def __getattr__(self, name: str) -> Any:
        part, path = object.__getattribute__(self, "_part"), object.__getattribute__(self, "_path")
        reads = object.__getattribute__(self, "_reads")
        value = getattr(part, name)
        if name not in type(part).model_fields:
            reads[path] = part            # a method or property reads the whole part
            return value
        key = f"{path}.{name}" if path else name
        if isinstance(value, BaseModel):
            return ReadTrace(value, key, reads)
        reads[key] = value
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("a traced scenario is read-only")

    @property
    def reads(self) -> dict[str, Any]:
        """Path -> value of every key read so far."""
        return object.__getattribute__(self, "_reads")


def canonical(value: Any) -> Any:
    """A value as plain JSON data (parts of a scenario as their dumps)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    return value


def value_at(config: ScenarioConfig, path: str) -> Any:
    """The value at a dotted path of a scenario (the whole scenario for ``WHOLE``)."""
    value: Any = config
    for name in filter(None, path.split(".")):
        value = getattr(value, name)
    return value


def digest(data: Any) -> str:
    """sha256 of JSON data written canonically (keys sorted, floats exact)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def values_digest(config: ScenarioConfig, paths: Iterable[str]) -> str:
    """The digest of a scenario's values at ``paths``."""
    return digest({path: canonical(value_at(config, path)) for path in paths})


def world_fingerprint(world: World) -> str:
    """sha256 of every field of the world (arrays by dtype, shape and bytes)."""
    h = hashlib.sha256()
    for f in dataclasses.fields(world):
        value = getattr(world, f.name)
        h.update(f.name.encode())
        if isinstance(value, np.ndarray):
            h.update(f"{value.dtype.str}{value.shape}".encode())
            h.update(np.ascontiguousarray(value).tobytes())
        else:
            h.update(repr(value).encode())
    return h.hexdigest()


def inputs_digest(world: World, stream: dict[str, Any]) -> str:
    """The digest of a base year's inputs other than the scenario: the world and the ``world``
    stream's state when the build starts."""
    return digest({"world": world_fingerprint(world), "stream": canonical(stream)})


class BaseYearStore(Protocol):
    """Base years kept outside the process (by :mod:`sim.experiments.base_years`, on disk).

    ``inputs`` is :func:`inputs_digest`; ``paths`` a sorted tuple of the keys a build read;
    ``values`` their :func:`values_digest`.
    """

    def path_sets(self, inputs: str) -> list[tuple[str, ...]]: ...

    def load(self, inputs: str, paths: tuple[str, ...], values: str) -> BaseYear | None: ...

    def save(self, inputs: str, paths: tuple[str, ...], values: str, base: BaseYear) -> None: ...


class BaseYearCache:
    """Base years by their inputs, least recently used dropped beyond ``max_bytes``.

    Args:
        max_bytes: bytes of base years kept in memory (0 keeps none; one larger than a quarter
            of it is not kept).
        store: base years kept outside the process, read on a miss and written after a build.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES,
                 store: BaseYearStore | None = None) -> None:
        self.max_bytes, self.store = max_bytes, store
        self.paths: dict[str, list[tuple[str, ...]]] = {}   # inputs -> path sets seen
        self.entries: collections.OrderedDict[tuple[str, str], BaseYear] = (
            collections.OrderedDict())
        self.hits = self.misses = self.loads = 0
        self._lock = threading.Lock()     # runs on a thread pool share one process's cache

    def base_year(self, world: World, config: ScenarioConfig, rng: np.random.Generator,
                  build: Callable[[World, Any, np.random.Generator], BaseYear]) -> BaseYear:
        """The base year ``build(world, config, rng)`` gives, from the cache when its inputs are
        there; ``rng`` is left where the build leaves it. The caller owns what is returned."""
        inputs = inputs_digest(world, rng.bit_generator.state)
        with self._lock:
            found = self._find(inputs, config)
            if found is not None:
                rng.bit_generator.state = found.world_stream
                return found.copy()         # the cache keeps the original
            self.misses += 1
        traced = ReadTrace(config)
        base = build(world, traced, rng)
        paths = tuple(sorted(traced.reads))
        values = digest({p: canonical(v) for p, v in sorted(traced.reads.items())})
        if self.store is not None:
            self.store.save(inputs, paths, values, base)
        with self._lock:
            kept = self._remember(inputs, paths, values, base)
        return base.copy() if kept else base

    def _find(self, inputs: str, config: ScenarioConfig) -> BaseYear | None:
        for paths in self.paths.get(inputs, []):
            key = (inputs, values_digest(config, paths))
            if key in self.entries:
                self.hits += 1
                self.entries.move_to_end(key)
                return self.entries[key]
        if self.store is None:
            return None
        for paths in self.store.path_sets(inputs):
            values = values_digest(config, paths)
            base = self.store.load(inputs, paths, values)
            if base is not None:
                self.loads += 1
                self._remember(inputs, paths, values, base)
                return base                  # copied by the caller
        return None

    def _remember(self, inputs: str, paths: tuple[str, ...], values: str,
                  base: BaseYear) -> bool:
        """Keep a base year (unless it is too large); whether it is kept."""
        known = self.paths.setdefault(inputs, [])
        if paths not in known:
            known.append(paths)
        if nbytes(base) * 4 > self.max_bytes:
            return False
        self.entries[(inputs, values)] = base
        while sum(nbytes(b) for b in self.entries.values()) > self.max_bytes:
            self.entries.popitem(last=False)
        return (inputs, values) in self.entries

    def clear(self) -> None:
        """Forget every base year held in memory (a store keeps its own)."""
        with self._lock:
            self.paths.clear()
            self.entries.clear()


def nbytes(base: BaseYear) -> int:
    """Bytes of a base year's arrays."""
    parts = (base.calibration, base.units)
    return base.offers.nbytes + sum(getattr(p, f.name).nbytes for p in parts
                                    for f in dataclasses.fields(p)
                                    if isinstance(getattr(p, f.name), np.ndarray))


_SHARED = BaseYearCache()


def shared() -> BaseYearCache:
    """The process's cache, which every model uses unless it is given another."""
    return _SHARED


def use(cache: BaseYearCache) -> BaseYearCache:
    """Make ``cache`` the process's cache (a batch worker's, with the batch's store); returns the
    one it replaces."""
    global _SHARED
    previous, _SHARED = _SHARED, cache
    return previous
