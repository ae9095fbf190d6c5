"""Every empirical target the model is held to, declared once in ``sim/data/targets.csv``.

A target names the run it is read from (``backtest``: the 2010 world to 2019; ``forecast``:
``scenarios/as_happened.yaml`` from the 2021 base; ``rest``: the base year with nothing growing),
the model output compared (``measure``), the data value with a band and the reason for the band,
its source and its role: ``calibration`` (may set parameters, through the documented calibration
only) or ``validation`` (held out: never used for any choice). A target whose data are missing
keeps an empty ``data`` cell and is reported as "no data", never dropped.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Literal

import pandas as pd

from sim.config.loader import ConfigError, show_path
from sim.paths import DATA_DIR

BUNDLED_TARGETS = DATA_DIR / "targets.csv"
ROLES = ("calibration", "validation")
RUNS = ("backtest", "forecast", "rest")
COLUMNS = ("name", "run", "measure", "output", "data", "band_lo", "band_hi", "band_reason",
           "benchmark", "role", "years", "source")
#: measure kind -> the number of ``:``-separated arguments after it
MEASURES = {"share": 2, "mae": 1, "growth_vs_circle": 2, "nonlocal_wuhan_share": 2,
            "occupied": 2, "signed_between": 3, "rest_change": 1}


@dataclasses.dataclass(frozen=True)
class Target:
    """One empirical fact the model is scored on; ``data`` is NaN when no data were found."""

    name: str
    role: Literal["calibration", "validation"]
    data: float
    band_lo: float
    band_hi: float
    source: str
    run: str = "backtest"
    measure: str = ""
    output: str = ""
    band_reason: str = ""
    benchmark: str = ""
    years: str = ""

    @property
    def has_data(self) -> bool:
        return not math.isnan(self.data)

    def hit(self, value: float) -> bool:
        """Whether a model value lies in the target's band (ends included)."""
        return self.has_data and self.band_lo <= value <= self.band_hi

    def measure_parts(self) -> tuple[str, list[str]]:
        """The measure's kind and its arguments, e.g. ``("share", ["Wuhan", "2015"])``."""
        kind, *args = self.measure.split(":")
        return kind, args


def load_targets(path: str | Path | None = None) -> list[Target]:
    """The targets of a targets file (default: the bundled ``sim/data/targets.csv``).

    Raises:
        ConfigError: one line naming the file, the row and column, and what was expected.
    """
    path = Path(path) if path is not None else BUNDLED_TARGETS
    shown = show_path(path)
    if not path.is_file():
        raise ConfigError(f"{shown}: expected a targets file (CSV with columns "
                          f"{', '.join(COLUMNS)})")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        why = " ".join(str(exc).split())[:120]
        raise ConfigError(f"{shown}: expected a UTF-8 CSV table ({why})") from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError(f"{shown}: expected the column(s) {', '.join(missing)}")
    if frame.empty:
        raise ConfigError(f"{shown}: expected at least one target (got none)")
    targets = [_target(row, f"{shown}: row {i + 2}") for i, row in frame.iterrows()]
    names = [t.name for t in targets]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{shown}: name: expected unique names (got {twice[0]!r} again)")
    return targets


def _number(row: pd.Series, column: str, where: str, empty_ok: bool) -> float:
    text = row[column].strip()
    if text == "" and empty_ok:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ConfigError(f"{where}: {column}: expected a finite number (got {text!r})")
    return value


def _target(row: pd.Series, where: str) -> Target:
    name = row["name"].strip()
    if not name:
        raise ConfigError(f"{where}: name: expected a value (got an empty cell)")
    for column, allowed in (("role", ROLES), ("run", RUNS)):
        if row[column].strip() not in allowed:
            raise ConfigError(f"{where}: {column}: expected one of {', '.join(allowed)} "
                              f"(got {row[column]!r})")
    kind, *args = row["measure"].strip().split(":")
    if MEASURES.get(kind) != len(args):
        forms = ", ".join(f"{k}:" + ":".join(["ARG"] * n) for k, n in MEASURES.items())
        raise ConfigError(f"{where}: measure: expected one of {forms} (got {row['measure']!r})")
    data = _number(row, "data", where, empty_ok=True)
    no_data = math.isnan(data)
    lo, hi = (_number(row, c, where, empty_ok=no_data) for c in ("band_lo", "band_hi"))
    if not no_data and not lo <= data <= hi:
        raise ConfigError(f"{where}: band_lo, band_hi: expected a band holding the data "
                          f"{data:g} (got {lo:g} to {hi:g})")
    return Target(name=name, role=row["role"].strip(), data=data, band_lo=lo, band_hi=hi,
                  source=row["source"].strip(), run=row["run"].strip(),
                  measure=row["measure"].strip(), output=row["output"].strip(),
                  band_reason=row["band_reason"].strip(), benchmark=row["benchmark"].strip(),
                  years=row["years"].strip())
