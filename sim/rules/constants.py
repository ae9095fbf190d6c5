"""Constants of the model's time, value chain, parks and projects, shared by every layer."""

from __future__ import annotations

from enum import IntEnum

#: A step is a quarter.
STEPS_PER_YEAR = 4

#: Value-chain segments of every sector, in column order.
SEGMENTS = ("rnd", "hq", "core", "supply")


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
