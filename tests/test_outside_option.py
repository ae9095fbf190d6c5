"""The outside option's productivity is an assumption of the country's accounts only.

``economy.outside_productivity`` scales what a project produces outside the circle (its output
per unit of productivity over the circle's base-year mean of its sector-segment). No unit or
city weighs it, so every table is the same at any value except the national welfare and its
outside account, and those move by exactly the scaled outside account.
"""

import numpy as np
import pandas as pd

from sim.config import load_scenario
from sim.model import run_scenario
from sim.model.tables import TABLES

SMALL = ["world.n_units=800"]
FACTOR = 0.8
NATIONAL_ONLY = {"welfare_national", "welfare_outside"}


def test_outside_productivity_scales_the_outside_account_and_nothing_else():
    base = load_scenario("scenarios/coordinated.yaml", overrides=SMALL)
    lower = load_scenario("scenarios/coordinated.yaml",
                          overrides=SMALL + [f"economy.outside_productivity={FACTOR}"])
    a = run_scenario(base, seed=3, steps=3)
    b = run_scenario(lower, seed=3, steps=3)
    for name in TABLES:
        left, right = getattr(a, name), getattr(b, name)
        same = [c for c in left.columns if c not in NATIONAL_ONLY]
        pd.testing.assert_frame_equal(left[same], right[same], check_exact=True)
    outside_a, outside_b = a.circle["welfare_outside"], b.circle["welfare_outside"]
    assert (outside_a > 0).all()
    np.testing.assert_allclose(outside_b, FACTOR * outside_a, rtol=1e-12)
    np.testing.assert_allclose(b.circle["welfare_national"] - a.circle["welfare_national"],
                               outside_b - outside_a, rtol=1e-9, atol=1e-9)
