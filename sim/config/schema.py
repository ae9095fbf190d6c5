"""The scenario schema: every key a scenario file may hold, with its type and range.

Each model forbids unknown keys, so a misspelt key fails loudly. Defaults here only make the
schema usable from Python; the documented values, with their sources or "(A)" for assumptions,
live in ``scenarios/base.yaml``, which every bundled scenario extends.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.rules.constants import SHARE_SUM_SLACK, STEPS_PER_YEAR

Share = Field(ge=0.0, le=1.0)
#: A number in [0, 1], for the values of a mapping.
ShareValue = Annotated[float, Field(ge=0.0, le=1.0)]


class Flag:
    """``true`` or ``false`` given where a number is expected: it stands in for the value so the
    number's own check refuses it at its key (pydantic would read true as 1)."""

    def __init__(self, value: bool) -> None:
        self.value = value

    def __str__(self) -> str:
        return "true" if self.value else "false"


def _holds_number(annotation: Any) -> bool:
    """Whether a field's type is a number or a container of numbers (bool is not a number)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _holds_number(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, dict, list, tuple):
        return any(_holds_number(arg) for arg in typing.get_args(annotation))
    return annotation in (int, float)


def _flags_marked(value: Any) -> Any:
    """``value`` with every bool (also inside a mapping or list) replaced by a :class:`Flag`."""
    if isinstance(value, bool):
        return Flag(value)
    if isinstance(value, dict):
        return {key: _flags_marked(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_flags_marked(item) for item in value]
    return value


def _has_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, dict):
        return any(_has_bool(item) for item in value.values())
    return isinstance(value, (list, tuple)) and any(_has_bool(item) for item in value)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_flags_as_numbers(cls, data: Any) -> Any:
        """``steps: true`` is refused as not a number (pydantic alone would take it as 1)."""
        if isinstance(data, dict):
            marked = {name: _flags_marked(data[name]) for name in _number_fields(cls)
                      if name in data and _has_bool(data[name])}
            if marked:
                return {**data, **marked}
        return data


@functools.cache
def _number_fields(model: type[Strict]) -> tuple[str, ...]:
    return tuple(name for name, field in model.model_fields.items()
                 if _holds_number(field.annotation))


class WorldConfig(Strict):
    """How the base-year (2021) world is built from the data folder."""

    core_city: str = "Wuhan"
    n_units: int = Field(20_000, ge=100, le=5_000_000)
    detour_factor: float = Field(1.3, ge=1.0, le=3.0)
    # distances enter logarithms (gravity of core-city investors): a city's own linked units
    # are some distance apart, never 0 km; below 1 km the ratio of another city's distance to
    # it overflows (at 5e-324 km: ring cities infinitely far for Wuhan's investors), and linked
    # units less than a kilometre apart on average are a site, not a city
    intra_city_km: float = Field(25.0, ge=1.0, le=500.0)
    productivity_sd: float = Field(0.6, ge=0.0, le=3.0)
    # yuan a year; employment is the wage bill over it, so a wage of a few yuan would make more
    # workers than people (China's lowest monthly minimum wages are above 1,000 yuan)
    wage_core_yuan: float = Field(110_000.0, ge=1_000.0, le=1e8)
    wage_gdppc_elasticity: float = Field(0.35, ge=0.0, le=2.0)
    talent_gdppc_elasticity: float = Field(1.5, ge=0.0, le=5.0)
    land_rent_core: float = Field(0.43, gt=0.0, le=1e4)
    land_rent_gdppc_elasticity: float = Field(0.8, ge=0.0, le=3.0)
    # a park's land is its used land over its utilisation: a park used less than 1% is not a
    # base-year park but idle land a hundred times its use (and infinite land at 0)
    utilisation_core: float = Field(0.86, ge=0.01, lt=1.0)
    core_land_supply_km2: float = Field(0.0, ge=0.0, le=1e4)   # new serviced land a year
    # the stock divides the land released a year (core_land_supply_km2 / stock is the growth
    # rate of the core's land): below 1 km2 it is not a city's park land (the calibrated stock
    # is 542 km2) and a year's release multiplies it many times over; at 0 it is infinite
    core_land_stock_km2: float | None = Field(None, ge=1.0, le=1e6)  # None: the calibrated stock
    utilisation_ring: float = Field(0.7, ge=0.01, lt=1.0)


class EconomyConfig(Strict):
    """Technology, costs and the units' location choice."""

    tax_rate: float = Field(0.07, ge=0.0, le=0.5)
    talent_elasticity: dict[
        Literal["rnd", "hq", "core", "supply"], Annotated[float, Field(ge=0.0, le=3.0)]
    ] = {"rnd": 0.3, "hq": 0.3, "core": 0.05, "supply": 0.05}
    agglomeration_elasticity: float = Field(0.04, ge=0.0, le=0.2)
    distance_cost_per_100km: float = Field(0.02, ge=0.0, le=0.2)
    relocation_cost: float = Field(0.3, ge=0.0, le=5.0)
    own_cost_elasticity: float = Field(-1.0, lt=0.0, ge=-10.0)
    # shares that enter logarithms (logit constants, attention): below one in a thousand a
    # share cannot be told from zero at any model size, and at zero the logarithm is infinite
    outside_share_arrivals: float = Field(0.3, ge=0.001, le=0.9)  # arrivals scale by 1/(1-x)
    leave_share_reviewers: float = Field(0.05, ge=0.001, lt=1.0)
    stay_share_reviewers: float = Field(0.85, gt=0.0, lt=1.0)
    exit_rate_annual: float = Field(0.08, ge=0.0, lt=1.0)
    review_rate_annual: float = Field(0.10, ge=0.0, le=1.0)
    growth_rate_annual: float = Field(0.0, ge=-0.5, le=0.5)
    land_intensity_decline: float = Field(0.0, ge=0.0, le=0.5)  # of land per unit of real output
    wage_adjustment_elasticity: float = Field(0.1, ge=0.0, le=1.0)
    land_price_utilisation_elasticity: float = Field(0.5, ge=0.0, le=3.0)
    max_utilisation: float = Field(0.99, gt=0.5, lt=1.0)
    rejection_rounds: int = Field(3, ge=0, le=20)
    # λ divides utilities: below 0.01 the nested logit is a strict maximum within a city
    nest_parameter: float = Field(0.3, ge=0.01, le=1.0)
    attention_base: float = Field(0.5, ge=0.001, le=1.0)
    core_investor_distance_decay: float = Field(1.0, ge=0.0, le=5.0)
    origin_shares: dict[Literal["wuhan", "outside", "local"], ShareValue] = {
        "wuhan": 0.25, "outside": 0.35, "local": 0.40}
    mcpf: float = Field(1.25, ge=1.0, le=3.0)
    reservation_wage_share: float = Field(0.8, ge=0.0, le=1.0)
    land_capital_cost_per_km2: float = Field(0.15, ge=0.0)
    land_alternative_rent_per_km2: float = Field(0.015, ge=0.0)
    # what the outside option (the rest of China) pays projects and charges for land
    outside_subsidy_rate: float = Field(0.0105, ge=0.0, le=1.0)   # share of value added
    outside_land_rent: float = Field(0.164, ge=0.0, le=1e4)      # 亿元/km²/yr
    # output per unit of productivity outside, over the circle's base-year mean (1: as productive)
    outside_productivity: float = Field(1.0, gt=0.0, le=3.0)
    discount_rate_annual: float = Field(0.05, ge=0.0, le=0.5)

    @model_validator(mode="after")
    def _check(self) -> EconomyConfig:
        missing = {"rnd", "hq", "core", "supply"} - set(self.talent_elasticity)
        if missing:
            raise ValueError(f"talent_elasticity needs the segments {sorted(missing)}")
        if self.stay_share_reviewers + self.leave_share_reviewers >= 1.0:
            raise ValueError(
                f"stay_share_reviewers + leave_share_reviewers must be below 1 (reviewers who "
                f"stay put and reviewers who leave the circle are parts of one whole; the "
                f"switching cost that keeps the stated share in place grows without bound as "
                f"the sum nears 1), got {self.stay_share_reviewers:g} + "
                f"{self.leave_share_reviewers:g}")
        total = sum(self.origin_shares.values())
        if abs(total - 1.0) > SHARE_SUM_SLACK:
            raise ValueError(f"origin_shares must sum to 1, got {total:g}")
        return self


class CompetitionConfig(Strict):
    """Cities' strategies: targeting, subsidies and promotion (同质化竞争 when homogenised)."""

    active: bool = True
    homogenisation: float = Field(0.6, ge=0.0, le=1.0)
    lead_sectors: int = Field(3, ge=1, le=15)
    promotion_weight_gdp: float = Field(1.0, ge=0.0, le=10.0)
    damping: float = Field(0.5, gt=0.0, le=1.0)
    subsidy_max: float = Field(0.15, ge=0.0, le=1.0)
    subsidy_grid_points: int = Field(16, ge=2, le=200)
    subsidy_years: float = Field(3.0, ge=0.25, le=20.0)
    budget_share: float = Field(0.2, ge=0.0, le=2.0)
    attention_promoted: float = Field(1.0, gt=0.0, le=1.0)
    promotion_cost_per_slot: float = Field(0.1, ge=0.0, le=1e3)   # 亿元/yr, a mean reach
    retention: bool = True


class EnclavePolicy(Strict):
    """Enclave parks (飞地园区): defaults that every enclave agreement inherits."""

    gdp_share_source: float = Share
    tax_share_source: float = Share
    park_retained_share: float = Share
    retention_years: float = Field(0.0, ge=0.0, le=100.0)
    term_years: float = Field(10.0, gt=0.0, le=100.0)
    build_cost_per_km2: float = Field(0.5, ge=0.0, le=1e4)
    referral_strength: float = Field(1.0, ge=0.0, le=100.0)
    credited_double_count: bool = False
    bargain: bool = True
    share_range: tuple[float, float] = (0.2, 0.8)
    share_grid_points: int = Field(7, ge=1, le=101)

    @model_validator(mode="after")
    def _range(self) -> EnclavePolicy:
        lo, hi = self.share_range
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"share_range must satisfy 0 <= low <= high <= 1, got {lo:g}, {hi:g}")
        return self


class ParkWithinParkPolicy(Strict):
    """Park-within-park branches (园外园) run by a Wuhan national zone inside a host park."""

    productivity_bonus: float = Field(0.05, ge=0.0, le=0.5)
    equity_share_operator: float = Share
    platform_return_rate: float = Field(0.02, ge=0.0, le=0.5)
    referral_strength: float = Field(1.0, ge=0.0, le=100.0)
    build_cost_per_km2: float = Field(0.5, ge=0.0, le=1e4)


class ReverseEnclavePolicy(Strict):
    """Reverse enclaves (反向飞地 / 离岸科创园): a ring city's R&D site inside Wuhan."""

    gdp_share_source: float = Share
    rent_subsidy: float = Field(0.05, ge=0.0, le=1.0)
    rent_subsidy_years: float = Field(2.0, ge=0.0, le=100.0)
    segments: list[Literal["rnd", "hq", "core", "supply"]] = ["rnd"]
    referral_strength: float = Field(1.0, ge=0.0, le=100.0)
    manufacturing_referral: float = Field(1.0, ge=0.0, le=100.0)


class SubsidyCapPolicy(Strict):
    """A circle-wide cap on subsidy rates, which a city breaks when it pays to."""

    cap: float = Field(0.03, ge=0.0, le=1.0)
    detection_probability_annual: float = Field(0.3, ge=0.0, le=1.0)


class InvestmentMapPolicy(Strict):
    """The coordinator's investment map (产业招商地图) for the whole circle."""

    noise_sd: float = Field(0.3, ge=0.0, le=5.0)
    max_cities_per_segment: int = Field(3, ge=1, le=50)
    approval_friction: float = Field(0.05, ge=0.0, le=2.0)
    spillover_weight: float = Field(1.0, ge=0.0, le=10.0)
    bargaining_premium: float = Field(0.15, ge=0.0, le=1.0)
    compensation_cap_share: float = Field(0.2, ge=0.0, le=1.0)
    replan_years: float = Field(1.0, gt=0.0, le=100.0)


class SharedPlatformPolicy(Strict):
    """Shared information and platforms (信息共享、平台共建)."""

    attention: float = Field(1.0, gt=0.0, le=1.0)
    operating_cost_per_city: float = Field(0.3, ge=0.0)
    cost_per_slot: float = Field(0.05, ge=0.0, le=1e3)   # 亿元/yr per slot shown, a mean reach
    entry_effect: float = Field(0.0, ge=0.0, le=1.0)


class AgreementPolicy(Strict):
    """How new co-construction agreements come about and how their terms are kept."""

    #: ``proposed``: the circle's coordination office proposes an agreement where its assessment
    #: says the circle gains; each side weighs it in its objective plus a political reward, and
    #: side payments are bargained. ``voluntary``: offered at its date, signed if both gain.
    formation: Literal["proposed", "voluntary"] = "proposed"
    political_reward: float = Field(0.0, ge=0.0, le=0.2)   # share of base-year GDP a year
    side_payment_cap_share: float = Field(0.2, ge=0.0, le=1.0)  # of the payer's tax revenue
    payment_probability: float = Field(1.0, ge=0.0, le=1.0)  # a period's shares are paid
    build_out_years: float = Field(0.0, ge=0.0, le=50.0)   # a new park's land opens over these


class Policies(Strict):
    agreements: AgreementPolicy = AgreementPolicy()
    enclave: EnclavePolicy = EnclavePolicy(
        gdp_share_source=0.5, tax_share_source=0.5, park_retained_share=0.0)
    park_within_park: ParkWithinParkPolicy = ParkWithinParkPolicy(equity_share_operator=0.8)
    reverse_enclave: ReverseEnclavePolicy = ReverseEnclavePolicy(gdp_share_source=1.0)
    subsidy_cap: SubsidyCapPolicy = SubsidyCapPolicy()
    investment_map: InvestmentMapPolicy = InvestmentMapPolicy()
    shared_platform: SharedPlatformPolicy = SharedPlatformPolicy()
    agreements_voluntary: bool = True


class Switches(Strict):
    """Every co-construction rule, on or off alone. The regimes are settings of these."""

    investment_map: bool = False
    subsidy_cap: bool = False
    shared_platform: bool = False
    enclave: bool = False
    gdp_tax_sharing: bool = False
    park_within_park: bool = False
    reverse_enclave: bool = False


class Agreement(Strict):
    """One co-construction agreement. Optional shares override the policy defaults."""

    kind: Literal["enclave", "park_within_park", "reverse_enclave"]
    name: str | None = None
    #: ``in_force``: in operation in the base year, part of every scenario's status quo;
    #: ``documented``: real, signed at its documented date (``start_step``) after the base year;
    #: ``hypothetical``: illustrative, not documented.
    basis: Literal["in_force", "documented", "hypothetical"] = "hypothetical"
    source: str
    host: str
    start_step: int = Field(0, ge=0, le=400)
    term_years: float | None = Field(None, gt=0.0, le=100.0)
    land_km2: float = Field(gt=0.0, le=10_000.0)
    sectors: list[str] | None = None
    gdp_share_source: float | None = Field(None, ge=0.0, le=1.0)
    tax_share_source: float | None = Field(None, ge=0.0, le=1.0)
    park_retained_share: float | None = Field(None, ge=0.0, le=1.0)
    retention_years: float | None = Field(None, ge=0.0, le=100.0)
    equity_share_operator: float | None = Field(None, ge=0.0, le=1.0)
    rent_subsidy_years: float | None = Field(None, ge=0.0, le=100.0)

    @model_validator(mode="after")
    def _distinct(self) -> Agreement:
        if self.source == self.host:
            raise ValueError(f"source and host are the same city ({self.source})")
        if self.basis == "in_force" and self.start_step != 0:
            raise ValueError(f"an agreement in force in the base year starts at step 0 (got "
                             f"start_step {self.start_step}); a later one is 'documented'")
        return self


class ScenarioConfig(Strict):
    """A whole scenario: the world, the behaviour parameters, the rules and the run."""

    name: str = "scenario"
    description: str = ""
    regime: str = "homogenised"
    data_dir: str | None = None
    steps: int = Field(12, ge=0, le=400)
    seed: int = Field(1, ge=0, le=2**63 - 1)
    replicates: int = Field(1, ge=1, le=100_000)
    world: WorldConfig = WorldConfig()
    economy: EconomyConfig = EconomyConfig()
    competition: CompetitionConfig = CompetitionConfig()
    policies: Policies = Policies()
    switches: Switches = Switches()
    agreements: list[Agreement] = []
    sweep: dict | None = None
    uncertain: dict | None = None
    #: A posterior folder (``sim calibrate``): replicate r of a batch runs at its draw r.
    posterior: str | None = None

    @field_validator("name")
    @classmethod
    def _one_line_name(cls, name: str) -> str:
        """The name labels runs, folders and report lines: no control character in it."""
        if any(ord(char) < 32 or 127 <= ord(char) < 160 for char in name):
            raise ValueError("expected a name without control characters (newline, tab, ...)")
        return name

    @model_validator(mode="after")
    def _no_overlapping_terms(self) -> ScenarioConfig:
        """Two agreements of one kind between the same pair of cities may not overlap in time."""
        spans: dict[tuple[str, str, str], list[tuple[float, float, int]]] = {}
        for i, a in enumerate(self.agreements):
            term = a.term_years if a.term_years is not None else _default_term(self, a.kind)
            start = a.start_step / STEPS_PER_YEAR
            spans.setdefault((a.kind, a.source, a.host), []).append((start, start + term, i))
        for (kind, src, host), items in spans.items():
            items.sort()
            for (_s0, e0, i0), (s1, _e1, i1) in zip(items, items[1:]):
                if s1 < e0:
                    raise ValueError(
                        f"agreements[{i0}] and agreements[{i1}] ({kind} {src}->{host}) overlap in "
                        f"time: the second starts at year {s1:g}, before the first ends at {e0:g}")
        return self


def _default_term(config: ScenarioConfig, kind: str) -> float:
    if kind == "enclave":
        return config.policies.enclave.term_years
    return float("inf")
