"""The speed memos give the numbers computing everything again gives, and forget what changed.

``sim.model.utility.RowsKept`` keeps one valuation's utilities and logit probabilities for the
next valuation of the same deciders (an agreement's share variants): only the rows whose
attention or entry moved are computed again, and nothing is kept when the offers, the other
parts or the availability differ.
"""

import dataclasses

import numpy as np
import pytest

from sim.config import load_scenario
from sim.model import CircleModel, negotiation
from sim.model.forecast import decider_groups
from sim.model.utility import RowsKept, utility_parts
from sim.rules.choice import nested_probabilities
from sim.rules.constants import ParkKind
from sim.rules.economy import park_offers


@pytest.fixture(scope="module")
def enclave_variants():
    """A small coordinated model at step 0, its deciders and an enclave's share variants."""
    cfg = load_scenario("scenarios/coordinated.yaml", overrides=["world.n_units=1000"])
    model = CircleModel(cfg, seed=2)
    state, book, p = model.state, model.agreements, model.parks
    i = int(np.flatnonzero(p.kind[book.park] == ParkKind.ENCLAVE)[0])
    variants = [negotiation._with_agreement(p, book, i, state.step, float(book.land[i]),
                                            share, share, False) for share in (0.1, 0.3, 0.5)]
    return state, decider_groups(state, np.arange(state.kg)), variants


class _NeverKept(RowsKept):
    """Every row computed again at every valuation."""

    def utilities(self, parts, offers):
        return parts.at(offers)

    def logit(self, u, nest, n_nests, nest_param, available):
        return nested_probabilities(u, nest, n_nests, nest_param, available)


def test_share_variants_valued_with_rows_kept_equal_every_row_computed(enclave_variants,
                                                                      monkeypatch):
    state, groups, variants = enclave_variants
    kept = negotiation._share_variants(state, variants, groups)
    monkeypatch.setattr(negotiation, "RowsKept", _NeverKept)
    again = negotiation._share_variants(state, variants, groups)
    assert len(kept) == 3
    for a, b in zip(kept, again, strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(kept[0], kept[2])     # the shares do move the valuation


def _parts(state, groups, parks, like=None):
    valued = dataclasses.replace(state, parks=parks)
    return valued, utility_parts(valued, groups[0], valued.settings, like)


def test_rows_kept_computes_again_only_the_rows_whose_attention_moved(enclave_variants):
    state, groups, variants = enclave_variants
    first_state, first = _parts(state, groups, variants[0])
    offers = park_offers(state.settings, variants[0], state.step)
    memo = RowsKept()
    memo.utilities(first, offers)
    assert memo.changed is None                     # nothing kept before the first valuation
    _, second = _parts(first_state, groups, variants[2], like=first)
    u, available = memo.utilities(second, offers)
    moved = (second.log_att != first.log_att).any(axis=1)
    assert 0 < len(memo.changed) < len(u)
    assert np.array_equal(memo.changed, np.flatnonzero(moved))
    assert np.array_equal(u, second.at(offers)[0])
    assert np.array_equal(available, second.available)
    nest, c, lam = state.parks.city, state.world.n_cities, state.config.economy.nest_parameter
    assert np.array_equal(memo.logit(u, nest, c, lam, available),
                          nested_probabilities(u, nest, c, lam, available))


def test_rows_kept_forgets_at_other_offers_other_parts_or_other_availability(enclave_variants):
    state, groups, variants = enclave_variants
    _, first = _parts(state, groups, variants[0])
    offers = park_offers(state.settings, variants[0], state.step)
    nest, c, lam = state.parks.city, state.world.n_cities, state.config.economy.nest_parameter
    memo = RowsKept()
    u, available = memo.utilities(first, offers)
    memo.logit(u, nest, c, lam, available)
    other_offers = offers.copy()
    other_offers[:, 0] += 0.05
    u, available = memo.utilities(first, other_offers)          # offers moved: every row
    assert memo.changed is None and np.array_equal(u, first.at(other_offers)[0])
    rebuilt = utility_parts(state, groups[0], state.settings)  # other arrays: every row
    u, available = memo.utilities(rebuilt, other_offers)
    assert memo.changed is None and np.array_equal(u, rebuilt.at(other_offers)[0])
    u, available = memo.utilities(rebuilt, other_offers)        # the same parts: no row
    assert len(memo.changed) == 0
    fewer = available.copy()
    fewer[:, 0] = False                   # an availability not seen before: every row again
    assert np.array_equal(memo.logit(u, nest, c, lam, fewer),
                          nested_probabilities(u, nest, c, lam, fewer))
