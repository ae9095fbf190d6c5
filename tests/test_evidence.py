"""The evidence scoreboard: targets declared once, measures and scores worked by hand, the
period drivers from the data, determinism, bad input, and `sim evidence` in a subprocess."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.config.loader import ConfigError
from sim.paths import DATA_DIR
from sim.validation import evidence as ev
from sim.validation import history
from sim.validation.backtest import data_shares, read_series
from sim.validation.evidence_report import BEGIN, END, markdown_table, summary, update_document
from sim.validation.targets import COLUMNS, Target, load_targets

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


# --------------------------------------------------------------------------- the targets file

def test_bundled_targets_declare_every_fact_once_with_role_and_source():
    targets = load_targets()
    names = [t.name for t in targets]
    assert len(names) == len(set(names)) == 48
    assert all(t.source and t.output and t.band_reason for t in targets)
    panel = [t for t in targets if t.run == "backtest" and t.measure_parts()[0] in ("share", "mae")]
    # the panel's split: years up to 2015 may calibrate, 2016-2019 are held out
    for t in panel:
        year = int(t.measure.split(":")[-1])
        assert t.role == ("calibration" if year <= 2015 else "validation"), t.name
    # the real agreements' dates and the parks' first years are held out (issue 28)
    dates = [t for t in targets if t.measure_parts()[0] in ("signed_between", "occupied")]
    assert len(dates) == 5 and {t.role for t in dates} == {"validation"}
    kinds = {t.measure_parts()[0] for t in targets}
    assert kinds == {"share", "mae", "growth_vs_circle", "nonlocal_wuhan_share", "occupied",
                     "signed_between", "rest_change"}
    no_data = [t.name for t in targets if not t.has_data]
    assert no_data == [t.name for t in targets if t.name.startswith("forecast.share.")]


def test_panel_targets_hold_the_series_values():
    """The data of the share targets are the series' shares (rounded to 5 decimals) and each MAE
    band ends at persistence's error, so the file and the series cannot drift apart."""
    shares = data_shares(read_series(DATA_DIR))
    for t in load_targets():
        kind, args = t.measure_parts()
        if t.run == "backtest" and kind == "share":
            assert t.data == pytest.approx(shares.at[args[0], int(args[1])], abs=5e-6)
            assert t.band_hi - t.data == pytest.approx(0.005, abs=1e-5)
        if kind == "mae":
            persistence = (shares[int(args[0])] - shares[2010]).abs().mean()
            assert t.band_hi == pytest.approx(persistence, abs=5e-6)
    growth = next(t for t in load_targets() if t.name.startswith("forecast.wuhan_growth"))
    # Wuhan 17716.76 -> 20011.65 against Hubei 50012.94 -> 55803: 1.12953 / 1.11577 = 1.01233
    assert growth.data == pytest.approx((20011.65 / 17716.76) / (55803 / 50012.94), abs=5e-6)


def _write_targets(path: Path, **change) -> Path:
    row = {"name": "t", "run": "backtest", "measure": "share:Wuhan:2015", "output": "o",
           "data": "0.5", "band_lo": "0.4", "band_hi": "0.6", "band_reason": "r", "benchmark": "",
           "role": "validation", "years": "2015", "source": "s", **change}
    pd.DataFrame([row], columns=list(COLUMNS)).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("change, message", [
    ({"role": "held_out"}, "row 2: role: expected one of calibration, validation (got 'held_out')"),
    ({"measure": "share:Wuhan"}, "row 2: measure: expected one of share:ARG:ARG"),
    ({"data": "0.7"},
     "row 2: band_lo, band_hi: expected a band holding the data 0.7 (got 0.4 to 0.6)"),
    ({"band_lo": "x"}, "row 2: band_lo: expected a finite number (got 'x')"),
    ({"run": "past"}, "row 2: run: expected one of backtest, forecast, rest (got 'past')"),
])
def test_a_bad_targets_file_fails_in_one_line(tmp_path, change, message):
    with pytest.raises(ConfigError) as info:
        load_targets(_write_targets(tmp_path / "t.csv", **change))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_no_data_is_an_empty_cell_and_missing_files_or_columns_are_named(tmp_path):
    t = load_targets(_write_targets(tmp_path / "t.csv", data="", band_lo="", band_hi=""))[0]
    assert not t.has_data and not t.hit(0.5)
    with pytest.raises(ConfigError, match="expected a targets file"):
        load_targets(tmp_path / "none.csv")
    (tmp_path / "cols.csv").write_text("name,role\nx,validation\n")
    with pytest.raises(ConfigError, match="expected the column"):
        load_targets(tmp_path / "cols.csv")


# --------------------------------------------------------------------------- measures by hand

def _realisation() -> ev.Realisation:
    """Two cities, steps 0, 4 and 8 (years 2010-2012), one agreement park."""
    cities = pd.DataFrame({
        "step": [0, 0, 4, 4, 8, 8], "city": ["A", "B"] * 3,
        "gdp_statistical": [60.0, 40.0, 66.0, 44.0, 90.0, 60.0],
        "gdp_physical": [60.0, 40.0, 66.0, 44.0, 63.0, 39.0],
        "wuhan_origin_share_nonlocal_cum": [np.nan, np.nan, 0.2, 0.4, 0.25, 0.5]})
    parks = pd.DataFrame({"step": [4, 4, 8, 8], "park": ["local:A", "P", "local:A", "P"],
                          "n_units": [10, 0, 10, 3]})
    data = pd.DataFrame({2010: [0.6, 0.4], 2012: [0.5, 0.5]}, index=["A", "B"])
    return ev.Realisation(cities, parks, 2010, data)


def test_measures_by_hand():
    run = _realisation()
    assert ev.share(run, "A", 2011) == pytest.approx(0.6)           # 66 / 110
    assert math.isnan(ev.share(run, "A", 2013))                     # no step 12
    assert ev.share_error(run, 2012) == pytest.approx(0.1)          # |0.6-0.5|, |0.4-0.5|
    # A: 90/60 = 1.5; circle: 150/100 = 1.5 -> 1; B likewise
    assert ev.growth_vs_circle(run, "A", 2012) == pytest.approx(1.0)
    assert ev.nonlocal_wuhan_share(run, "B", 2010) == pytest.approx(0.4)  # end of 2010 = step 4
    assert ev.occupied(run, "P", 4) == 0.0 and ev.occupied(run, "P", 8) == 1.0
    assert ev.occupied(run, "no such park", 8) == 0.0 and math.isnan(ev.occupied(run, "P", 12))
    # physical 100 -> 102 (+2%); A 60 -> 63 (+5%), B 40 -> 39 (-2.5%)
    assert ev.rest_change(run, "circle") == pytest.approx(0.02)
    assert ev.rest_change(run, "A") == pytest.approx(0.05)
    assert ev.rest_change(run, "B") == pytest.approx(-0.025)


def test_score_by_hand():
    hit = Target("a", "validation", 1.0, 0.5, 1.5, "s")
    miss = Target("b", "calibration", 0.0, -0.1, 0.1, "s", benchmark="persistence")
    blank = Target("c", "validation", math.nan, math.nan, math.nan, "s")
    runs = [{"a": 1.0, "b": 0.3, "c": 2.0}, {"a": 2.0, "b": 0.5, "c": np.nan}]
    frame = ev.score([hit, miss, blank], runs, {"b": 0.05}).set_index("target")
    assert frame.at["a", "model_mean"] == 1.5 and frame.at["a", "status"] == "hit"  # ends count
    assert frame.at["a", "model_lo"] == pytest.approx(1.05)   # 5% quantile of [1, 2]
    assert frame.at["b", "status"] == "miss" and frame.at["b", "benchmark_status"] == "hit"
    assert frame.at["c", "status"] == "no data" and frame.at["c", "replicates"] == 1
    s = summary(frame.reset_index())
    assert s["hit"] == ["a"] and s["miss"] == ["b"] and s["no_data"] == ["c"]
    assert s["by_role"]["calibration"] == {"hit": 0, "miss": 1, "no data": 0}
    table = markdown_table(frame.reset_index())
    assert "| b | calibration | 0.0000 | -0.1000-0.1000 | 0.4000 |" in table and "**miss**" in table


def test_benchmarks_are_persistence_from_the_data():
    targets = [t for t in load_targets() if t.benchmark == "persistence"]
    bench = ev.benchmarks(targets, DATA_DIR)
    assert bench["backtest.share.Wuhan.2019"] == pytest.approx(5458.35 / 9531.50)
    assert bench["forecast.wuhan_growth_vs_circle.2023"] == 1.0
    cities = pd.read_csv(DATA_DIR / "cities.csv").set_index("city")["gdp_2021"]
    assert bench["forecast.share.Tianmen.2024"] == pytest.approx(718.89 / cities.sum())


# --------------------------------------------------------------------------- drivers by hand

def test_period_drivers_by_hand(tmp_path):
    pd.DataFrame({"year": [2011, 2012], "real_growth_pct": [10.0, 21.0]}).to_csv(
        tmp_path / "hubei_gdp.csv", index=False)
    rows = [("construction_land_per_gdp_change", "China", 2011, 2011, -10.0, "reported"),
            ("construction_land_per_gdp_change", "China", 2012, 2012, -10.0, "reported"),
            ("construction_land_per_gdp_change", "China", 2011, 2012, -50.0, "target"),
            ("industrial_commercial_land_transacted", "Wuhan", 2011, 2012, 3000.0, "reported"),
            ("new_construction_land_share", "Wuhan", 2011, 2012, 50.0, "reported")]
    pd.DataFrame(rows, columns=["indicator", "region", "first_year", "last_year", "value",
                                "status"]).to_csv(tmp_path / "land_evidence.csv", index=False)
    # growth: sqrt(1.1 x 1.21) - 1 = 1.1^1.5 - 1; land: 0.9 a year (the target row is skipped);
    # land: 3000 mu over 2 years = 1 km² a year, half of it new: 0.5 km²; stock 10 - 2 x 0.5
    d = history.period_drivers(tmp_path, 2010, 2012, base_stock_km2=10.0, base_year=2012)
    assert d.real_growth == pytest.approx(1.1**1.5 - 1)
    assert d.land_intensity_decline == pytest.approx(0.1)
    assert d.core_land_supply_km2 == pytest.approx(0.5)
    assert d.core_land_stock_km2 == pytest.approx(9.0)
    assert "economy.land_intensity_decline=0.100000" in d.overrides()


def test_decade_drivers_from_the_bundled_data():
    """2010-2019: Hubei's real growth 9.51% (13.8, 11.3, 10.5, 9.7, 8.9, 8.1, 7.8, 7.8, 7.8),
    land per GDP -24.2% (2011-15) and -10.1% (2016-17) over 7 years: 5.33% a year; Wuhan
    321,117 mu in 2012-2022 x 87.7% new: 17.07 km² a year; its 2021 stock 542.04 km² less 11
    years of it."""
    d = history.period_drivers(DATA_DIR, 2010, 2019, base_stock_km2=542.04)
    assert d.real_growth == pytest.approx(0.095053, abs=1e-6)
    assert d.land_intensity_decline == pytest.approx(1 - (0.758 * 0.899) ** (1 / 7))
    assert d.core_land_supply_km2 == pytest.approx(321117 / 11 / 1500 * 0.877)
    assert d.core_land_stock_km2 == pytest.approx(542.04 - 11 * 321117 / 11 / 1500 * 0.877)


def test_a_point_cannot_replace_the_decades_drivers_of_the_back_test():
    """A screen's or a fit's point that sets the 2021 plan's land supply, fall of land intensity
    or growth leaves the back-test on the drivers measured for 2010-2019 (the targets would
    otherwise seem to inform what the back-test takes from the data); other keys pass."""
    drivers = history.period_drivers(DATA_DIR, 2010, 2019, base_stock_km2=542.04)
    base = ev.backtest_base(["world.n_units=300", "world.core_land_supply_km2=40",
                             "economy.land_intensity_decline=0.2",
                             "economy.growth_rate_annual=0.01", "economy.tax_rate=0.09"])
    assert base.world.n_units == 300 and base.economy.tax_rate == 0.09
    assert base.world.core_land_supply_km2 == pytest.approx(drivers.core_land_supply_km2, abs=1e-4)
    assert base.economy.land_intensity_decline == pytest.approx(drivers.land_intensity_decline,
                                                                abs=1e-6)
    assert base.economy.growth_rate_annual == pytest.approx(drivers.real_growth, abs=1e-6)


# --------------------------------------------------------------------------- runs

def test_simulate_targets_makes_each_run_once_and_is_deterministic(monkeypatch):
    targets = [t for t in load_targets() if t.run in ("forecast", "rest")]
    calls = []
    for name, runner in list(ev.RUNNERS.items()):
        monkeypatch.setitem(ev.RUNNERS, name,
                            lambda o, s, r, _n=name, _f=runner: calls.append(_n) or _f(o, s, r))
    small = ["steps=8"]     # 2 years: the 2024 targets have no model value here
    a = ev.simulate_targets(targets, small, seed=3, replicate=1, n_units=300)
    assert sorted(calls) == ["forecast", "rest"]
    b = ev.simulate_targets(targets, small, seed=3, replicate=1, n_units=300)
    assert a.keys() == {t.name for t in targets}
    np.testing.assert_equal(list(a.values()), list(b.values()))
    assert math.isnan(a["forecast.share.Wuhan.2024"])
    assert a["forecast.wuhan_growth_vs_circle.2023"] > 0


@pytest.mark.slow
def test_cli_evidence_tiny_in_a_subprocess(tmp_path):
    targets = tmp_path / "t.csv"
    keep = [t for t in pd.read_csv(ROOT / "sim/data/targets.csv").itertuples()
            if t.run in ("forecast", "rest")]
    pd.DataFrame(keep).drop(columns="Index").to_csv(targets, index=False)
    cmd = [sys.executable, "-m", "sim", "evidence", "--replicates", "2", "--units", "300",
           "--workers", "1", "--targets", str(targets), "--out", "ev"]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=ENV)
    assert done.returncode == 0, done.stderr
    assert "targets with data hit" in done.stdout
    record = json.loads((tmp_path / "ev" / "evidence.json").read_text())
    assert record["n_units"] == 300 and len(record["code_hash"]) == 16
    assert (tmp_path / "ev" / "evidence.png").stat().st_size > 0
    frame = pd.read_csv(tmp_path / "ev" / "evidence.csv")
    assert len(frame) == len(keep) and set(frame.status) <= {"hit", "miss", "no data"}
    bad = subprocess.run([*cmd[:-2], "--out", "ev2", "--units", "5"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60, env=ENV)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--units" in bad.stderr
    assert not (tmp_path / "ev2").exists()


def test_update_document_replaces_only_the_marked_block(tmp_path):
    (tmp_path / "evidence.md").write_text("new table\n")
    doc = tmp_path / "doc.md"
    doc.write_text(f"before\n{BEGIN}\nold\n{END}\nafter\n")
    update_document(doc, tmp_path)
    assert doc.read_text() == f"before\n{BEGIN}\nnew table\n{END}\nafter\n"
    doc.write_text("no markers")
    with pytest.raises(ValueError, match="marker"):
        update_document(doc, tmp_path)


def test_cli_bad_set_or_targets_is_one_line_before_any_run(tmp_path, capsys):
    from sim.cli import main

    out = tmp_path / "ev"
    assert main(["evidence", "--set", "economy.nope=1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "economy.nope" in err and not out.exists()
    bad = _write_targets(tmp_path / "t.csv", role="maybe")
    assert main(["evidence", "--targets", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "role: expected one of" in err and not out.exists()


def test_realise_on_a_given_executor_keeps_the_replicate_order():
    """The executor path (a given concurrent.futures executor, as a Dask cluster's would be)
    gives the same realisations, in replicate order, as running them here."""
    from concurrent.futures import ThreadPoolExecutor

    targets = [t for t in load_targets() if t.run == "rest"][:2]
    small = ["steps=2"]
    here = ev.realise(targets, 2, 5, small, 300)
    with ThreadPoolExecutor(2) as pool:
        there = ev.realise(targets, 2, 5, small, 300, workers=None, executor=pool)
    assert here == there and here[0] != here[1]
