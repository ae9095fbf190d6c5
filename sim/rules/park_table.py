"""The parks as a table of arrays: each city's local park and the agreements' parks, with the
terms that decide who counts their GDP, who taxes them and who attracts investment there.

Built by the model (``sim/model/parks.py``) from the world and the scenario's agreements; read
by the rules (accounts, offers, terms) as plain arrays.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.rules.constants import ParkKind


@dataclasses.dataclass
class Parks:
    """Park attributes as arrays over parks P. Steps are quarters; ``inf`` means no end."""

    name: list[str]
    kind: np.ndarray               # P, ParkKind
    city: np.ndarray               # P, city where the park physically is
    operator: np.ndarray           # P, city running it (source/zone owner; own city if local)
    registration: np.ndarray       # P, city where its units are registered (tax)
    capacity: np.ndarray           # P, km²
    start: np.ndarray              # P, first step open
    term_end: np.ndarray           # P, step from which all credit and tax go to the host
    retention_end: np.ndarray      # P, step until which the park retains a share of tax
    gdp_share_source: np.ndarray   # P, α_Y
    tax_share_source: np.ndarray   # P, α_T
    retained_share: np.ndarray     # P, share of tax the park keeps during retention
    equity_operator: np.ndarray    # P, operator's equity in the platform company (园外园)
    rent_subsidy: np.ndarray       # P, source's rent subsidy, share of value added
    rent_end: np.ndarray           # P, step at which the rent subsidy ends
    productivity_bonus: np.ndarray  # P, μ
    referral_strength: np.ndarray  # P
    build_cost: np.ndarray         # P, running cost per year, 亿元 (co-built parks)
    sector_ok: np.ndarray          # P x K bool
    segment_ok: np.ndarray         # P x G bool
    home_only: np.ndarray          # P bool: only units whose home city is the operator

    @property
    def n(self) -> int:
        return len(self.name)

    def open_at(self, step: int) -> np.ndarray:
        """P bool, the parks open at ``step``."""
        return self.start <= step

    def attractor(self, step: int) -> np.ndarray:
        """P, the city that runs investment attraction at each park and pays its subsidies: an
        enclave's source during the term (it promotes and subsidises there), else the city
        where units are registered."""
        enclave = (self.kind == ParkKind.ENCLAVE) & (self.start <= step) & (step < self.term_end)
        return np.where(enclave, self.operator, self.registration)
