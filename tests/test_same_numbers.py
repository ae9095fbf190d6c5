"""Shortcuts that skip work must compute the numbers the full computation computes, exactly.

Each check builds a small coordinated model (1,000 units, one quarter) and compares a shortcut of
issue 33's second pass with the computation it replaces, bit for bit.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.config import load_scenario
from sim.model.circle import CircleModel
from sim.model.city import SharedDecisions
from sim.model.coordinator import Coordinator
from sim.model.utility import (
    Choosers,
    segments_settings_move,
    utilities,
    utilities_by_kind,
    utility_parts,
)
from sim.rules import offers


@pytest.fixture(scope="module")
def decided() -> CircleModel:
    """A coordinated model after one quarter, then the next quarter's decisions (map, platform
    and offers in force)."""
    cfg = load_scenario("scenarios/coordinated.yaml", ["world.n_units=1000", "steps=2"])
    model = CircleModel(cfg, seed=4)
    model.step()
    model.prepare_decisions()
    return model


def test_utilities_by_kind_equal_every_deciders_own(decided):
    state, units = decided.state, decided.units
    # every unit as a reviewer at its park, half of them again as arrivals: many alike
    half = np.arange(0, len(units), 2)
    who = Choosers(kg=np.concatenate([units.kg, units.kg[half]]).astype(np.int64),
                   origin=np.concatenate([units.origin, units.origin[half]]).astype(np.int64),
                   home=np.concatenate([units.home, units.home[half]]).astype(np.int64),
                   current=np.concatenate([units.park, np.full(len(half), -1)]).astype(np.int64),
                   stay_subsidy=np.concatenate([units.subsidy_rate, np.zeros(len(half))]))
    u, available = utilities(state, who, state.settings)
    u_kind, available_kind = utilities_by_kind(state, who, state.settings)
    assert np.array_equal(u, u_kind) and np.array_equal(available, available_kind)


def test_an_exclusion_moves_only_the_segments_it_reports(decided):
    state = decided.state
    s = state.settings
    assert s.mapped is not None and s.platform
    groups = SharedDecisions(state).everyone[0]
    base = utility_parts(state, groups, s)
    for c in range(state.world.n_cities):
        excluded = s.excluded.copy()
        excluded[c] = True
        alone = dataclasses.replace(s, excluded=excluded)
        moved = segments_settings_move(state, s, alone)
        assert moved.any()          # every city holds map slots the platform shows
        parts = utility_parts(state, groups, alone, base)
        same = ~moved[groups.kg]
        for name in ("friction", "log_att", "entry"):
            assert np.array_equal(getattr(parts, name)[same], getattr(base, name)[same]), name


def test_placement_stakes_equal_a_full_projection_of_every_exclusion(decided, monkeypatch):
    state = decided.state
    fast = Coordinator._placement_stakes(state, SharedDecisions(state))
    # every sector-segment reported as moved: each exclusion recomputes every new project
    monkeypatch.setattr("sim.model.coordinator.segments_settings_move",
                        lambda state, a, b: np.ones(state.kg, dtype=bool))
    full = Coordinator._placement_stakes(state, SharedDecisions(state))
    assert np.array_equal(fast, full)


def test_best_responses_per_block_equal_those_per_row(monkeypatch):
    # deciders of a block share its offer, scale and output, as the cities' inputs do
    rng = np.random.default_rng(7)
    n, p, blocks = 12, 5, 3
    per_block = n // blocks
    block = np.repeat(np.arange(blocks), per_block)
    inputs = dict(u=rng.normal(size=(n, p)), available=rng.random((n, p)) > 0.2,
                  weight=rng.uniform(1, 2, n), block=block, n_blocks=blocks,
                  q=np.repeat(rng.uniform(0.5, 1.5, (blocks, p)), per_block, axis=0),
                  sigma=np.repeat(rng.uniform(0.5, 1.0, blocks), per_block),
                  value=np.repeat(rng.uniform(0.1, 0.3, (blocks, p)), per_block, axis=0),
                  pays=np.array([True, False, True, False, True]),
                  current=np.repeat(rng.uniform(0.0, 0.1, blocks), per_block),
                  nest=np.array([0, 0, 1, 1, 2]), n_nests=3, nest_param=0.6, life=10.0,
                  sub_life=4.0)
    grids = [np.linspace(0.0, 0.15, 6), np.linspace(0.0, 0.03, 6)]
    first, rows = offers._block_rows(block, blocks, inputs["current"], inputs["sigma"],
                                     inputs["q"][:, None, inputs["pays"]])
    assert first.tolist() == [0, 4, 8] and rows is block          # the per-block path
    shared = offers.best_responses_on(grids, **inputs)
    every = np.arange(n)
    monkeypatch.setattr(offers, "_block_rows", lambda *args: (every, every))
    own = offers.best_responses_on(grids, **inputs)               # every row for itself
    for (best, values), (best_own, values_own) in zip(shared, own, strict=True):
        assert np.array_equal(values, values_own) and np.array_equal(best, best_own)


def test_a_block_whose_deciders_differ_is_taken_row_by_row():
    block = np.array([0, 0, 1])
    q_paid = np.ones((3, 1, 2))
    first, rows = offers._block_rows(block, 2, np.array([0.1, 0.2, 0.0]), np.ones(3), q_paid)
    assert first.tolist() == [0, 1, 2] and rows.tolist() == [0, 1, 2]
