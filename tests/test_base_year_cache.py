"""The base year computed once: the trace of the keys its build reads, the cache's hits and
misses for each kind of input, and runs from a cached base year equal to runs without it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel

from sim.config import load_scenario
from sim.config.schema import ScenarioConfig
from sim.model import CircleModel
from sim.model.base_year import BaseYear, settle_base_year
from sim.model.base_year_cache import BaseYearCache, ReadTrace, canonical, value_at
from sim.model.seeds import spawn_streams
from sim.model.world import build_world

SMALL = ["world.n_units=300", "competition.subsidy_grid_points=6", "steps=2"]


def config(name: str = "homogenised", *extra: str) -> ScenarioConfig:
    return load_scenario(f"scenarios/{name}.yaml", [*SMALL, *extra])


def world_stream(seed: int = 1, replicate: int = 0) -> np.random.Generator:
    """The ``world`` stream as a model's build finds it (one draw in)."""
    rng = spawn_streams(seed, replicate)["world"]
    rng.integers(np.iinfo(np.int32).max)
    return rng


def cached(cache: BaseYearCache, cfg: ScenarioConfig, seed: int = 1, replicate: int = 0,
           world=None) -> BaseYear:
    return cache.base_year(world or build_world(cfg), cfg, world_stream(seed, replicate),
                           settle_base_year)


def same(a: BaseYear, b: BaseYear) -> bool:
    """Equal arrays everywhere (calibration, units, offers) and the same stream state."""
    parts = [(a.calibration, b.calibration), (a.units, b.units)]
    return (all(np.array_equal(getattr(x, f.name), getattr(y, f.name))
                for x, y in parts for f in dataclasses.fields(x))
            and np.array_equal(a.offers, b.offers) and a.settle_rounds == b.settle_rounds
            and a.settled == b.settled and a.world_stream == b.world_stream)


# ----------------------------------------------------------------------------- the trace
def test_a_trace_notes_each_key_read_with_its_value():
    cfg = ScenarioConfig()
    traced = ReadTrace(cfg)
    assert traced.economy.tax_rate == cfg.economy.tax_rate
    assert isinstance(traced.policies.enclave, ReadTrace)        # a part stays traced
    assert traced.economy.origin_shares["wuhan"] == 0.25
    assert traced.reads == {"economy.tax_rate": 0.07,
                            "economy.origin_shares": cfg.economy.origin_shares}


def test_a_method_of_a_part_reads_the_whole_part_and_a_trace_is_read_only():
    cfg = ScenarioConfig()
    traced = ReadTrace(cfg)
    traced.competition.model_dump()
    assert list(traced.reads) == ["competition"]
    assert canonical(value_at(cfg, "competition")) == cfg.competition.model_dump(mode="json")
    traced.model_copy()
    assert value_at(cfg, "") is cfg and "" in traced.reads
    with pytest.raises(TypeError):
        traced.steps = 3


def test_the_build_reads_the_scenario_only_through_the_trace():
    """Every key of the scenario the trace did not see is changed at once (numbers moved inside
    their range, switches flipped): on the same world (the cache's other input, which the
    ``world`` keys shape) the base year stays the same, so no read bypasses the trace and the
    cache's key misses nothing that shapes the base year."""
    cfg = config("homogenised")
    cache = BaseYearCache()
    world = build_world(cfg)
    base = cached(cache, cfg, world=world)
    read = set(next(iter(cache.paths.values()))[0])
    data = cfg.model_dump()
    changed = []
    for path, field in _leaves(ScenarioConfig):
        if any(path == r or path.startswith(r + ".") or r.startswith(path + ".") or r == ""
               for r in read):
            continue
        new = _perturbed(value_at(cfg, path), field)
        if new is not None:
            _set(data, path, new)
            changed.append(path)
    assert len(changed) > 40          # the regime's switches, policies, steps, ... all moved
    other = ScenarioConfig.model_validate(data)
    assert same(settle_base_year(world, other, world_stream()), base)


def _leaves(model: type[BaseModel], prefix: str = ""):
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            yield from _leaves(kind, path + ".")
        else:
            yield path, field


def _perturbed(value, field):
    """A different valid value, or None to leave the key alone."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float) and not isinstance(value, bool):
        low = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
        high = next((m.le for m in field.metadata if hasattr(m, "le")), None)
        new = value * 0.9 if value else 0.01
        if low is not None and new < low or high is not None and new > high:
            new = value * 1.05 if value else 0.0
        return type(value)(new) if type(value)(new) != value else None
    return None


def _set(data: dict, path: str, value) -> None:
    *parts, last = path.split(".")
    for name in parts:
        data = data[name]
    data[last] = value


# ----------------------------------------------------------------------------- the cache
def test_scenarios_that_differ_in_keys_the_build_never_reads_share_one_base_year():
    cache = BaseYearCache()
    first = cached(cache, config("homogenised"))
    again = cached(cache, config("homogenised_with_enclave", "steps=5"))
    assert (cache.misses, cache.hits) == (1, 1)
    assert same(first, again)
    again.units.output[:] = 0.0          # each caller gets its own arrays
    assert same(cached(cache, config("homogenised")), first)


@pytest.mark.parametrize("change", ["key", "seed", "replicate", "world"])
def test_each_kind_of_input_the_base_year_depends_on_invalidates_it(change):
    cache = BaseYearCache()
    cfg = config("homogenised")
    world = build_world(cfg)
    base = cached(cache, cfg, world=world)
    seed, replicate = 1, 0
    if change == "key":
        cfg = config("homogenised", "economy.tax_rate=0.071")
    elif change == "seed":
        seed = 2
    elif change == "replicate":
        replicate = 1
    else:
        world = dataclasses.replace(world, talent=world.talent * 1.01)
    other = cached(cache, cfg, seed, replicate, world)
    assert cache.misses == 2 and cache.hits == 0
    assert not same(other, base)
    assert same(other, settle_base_year(world, cfg, world_stream(seed, replicate)))


def test_a_cache_with_no_room_keeps_nothing_and_the_stream_ends_where_the_build_leaves_it():
    cache = BaseYearCache(max_bytes=0)
    cfg = config("homogenised")
    rng = world_stream()
    base = cache.base_year(build_world(cfg), cfg, rng, settle_base_year)
    assert not cache.entries and rng.bit_generator.state == base.world_stream
    cached(cache, cfg)
    assert cache.misses == 2


def test_runs_from_a_cached_base_year_equal_runs_without_the_cache():
    cfg = config("coordinated")
    cache = BaseYearCache()
    CircleModel(config("coordinated_without_enclave"), seed=3, base_years=cache)
    warm = CircleModel(cfg, seed=3, base_years=cache)
    cold = CircleModel(cfg, seed=3, base_years=BaseYearCache(max_bytes=0))
    assert cache.hits == 1
    for model in (warm, cold):
        for _ in range(cfg.steps):
            model.step()
    a, b = warm.recorder.results(cfg).tables(), cold.recorder.results(cfg).tables()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])


# ----------------------------------------------------------------------------- on disk
def test_a_base_year_written_to_disk_reads_back_equal_in_another_process_cache(tmp_path):
    from sim.experiments.base_years import DiskStore, pack, unpack

    cfg = config("homogenised")
    writer = BaseYearCache(store=DiskStore(tmp_path))
    base = cached(writer, cfg)
    assert same(unpack(pack(base)), base)
    reader = BaseYearCache(store=DiskStore(tmp_path))     # as another worker would
    again = cached(reader, config("homogenised_with_park_within_park"))
    assert (reader.misses, reader.loads) == (0, 1)
    assert same(again, base)
    assert not list(tmp_path.rglob(".tmp-*"))


def test_changed_code_or_a_damaged_file_means_the_base_year_is_built_again(tmp_path,
                                                                           monkeypatch):
    from sim.experiments import base_years

    cfg = config("homogenised")
    base = cached(BaseYearCache(store=base_years.DiskStore(tmp_path)), cfg)
    (npz,) = tmp_path.rglob("*.npz")
    npz.write_bytes(npz.read_bytes()[:100])
    damaged = BaseYearCache(store=base_years.DiskStore(tmp_path))
    assert same(cached(damaged, cfg), base) and (damaged.loads, damaged.misses) == (0, 1)
    monkeypatch.setattr(base_years, "code_scope", lambda: "another-version")
    changed = BaseYearCache(store=base_years.DiskStore(tmp_path))
    cached(changed, cfg)
    assert (changed.loads, changed.misses) == (0, 1)
    assert (tmp_path / "another-version").is_dir()



def test_a_process_told_sim_base_years_keeps_its_base_years_there(tmp_path, monkeypatch):
    from sim.experiments import base_years
    from sim.model import base_year_cache

    monkeypatch.setattr(base_year_cache, "_SHARED", BaseYearCache())
    monkeypatch.delenv(base_years.ENVIRONMENT, raising=False)
    base_years.use_environment()
    assert base_year_cache.shared().store is None
    monkeypatch.setenv(base_years.ENVIRONMENT, str(tmp_path))
    base_years.use_environment()
    cached(base_year_cache.shared(), config("homogenised"))
    assert list(tmp_path.rglob("*.npz"))
