"""Parameters that do nothing (or less than their name says) under a setting of the switches.

Each entry is read off the rules, not off results: the code path that uses the parameter is
skipped when the switch has the given value. Loading or validating a scenario that sets (in its
own file or by ``--set``) or sweeps such a parameter emits an :class:`InertWarning`; the CLI
prints it as one ``warning:`` line and the exit status is unchanged. The explorer greys the
controls of inert parameters. ``tests/test_inert.py`` checks each entry with runs.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Iterable

from sim.config.schema import ScenarioConfig

_SHARING = ("gdp_share_source", "tax_share_source", "park_retained_share", "retention_years")


class InertWarning(UserWarning):
    """A scenario sets or sweeps a parameter that its switches make inert (or narrow)."""


@dataclasses.dataclass(frozen=True)
class Inert:
    """``keys`` do nothing while ``switches.<switch>`` is ``when`` (``still`` None), or act only
    through what ``still`` says. ``why`` names the rule that skips them."""

    keys: tuple[str, ...]
    switch: str
    when: bool
    why: str
    still: str | None = None

    def applies(self, config: ScenarioConfig) -> bool:
        return getattr(config.switches, self.switch) == self.when


INERT: tuple[Inert, ...] = (
    Inert(tuple(f"policies.investment_map.{k}" for k in (
        "noise_sd", "max_cities_per_segment", "approval_friction", "spillover_weight",
        "bargaining_premium", "replan_years")), "investment_map", False,
        "no map is drawn, no transfer bargained and no approval friction charged without it "
        "(coordination.coordinate, decisions.utilities)"),
    Inert(("policies.subsidy_cap.cap", "policies.subsidy_cap.detection_probability_annual"),
          "subsidy_cap", False,
          "no cap binds, so no city breaks it and there is nothing to detect "
          "(city_strategy.strategise, decisions)"),
    Inert(("policies.shared_platform.attention",), "shared_platform", False,
          "the platform's attention applies only while the platform is on (decisions.attention)"),
    Inert(tuple(f"policies.enclave.{k}" for k in (
        *_SHARING, "term_years", "build_cost_per_km2", "referral_strength")), "enclave", False,
        "no enclave park is built while the switch is off (parks.build_parks)"),
    Inert(tuple(f"policies.enclave.{k}" for k in _SHARING)
          + ("policies.reverse_enclave.gdp_share_source",), "gdp_tax_sharing", False,
          "without GDP and tax sharing an agreement park's credit and tax stay with its "
          "registration city (parks._agreement_row)"),
    Inert(tuple(f"policies.park_within_park.{k}" for k in (
        "productivity_bonus", "equity_share_operator", "platform_return_rate",
        "referral_strength", "build_cost_per_km2")), "park_within_park", False,
        "no park-within-park branch is built while the switch is off (parks.build_parks)"),
    Inert(tuple(f"policies.reverse_enclave.{k}" for k in (
        "gdp_share_source", "rent_subsidy", "rent_subsidy_years", "segments",
        "referral_strength")), "reverse_enclave", False,
        "no reverse enclave is built while the switch is off (parks.build_parks)"),
    Inert(("competition.homogenisation",), "investment_map", True,
          "the map replaces each city's targets from the first step (coordination.coordinate)",
          still="the competition benchmark of the bargained transfers (coordination._bargain)"),
)


def inert_under(config: ScenarioConfig) -> dict[str, Inert]:
    """Every declared key that the config's switches make inert or narrow, with its entry
    (a fully inert entry wins over a narrowing one)."""
    found: dict[str, Inert] = {}
    for entry in INERT:
        if entry.applies(config):
            for key in entry.keys:
                if key not in found or found[key].still is not None:
                    found[key] = entry
    return found


def message(key: str, entry: Inert, how: str) -> str:
    """The warning text for one key."""
    state = "on" if entry.when else "off"
    if entry.still is None:
        return (f"{key}: {how}, but has no effect while switches.{entry.switch} is {state}: "
                f"{entry.why}")
    return (f"{key}: {how}, but while switches.{entry.switch} is {state} {entry.why}; it acts "
            f"only through {entry.still}")


def set_keys(origins: dict, own: str) -> dict[str, str]:
    """Dotted keys the file ``own`` overrides over its ``extends:`` parent, or ``--set`` gives,
    each with where (``file:line`` or the option). A root file (no ``extends:``, like
    ``base.yaml``) declares every default, so its own keys are not counted."""
    extends = origins.get(("extends",), ("", None))[0] == own
    keys = {}
    for path, (where, line) in origins.items():
        if (extends and where == own) or where.startswith("--set "):
            keys[".".join(str(p) for p in path)] = f"{where}:{line}" if line else where
    return keys


def inert_findings(config: ScenarioConfig, origins: dict, own: str,
                   swept: Iterable[str] = ()) -> list[str]:
    """Warning lines for the inert keys a scenario sets or sweeps (a swept switch excuses)."""
    swept = list(swept)
    found = inert_under(config)
    lines = []
    given = set_keys(origins, own)
    for how, keys in (("is set", given), ("is swept", dict.fromkeys(swept, own))):
        for key in sorted(set(keys) & set(found)):
            entry = found[key]
            if f"switches.{entry.switch}" not in swept:
                lines.append(f"{keys[key]}: {message(key, entry, how)}")
    return lines


def warn_inert(config: ScenarioConfig, origins: dict, own: str,
               points: Iterable[dict[str, Any]] = ()) -> None:
    """Emit an :class:`InertWarning` per inert key the scenario sets or sweeps."""
    swept = sorted({key for point in points for key in point})
    for line in inert_findings(config, origins, own, swept):
        warnings.warn(line, InertWarning, stacklevel=3)
