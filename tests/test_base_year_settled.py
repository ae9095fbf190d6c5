"""Whether the status quo's fixed points settled, said by the base year and by what reads it:
a run's diagnostics, `sim run`, a batch's manifest and the report's warnings.

A fixed point that stops at its cap leaves a base year that is not exactly at rest; nothing
changes in the numbers, but the run says so instead of passing the drift off as a result."""

from __future__ import annotations

import concurrent.futures as cf
import functools

import numpy as np
import pandas as pd
import pytest

from sim.analysis import settings
from sim.config import load_scenario
from sim.model import base_year, run_scenario
from sim.model.base_year import settle_base_year
from sim.model.base_year_cache import BaseYearCache
from sim.model.equilibrium import status_quo_offers
from sim.model.seeds import spawn_streams
from sim.model.world import build_world

SMALL = ["world.n_units=300", "competition.subsidy_grid_points=6", "steps=2"]


def built(max_rounds: int | None = None, monkeypatch=None):
    """The base year of the small homogenised world, with the offers' rounds capped if asked."""
    cfg = load_scenario("scenarios/homogenised.yaml", SMALL)
    if max_rounds is not None:
        monkeypatch.setattr(base_year, "status_quo_offers",
                            functools.partial(status_quo_offers, max_rounds=max_rounds))
    rng = spawn_streams(1, 0)["world"]
    rng.integers(np.iinfo(np.int32).max)
    return settle_base_year(build_world(cfg), cfg, rng)


def test_the_small_world_settles_within_its_caps():
    by = built()
    assert by.settled and 0 < by.settle_rounds < 60


def test_offers_stopped_at_their_cap_are_not_settled(monkeypatch):
    """Two rounds cannot settle offers that take more than two from zero (the free run above
    takes more), so the cap ends the rounds and the base year says so."""
    free = built()
    assert free.settle_rounds > 2
    capped = built(max_rounds=2, monkeypatch=monkeypatch)
    assert capped.settle_rounds == 2 and not capped.settled


def test_a_run_and_the_cache_carry_the_flag(monkeypatch):
    monkeypatch.setattr(base_year, "status_quo_offers",
                        functools.partial(status_quo_offers, max_rounds=2))
    cfg = load_scenario("scenarios/homogenised.yaml", SMALL)
    from sim.model import circle
    monkeypatch.setattr(circle.base_year_cache, "shared", lambda: BaseYearCache())
    results = run_scenario(cfg, seed=1)
    assert results.diagnostics == {"base_year_settled": False, "settle_rounds": 2}


def test_without_competition_the_reviewers_calibration_decides(monkeypatch):
    """No offers to settle: the base year is at rest when the reviewers' constants are."""
    from sim.model import calibration
    cfg = load_scenario("scenarios/homogenised.yaml", [*SMALL, "competition.active=false"])

    def base():
        rng = spawn_streams(1, 0)["world"]
        rng.integers(np.iinfo(np.int32).max)
        return settle_base_year(build_world(cfg), cfg, rng)

    free = base()
    assert free.settled and free.settle_rounds == 0
    monkeypatch.setattr(calibration, "calibrate_reviewers",
                        functools.partial(calibration.calibrate_reviewers, max_iter=2))
    capped = base()
    assert not capped.settled and capped.settle_rounds == 0


def test_pack_and_unpack_keep_the_flag():
    from sim.experiments.base_years import pack, unpack
    by = built()
    for flag in (True, False):
        again = unpack(pack(base_year.BaseYear(
            calibration=by.calibration, units=by.units, offers=by.offers,
            settle_rounds=by.settle_rounds, world_stream=by.world_stream, settled=flag)))
        assert again.settled is flag


@pytest.mark.parametrize("unsettled, lines", [(0, 0), (3, 1)])
def test_the_report_warns_of_runs_not_at_rest(unsettled, lines):
    base = settings.BatchSettings(
        n_units=20_000, steps=20, replicates=20, seed="1", rate=0.05, version="x",
        data_hash="h", written="", default_units=20_000, default_steps=20, runs=40,
        unsettled=unsettled)
    found = [w for w in settings.warnings(base, "en") if "fixed point" in w]
    assert len(found) == lines
    if lines:
        assert found[0].startswith("In 3 of 40 runs")
        assert "基年并非完全静止" in settings.warnings(base, "zh")[-1]


def test_batch_metadata_counts_runs_marked_unsettled(tmp_path):
    from sim.analysis.report import batch_metadata
    manifest = pd.DataFrame({"run": ["a", "b", "c", "d"], "status": ["ok", "ok", "ok", "failed"],
                             "seed": [1, 1, 1, 1], "version": ["v"] * 4,
                             "base_year_settled": [True, False, "", ""]})
    meta = batch_metadata(tmp_path, manifest)
    assert meta["runs"] == 3 and meta["unsettled"] == 1
    old = manifest.drop(columns="base_year_settled")      # a batch written before the column
    assert batch_metadata(tmp_path, old)["unsettled"] == 0


#: A prior draw (seed 7's eighth of the ten screened keys) where whole Newton steps on one
#: sector-segment's constant and switching cost overshot by turns (a 2-cycle: the constant
#: ±0.080, the cost ±0.042 a step) until the reviewers' fixed point stopped at 400 iterations.
CYCLED = {"economy.own_cost_elasticity": -0.7681573724258506,
          "economy.outside_share_arrivals": 0.15112027261562277,
          "economy.leave_share_reviewers": 0.02773632751453965,
          "economy.stay_share_reviewers": 0.7669933490617367,
          "economy.exit_rate_annual": 0.06905015604402812,
          "economy.review_rate_annual": 0.10974133395190559,
          "economy.core_investor_distance_decay": 0.6262802453629909,
          "world.productivity_sd": 0.7188507651384519,
          "world.core_land_supply_km2": 13.825728349658263,
          "competition.subsidy_years": 4.181974330215631}


def test_reviewers_whose_newton_steps_cycled_settle():
    cfg = load_scenario("scenarios/coordinated.yaml",
                        ["world.n_units=2000", *(f"{k}={v!r}" for k, v in CYCLED.items())])
    rng = spawn_streams(cfg.seed, 0)["world"]
    rng.integers(np.iinfo(np.int32).max)
    by = settle_base_year(build_world(cfg), cfg, rng)
    assert by.settled


def test_sim_run_warns_when_the_base_year_did_not_settle(monkeypatch, capsys):
    from sim.cli import main
    from sim.model import circle
    monkeypatch.setattr(base_year, "status_quo_offers",
                        functools.partial(status_quo_offers, max_rounds=2))
    monkeypatch.setattr(circle.base_year_cache, "shared", lambda: BaseYearCache())
    assert main(["run", "scenarios/homogenised.yaml", *(f"--set={s}" for s in SMALL)]) == 0
    err = capsys.readouterr().err
    assert ("warning: a fixed point of the status quo stopped at its cap (offer rounds used: 2)"
            in err)


# --------------------------------------------------------------------------- studies' evaluators
# An evaluator returns numbers only; the count of models built on an unsettled base year
# (sim.model.diagnostics) is read around it by what runs it.


@pytest.fixture()
def capped(monkeypatch):
    """Every model built in the test starts from offers capped at two rounds (not at rest)."""
    from sim.model import circle
    monkeypatch.setattr(base_year, "status_quo_offers",
                        functools.partial(status_quo_offers, max_rounds=2))
    monkeypatch.setattr(circle.base_year_cache, "shared", lambda: BaseYearCache())


def small_gdp(point: dict) -> dict:
    """A study's evaluator: one small run, circle GDP at its end."""
    cfg = load_scenario("scenarios/homogenised.yaml", SMALL)
    return {"gdp": float(run_scenario(cfg, seed=1).circle["gdp_total"].iloc[-1])}


def test_a_model_on_an_unsettled_base_year_is_counted(capped):
    from sim.model import diagnostics
    mark = diagnostics.unsettled_models()
    small_gdp({})
    small_gdp({})
    assert diagnostics.unsettled_since(mark) == 2


def test_a_settled_model_is_not_counted():
    from sim.model import diagnostics
    mark = diagnostics.unsettled_models()
    small_gdp({})
    assert diagnostics.unsettled_since(mark) == 0


def test_a_study_records_and_warns_of_points_on_an_unsettled_base_year(capped, tmp_path, capsys):
    import json

    from sim.sensitivity.core import design_record, run_points
    out = tmp_path / "study"
    with cf.ThreadPoolExecutor(1) as here:     # in this process: the cap's patch holds there
        outputs = run_points([{"x": 0.0}, {"x": 1.0}], small_gdp, out,
                             design_record("reference", 2, 1, [], {}), executor=here,
                             progress=False)
    assert len(outputs) == 2 and set(outputs[0]) == {"gdp"}      # outputs stay numbers only
    records = [json.loads(p.read_text()) for p in sorted((out / "samples").glob("*.json"))]
    assert [r["unsettled_runs"] for r in records] == [1, 1]
    err = capsys.readouterr().err
    assert "warning: 2 of 2 points ran on a base year whose fixed point stopped at its cap" in err


def test_a_settled_study_says_nothing(tmp_path, capsys):
    from sim.sensitivity.core import design_record, run_points
    with cf.ThreadPoolExecutor(1) as here:
        run_points([{"x": 0.0}], small_gdp, tmp_path / "s",
                   design_record("reference", 1, 1, [], {}), executor=here, progress=False)
    assert "warning" not in capsys.readouterr().err


def test_the_scoreboard_counts_replicates_on_an_unsettled_base_year(monkeypatch):
    from sim.model import diagnostics
    from sim.validation import evidence
    from sim.validation.evidence_report import markdown

    def simulate(targets, overrides, seed, replicate, n_units):
        diagnostics.note_base_year(replicate != 1)      # replicate 1's base year did not settle
        return {}

    monkeypatch.setattr(evidence, "simulate_targets", simulate)
    frame = evidence.evidence([], 3, 1, [], None)
    assert frame.attrs["unsettled_replicates"] == 1
    meta = {"replicates": 3, "n_units": 300, "seed": 1, "overrides": [], "code_hash": "c",
            "data_hash": "d" * 16, "cpu_seconds": 1.0}
    text = markdown(frame, {**meta, "unsettled_replicates": 1})
    assert "Warning: 1 of 3 replicates ran on a base year whose fixed point stopped" in text
    assert "Warning" not in markdown(frame, {**meta, "unsettled_replicates": 0})


def test_a_calibration_simulation_on_an_unsettled_base_year_is_logged(caplog):
    from sim.estimation.smc import Watched
    from sim.model import diagnostics

    def simulate(point):
        diagnostics.note_base_year(point["a"] > 0)
        return {"t": point["a"]}

    watched = Watched(simulate)
    with caplog.at_level("WARNING", logger="sim.estimation"):
        assert watched({"a": 1.0}) == {"t": 1.0}
        assert not caplog.records
        assert watched({"a": -2.0}) == {"t": -2.0}
    assert len(caplog.records) == 1 and "a=-2" in caplog.records[0].getMessage()


def test_the_count_is_each_threads_own():
    """Points evaluated at once by threads of one Dask worker each see only their own models:
    both take their mark, then one builds three models not at rest, then both read."""
    import threading

    from sim.model import diagnostics
    marked, built, seen = threading.Barrier(2), threading.Barrier(2), {}

    def evaluate(name: str, unsettled: int) -> None:
        mark = diagnostics.unsettled_models()
        marked.wait()
        for _ in range(unsettled):
            diagnostics.note_base_year(False)
        diagnostics.note_base_year(True)
        built.wait()
        seen[name] = diagnostics.unsettled_since(mark)

    threads = [threading.Thread(target=evaluate, args=(n, k)) for n, k in (("a", 3), ("b", 0))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"a": 3, "b": 0}
