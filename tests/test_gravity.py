"""Where the core city's investors put their projects: distance decay and chain linkage, by hand."""

import numpy as np
import pytest

from sim.rules.agreements import gravity_utility, linkage_to_core, mixture_arrival_constants
from sim.rules.choice import arrival_constants


def test_linkage_to_core_is_the_core_share_of_the_linked_segments():
    # one sector, two segments (a = core, b = supply), two cities; a links to b only, b to a only
    out = np.zeros((2, 1, 2))
    out[0, 0] = [6.0, 1.0]      # core city: 6 of a, 1 of b
    out[1, 0] = [2.0, 3.0]      # ring city: 2 of a, 3 of b
    links = np.array([[0.0, 1.0], [1.0, 0.0]])
    tie = linkage_to_core(out, links, core=0)
    # a's linked chain (b) is 1/4 in the core; b's (a) is 6/8
    np.testing.assert_allclose(tie, [[0.25, 0.75]])


def test_gravity_utility_decays_with_log_distance_scaled_by_the_tie():
    d = np.array([25.0, 50.0, 100.0])
    g = gravity_utility(d, core=0, tie=np.array([1.0, 0.5]), decay=1.0)
    np.testing.assert_allclose(g[0], [0.0, -np.log(2), -np.log(4)])
    np.testing.assert_allclose(g[1], 0.5 * g[0])
    # the weight of a project at 100 km relative to the core is (100/25)^-1 = 1/4
    assert np.exp(g[0, 2]) == pytest.approx(0.25)


def test_mixture_constants_reproduce_base_shares_and_reduce_to_berry_without_shift():
    shares = np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])
    z0 = np.array([[0.2, 0.1, 0.0], [0.3, 0.1, 0.2]])
    sigma = np.array([0.1, 0.2])
    plain = arrival_constants(shares, 0.3, z0, sigma)
    np.testing.assert_allclose(mixture_arrival_constants(shares, 0.3, z0, sigma,
                                                         np.zeros((2, 3)), 0.25), plain)
    shift = np.array([[0.0, -0.7, -1.4], [0.0, -0.3, -1.0]])
    delta = mixture_arrival_constants(shares, 0.3, z0, sigma, shift, 0.25)
    v = np.exp(delta + z0 / sigma[:, None])
    w = v * np.exp(shift)
    pred = 0.75 * v / (1 + v.sum(1, keepdims=True)) + 0.25 * w / (1 + w.sum(1, keepdims=True))
    np.testing.assert_allclose(pred, shares * 0.7, rtol=1e-8)
    # the core investors (shift) now go to city 0 more than the others do
    assert w[0, 0] / (1 + w[0].sum()) > v[0, 0] / (1 + v[0].sum())


def test_rd_in_a_reverse_enclave_raises_attention_for_linked_segments_of_its_city():
    from sim.rules.agreements import rd_link_attention
    n = np.array([[0.0, 3.0]])              # one sector, two cities: 3 R&D units for city 1
    link = np.array([0.0, 0.0, 1.0, 0.0])   # R&D serves the core segment only
    m = rd_link_attention(n, link, strength=2.0)
    assert m.shape == (1, 4, 2)
    assert m[0, 2, 1] == pytest.approx(1 + 2 * 0.75) and m[0, 2, 0] == 1.0
    assert (m[0, [0, 1, 3]] == 1.0).all()


def test_reverse_enclave_rd_draws_linked_core_projects_to_the_source_city():
    from sim.config import load_scenario
    from sim.model import CircleModel
    from sim.model.utility import Choosers, reverse_enclave_attention, utilities
    from sim.rules.constants import Origin, ParkKind
    cfg = load_scenario("scenarios/homogenised.yaml", overrides=[
        "world.n_units=2000", "switches.reverse_enclave=true",
        "policies.agreements_voluntary=false"])
    model = CircleModel(cfg, seed=1)
    p, u = model.parks, model.units
    rev = int(np.flatnonzero(p.kind == ParkKind.REVERSE_ENCLAVE)[0])
    src = int(p.operator[rev])
    kg_core = 0 * 4 + 2
    who = Choosers(kg=np.array([kg_core]), origin=np.array([Origin.LOCAL]), home=np.array([0]),
                   current=np.array([-1]), stay_subsidy=np.zeros(1))
    before, _ = utilities(model.state, who, model.settings)
    rd = np.flatnonzero((u.segment == 0) & (u.sector == 0))[:3]
    u.park[rd] = rev                        # three R&D units of sector 0 move into the enclave
    model.rd_attention = reverse_enclave_attention(model.world, cfg, p, u)
    after, _ = utilities(model.state, who, model.settings)
    gain = after - before
    # attention is consideration: the source city's parks gain ln(1 + ρ link n/(n+1)) against every
    # other park (ρ = 1, link 1, n = 3); a common shift keeps the circle's inclusive value
    others = np.delete(gain[0], np.flatnonzero(p.city == src))
    assert np.allclose(others, others[0])
    assert gain[0, src] - others[0] == pytest.approx(np.log(1 + 0.75))
    assert others[0] < 0


def test_decay_makes_the_weighted_mean_elasticity_the_cited_one():
    from sim.rules.agreements import decay_for_mean_elasticity
    tie = np.array([[0.5, 1.0]])
    weight = np.array([[1.0, 3.0]])
    # mean tie (0.5 + 3)/4 = 0.875, so a cited mean elasticity of 0.7 needs β = 0.8
    beta = decay_for_mean_elasticity(0.7, tie, weight)
    assert beta == pytest.approx(0.8)
    # the projects' own elasticities 0.4 and 0.8 average 0.7 with those weights
    assert ((beta * tie) * weight).sum() / weight.sum() == pytest.approx(0.7)
    assert decay_for_mean_elasticity(0.0, tie, weight) == 0.0
    with pytest.raises(ValueError):
        decay_for_mean_elasticity(1.0, tie, np.zeros((1, 2)))


def test_model_calibrates_the_decay_on_the_base_year_chain():
    from sim.config import load_scenario
    from sim.model import CircleModel
    from sim.model.calibration import base_gravity_decay
    cfg = load_scenario("scenarios/coordinated.yaml", overrides=["world.n_units=300"])
    model = CircleModel(cfg, seed=1)
    world = model.world
    beta, eps = model.calibration.gravity_decay, cfg.economy.core_investor_distance_decay
    assert beta == pytest.approx(base_gravity_decay(world, eps))
    tie = linkage_to_core(world.output, world.links, world.core)
    weight = world.output.sum(axis=0)
    mean = (beta * tie * weight).sum() / weight.sum()
    assert mean == pytest.approx(eps)
    # a project fully tied to Wuhan decays faster than the average one (mean tie below 1)
    assert beta > eps
