"""The calibration: the constants that make the base year (2021) a stationary state.

Built once per run from the world, the scenario and the ``world`` random stream, then frozen:
the choice scale and constants of the location logit, the switching cost, the hazards, the
arrival rates and the present-value factors. The base-year units and the parks are built on
the way and handed to the model as its initial state.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.config.schema import ScenarioConfig
from sim.model.in_force import base_counts, place_base_units
from sim.model.parks import Parks, status_quo_parks
from sim.model.units import Units, draw_base_units
from sim.model.world import World, technology
from sim.rules import welfare
from sim.rules.agreements import (
    decay_for_mean_elasticity,
    gravity_utility,
    linkage_to_core,
    mixture_arrival_constants,
)
from sim.rules.choice import calibrate_reviewers, choice_scale
from sim.rules.constants import (
    ORIGINS,
    SEGMENTS,
    STEPS_PER_YEAR,
    Origin,
    ParkKind,
    n_sector_segments,
    per_step,
)
from sim.rules.economy import location_terms
from sim.rules.offers import target_sectors, unit_value_factors
from sim.rules.trend import trend_flows


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Constants of one run, by sector-segment (KG) and city (C). Read-only after the build."""

    sigma: np.ndarray              # KG choice scale σ (profit per unit of productivity)
    delta_arrival: np.ndarray      # KG x C arrivals' constants (Berry inversion)
    gravity0: np.ndarray           # KG x C core investors' gravity shift in the base year
    gravity_decay: float           # β of a project fully tied to the core (ε / mean tie)
    delta_review: np.ndarray       # KG x C reviewers' constants
    switching_cost: np.ndarray     # KG κ, utility units
    base_counts: np.ndarray        # KG x C base productivity mass in mean-productivity units
    mean_productivity: np.ndarray  # K x G mean productivity of the base units
    labour_supply: np.ndarray      # C persons employed in the base year
    gdp0: np.ndarray               # C base-year GDP
    p_exit: float                  # per-step exit hazard
    p_review: float                # per-step review hazard
    outflow: float                 # h: per-step share of units that close or leave the circle
    growth_q: float                # g_q: the trend's growth per step
    arrival_rate: np.ndarray       # KG potential projects of step 1 (replace h, add g_q)
    local_capacity: np.ndarray     # C base-year land of the local parks, km²
    life: float                    # present-value years of a unit's flows, L
    sub_life: float                # present-value years of a subsidy contract, L_s
    base_promoted: np.ndarray      # C x KG sector-segments each city promotes in the base year
    circle_q: np.ndarray           # KG base-year output-weighted mean output per unit of
                                   # productivity of each sector-segment in the circle
    outside_q: np.ndarray          # KG output per unit of productivity outside the circle
    outside_rate: np.ndarray       # KG national surplus per yuan of output outside the circle
    decline_exit: float = 0.0      # e: closures that carry a trend falling faster than h


def calibrate(world: World, config: ScenarioConfig,
              rng: np.random.Generator) -> tuple[Calibration, Units, Parks, bool]:
    """The calibration, the base-year units, the status quo's parks (the local ones and those
    of the agreements in force, :mod:`sim.model.in_force`, which hold base-year units too) and
    whether the reviewers' constants settled by their tolerance (not at their iteration cap).

    New agreements come into force from step 1; the local parks' capacities are set from the land
    the base units hold at the base utilisation, after the base terms are known.
    """
    econ = config.economy
    parks = status_quo_parks(world, config, np.ones(world.n_cities))
    local = slice(0, world.n_cities)
    rent = (world.land_rent_base[parks.city]
            * (1 - world.utilisation[parks.city]) ** (-econ.land_price_utilisation_elasticity))
    terms0 = location_terms(technology(world, config), parks, world.output, world.wage.copy(),
                            rent)
    q0, c0 = terms0.q[:, local], terms0.cost[:, local]
    units, mean_productivity, counts = _base_units(world, config, parks, q0, rng)
    if parks.n > world.n_cities:    # agreements in force hold base-year units too, drawn from a
        # child of the world stream so that the stream's own draws (the base contracts) are the
        # same with or without agreements in force
        place_base_units(world, parks, units, terms0.q, parks.n, econ.max_utilisation,
                         rng.spawn(1)[0])
        counts = base_counts(world, parks, units, mean_productivity)
    shares = counts / counts.sum(axis=1, keepdims=True)
    z0 = q0 * (1 - c0)
    sigma = choice_scale(q0 * c0, shares * (1 - econ.outside_share_arrivals),
                         econ.own_cost_elasticity)
    move = econ.relocation_cost * q0 / sigma[:, None]
    v_review, switching_cost, reviewers_settled = calibrate_reviewers(
        counts, econ.leave_share_reviewers, move, econ.stay_share_reviewers)
    hazards = _hazards(config)
    flows = trend_flows(hazards["outflow"], hazards["growth_q"])  # a fast decline: closures
    gravity_decay = base_gravity_decay(world, econ.core_investor_distance_decay)
    gravity0 = core_gravity(world, world.output, gravity_decay)
    life, sub_life = unit_value_factors(econ.discount_rate_annual, econ.exit_rate_annual,
                                        config.competition.subsidy_years)
    # base-year promotion is part of the observed shares: the constants absorb its attention
    base_promoted = base_targets(world, config)
    # core-city investors' gravity is part of the observed shares too (a mixture of origins)
    delta_arrival = (mixture_arrival_constants(shares, econ.outside_share_arrivals, z0, sigma,
                                               gravity0, econ.origin_shares["wuhan"])
                     - base_promoted.T * np.log(config.competition.attention_promoted
                                                / econ.attention_base))
    circle_q, outside_rate = outside_terms(world, config, terms0.q, terms0.link_km100)
    calibration = Calibration(
        sigma=sigma, delta_arrival=delta_arrival, gravity0=gravity0, gravity_decay=gravity_decay,
        delta_review=v_review - z0 / sigma[:, None], switching_cost=switching_cost,
        base_counts=counts, mean_productivity=mean_productivity,
        labour_supply=employment_by_city(world, config, units, parks), gdp0=world.gdp.copy(),
        **hazards,
        arrival_rate=(counts.sum(axis=1) * flows.arrival_share
                      / (1 - econ.outside_share_arrivals)),
        decline_exit=flows.decline_exit,
        local_capacity=parks.capacity[parks.kind == ParkKind.LOCAL].copy(),
        life=life, sub_life=sub_life, base_promoted=base_promoted,
        circle_q=circle_q, outside_q=circle_q * econ.outside_productivity,
        outside_rate=outside_rate)
    return calibration, units, parks, reviewers_settled


def _base_units(world: World, config: ScenarioConfig, parks: Parks, q0: np.ndarray,
                rng: np.random.Generator) -> tuple[Units, np.ndarray, np.ndarray]:
    """The base-year units at their local parks (land held, origins drawn), the K x G mean
    productivity and each city's productivity mass by sector-segment (KG x C, in units of the
    sector-segment's mean productivity); the local parks' capacity is set from the land the
    units hold at the base utilisation.

    Calibrating on productivity mass, not on integer unit counts (which rounding distorts in
    small cells), keeps each city's output: arrivals draw from the mean wherever they go.
    """
    per_a = q0.T.reshape(world.n_cities, world.n_sectors, len(SEGMENTS))
    units, mean_productivity = draw_base_units(world.output, per_a, config.world.n_units,
                                               config.world.productivity_sd, rng)
    _draw_base_origins(units, world, config, rng)
    kg_of = units.kg
    counts = np.zeros((n_sector_segments(world.n_sectors), world.n_cities))
    np.add.at(counts, (kg_of, units.park), units.productivity)
    counts /= mean_productivity.reshape(-1, 1)
    units.land = world.land_per_output.ravel()[kg_of] * units.output
    used = np.bincount(units.park, weights=units.land, minlength=world.n_cities)
    parks.capacity[:world.n_cities] = used / world.utilisation
    return units, mean_productivity, counts


def _hazards(config: ScenarioConfig) -> dict[str, float]:
    """Per-step hazards of exit and review, the outflow h they make and the trend's growth g_q.

    Potential projects of step 1 replace closures and leavers (quarterly outflow h; units close
    before the survivors review) and add the trend's growth g_q; ``State.arrivals_now`` grows
    them at g_q a quarter.
    """
    econ = config.economy
    p_exit, p_review = per_step(econ.exit_rate_annual), per_step(econ.review_rate_annual)
    return dict(p_exit=p_exit, p_review=p_review,
                outflow=p_exit + (1 - p_exit) * p_review * econ.leave_share_reviewers,
                growth_q=(1 + econ.growth_rate_annual) ** (1 / STEPS_PER_YEAR) - 1)


def base_targets(world: World, config: ScenarioConfig) -> np.ndarray:
    """Sector-segments each city targets and promotes in the base year (C x KG)."""
    targets = np.zeros((world.n_cities, n_sector_segments(world.n_sectors)), dtype=bool)
    if config.competition.active:
        sectors = target_sectors(world.hotness, world.advantage,
                                 config.competition.homogenisation,
                                 config.competition.lead_sectors)
        targets = np.repeat(sectors, len(SEGMENTS), axis=1)
    return targets


def _draw_base_origins(units: Units, world: World, config: ScenarioConfig,
                       rng: np.random.Generator) -> None:
    """Base-year owners in the steady-state mix of arrivals' origins (every origin has the same
    hazards), so ownership, and with it residents' profits, does not drift by construction."""
    shares = np.array([config.economy.origin_shares[o] for o in ORIGINS])
    origin = rng.choice(len(ORIGINS), size=len(units), p=shares / shares.sum())
    units.origin = origin.astype(np.int8)
    units.home = np.where(origin == Origin.LOCAL, units.park,
                          np.where(origin == Origin.WUHAN, world.core, -1)).astype(np.int16)


def employment_by_city(world: World, config: ScenarioConfig, units: Units,
                       parks: Parks) -> np.ndarray:
    """Persons employed in each city: the labour cost share of value added over the base-year
    wage (the labour demand that moves wages)."""
    kg_of = units.kg
    city = parks.city[units.park]
    persons = (world.labour_share.ravel()[kg_of] * units.output * 1e8
               / (world.wage[city] * config.world.wage_core_yuan))
    return np.bincount(city, weights=persons, minlength=world.n_cities)


def base_gravity_decay(world: World, mean_elasticity: float) -> float:
    """β such that the base year's output-weighted mean distance elasticity of core-city
    investors' projects, ``β · tie``, is the cited average elasticity (frozen for the run, so a
    chain that moves still changes its pull)."""
    tie = linkage_to_core(world.output, world.links, world.core)
    return decay_for_mean_elasticity(mean_elasticity, tie, world.output.sum(axis=0))


def core_gravity(world: World, cube: np.ndarray, decay: float) -> np.ndarray:
    """KG x C utility shift of core-city investors' projects: distance decay from the core,
    scaled by how much of each sector-segment's linked chain stands there (C x K x G ``cube``)."""
    tie = linkage_to_core(cube, world.links, world.core).ravel()
    return gravity_utility(world.distance_km[world.core], world.core, tie, decay)


def outside_terms(w: World, config: ScenarioConfig, q: np.ndarray,
                  link_km100: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The circle's mean output per unit of productivity (KG) and the national surplus per yuan
    outside the circle (KG).

    A project that takes the outside option produces its productivity times the base-year
    output-weighted mean output per unit of productivity of its sector-segment in the circle
    (the first array) times ``economy.outside_productivity`` (the rest of China's over the
    circle's; :func:`calibrate` applies it), with the circle's base-year mean wage bill and distance costs per yuan, and it meets the
    outside option's own subsidies and land rent (``economy.outside_subsidy_rate``,
    ``economy.outside_land_rent``: the rest of China bids for projects too) and pays the same
    tax (docs/ODD.md, section 7).

    Args:
        q: KG x P base-year output per unit of productivity (the first C columns: local parks).
        link_km100: KG x P base-year distance to linked segments (100 km).
    """
    econ = config.economy
    c = w.n_cities
    y = np.moveaxis(w.output, 0, -1).reshape(-1, c)                           # KG x C
    weight = y / np.maximum(y.sum(axis=1, keepdims=True), 1e-300)
    reservation = econ.reservation_wage_share * w.wage[None, :] * w.labour_share.reshape(-1, 1)
    dist_share = econ.distance_cost_per_100km * link_km100[:, :c]
    public = (econ.tax_rate + econ.outside_land_rent * w.land_per_output.reshape(-1, 1)
              - econ.outside_subsidy_rate)
    rate = welfare.surplus_per_output(reservation, dist_share, public, econ.mcpf)
    return (weight * q[:, :c]).sum(axis=1), (weight * rate).sum(axis=1)


def stationary_outside_mass(config: ScenarioConfig, cal: Calibration) -> np.ndarray:
    """Productivity mass producing outside in the base year's expected steady state (KG).

    Inflow per step: arrivals taking the outside option and reviewers leaving; outflow: closures.
    """
    econ = config.economy
    mean_a = cal.mean_productivity.ravel()
    inflow = (cal.arrival_rate * econ.outside_share_arrivals
              + (1 - cal.p_exit) * cal.p_review * econ.leave_share_reviewers
              * cal.base_counts.sum(axis=1)) * mean_a
    return inflow / max(cal.p_exit, 1e-9)
