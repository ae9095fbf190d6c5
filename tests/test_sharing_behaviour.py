"""Sharing changes behaviour: the source's share moves where units go and what Wuhan spends.

A small world, seeded, paired replicates (common random numbers), agreements imposed so that the
same enclaves exist at both shares (whether they would be signed is tested elsewhere).
"""

import numpy as np

from sim.config import load_scenario
from sim.model import run_scenario
from sim.model.world import build_world
from sim.rules.offers import retention_choice

BASE = ["world.n_units=1500", "steps=4", "policies.agreements_voluntary=false",
        "policies.enclave.bargain=false"]


def _outcomes(share: float, replicates: int = 2) -> np.ndarray:
    cfg = load_scenario("scenarios/homogenised_with_enclave_and_sharing.yaml", overrides=BASE + [
        f"policies.enclave.gdp_share_source={share}", f"policies.enclave.tax_share_source={share}"])
    world = build_world(cfg)
    rows = []
    for r in range(replicates):
        res = run_scenario(cfg, replicate=r, world=world)
        parks, cities = res.parks, res.cities
        enclave = parks[(parks.kind == "enclave") & (parks.step == parks.step.max())].output.sum()
        retention = cities[cities.city == "Wuhan"].retention_spent.sum()
        rows.append((enclave, retention, res.circle.relocated_out_of_wuhan_cum.iloc[-1]))
    return np.array(rows)


def test_retention_counter_offers_by_hand_follow_what_the_city_keeps_where_the_unit_goes():
    """Both channels of sharing on a city's retention spending, worked by hand (L = 10 years,
    L_s = 18, rates 0 / 0.05 / 0.1 kept with chance 0 / 0.4 / 0.6, value 0.2 per yuan at home)."""
    grid, p_stay = np.array([[0.0, 0.05, 0.1]] * 2), np.array([[0.0, 0.4, 0.6]] * 2)
    # a unit leaving the city's own park for the city's enclave: keeping nothing there, 0.05 is
    # worth 0.4 (2 − 0.9) = 0.44 > 0 and 0.1 is worth 0.6 (2 − 1.8) = 0.12; keeping 0.12 there,
    # no offer (1.2) beats 0.05 (0.44 + 0.6 · 1.2 = 1.16): sharing lowers the counter-offer...
    rate, chance = retention_choice(grid, p_stay, np.array([0.2, 0.2]), np.array([0.0, 0.12]),
                                    10.0, 18.0)
    np.testing.assert_allclose(rate, [0.05, 0.0])
    np.testing.assert_allclose(chance, [0.4, 0.0])
    # ...and a unit leaving the city's enclave for the host's park is worth keeping only once
    # the city keeps a share of it (0.4 (1.2 − 0.9) = 0.12 > 0 at a value of 0.12 there)
    rate, _ = retention_choice(grid, p_stay, np.array([0.0, 0.12]), np.zeros(2), 10.0, 18.0)
    np.testing.assert_allclose(rate, [0.0, 0.05])


def test_a_source_share_of_half_changes_wuhans_retention_spending_and_relocations():
    """Sharing is live end to end: the paired outcomes differ in every replicate. The direction of
    Wuhan's retention spending is the sum of the two channels above and is not signed here (20
    paired replicates of 20,000 units, 20 steps: +1.6 [-1.4, 4.6], docs/VALIDATION.md section 6)."""
    none, half = _outcomes(0.0), _outcomes(0.5)
    diff = half - none                        # paired by replicate
    assert (diff[:, 1] != 0).all(), diff      # Wuhan's retention spending
    assert (diff[:, 2] != 0).all(), diff      # the output relocated out of Wuhan


def test_a_source_share_of_half_makes_wuhans_enclaves_more_attractive_to_its_investors():
    """Wuhan refers its investors to its enclaves in proportion to the value it keeps there: at
    the first step, before anything differs, a Wuhan-origin arrival's utility of each enclave
    against the host's own park is higher at a share of 0.5 than at 0."""
    from sim.model import CircleModel
    from sim.model.utility import Choosers, utilities
    from sim.rules.constants import Origin, ParkKind

    def relative(share: float) -> np.ndarray:
        scenario = "scenarios/homogenised_with_enclave_and_sharing.yaml"
        cfg = load_scenario(scenario, overrides=BASE + [
            f"policies.enclave.gdp_share_source={share}",
            f"policies.enclave.tax_share_source={share}", "competition.active=false"])
        model = CircleModel(cfg, seed=3)
        p = model.parks
        who = Choosers(kg=np.array([2]), origin=np.array([Origin.WUHAN]),
                       home=np.array([model.world.core]), current=np.array([-1]),
                       stay_subsidy=np.zeros(1))
        u, _ = utilities(model.state, who, model.settings)
        enclaves = np.flatnonzero(p.kind == ParkKind.ENCLAVE)
        return u[0, enclaves] - u[0, p.city[enclaves]]

    none, half = relative(0.0), relative(0.5)
    assert len(none) and (half > none).all(), (none, half)
