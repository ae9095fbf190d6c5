"""The ``uncertain:`` block of a scenario: each assumed parameter's range and distribution, as
read by the configuration's checks and by the sensitivity analysis."""

from __future__ import annotations

import dataclasses
from typing import Any

from sim.config.yaml_reader import ConfigError

DISTRIBUTIONS = ("uniform", "normal", "triangular")


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One uncertain parameter: a dotted scenario key, its range and distribution.

    ``normal`` is truncated to [low, high] with mean the midpoint and sd a quarter of the range
    (the range is +-2 sd); ``triangular`` peaks at ``mode`` (default the midpoint).
    """

    key: str
    low: float
    high: float
    dist: str = "uniform"
    mode: float | None = None

    def salib_bounds(self) -> tuple[list[float], str]:
        """SALib bounds and distribution code for this parameter."""
        if self.dist == "normal":
            mean, sd = (self.low + self.high) / 2, (self.high - self.low) / 4
            return [self.low, self.high, mean, sd], "truncnorm"
        if self.dist == "triangular":
            mode = (self.low + self.high) / 2 if self.mode is None else self.mode
            return [self.low, self.high, (mode - self.low) / (self.high - self.low)], "triang"
        return [self.low, self.high], "unif"


def parse_uncertain(block: dict | None, where: str) -> list[Parameter]:
    """The ``uncertain:`` block as parameters; one-line :class:`ConfigError` on a bad entry.

    Each entry is ``key: [low, high]`` or ``key: {low, high, dist, mode}``.
    """
    if not block:
        raise ConfigError(f"{where}: uncertain: expected a mapping of dotted key to [low, high] "
                          f"(the scenario declares no uncertain parameters)")
    return [parse_entry(str(key), spec, where) for key, spec in block.items()]


def parse_entry(key: str, spec: Any, where: str) -> Parameter:
    """One entry of the ``uncertain:`` block; one-line :class:`ConfigError` if malformed."""
    at = f"{where}: uncertain.{key}"
    if isinstance(spec, (list, tuple)) and len(spec) == 2:
        spec = {"low": spec[0], "high": spec[1]}
    if not isinstance(spec, dict) or set(spec) - {"low", "high", "dist", "mode"}:
        raise ConfigError(f"{at}: expected [low, high] or {{low, high, dist, mode}} (got {spec!r})")
    low, high = spec.get("low"), spec.get("high")
    if not all(_number(v) for v in (low, high)) or not low < high:
        raise ConfigError(f"{at}: expected numbers low < high (got low={low!r}, high={high!r})")
    dist = spec.get("dist", "uniform")
    if dist not in DISTRIBUTIONS:
        raise ConfigError(f"{at}.dist: expected one of {', '.join(DISTRIBUTIONS)} (got {dist!r})")
    mode = spec.get("mode")
    if mode is not None and (dist != "triangular" or not _number(mode) or not low <= mode <= high):
        raise ConfigError(f"{at}.mode: expected a number in [low, high] for a triangular "
                          f"distribution (got {mode!r}, dist {dist})")
    return Parameter(key, float(low), float(high), dist, None if mode is None else float(mode))


def _number(value: Any) -> bool:
    """An int or a float, not true or false (which Python counts as 1 and 0)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def integer_keys(config: dict, keys: list[str]) -> list[str]:
    """Keys whose value in the resolved config is an integer (sampled values are rounded)."""
    found = []
    for key in keys:
        node = config
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, int) and not isinstance(node, bool):
            found.append(key)
    return found
