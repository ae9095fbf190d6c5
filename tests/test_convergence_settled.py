"""The convergence benchmark's settling rule, worked by hand on made-up rows (no model runs).

A sign is settled at a size when the 95% interval there and at every larger size measured
excludes zero on the same side; ``at_default`` reports it at the default size.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from convergence import MEASURES, at_default, interval_sign, settled, settled_from  # noqa: E402

from sim.analysis.registry import HEADLINE  # noqa: E402


def _rows(measure: str, intervals: dict[int, tuple[float, float]]) -> list[dict]:
    return [dict(units=units, measure=measure, ci_low=low, ci_high=high,
                 sign=interval_sign(low, high)) for units, (low, high) in intervals.items()]


def test_interval_sign_by_hand() -> None:
    assert interval_sign(2.0, 5.0) == 1
    assert interval_sign(-5.0, -2.0) == -1
    assert interval_sign(-1.0, 3.0) == 0
    assert interval_sign(0.0, 3.0) == 0   # touching zero does not exclude it


def test_a_sign_settles_only_when_every_larger_size_agrees() -> None:
    # a: spans zero at 5k, positive from 10k up -> settled from 10k.
    # b: positive at 5k and 10k, spans zero at 20k, positive at 40k -> settled only at 40k.
    # c: negative at 5k, positive from 10k -> settled from 10k; 5k is not (other side).
    # d: positive everywhere but spans zero at the largest size -> settled at no size.
    rows = (_rows("a", {5000: (-1, 2), 10000: (1, 2), 20000: (1, 3), 40000: (0.5, 1)})
            + _rows("b", {5000: (1, 2), 10000: (1, 2), 20000: (-1, 3), 40000: (0.5, 1)})
            + _rows("c", {5000: (-3, -1), 10000: (1, 2), 20000: (1, 3), 40000: (0.5, 1)})
            + _rows("d", {5000: (1, 2), 10000: (1, 2), 20000: (1, 3), 40000: (-0.5, 1)}))
    marked = {(r["measure"], r["units"]): r["settled"] for r in settled(rows)}
    assert [marked["a", s] for s in (5000, 10000, 20000, 40000)] == [False, True, True, True]
    assert [marked["b", s] for s in (5000, 10000, 20000, 40000)] == [False, False, False, True]
    assert [marked["c", s] for s in (5000, 10000, 20000, 40000)] == [False, True, True, True]
    assert [marked["d", s] for s in (5000, 10000, 20000, 40000)] == [False] * 4
    assert [settled_from(rows, m) for m in "abcd"] == [10000, 40000, 10000, None]
    lines = at_default(rows, 20000)
    assert lines[0] == "a at 20,000 units: positive, settled (settled from 10,000 units)"
    assert lines[1] == ("b at 20,000 units: interval spans zero: sign not distinguishable "
                        "(settled from 40,000 units)")
    assert lines[3] == ("d at 20,000 units: excludes zero here but not at every larger size: "
                        "not settled (settled at no size measured)")
    assert at_default(rows, 30000)[0].startswith("a at 30,000 units: not measured")


def test_the_measures_are_the_registrys_headline() -> None:
    assert [m.split(".")[0] for m in MEASURES if m.endswith(".last")] == list(HEADLINE)
    assert {"welfare.pv", "gdp_total.pv", "subsidy_total.pv"} <= set(MEASURES)
    assert "theil.pv" not in MEASURES
