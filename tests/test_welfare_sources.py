"""Where a welfare difference comes from (sim/analysis/welfare_sources.py): accounts and
instruments, worked by hand on a stored-batch look-alike (no model run)."""

import numpy as np
import pandas as pd
import pytest

from sim.analysis import welfare_sources as ws

ACCOUNTS = [c for c, *_ in ws.ACCOUNTS]


def circle() -> pd.DataFrame:
    """Two scenarios x two replicates x two steps; at the last step coordinated differs from
    homogenised by labour +10/+20, residents' profits −40/−20, public +6/+8, land forgone 0,
    outside owners' profits −5/−5, outside production +30/+40."""
    rows = []
    base = dict(zip(ACCOUNTS, (100.0, 300.0, 50.0, 5.0, 80.0, 400.0)))
    change = {0: (10, -40, 6, 0, -5, 30), 1: (20, -20, 8, 0, -5, 40)}
    for scenario in ("homogenised", "coordinated"):
        for r in (0, 1):
            for step in (0, 1):
                row = dict(base)
                if scenario == "coordinated" and step == 1:
                    row = {k: v + d for (k, v), d in zip(base.items(), change[r])}
                row["welfare"] = (row["welfare_labour_rents"] + row["welfare_profits_resident"]
                                  + row["welfare_public"] - row["welfare_land_forgone"])
                row["welfare_national"] = (row["welfare"] + row["welfare_profits_nonresident"]
                                           + row["welfare_outside"])
                rows.append(dict(run=f"{scenario}-{r}", scenario=scenario, replicate=r,
                                 step=step, **row))
    return pd.DataFrame(rows)


def test_accounts_add_up_to_each_measure_by_hand():
    diffs = ws.account_differences(circle(), "homogenised")
    last = diffs[diffs.measure == "last"].set_index("account")["mean"]
    # labour +15, residents' profits −30, public +7, land 0: residents' welfare −8;
    # plus outside owners −5 and outside production +35: national welfare +22
    assert last[["welfare_labour_rents", "welfare_profits_resident", "welfare_public",
                 "welfare_land_forgone"]].tolist() == pytest.approx([15, -30, 7, 0])
    assert last["welfare"] == pytest.approx(-8.0)
    assert last["welfare_national"] == pytest.approx(-8.0 - 5.0 + 35.0)
    circle_sum = sum(last[c] for c, _, inside in ws.ACCOUNTS if inside)
    assert circle_sum == pytest.approx(last["welfare"])
    assert last[ACCOUNTS].sum() == pytest.approx(last["welfare_national"])


def test_the_accounts_table_leaves_outside_accounts_out_of_residents_welfare():
    diffs = ws.account_differences(circle(), "homogenised")
    table = ws.accounts_table(diffs, "coordinated", "en")
    assert table.loc["outside owners' profits", "residents' welfare"] == ""
    assert table.loc["outside owners' profits", "national welfare"].startswith("-5")
    assert table.loc["measure (sum of the accounts)", "residents' welfare"].startswith("-8")


def test_the_instrument_table_sums_the_switches_and_leaves_the_rest_as_interaction():
    effects = pd.DataFrame([
        dict(scenario=f"coordinated_without_{s}", parent="coordinated", switch=s,
             kind="removed", measure="last", metric=m, mean=v, ci_low=v - 1, ci_high=v + 1)
        for s, values in (("investment_map", (-100, -30, 10)),
                          ("subsidy_cap", (-50, 20, 5)))
        for m, v in zip(ws.EXPLAINED, values)])
    regime = pd.DataFrame([dict(scenario="coordinated", baseline="homogenised", measure="last",
                                metric=m, mean=v, ci_low=v - 2, ci_high=v + 2)
                           for m, v in zip(ws.EXPLAINED, (-200, -8, 22))])
    table = ws.instruments_table(effects, regime, "en")
    interaction = table.loc["interaction (difference − sum of the effects)"]
    # GDP −200 − (−150) = −50; residents −8 − (−10) = +2; national 22 − 15 = +7
    assert interaction.tolist() == ["-50", "+2", "+7"]
    assert len(table) == 4 and not np.any(table.to_numpy() == "n/a")
