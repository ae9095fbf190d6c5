"""``utility.kinds_of`` gives the distinct deciders exactly as ``np.unique(axis=0)`` does."""

import numpy as np
import pytest

from sim.model.utility import kinds_of


@pytest.mark.parametrize("seed", range(20))
def test_kinds_equal_numpy_unique_on_random_rows(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(1, 400)), int(rng.integers(1, 6))
    rows = rng.integers(-3, 4, size=(n, k)).astype(np.int64)
    first, inverse = kinds_of(rows)
    _, want_first, want_inverse = np.unique(rows, axis=0, return_index=True,
                                            return_inverse=True)
    np.testing.assert_array_equal(first, want_first)
    np.testing.assert_array_equal(inverse, want_inverse.ravel())


def test_kinds_worked_by_hand():
    rows = np.array([[2, 1], [0, 5], [2, 1], [0, 4], [0, 5]])
    first, inverse = kinds_of(rows)
    # sorted kinds: (0,4) first at row 3, (0,5) at row 1, (2,1) at row 0
    assert first.tolist() == [3, 1, 0]
    assert inverse.tolist() == [2, 1, 2, 0, 1]
    assert rows[first][inverse].tolist() == rows.tolist()


def test_no_rows():
    first, inverse = kinds_of(np.zeros((0, 3), dtype=np.int64))
    assert len(first) == 0 and len(inverse) == 0
