"""The base year (2021) as one value: the calibrated units and constants and the status quo's
settled offers, built by one function of explicit inputs.

The base year depends only on the world, the scenario keys its build reads, and the ``world``
random stream (so on the root seed and the replicate): its parks are the local ones and those of
the agreements in force in the base year (the same in every scenario, whatever the switches), and
the status quo's rules (base-year targets, no cap, platform or map) are the same in every scenario.
So scenarios and sweep points that differ only in what changes from step 1 share one base year,
which :mod:`sim.model.base_year_cache` computes once and hands to every run that shares it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import mesa
import numpy as np

from sim.config.schema import ScenarioConfig
from sim.model.books import close_books
from sim.model.calibration import Calibration, calibrate, stationary_outside_mass
from sim.model.city import City
from sim.model.equilibrium import draw_base_contracts, status_quo_offers, status_quo_state
from sim.model.parks import Parks
from sim.model.state import State, priced_terms
from sim.model.status_quo import arrival_constants
from sim.model.units import Units
from sim.model.utility import reverse_enclave_attention
from sim.model.world import World, technology
from sim.rules.constants import STEPS_PER_YEAR, n_sector_segments
from sim.rules.economy import Settings


@dataclasses.dataclass(frozen=True)
class BaseYear:
    """What a run starts from, before any agreement or decision of step 1.

    Attributes:
        calibration: the constants, with the status quo's arrival and reviewer constants.
        units: the base-year units at their local parks and those of the agreements in force,
            holding the status quo's contracts.
        offers: C x KG the status quo's subsidy offers (zeros without competition).
        settle_rounds: rounds the status quo's offers took to settle (0 without competition).
        settled: whether the status quo's fixed points ended by their tolerances (without
            competition, the reviewers' constants of the calibration; under it, the offers' and
            the reviewers' settle, which starts from those constants); False when one stopped at
            its cap, so the base year is not exactly at rest.
        world_stream: the ``world`` generator's state after the base year's draws.
    """

    calibration: Calibration
    units: Units
    offers: np.ndarray
    settle_rounds: int
    world_stream: dict[str, Any]
    settled: bool = True

    def copy(self) -> BaseYear:
        """A copy whose arrays a run may change without touching this one."""
        return BaseYear(calibration=_copied(self.calibration), units=_copied(self.units),
                        offers=self.offers.copy(), settle_rounds=self.settle_rounds,
                        world_stream=dict(self.world_stream), settled=self.settled)


def _copied(value: Any) -> Any:
    """A dataclass of arrays with every array copied."""
    return dataclasses.replace(value, **{
        f.name: getattr(value, f.name).copy() for f in dataclasses.fields(value)
        if isinstance(getattr(value, f.name), np.ndarray)})


def settle_base_year(world: World, config: ScenarioConfig, rng: np.random.Generator) -> BaseYear:
    """The base year of ``world`` under ``config``, drawing from the ``world`` stream ``rng``.

    The calibration and the base-year units (:func:`sim.model.calibration.calibrate`); with
    agreements in force, the arrival constants that keep every city's base-year share of arrivals
    with their parks open (:func:`sim.model.status_quo.arrival_constants`); under competition,
    the status quo's equilibrium: offers, constants and the running contracts the units hold at
    them (:func:`sim.model.equilibrium.status_quo_offers`).
    """
    calibration, units, quo, settled = calibrate(world, config, rng)
    offers = np.zeros((world.n_cities, n_sector_segments(world.n_sectors)))
    rounds = 0
    state = _base_state(world, config, calibration, units, quo)
    step_one = status_quo_state(state, quo, state.terms)
    delta_free = (calibration.delta_arrival.copy() if quo.n == world.n_cities
                  else arrival_constants(step_one, world.n_cities))
    if not config.competition.active:
        calibration = dataclasses.replace(calibration, delta_arrival=delta_free)
    else:
        econ, cal = config.economy, calibration
        term = int(round(config.competition.subsidy_years * STEPS_PER_YEAR))
        # units close before the survivors review; a unit is new if it arrived or moved in
        turnover = cal.p_exit + (1 - cal.p_exit) * cal.p_review * (1 - econ.stay_share_reviewers)
        contracts = draw_base_contracts(len(units), turnover, term, rng)
        offers, calibration, rounds, settled = status_quo_offers(
            step_one, _budget_holders(state), delta_free, contracts)
    return BaseYear(calibration=calibration, units=units, offers=offers, settle_rounds=rounds,
                    world_stream=rng.bit_generator.state, settled=settled)


def _base_state(world: World, config: ScenarioConfig, calibration: Calibration, units: Units,
                local: Parks) -> State:
    """The base year as step 0 sees it: the status quo's parks (``local``: the local ones and those
    of the agreements in force), no offers, the base-year targets promoted."""
    c = world.n_cities
    tech = technology(world, config)
    wage = world.wage.copy()
    settings = Settings(offers=np.zeros((c, n_sector_segments(world.n_sectors))),
                        promoted=calibration.base_promoted.copy(), mapped=None, platform=False,
                        excluded=np.zeros(c, dtype=bool))
    return State(world=world, config=config, calibration=calibration, technology=tech,
                 parks=local, units=units, settings=settings,
                 terms=priced_terms(world, config, tech, local, units, wage), step=0, wage=wage,
                 gravity=calibration.gravity0,
                 rd_attention=reverse_enclave_attention(world, config, local, units),
                 out_of_scheme=np.zeros(c, dtype=bool),
                 outside_mass=stationary_outside_mass(config, calibration))


def _budget_holders(state: State) -> list[City]:
    """The cities as the status quo sees them: each with the base year's fiscal revenue (the
    base of its subsidy budget), on a scratch Mesa model of their own."""
    world = state.world
    scratch = mesa.Model(rng=0)
    cities = list(City.create_agents(scratch, world.n_cities, index=list(range(world.n_cities)),
                                     name=list(world.cities),
                                     targets=list(state.calibration.base_promoted)))
    books = close_books(state, np.zeros(world.n_cities))
    for city in cities:
        city.note_books(books)
    return cities
