"""The public API for outside drivers: sim.evaluate, the SALib problem and EMA Workbench."""

import subprocess
import sys

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
    assert out["welfare.diff"] == pytest.approx(out["welfare"] - out["welfare.baseline"])


@pytest.mark.parametrize("call, message", [
    (lambda: sim.evaluate("coordinatd"), "expected a bundled name (as_happened, coordinated, "),
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
    model = sim.ema_model(config, categorical={"switches.enclave": [False, True]})
    kinds = {p.name: type(p).__name__ for p in model.uncertainties}
    assert kinds == {"economy__tax_rate": "RealParameter",
                     "switches__enclave": "CategoricalParameter",
                     "policies__investment_map__max_cities_per_segment": "IntegerParameter"}
    with ema.SequentialEvaluator(model) as evaluator:
        experiments, outcomes = ema.perform_experiments(model, scenarios=3, evaluator=evaluator)
    assert len(experiments) == 3 and set(outcomes) == set(sim.OUTCOMES)
    row = experiments.iloc[0]
    again = sim.evaluate("coordinated", **TINY, **{
        "economy.tax_rate": row["economy__tax_rate"],
        "policies.investment_map.max_cities_per_segment":
            int(row["policies__investment_map__max_cities_per_segment"]),
        "switches.enclave": bool(row["switches__enclave"])})
    assert again["welfare"] == outcomes["welfare"][0]   # EMA ran the same code path
    assert np.all(np.isfinite(outcomes["gdp_total"]))
