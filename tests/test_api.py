"""The public API for outside drivers: sim.evaluate, the SALib problem and EMA Workbench."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import sim
from sim.config import ConfigError

TINY = {"n_units": 300, "steps": 1}


def test_import_sim_stays_cheap():
    code = "import sys, sim; assert callable(sim.evaluate); print('mesa' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # evaluate is resolved lazily, the model not imported


def test_evaluate_takes_dotted_keywords_or_a_mapping_and_is_seeded():
    key = {"competition.homogenisation": 0.3}
    a = sim.evaluate("homogenised", seed=2, **TINY, **key)
    b = sim.evaluate("homogenised", key, seed=2, **TINY)
    assert a == b and set(a) == set(sim.OUTCOMES)
    assert a != sim.evaluate("homogenised", seed=2, **TINY, **{"competition.homogenisation": 0.9})


def test_evaluate_against_a_baseline_is_paired():
    out = sim.evaluate("coordinated", against="homogenised", **TINY)
    assert out["welfare.pv.diff"] == pytest.approx(out["welfare.pv"] - out["welfare.pv.baseline"])


def test_evaluate_returns_what_the_report_headlines_present_values_and_last_quarters():
    from sim.api import load
    from sim.model import run_scenario

    assert "welfare_national.pv" in sim.OUTCOMES
    out = sim.evaluate("homogenised", seed=3, n_units=300, steps=3,
                       outcomes=["welfare.pv", "welfare.last", "wuhan_share.last"])
    circle = run_scenario(load("homogenised", n_units=300, steps=3), seed=3).circle
    rate = load("homogenised").economy.discount_rate_annual        # 0.05 in base.yaml
    by_hand = sum(v / 4 * (1 + rate) ** (-t / 4) for t, v in enumerate(circle["welfare"]))
    assert out["welfare.pv"] == pytest.approx(by_hand, rel=1e-12)
    assert out["welfare.last"] == circle["welfare"].iloc[-1]
    assert out["wuhan_share.last"] == circle["wuhan_share"].iloc[-1]
    with pytest.raises(ConfigError, match="outcome welfare.total: expected"):
        sim.evaluate("homogenised", outcomes=["welfare.total"], **TINY)


def test_evaluate_warns_about_a_value_the_scenario_makes_inert():
    from sim.config.inert import InertWarning

    shares = {"policies.enclave.gdp_share_source": 0.3}
    with pytest.warns(InertWarning, match="policies.enclave.bargain is on"):
        sim.evaluate("coordinated", shares, **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InertWarning)      # imposed shares act: no warning
        sim.evaluate("coordinated", {**shares, "policies.enclave.bargain": False}, **TINY)


@pytest.mark.parametrize("call, message", [
    (lambda: sim.evaluate("coordinatd"),
     "not a bundled scenario name (expected a scenario file or one of as_happened, coordinated, "),
    (lambda: sim.evaluate("coordinated", **{"competition.homogenisatio": 1}),
     "did you mean 'homogenisation'"),
    (lambda: sim.evaluate("coordinated", **{"competition.homogenisation": 3}, **TINY),
     "competition.homogenisation: expected a number <= 1 (got 3)"),
])
def test_evaluate_refuses_bad_input_in_one_line(call, message):
    with pytest.raises(ConfigError, match=None) as info:
        call()
    assert message in str(info.value) and "\n" not in str(info.value)


def test_salib_problem_from_the_uncertain_block():
    problem = sim.salib_problem("coordinated", ["economy.tax_rate", "competition.subsidy_years"])
    assert problem == {"num_vars": 2, "names": ["economy.tax_rate", "competition.subsidy_years"],
                       "bounds": [[0.06, 0.09], [2.0, 5.0]], "dists": ["unif", "unif"]}
    assert sim.salib_problem("coordinated")["num_vars"] == len(sim.uncertain_parameters("base"))


def test_ema_perform_experiments_through_the_api():
    ema = pytest.importorskip("ema_workbench", reason="the ema extra is not installed")
    from sim.api import load

    config = load("coordinated", **TINY)   # an integer entry added to its uncertain block
    config = config.model_copy(update={"uncertain": {
        "economy.tax_rate": [0.06, 0.09],
        "policies.investment_map.max_cities_per_segment": [2, 4]}})
    model = sim.ema_model(config, categorical={"switches.enclave": [False, True]}, levers=())
    kinds = {p.name: type(p).__name__ for p in model.uncertainties}
    assert kinds == {"economy__tax_rate": "RealParameter",
                     "switches__enclave": "CategoricalParameter",
                     "policies__investment_map__max_cities_per_segment": "IntegerParameter"}
    with ema.SequentialEvaluator(model) as evaluator:
        experiments, outcomes = ema.perform_experiments(model, scenarios=3, evaluator=evaluator)
    assert len(experiments) == 3 and set(outcomes) == {o.replace(".", "__")
                                                       for o in sim.OUTCOMES}
    row = experiments.iloc[0]
    again = sim.evaluate("coordinated", **TINY, **{
        "economy.tax_rate": row["economy__tax_rate"],
        "policies.investment_map.max_cities_per_segment":
            int(row["policies__investment_map__max_cities_per_segment"]),
        "switches.enclave": bool(row["switches__enclave"])})
    assert again["welfare.pv"] == outcomes["welfare__pv"][0]   # EMA ran the same code path
    assert np.all(np.isfinite(outcomes["gdp_total__pv"]))


def test_ema_levers_are_the_seven_switches_and_replications_are_paired_replicates():
    ema = pytest.importorskip("ema_workbench", reason="the ema extra is not installed")
    from sim.api import load

    config = load("coordinated", **TINY).model_copy(
        update={"uncertain": {"economy.tax_rate": [0.06, 0.09]}})
    assert [p.name for p in sim.ema_model(config).levers] == [
        f"switches__{s}" for s in ("investment_map", "subsidy_cap", "shared_platform",
                                   "enclave", "gdp_tax_sharing", "park_within_park",
                                   "reverse_enclave")]
    model = sim.ema_model(config, levers=["enclave"], replications=2,
                          outcomes=["welfare.pv"])
    assert {type(p).__name__ for p in model.levers} == {"CategoricalParameter"}
    policies = [ema.Sample("off", switches__enclave=False),
                ema.Sample("on", switches__enclave=True)]
    with ema.SequentialEvaluator(model) as evaluator:
        experiments, outcomes = ema.perform_experiments(model, scenarios=1, policies=policies,
                                                        evaluator=evaluator)
    assert outcomes["welfare__pv__by_replicate"].shape == (2, 2)       # experiments x replications
    tax = experiments["economy__tax_rate"].iloc[0]
    for row, policy in enumerate(experiments["policy"]):
        for r in range(2):                               # replicate r of the model's streams
            again = sim.evaluate(config, replicate=r, outcomes=["welfare.pv"], **{
                "economy.tax_rate": tax, "switches.enclave": policy == "on"})
            assert again["welfare.pv"] == outcomes["welfare__pv__by_replicate"][row, r]
    values = outcomes["welfare__pv__by_replicate"]
    assert values[0, 0] != values[0, 1]
