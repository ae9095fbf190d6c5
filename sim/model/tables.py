"""The output tables: declared once here, produced by the model, written and read as Parquet."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

#: Every output table and its columns, in order. Units: money in 100 million yuan (亿元) per year
#: (flows are annual rates), land in km², employment in persons, shares as fractions.
TABLES: dict[str, tuple[str, ...]] = {
    "circle": (
        "step",
        "gdp_total",
        "wuhan_share",
        "wuhan_share_credited",
        "similarity_ring_mean",
        "specialisation_mean",
        "theil",
        "theil_credited",
        "subsidy_total",
        "tax_total",
        "distance_cost_total",
        "relocation_cost_total",
        "park_cost_total",
        "welfare",
        "welfare_national",
        # the accounts of both welfare measures (sim/rules/welfare.py, WelfareParts):
        # welfare = labour rents + residents' profits + public − land forgone;
        # welfare_national = welfare + outside-owned units' profits + outside production
        "welfare_labour_rents",
        "welfare_profits_resident",
        "welfare_profits_nonresident",
        "welfare_public",
        "welfare_land_forgone",
        "welfare_outside",
        "friction_cost_total",
        "promotion_cost_total",
        "platform_cost_total",
        "idle_land_share",
        "relocated_out_of_wuhan",
        "relocated_out_of_wuhan_cum",
        "wuhan_investment_in_ring",
        "wuhan_investment_in_ring_cum",
        "n_units",
        "new_investment_total",
        "compensation_total",
        # the plan's four pairs (docs/ODD.md, section 7, Observation): outcomes, never targets
        "pair_rnd_vs_manufacturing",
        "pair_hq_vs_chain",
        "pair_core_vs_supply",
        "pair_wuhan_capital_to_ring_cum",
        "pair_ring_capital_from_wuhan_cum",
        "chain_completeness_ring",
        "similarity_ring_mean_segment",
    ),
    "cities": (
        "step",
        "city",
        "gdp_physical",
        "gdp_statistical",
        "gdp_credited",
        "tax_revenue",
        "land_revenue",
        "subsidy_spent",
        "retention_spent",
        "transfers_net",
        "fiscal_balance",
        "objective",
        "employment",
        "land_used",
        "land_capacity",
        "land_price",
        "wage",
        "n_units",
        "new_investment",
        "new_investment_from_wuhan",
        "wuhan_origin_share_cum",
        "wuhan_origin_share_nonlocal_cum",
        "subsidy_rate_mean",
        "cheating",
    ),
    "sectors": ("step", "city", "sector", "segment", "output"),
    "parks": (
        "step",
        "park",
        "city",
        "kind",
        "operator",
        "land_used",
        "land_capacity",
        "n_units",
        "output",
        "land_price",
    ),
    "transfers": (
        "step",
        "unit_id",
        "sector",
        "segment",
        "origin",
        "from_city",
        "to_city",
        "to_park",
        "channel",
        "output",
    ),
    "flows": ("step", "from_city", "to_city", "kind", "amount"),
    # every public inflow and outlay of a city (annual rates); inflows less outlays = balance
    "fiscal": (
        "step", "city", "tax_collected", "tax_shared_in", "tax_shared_out", "land_revenue",
        "platform_return", "compensation_received", "subsidies", "retention", "compensation_paid",
        "side_payment_received", "side_payment_paid", "park_operating_cost", "park_capital_cost",
        "platform_cost", "promotion_cost", "balance", "breaks_cap", "caught",
    ),
    "investment_map": ("step", "city", "sector", "segment"),
    # one row per event of an agreement: in_force (at step 0), offered (or proposed by the
    # office), withheld (the office's assessment: the circle does not gain), signed, declined,
    # renewed, expired; side_payment a year, + the host pays the source
    "agreements": (
        "step", "name", "basis", "source", "host", "kind", "status", "gdp_share", "tax_share",
        "term_years", "land_km2", "side_payment",
    ),
}
#: Tables added after batches were first stored: a run folder without one reads as empty.
OPTIONAL_TABLES = ("investment_map", "fiscal", "agreements")

#: Numeric output columns that may hold NaN by design (table -> columns); every other numeric
#: column must be finite, and an infinity is never allowed. ``term_years`` is NaN for an
#: agreement without a term; ``wuhan_origin_share_cum`` for a city without new investment yet
#: (every city at step 0), ``wuhan_origin_share_nonlocal_cum`` likewise for investment from
#: investors based outside the city; the circle's two capital pairs before any new investment
#: (step 0).
NAN_ALLOWED: dict[str, tuple[str, ...]] = {"agreements": ("term_years",),
                                           "circle": ("pair_wuhan_capital_to_ring_cum",
                                                      "pair_ring_capital_from_wuhan_cum"),
                                           "cities": ("wuhan_origin_share_cum",
                                                      "wuhan_origin_share_nonlocal_cum")}

CHANNELS = (
    "relocation",
    "enclave",
    "park_within_park",
    "reverse_enclave",
    "new_investment",
    "exit",
)
FLOW_KINDS = ("gdp_credit", "tax", "tax_retained", "platform_return", "compensation",
              "gdp_credit_unpaid", "tax_unpaid", "side_payment")


@dataclasses.dataclass
class TableSet:
    """One DataFrame per name in :data:`TABLES` (a run's, or a batch's stacked)."""

    circle: pd.DataFrame
    cities: pd.DataFrame
    sectors: pd.DataFrame
    parks: pd.DataFrame
    transfers: pd.DataFrame
    flows: pd.DataFrame
    fiscal: pd.DataFrame
    investment_map: pd.DataFrame  # the coordinator's map in force: one row per assigned cell
    agreements: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}


@dataclasses.dataclass
class Results(TableSet):
    """One run's tables plus the resolved config and how its base year settled
    (``base_year_settled``: False when one of the status quo's fixed points stopped at its cap;
    ``settle_rounds``); neither is written by :meth:`write`."""

    config: dict = dataclasses.field(default_factory=dict)
    diagnostics: dict = dataclasses.field(default_factory=dict)

    def write(self, directory: str | os.PathLike) -> None:
        """Write each table as ``<name>.parquet`` into an existing directory."""
        directory = Path(directory)
        for name, frame in self.tables().items():
            frame.to_parquet(directory / f"{name}.parquet", index=False)

    @classmethod
    def read(cls, directory: str | os.PathLike) -> Results:
        directory = Path(directory)
        frames = {name: (pd.read_parquet(directory / f"{name}.parquet")
                         if name not in OPTIONAL_TABLES or (directory / f"{name}.parquet").exists()
                         else empty_table(name)) for name in TABLES}
        config_file = directory / "config.json"
        config = json.loads(config_file.read_text()) if config_file.exists() else {}
        return cls(**frames, config=config)


def empty_table(name: str) -> pd.DataFrame:
    return pd.DataFrame({column: [] for column in TABLES[name]})


class NonFiniteOutputError(ValueError):
    """A run produced NaN or an infinity in an output column: the run fails, nothing is written."""


def first_non_finite(tables: dict[str, pd.DataFrame]) -> tuple[str, str, object, float] | None:
    """``(table, column, first step, value)`` of the first numeric column holding a value that is
    not finite (NaN allowed only where :data:`NAN_ALLOWED` says so), or None."""
    for name, frame in tables.items():
        for column in frame.columns:
            values = frame[column]
            if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
                continue
            array = values.to_numpy(dtype=float, na_value=np.nan)
            bad = ~np.isfinite(array)
            if column in NAN_ALLOWED.get(name, ()):
                bad &= ~np.isnan(array)
            if bad.any():
                first = int(np.argmax(bad))
                step = frame["step"][bad].min() if "step" in frame else None
                return name, column, step, float(array[first])
    return None


def check_finite(tables: dict[str, pd.DataFrame], scenario: str, seed: int,
                 replicate: int) -> None:
    """Raise :class:`NonFiniteOutputError` naming the run, table, column and first step when an
    output column holds NaN or an infinity (checked before any table is written)."""
    found = first_non_finite(tables)
    if found is not None:
        table, column, step, value = found
        raise NonFiniteOutputError(f"scenario {scenario!r}, seed {seed}, replicate {replicate}: "
                              f"{table}.{column} is {value} from step {step} (expected a finite "
                              f"number; the run's tables are not written)")
