"""Constants of the model's time, value chain, parks and projects, shared by every layer."""

from __future__ import annotations

from enum import IntEnum

import numpy as np

#: A step is a quarter.
STEPS_PER_YEAR = 4

#: Value-chain segments of every sector, in column order.
SEGMENTS = ("rnd", "hq", "core", "supply")

#: The one tolerance of the rules and the model: the smallest denominator a ratio divides by
#: (so an empty park or city gives 0, not a division by zero) and the slack of a comparison
#: of sums that rounding could tip.
TOLERANCE = 1e-12

#: Every other small number of the code, each with its own meaning (tests/test_architecture.py
#: finds a ``1e-N`` written anywhere else in sim/). Values are as first chosen, none fitted.

#: Floor of a mass, share or count before a log or a division in the calibration's fixed points:
#: far below any real value, it only keeps ln 0 and x / 0 finite (an empty cell stays empty).
SOLVER_FLOOR = 1e-300

#: Free land (km²) below which a park counts as full for the deciders it turned away: what the
#: placements leave by rounding, far below any unit's need.
NO_LAND_LEFT_KM2 = 1e-9

#: Floor of the per-step exit probability where a steady-state mass divides by it (with no
#: closures there is no steady state; the floor keeps the mass finite instead of infinite).
MIN_EXIT_PROBABILITY = 1e-9

#: Floor of a park's unused land share ``1 − U`` in the congestion cost ``e r U / (1 − U)``: a
#: full park's rent externality is steep but finite.
MIN_UNUSED_LAND_SHARE = 1e-3

#: Stopping tolerances of the fixed points: the largest step of the iterate (log units for
#: constants and switching costs, a share of output for offers) at which each stops.
ARRIVAL_MIXTURE_TOL = 1e-10     # base-year arrival constants, two-logit mixture (BLP contraction)
REVIEWER_FIT_TOL = 1e-9         # base-year reviewer utilities and switching cost
IN_FORCE_ARRIVAL_TOL = 1e-8     # arrival constants with the parks in force (status quo)
OFFER_SETTLING_TOL = 1e-6       # status quo offers against their budgeted best responses
REVIEWER_REST_TOL = 1e-5        # reviewers' constants at rest under a run's settings

#: Slack of the check that shares in a scenario file sum to 1 (they are written with decimals).
SHARE_SUM_SLACK = 1e-6

#: How far inside (0, 1) a share of a prior's range is clipped before its logit, so a draw on
#: the bound maps to a finite value.
LOGIT_CLIP = 1e-9

#: Relative gap within which two stored results are one number added in another order
#: (rounding, about 1e-13 of the values), not an effect.
SAME_RESULT_RTOL = 1e-9


class ParkKind(IntEnum):
    """A park's kind (the values are stored in ``Parks.kind``)."""

    LOCAL = 0              # a city's own park
    ENCLAVE = 1            # 飞地园区: a source city co-builds a park in a host city
    PARK_WITHIN_PARK = 2   # 园外园: a Wuhan national zone runs a branch inside a host park
    REVERSE_ENCLAVE = 3    # 离岸科创园: a ring city's R&D site in the core city

    @property
    def label(self) -> str:
        """The name used in scenario files and output tables, e.g. ``park_within_park``."""
        return self.name.lower()


class Origin(IntEnum):
    """Where a project comes from (the values are stored in ``Units.origin``)."""

    LOCAL = 0     # a circle city's own investor (its home city)
    WUHAN = 1     # a Wuhan firm or zone
    OUTSIDE = 2   # from outside the circle


#: Labels of the park kinds and origins, in value order.
KINDS = tuple(kind.label for kind in ParkKind)
ORIGINS = tuple(origin.name.lower() for origin in Origin)


def per_step(annual: float) -> float:
    """The per-step probability of an event with annual probability ``annual``."""
    return 1 - (1 - annual) ** (1 / STEPS_PER_YEAR)


def n_sector_segments(n_sectors: int) -> int:
    """How many sector-segments (KG, the rows of every by-sector-segment array) there are."""
    return n_sectors * len(SEGMENTS)


def sector_segment(sector: np.ndarray | int, segment: np.ndarray | int) -> np.ndarray:
    """The sector-segment index ``kg = sector · len(SEGMENTS) + segment`` (int64): the row of
    a KG array, and the flat index of a K x G array."""
    return np.asarray(sector).astype(np.int64) * len(SEGMENTS) + segment


def sector_and_segment(kg: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """The sector and the segment of sector-segment indices (the inverse of
    :func:`sector_segment`)."""
    return np.divmod(kg, len(SEGMENTS))
