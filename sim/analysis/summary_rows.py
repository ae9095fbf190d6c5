"""The rows of the statistics tables (:mod:`sim.analysis.stats`): which columns are swept keys,
which rows belong to no sweep point, and the order scenarios are shown in.

Light on purpose (pandas only): the report, the figures, the workbook and the executive summary
all read it.
"""

from __future__ import annotations

import pandas as pd

#: The columns of the statistics tables that are not swept dotted keys.
STAT_COLUMNS = ("n", "mean", "sd", "ci_low", "ci_high", "metric", "measure", "step", "city",
                "baseline", "effect_size_dz", "p_ttest", "p_wilcoxon", "section", "value",
                "verdict", "parent", "switch", "kind", "baseline_mean", "pct_mean", "pct_ci_low",
                "pct_ci_high")


def sweep_keys(frame: pd.DataFrame) -> list[str]:
    """Swept dotted-key columns of a statistics table."""
    return [c for c in frame.columns if c not in STAT_COLUMNS and c != "scenario"]


def distinct_sweeps(frame: pd.DataFrame) -> list[str]:
    """Swept keys, leaving out keys that move in lockstep with an earlier one (zipped sweeps)."""
    keys: list[str] = []
    for key in sweep_keys(frame):
        codes = pd.factorize(frame[key].astype(str))[0]
        if not any((pd.factorize(frame[k].astype(str))[0] == codes).all() for k in keys):
            keys.append(key)
    return keys


def unswept(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of a statistics table that belong to no sweep point."""
    keys = sweep_keys(frame)
    return frame[frame[keys].isna().all(axis=1)] if keys else frame


def scenario_rank(name: str, baseline: str) -> tuple:
    """Sort key: the baseline, main scenarios, ``*_without_*`` then ``*_with_*`` ablations."""
    kind = 0 if name == baseline else 3 if "_with_" in name else 2 if "_without_" in name else 1
    return kind, name
