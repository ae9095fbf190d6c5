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
