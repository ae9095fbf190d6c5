"""Parameters that do nothing (or less than their name says) under some setting of the rules.

Each entry is read off the rules, not off results: the code path that uses the parameter is
skipped while the settings it names hold (a switch off, shares bargained rather than declared,
cities not competing). Loading or validating a scenario that sets (in its own file or by
``--set``) or sweeps such a parameter emits an :class:`InertWarning`; the CLI prints it as one
``warning:`` line and the exit status is unchanged; :func:`sim.evaluate` and the explorer warn
too. An agreement's own key (``agreements.3.gdp_share_source``) is inert exactly when the policy
default it overrides (``policies.enclave.gdp_share_source``) is. ``tests/test_inert.py`` checks
each entry with runs.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Iterable
from typing import Any

from sim.config.schema import ScenarioConfig

_SHARING = ("gdp_share_source", "tax_share_source", "park_retained_share", "retention_years")
_BARGAINING = ("bargain", "share_range", "share_grid_points")
# subsidy_years is not among them: it sets the present value of a support contract, with which
# a reverse enclave's rent support is valued when an agreement is weighed, competition or not
_COMPETING = ("homogenisation", "damping", "subsidy_max", "subsidy_grid_points",
              "budget_share", "attention_promoted", "promotion_cost_per_slot", "retention")
_AGREEMENT_KEY = re.compile(r"^agreements\.(\d+)\.(\w+)$")


class InertWarning(UserWarning):
    """A scenario sets or sweeps a parameter that its settings make inert (or narrow)."""


@dataclasses.dataclass(frozen=True)
class Inert:
    """``keys`` do nothing while ``<switch>`` is ``when`` and every ``(setting, value)`` of
    ``also`` holds (``still`` None), or act only through what ``still`` says.

    ``switch`` is a switch name (``enclave``, read as ``switches.enclave``) or a dotted boolean
    key of the schema; ``why`` says in plain words what the rule does instead (the explorer
    shows it), ``fix`` how to make the keys act, ``where`` names the code that skips them."""

    keys: tuple[str, ...]
    switch: str
    when: bool | str
    why: str
    where: str = ""
    still: str | None = None
    also: tuple[tuple[str, bool | str], ...] = ()
    fix: str = ""
    #: agreement kinds whose agreements in force (``basis: in_force``, in every scenario
    #: whatever the switches) use the keys: the entry does not apply while one is listed
    unless_in_force: tuple[str, ...] = ()

    @property
    def conditions(self) -> tuple[tuple[str, bool | str], ...]:
        """Every dotted setting that must hold for the entry to apply, with its value."""
        first = self.switch if "." in self.switch else f"switches.{self.switch}"
        return ((first, self.when), *self.also)

    def applies(self, config: ScenarioConfig) -> bool:
        if any(a.basis == "in_force" and a.kind in self.unless_in_force
               for a in config.agreements):
            return False
        return all(setting(config, key) == value for key, value in self.conditions)

    def state(self) -> str:
        """``switches.enclave is on and policies.agreements.formation is voluntary``."""
        return " and ".join(f"{key} is {_shown(value)}" for key, value in self.conditions)


def _shown(value: bool | str) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return value


def setting(config: ScenarioConfig, key: str) -> Any:
    """The value of a dotted key of the config."""
    value: Any = config
    for part in key.split("."):
        value = getattr(value, part)
    return value


INERT: tuple[Inert, ...] = (
    Inert(tuple(f"policies.investment_map.{k}" for k in (
        "noise_sd", "max_cities_per_segment", "approval_friction", "spillover_weight",
        "bargaining_premium", "replan_years")), "investment_map", False,
        "no map is drawn, no transfer bargained and no approval friction charged without it",
        "sim/model/coordinator.py, sim/model/utility.py"),
    Inert(("policies.subsidy_cap.cap", "policies.subsidy_cap.detection_probability_annual"),
          "subsidy_cap", False, "no cap binds, so no city breaks it and there is nothing to detect",
          "sim/model/city.py"),
    Inert(("policies.shared_platform.attention", "policies.shared_platform.cost_per_slot",
           "policies.shared_platform.entry_effect"), "shared_platform", False,
          "the platform's attention, entry effect and cost apply only while the platform is on",
          "sim/model/utility.py, sim/model/books.py"),
    Inert(tuple(f"policies.enclave.{k}" for k in (
        *_SHARING, *_BARGAINING, "term_years", "build_cost_per_km2", "referral_strength")),
        "enclave", False, "no new enclave park is built while the switch is off (and none is "
        "in force)", "sim/model/parks.py", unless_in_force=("enclave",)),
    Inert(tuple(f"policies.enclave.{k}" for k in (*_SHARING, *_BARGAINING))
          + ("policies.reverse_enclave.gdp_share_source",
             "policies.agreements.payment_probability"), "gdp_tax_sharing", False,
          "without GDP and tax sharing an agreement park's credit and tax stay with its "
          "registration city, so nothing is bargained and no share falls due",
          "sim/model/parks.py, sim/model/agreement_book.py",
          unless_in_force=("enclave", "reverse_enclave")),
    Inert(("policies.enclave.gdp_share_source", "policies.enclave.tax_share_source"),
          "policies.enclave.bargain", True,
          "each enclave's GDP and tax shares are bargained by source and host, so the declared "
          "shares are not used", "sim/model/negotiation.py",
          also=(("switches.enclave", True), ("switches.gdp_tax_sharing", True)),
          fix="set policies.enclave.bargain=false to impose them; the bargain ranges over "
              "policies.enclave.share_range"),
    Inert(("policies.enclave.share_range", "policies.enclave.share_grid_points"),
          "policies.enclave.bargain", False,
          "the enclaves' shares are the declared ones, so no range is bargained over",
          "sim/model/negotiation.py"),
    Inert(tuple(f"policies.park_within_park.{k}" for k in (
        "productivity_bonus", "equity_share_operator", "platform_return_rate",
        "referral_strength", "build_cost_per_km2")), "park_within_park", False,
        "no new park-within-park branch is built while the switch is off (and none is in "
        "force)", "sim/model/parks.py", unless_in_force=("park_within_park",)),
    Inert(tuple(f"policies.reverse_enclave.{k}" for k in (
        "gdp_share_source", "rent_subsidy", "rent_subsidy_years", "segments",
        "referral_strength")), "reverse_enclave", False,
        "no new reverse enclave is built while the switch is off (and none is in force)",
        "sim/model/parks.py", unless_in_force=("reverse_enclave",)),
    Inert(("policies.agreements.formation", "policies.agreements.political_reward",
           "policies.agreements.side_payment_cap_share", "policies.agreements.build_out_years"),
          "enclave", False,
          "no new agreement can be offered while the enclave, park-within-park and reverse "
          "enclave switches are all off (agreements in force are not offered)",
          "sim/model/negotiation.py",
          also=(("switches.park_within_park", False), ("switches.reverse_enclave", False))),
    Inert(("policies.agreements.build_out_years",), "enclave", False,
          "only new enclaves and park-within-park branches are built out (a reverse enclave is a "
          "building, open at once)", "sim/model/agreement_book.py",
          also=(("switches.park_within_park", False),)),
    Inert(("policies.agreements.political_reward", "policies.agreements.side_payment_cap_share"),
          "policies.agreements.formation", "voluntary",
          "a voluntary offer has no proposal of the office to reward and no side payment",
          "sim/model/negotiation.py",
          fix="set policies.agreements.formation=proposed"),
    Inert(("policies.agreements.formation", "policies.agreements.political_reward",
           "policies.agreements.side_payment_cap_share"), "policies.agreements_voluntary", False,
          "imposed agreements are signed at the best joint gain whatever either side weighs",
          "sim/model/negotiation.py"),
    Inert(tuple(f"competition.{k}" for k in _COMPETING)
          + ("policies.subsidy_cap.cap", "policies.subsidy_cap.detection_probability_annual"),
          "competition.active", False,
          "cities make no offers, promote nothing and retain no one while they do not compete",
          "sim/model/city.py, sim/model/utility.py"),
    Inert(("competition.homogenisation",), "investment_map", True,
          "the map replaces each city's targets from the first step", "sim/model/coordinator.py",
          still="the competition benchmark against which the map's compensating transfers are "
                "bargained"),
)


def inert_under(config: ScenarioConfig) -> dict[str, Inert]:
    """Every declared key that the config's settings make inert or narrow, with its entry
    (a fully inert entry wins over a narrowing one)."""
    found: dict[str, Inert] = {}
    for entry in INERT:
        if entry.applies(config):
            for key in entry.keys:
                if key not in found or found[key].still is not None:
                    found[key] = entry
    return found


def policy_key(config: ScenarioConfig, key: str) -> str:
    """The policy default an agreement's own key overrides (``agreements.3.gdp_share_source``
    of an enclave -> ``policies.enclave.gdp_share_source``); other keys unchanged."""
    match = _AGREEMENT_KEY.match(key)
    if match is None or int(match.group(1)) >= len(config.agreements):
        return key
    return f"policies.{config.agreements[int(match.group(1))].kind}.{match.group(2)}"


def message(key: str, entry: Inert, how: str, code: bool = True) -> str:
    """The warning text for one key (``code``: name the code that skips it)."""
    where = f" ({entry.where})" if code and entry.where else ""
    fix = f"; {entry.fix}" if code and entry.fix else ""
    if entry.still is None:
        return (f"{key}: {how}, but has no effect while {entry.state()}: {entry.why}{fix}"
                f"{where}")
    return (f"{key}: {how}, but while {entry.state()} {entry.why}{where}; it acts only through "
            f"{entry.still}")


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
    """Warning lines for the inert keys a scenario sets or sweeps (sweeping a setting an entry
    depends on excuses it)."""
    swept = list(swept)
    found = inert_under(config)
    lines = []
    given = set_keys(origins, own)
    for how, keys in (("is set", given), ("is swept", dict.fromkeys(swept, own))):
        for key in sorted(keys):
            entry = found.get(policy_key(config, key))
            if entry is not None and not any(k in swept for k, _ in entry.conditions):
                lines.append(f"{keys[key]}: {message(key, entry, how)}")
    return lines


def value_findings(config: ScenarioConfig, keys: Iterable[str], how: str = "is given") -> list[str]:
    """Warning lines for dotted keys given from Python (``sim.evaluate``, the explorer) that the
    config's settings make inert or narrow."""
    found = inert_under(config)
    return [message(key, found[policy_key(config, key)], how)
            for key in keys if policy_key(config, key) in found]


def warn_inert(config: ScenarioConfig, origins: dict, own: str,
               points: Iterable[dict[str, Any]] = ()) -> None:
    """Emit an :class:`InertWarning` per inert key the scenario sets or sweeps."""
    swept = sorted({key for point in points for key in point})
    for line in inert_findings(config, origins, own, swept):
        warnings.warn(line, InertWarning, stacklevel=3)
