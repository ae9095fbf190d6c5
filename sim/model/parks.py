"""Parks built for a run: each city's local park plus the parks that co-construction agreements
add (the table itself, :class:`sim.rules.park_table.Parks`, is the rules').

Kinds: ``local``; ``enclave`` (飞地园区: a source city co-builds a park in a host city);
``park_within_park`` (园外园: a Wuhan national zone runs a branch inside a host park);
``reverse_enclave`` (离岸科创园: a ring city's R&D site inside the core city, its units registered
in the ring city). An agreement in force in the base year (``basis: in_force``) is part of the
status quo: its park exists in every scenario, on its documented terms, whatever the switches.
Any other agreement's park exists only while its kind's switch is on (and opens once signed).
Parks are ordered: the local parks, the agreements in force, then the others, so the status quo's
parks are the first ones (:func:`status_quo_count`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.config.schema import Agreement, ScenarioConfig
from sim.model.world import World
from sim.rules.constants import SEGMENTS, STEPS_PER_YEAR, ParkKind
from sim.rules.park_table import Parks


def built_agreements(config: ScenarioConfig) -> list[int]:
    """Positions in ``config.agreements`` of the agreements that get a park, in park order: those
    in force in the base year, then those whose kind's switch is on (each group in file order)."""
    agreements = config.agreements
    in_force = [i for i, a in enumerate(agreements) if a.basis == "in_force"]
    new = [i for i, a in enumerate(agreements)
           if a.basis != "in_force" and getattr(config.switches, a.kind)]
    return in_force + new


def status_quo_count(config: ScenarioConfig, n_cities: int) -> int:
    """How many parks the status quo has: the local parks and the agreements in force."""
    return n_cities + sum(a.basis == "in_force" for a in config.agreements)


def pick(own: object, default: object) -> object:
    """An agreement's own value, or the policy default when it gives none."""
    return default if own is None else own


def _agreement_row(a: Agreement, config: ScenarioConfig, world: World) -> dict:
    """One agreement's park attributes, policy defaults filled in."""
    pol = getattr(config.policies, a.kind)
    # an agreement in force keeps its documented terms whatever the scenario switches
    sharing = a.basis == "in_force" or config.switches.gdp_tax_sharing
    src, host = world.city_index(a.source), world.city_index(a.host)
    q = STEPS_PER_YEAR
    term = a.term_years if a.term_years is not None else getattr(pol, "term_years", np.inf)
    row = dict(
        name=a.name or f"{a.kind}:{a.source}->{a.host}", kind=ParkKind[a.kind.upper()],
        city=host, operator=src, registration=host, capacity=a.land_km2, start=a.start_step,
        term_end=a.start_step + term * q, retention_end=float(a.start_step),
        gdp_share_source=0.0, tax_share_source=0.0, retained_share=0.0, equity_operator=0.0,
        rent_subsidy=0.0, rent_end=float(a.start_step), productivity_bonus=0.0,
        referral_strength=pol.referral_strength, build_cost=0.0, home_only=False,
        segment_ok=np.ones(len(SEGMENTS), bool))
    if a.kind == ParkKind.ENCLAVE.label:
        row["build_cost"] = pol.build_cost_per_km2 * a.land_km2
        if sharing:
            row["gdp_share_source"] = pick(a.gdp_share_source, pol.gdp_share_source)
            row["tax_share_source"] = pick(a.tax_share_source, pol.tax_share_source)
            row["retained_share"] = pick(a.park_retained_share, pol.park_retained_share)
            row["retention_end"] = a.start_step + pick(a.retention_years, pol.retention_years) * q
    elif a.kind == ParkKind.PARK_WITHIN_PARK.label:
        row["build_cost"] = pol.build_cost_per_km2 * a.land_km2
        row["productivity_bonus"] = pol.productivity_bonus
        row["equity_operator"] = pick(a.equity_share_operator, pol.equity_share_operator)
    else:  # reverse enclave: the park is in the core city, registered in the source
        row["registration"] = src
        row["home_only"] = True
        row["segment_ok"] = np.array([s in pol.segments for s in SEGMENTS])
        row["rent_subsidy"] = pol.rent_subsidy
        row["rent_end"] = a.start_step + pick(a.rent_subsidy_years, pol.rent_subsidy_years) * q
        if sharing:
            row["gdp_share_source"] = pick(a.gdp_share_source, pol.gdp_share_source)
    row["sector_ok"] = (np.ones(world.n_sectors, bool) if not a.sectors
                        else np.isin(np.array(world.sectors), a.sectors))
    return row


def build_parks(world: World, config: ScenarioConfig, local_capacity: np.ndarray) -> Parks:
    """Local parks (one per city), then the agreements in force, then every other agreement whose
    kind's switch is on (:func:`built_agreements`)."""
    rows = _local_rows(world, local_capacity)
    for i in built_agreements(config):
        rows.append(_agreement_row(config.agreements[i], config, world))
    return _table(rows)


def status_quo_parks(world: World, config: ScenarioConfig, local_capacity: np.ndarray) -> Parks:
    """The base year's parks: each city's local park and the parks of the agreements in force
    (the first :func:`status_quo_count` parks of :func:`build_parks`, whatever the switches)."""
    rows = _local_rows(world, local_capacity)
    for a in config.agreements:
        if a.basis == "in_force":
            rows.append(_agreement_row(a, config, world))
    return _table(rows)


def _local_rows(world: World, local_capacity: np.ndarray) -> list[dict]:
    rows = []
    for c, name in enumerate(world.cities):
        rows.append(dict(
            name=f"local:{name}", kind=ParkKind.LOCAL, city=c, operator=c, registration=c,
            capacity=local_capacity[c], start=0, term_end=np.inf, retention_end=0.0,
            gdp_share_source=0.0, tax_share_source=0.0, retained_share=0.0, equity_operator=0.0,
            rent_subsidy=0.0, rent_end=0.0, productivity_bonus=0.0, referral_strength=0.0,
            build_cost=0.0, home_only=False, sector_ok=np.ones(world.n_sectors, bool),
            segment_ok=np.ones(len(SEGMENTS), bool)))
    return rows


def _table(rows: list[dict]) -> Parks:
    columns = {f.name: [r[f.name] for r in rows] for f in dataclasses.fields(Parks)}
    arrays = {k: (v if k == "name" else np.array(v)) for k, v in columns.items()}
    for k in ("start",):
        arrays[k] = arrays[k].astype(int)
    for k in ("term_end", "retention_end", "rent_end", "capacity"):
        arrays[k] = arrays[k].astype(float)
    return Parks(**arrays)
