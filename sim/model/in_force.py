"""Agreements in force in the base year are part of the status quo of every scenario.

A park-within-park branch that has run since 2015 held firms in 2021, and 2021's GDP counts
them. So the parks of the agreements in force (``basis: in_force``) hold base-year units: each
stands full (at the highest utilisation, ``economy.max_utilisation``: a branch's referrals fill
its land within a year of opening in the model) with a random sample of the host's units its
terms admit (output, and so each city's GDP, unchanged). The arrival constants are then set so that
every city keeps its base-year share of arrivals with those parks in place (their referrals and
productivity bonus are part of what was observed, as the base year's promotion is): the status
quo stays at rest, and the regimes differ only in what is new or changed (the constants:
:mod:`sim.model.status_quo`).
"""

from __future__ import annotations

import numpy as np

from sim.model.units import Units
from sim.model.world import World
from sim.rules.constants import Origin, n_sector_segments
from sim.rules.park_table import Parks


def place_base_units(world: World, parks: Parks, units: Units, q: np.ndarray,
                     n_status_quo: int, fill: float, rng: np.random.Generator) -> None:
    """Move base-year units of each in-force park's host into it (parks ``C .. n_status_quo−1``)
    until it holds the share ``fill`` of its land, then set each local park's land from what
    its units still hold (at the base utilisation).

    Units are taken in a random order (``rng``) among the host's units the park admits (sector,
    segment; a reverse enclave's units become its operator's firms, registered there). A moved
    unit keeps its output: its productivity is divided by the park's output per unit of
    productivity relative to the local park's (``q``, KG x P), so the branch's bonus is part of
    the observed output rather than added to it.
    """
    c = world.n_cities
    k, g = units.sector, units.segment
    for j in range(c, n_status_quo):
        host = parks.city[j]
        target = fill * parks.capacity[j]
        eligible = np.flatnonzero((units.park == host) & parks.sector_ok[j, k]
                                  & parks.segment_ok[j, g])
        order = eligible[rng.permutation(len(eligible))]
        moved = order[np.cumsum(units.land[order]) <= target]
        kg = units.kg[moved]
        units.productivity[moved] *= q[kg, host] / q[kg, j]
        units.park[moved] = j
        if parks.home_only[j]:
            units.origin[moved] = Origin.LOCAL
            units.home[moved] = parks.operator[j]
    used = np.bincount(units.park, weights=units.land, minlength=parks.n)
    parks.capacity[:c] = used[:c] / world.utilisation


def base_counts(world: World, parks: Parks, units: Units,
                mean_productivity: np.ndarray) -> np.ndarray:
    """Each city's productivity mass by sector-segment (KG x C) in mean-productivity units,
    wherever in the city its units stand."""
    counts = np.zeros((n_sector_segments(world.n_sectors), world.n_cities))
    np.add.at(counts, (units.kg, parks.city[units.park]), units.productivity)
    return counts / mean_productivity.reshape(-1, 1)
