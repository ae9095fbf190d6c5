"""What a park is worth to a unit choosing where to go: the deciders, their attention to each
park and the systematic utilities of the location logit, from the model's state."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from sim.model.units import Units
from sim.rules import accounts
from sim.rules.consideration import consideration_terms
from sim.rules.constants import SEGMENTS, Origin, ParkKind
from sim.rules.economy import Settings, friction, park_offers

if TYPE_CHECKING:
    from sim.model.circle import CircleModel


@dataclasses.dataclass(frozen=True)
class Choosers:
    """Units (or representative groups of units) choosing a park, as arrays over choosers."""

    kg: np.ndarray            # sector-segment index
    origin: np.ndarray        # Origin
    home: np.ndarray          # city of a local project's investor (-1 for others)
    current: np.ndarray       # park now; -1 for an arrival
    stay_subsidy: np.ndarray  # rate of its running subsidy contract if it stays (0 if none)

    def __len__(self) -> int:
        return len(self.kg)

    def select(self, idx: np.ndarray) -> Choosers:
        return Choosers(**{f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)})


def kg_index(units: Units) -> np.ndarray:
    """Each unit's sector-segment index (sector x segments + segment)."""
    return units.sector.astype(np.int64) * len(SEGMENTS) + units.segment


def value_shares(model: CircleModel, shares: accounts.Shares) -> np.ndarray:
    """Share of a unit's value a city keeps at each park, relative to its own park (C x P)."""
    lam, tau = model.config.competition.promotion_weight_gdp, model.config.economy.tax_rate
    return (lam * shares.credited + tau * shares.tax) / (lam + tau)


def attention(model: CircleModel, who: Choosers, settings: Settings,
              vshare: np.ndarray) -> np.ndarray:
    """How strongly each decider considers each park (n x P), relative to nothing special.

    Promotion reaches a city's targeted projects; the shared platform shows projects every park;
    an agreement park's operator refers its own projects there, an enclave's source in proportion
    to the value it keeps (so sharing raises referrals).
    """
    p, econ, comp = model.parks, model.config.economy, model.config.competition
    kg, origin, home, current = who.kg, who.origin, who.home, who.current
    arrival = current < 0
    att = np.full((len(kg), p.n), econ.attention_base)
    if model.config.competition.active:
        promoted = settings.promoted[p.attractor(model.steps)][:, kg].T
        att = np.where(promoted & arrival[:, None], comp.attention_promoted, att)
    if settings.platform:
        shown = ~settings.excluded[p.registration]
        att = np.where(shown[None, :] & arrival[:, None],
                       np.maximum(att, model.config.policies.shared_platform.attention), att)
    cur_reg = np.where(arrival, -1, p.registration[np.maximum(current, 0)])
    j = np.flatnonzero(p.kind != ParkKind.LOCAL)          # agreement parks, all at once
    if len(j):
        op, zone = p.operator[j], p.kind[j] == ParkKind.PARK_WITHIN_PARK
        mine = cur_reg[:, None] == op[None, :]
        own = (((origin == Origin.WUHAN)[:, None] & (op == model.world.core)[None, :])
               | ((origin == Origin.LOCAL)[:, None] & (home[:, None] == op[None, :])) | mine)
        # a park within a park draws through the zone's attraction system
        own = np.where(zone[None, :],
                       ((origin == Origin.WUHAN) | (origin == Origin.OUTSIDE))[:, None] | mine,
                       own)
        mult = np.where(zone, 1 + p.referral_strength[j],
                        1 + p.referral_strength[j] * vshare[op, j])
        att[:, j] *= np.where(own, mult[None, :], 1.0)
    # R&D a ring city's firms run in its reverse enclaves draws linked production to its parks
    att *= np.where(arrival[:, None], model.rd_attention[kg][:, p.city], 1.0)
    return att


def utilities(model: CircleModel, who: Choosers,
              settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Systematic utilities (n x P) and availability of every park for each decider.

    Arrivals (current = -1) use the arrival constants; reviewers the reviewer constants, pay the
    relocation cost to move and keep their running subsidy contract if they stay.
    """
    m, p, econ, cal = model, model.parks, model.config.economy, model.calibration
    kg, origin, home, current = who.kg, who.origin, who.home, who.current
    terms, t = m.current_terms, m.steps
    offers = park_offers(settings, p, t)
    fric = (friction(settings, p, m.config.policies.investment_map.approval_friction)
            if m.config.switches.investment_map else np.zeros_like(offers))
    fric = np.where((current >= 0)[:, None], 0.0, fric[kg])   # only new projects need approval
    reviewer = current >= 0
    rows = np.arange(len(kg))
    q = terms.q[kg]
    margin = 1 - terms.cost[kg] + offers[kg] - fric
    cur = np.maximum(current, 0)
    rent = np.where(t < p.rent_end, p.rent_subsidy, 0.0)      # reverse enclaves' rent support
    stay_margin = 1 - terms.cost[kg, cur] + who.stay_subsidy + rent[cur]
    margin[rows[reviewer], cur[reviewer]] = stay_margin[reviewer]
    sigma = cal.sigma[kg][:, None]
    delta = np.where(reviewer[:, None], cal.delta_review[kg][:, p.city],
                     cal.delta_arrival[kg][:, p.city])
    moving = reviewer[:, None] & (np.arange(p.n)[None, :] != current[:, None])
    u = delta + q * margin / sigma - moving * (econ.relocation_cost * q / sigma
                                               + cal.switching_cost[kg][:, None])
    core_investor = (origin == Origin.WUHAN) & ~reviewer      # gravity of the core city's projects
    u += np.where(core_investor[:, None], m.gravity[kg][:, p.city], 0.0)
    k, g = kg // len(SEGMENTS), kg % len(SEGMENTS)
    available = p.open_at(t)[None, :] & p.sector_ok[:, k].T & p.segment_ok[:, g].T
    cur_reg = np.where(reviewer, p.registration[cur], -1)
    belongs = (((origin == Origin.LOCAL) & (home == p.operator[:, None])).T
               | (cur_reg[:, None] == p.operator[None, :]))
    available &= ~p.home_only[None, :] | belongs
    available[rows[reviewer], cur[reviewer]] = True
    shares = accounts.share_matrices(p, t, m.world.n_cities,
                                     m.config.policies.enclave.credited_double_count)
    att = attention(m, who, settings, value_shares(m, shares))
    ref = reference_attention(m, kg, current)
    entry = np.zeros(len(kg))
    if settings.platform:   # the platform alone may change whether projects look at the circle
        shown = (~settings.excluded[p.registration])[None, :] & available
        entry = np.where(~reviewer & shown.any(axis=1),
                         m.config.policies.shared_platform.entry_effect, 0.0)
    u += consideration_terms(u, np.log(att / econ.attention_base),
                             np.log(ref / econ.attention_base), entry, p.city,
                             m.world.n_cities, econ.nest_parameter, available)
    return u, available


def reference_attention(model: CircleModel, kg: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Consideration weights of the base year (n x P): the base year's promotion reaches arriving
    projects of the promoted sector-segments; no platform, no referral. The arrival constants are
    calibrated with it in place."""
    p, econ = model.parks, model.config.economy
    promoted = (model.calibration.base_promoted[p.registration][:, kg].T
                & (current < 0)[:, None])
    return np.where(promoted, model.config.competition.attention_promoted, econ.attention_base)
