"""City agents: the nine governments of the circle, each choosing its strategy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from sim.model import CircleModel


class City(mesa.Agent):
    """A city government: targets sectors, offers subsidies, may break a subsidy cap.

    Attributes:
        index: position in the world's city arrays.
        name: city name (English; the data file gives the Chinese name).
        offers: KG subsidy rates offered to placements and, as retention, to its own reviewers.
        targets: KG bool, the sector-segments its promotion and subsidies reach.
        cheating: whether it currently breaks the subsidy cap.
        detected: whether a cap breach was detected (it then loses its shared inflows).
    """

    def __init__(self, model: "CircleModel", index: int, name: str, n_kg: int) -> None:
        super().__init__(model)
        self.index = index
        self.name = name
        self.offers = np.zeros(n_kg)
        self.targets = np.zeros(n_kg, dtype=bool)
        self.cheating = False
        self.detected = False
        self.compensation = 0.0
        self.cap_gain = 0.0      # a year's gain from breaking the cap, as last weighed

    def set_strategy(self) -> None:
        """Best-respond on subsidies for its targets, within budget, the cap and its temptation."""
        self.model.strategise(self)
