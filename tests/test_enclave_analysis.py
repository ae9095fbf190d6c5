"""Tables and the figure about enclaves, on small frames worked by hand."""

import pandas as pd
import pytest

from sim.analysis.enclaves import (
    core_origin_shares,
    enclave_share_table,
    origin_blocks,
)
from sim.analysis.plots import plot_enclave_share

KEY = "policies.enclave.gdp_share_source"


def _batch():
    runs = [(s, r) for s in (0.0, 0.5) for r in (0, 1)]
    circle = pd.DataFrame([dict(run=f"{s}/{r}", replicate=r, **{KEY: s}, step=1,
                                relocated_out_of_wuhan_cum=10 * s + r) for s, r in runs])
    cities = pd.DataFrame([dict(run=f"{s}/{r}", replicate=r, **{KEY: s}, step=1, city=c,
                                gdp_credited=g + s, fiscal_balance=1.0)
                           for s, r in runs for c, g in (("Wuhan", 100.0), ("Ezhou", 10.0),
                                                        ("Xiaogan", 5.0))])
    parks = pd.DataFrame([dict(run=f"{s}/{r}", replicate=r, **{KEY: s}, step=1, kind="enclave",
                               output=4.0 * s) for s, r in runs])
    agreements = pd.DataFrame([dict(source="Wuhan", host="Ezhou", kind="enclave")])
    return circle, cities, parks, agreements


def test_enclave_share_table_means_and_intervals():
    table = enclave_share_table(*_batch(), share_key=KEY)
    def row(share, m):
        return table[(table[KEY] == share) & (table.metric == m)].iloc[0]
    assert row(0.5, "relocated_out_of_wuhan_cum")["mean"] == pytest.approx(5.5)   # (5 + 6) / 2
    # t(0.975, 1) = 12.706; sd of (5, 6) = 0.7071; half = 12.706 * 0.7071 / sqrt 2 = 6.353
    assert row(0.5, "relocated_out_of_wuhan_cum")["ci_high"] == pytest.approx(5.5 + 6.353, abs=1e-3)
    assert row(0.5, "source_gdp_credited")["mean"] == pytest.approx(100.5)
    assert row(0.5, "hosts_gdp_credited")["mean"] == pytest.approx(10.5)     # Ezhou only
    assert row(0.0, "enclave_output")["mean"] == 0.0
    fig = plot_enclave_share(table, KEY)
    assert len(fig.axes) == 3 and len(fig.axes[0].lines) == 2


def test_core_origin_shares():
    cities = pd.DataFrame(dict(scenario="s", replicate=[0, 0, 1, 1], step=[1, 1, 1, 1],
                               city=["A", "B", "A", "B"], new_investment=[10.0, 4.0, 10.0, 0.0],
                               new_investment_from_wuhan=[5.0, 1.0, 0.0, 0.0]))
    shares = core_origin_shares(cities).set_index("city").core_origin_share
    assert shares["A"] == pytest.approx(0.25) and shares["B"] == pytest.approx(0.25)


def test_origin_table_shows_each_citys_pooled_share_in_percent():
    cities = pd.DataFrame(dict(scenario=list("bbbbaa"), replicate=[0, 0, 1, 1, 0, 0],
                               step=1, city=["Xiaogan", "Wuhan"] * 3,
                               new_investment=[10.0, 4.0, 30.0, 0.0, 8.0, 0.0],
                               new_investment_from_wuhan=[5.0, 1.0, 10.0, 0.0, 2.0, 0.0]))
    blocks = origin_blocks(cities)
    assert [b[0] for b in blocks] == ["h2", "p", "table"]
    table = blocks[2][1]
    assert list(table.columns) == ["Wuhan", "Xiaogan"]          # cities.csv order
    # scenario b (shown "B"): Xiaogan (5 + 10) / (10 + 30) = 37.5%, Wuhan 1 / 4 = 25%;
    # a: Wuhan has no new investment
    assert table.loc["B", "Xiaogan"] == "37.5%" and table.loc["B", "Wuhan"] == "25.0%"
    assert table.loc["A", "Xiaogan"] == "25.0%" and table.loc["A", "Wuhan"] == ""
    assert origin_blocks(cities.drop(columns="new_investment_from_wuhan")) == []
