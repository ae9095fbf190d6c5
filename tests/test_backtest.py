"""The back-test (sim backtest) and the growth trend: worked numbers, schema, determinism, CLI."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.config import load_scenario
from sim.config.schema import ScenarioConfig
from sim.model import CircleModel
from sim.model.world import build_world_with_gdp
from sim.paths import DATA_DIR
from sim.validation.backtest import (
    COLUMNS,
    backtest,
    mean_absolute_errors,
    pre_plan_config,
    read_series,
    share_errors,
)

ROOT = Path(__file__).resolve().parents[1]
TINY = ["world.n_units=300"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def test_2010_world_reproduces_2010_city_gdp_at_step_0():
    cfg = ScenarioConfig(world={"n_units": 300})
    gdp_2010 = read_series(DATA_DIR)[2010]
    world = build_world_with_gdp(cfg, gdp_2010.to_dict())
    # Wuhan's primary share is its reported 2021 structure, 2.5%: 5458.35 x 0.025 = 136.45875
    assert world.primary[world.city_index("Wuhan")] == pytest.approx(136.45875)
    model = CircleModel(cfg, seed=2, world=world)
    step0 = model.recorder.results(cfg).cities.set_index("city")["gdp_physical"]
    assert step0["Wuhan"] == pytest.approx(5458.35, rel=1e-9)
    assert step0["Tianmen"] == pytest.approx(216.18, rel=1e-9)
    np.testing.assert_allclose(step0[gdp_2010.index], gdp_2010, rtol=1e-9)


def test_circle_totals_and_pre_plan_agreements_from_the_data():
    total = read_series(DATA_DIR).sum(axis=0)
    # the circle's nominal GDP, 100m yuan: 9531.50 (2010), 27681.43 (2019)
    assert total[2010] == pytest.approx(9531.50) and total[2019] == pytest.approx(27681.43)
    cfg = pre_plan_config(load_scenario(ROOT / "scenarios/homogenised.yaml"), DATA_DIR)
    started = {a.name: a.start_step for a in cfg.agreements}
    assert started == {"WEDZ Huanggang park": 20, "Optics Valley Huangshi park": 8}  # 2015, 2012
    assert cfg.switches.park_within_park and not cfg.switches.enclave
    assert cfg.steps == 36


def test_persistence_and_model_errors_by_hand_on_three_cities():
    rows = [("A", 2010, 0.5, 0.5), ("B", 2010, 0.3, 0.3), ("C", 2010, 0.2, 0.2),
            ("A", 2011, 0.6, 0.55), ("B", 2011, 0.25, 0.3), ("C", 2011, 0.15, 0.15)]
    frame = pd.DataFrame(rows, columns=["city", "year", "share_data", "share_model"])
    errors = share_errors(frame)
    # persistence: |0.5-0.6|, |0.3-0.25|, |0.2-0.15| -> mean 0.2/3; model: 0.05, 0.05, 0 -> 0.1/3
    np.testing.assert_allclose(errors["persistence"], [0.1, 0.05, 0.05])
    model, persistence = mean_absolute_errors(frame)
    assert persistence == pytest.approx(0.2 / 3) and model == pytest.approx(0.1 / 3)


def test_backtest_schema_and_determinism_on_a_tiny_run():
    a = backtest(replicates=2, seed=3, overrides=TINY, last_year=2011)
    b = backtest(replicates=2, seed=3, overrides=TINY, last_year=2011)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == COLUMNS and len(a) == 9 * 2
    assert set(a.year) == {2010, 2011}
    assert (a.share_lo <= a.share_model + 1e-12).all() and (
        a.share_model <= a.share_hi + 1e-12
    ).all()
    np.testing.assert_allclose(a.groupby("year")[["share_data", "share_model"]].sum(), 1.0)
    first = a[a.year == 2010]
    np.testing.assert_allclose(first.share_model, first.share_data)   # step 0 is the data


def test_growth_parameter_maps_to_arrivals_as_derived():
    # quarterly exit hazard 0.1 (annual 1 - 0.9^4), no reviews: outflow h = 0.1; growth
    # 1.1^4 - 1 a year is g_q = 0.1 a quarter, so arrivals are (h + g_q)/h = 2 times the
    # stationary rate at step 1 and 2 x 1.1^2 = 2.42 times at step 3
    econ = {"exit_rate_annual": 1 - 0.9**4, "review_rate_annual": 0.0}
    still = CircleModel(ScenarioConfig(world={"n_units": 300}, economy=econ), seed=1)
    grow = CircleModel(ScenarioConfig(world={"n_units": 300},
                                      economy={**econ, "growth_rate_annual": 1.1**4 - 1}), seed=1)
    for step, factor in ((1, 2.0), (3, 2.42)):
        still.steps = grow.steps = step
        np.testing.assert_allclose(grow.arrivals_now(), factor * still.arrivals_now())
    assert grow.trend(8) == pytest.approx(1.1**8)     # land, labour and primary output
    np.testing.assert_allclose(grow.primary, grow.world.primary * 1.1**3)   # (grow.steps == 3)


@pytest.mark.slow
def test_cli_backtest_tiny_in_a_subprocess(tmp_path, capsys):
    cmd = [sys.executable, "-m", "sim", "backtest", "--replicates", "1", "--last-year", "2011",
           "--set", "world.n_units=300", "--out", "bt"]
    done = subprocess.run(cmd, check=False, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env=ENV)
    assert done.returncode == 0, done.stderr
    assert "mean absolute error of 2011 city shares, model 0." in done.stdout
    frame = pd.read_csv(tmp_path / "bt" / "backtest.csv")
    assert list(frame.columns) == COLUMNS and (tmp_path / "bt" / "backtest.png").stat().st_size > 0
    assert main(["backtest", "--last-year", "2030", "--out", str(tmp_path / "bt")]) == 2
    assert capsys.readouterr().err == "error: --last-year: expected 2011..2019 (got 2030)\n"
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "bt" / "backtest.csv"), frame)


def test_backtest_force_never_replaces_the_working_folder(tmp_path, monkeypatch, capsys):
    from sim.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "precious.txt").write_text("keep")
    assert main(["backtest", "--out", ".", "--force"]) == 2
    assert (tmp_path / "precious.txt").read_text() == "keep"
    assert "refusing to replace the current folder" in capsys.readouterr().err
