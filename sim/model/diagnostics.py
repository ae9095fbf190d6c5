"""What a process's models said about themselves that their outputs do not carry.

A study's evaluator (a sensitivity sample, a reference table's draw, a calibration's simulation,
a scoreboard's realisation) returns only its outputs: numbers per target or metric. Whether the
models behind them started from a base year at rest is not one of them, so each model built
notes here whether its base year's fixed points settled, and the code that runs an evaluator
reads the count before and after (:func:`unsettled_since`). Counts are per thread: a worker
(a process, or a thread of a Dask worker that runs several tasks at once) counts the models it
built, which are the ones its own evaluation made.
"""

from __future__ import annotations

import threading

_count = threading.local()

#: What the studies' warnings call such a base year (one wording for every report).
NOT_AT_REST = ("a base year whose fixed point stopped at its cap (the status quo not exactly at "
               "rest)")


def ran_not_at_rest(k: int, n: int, what: str) -> str:
    """``"k of n <what> ran on"`` such a base year: the sentence every study's warning opens
    with."""
    return f"{k} of {n} {what} ran on {NOT_AT_REST}"


def note_base_year(settled: bool) -> None:
    """Count a model built on a base year whose fixed points did (not) settle."""
    if not settled:
        _count.unsettled = unsettled_models() + 1


def unsettled_models() -> int:
    """Models built in this thread on a base year that stopped at one of its caps."""
    return getattr(_count, "unsettled", 0)


def unsettled_since(mark: int) -> int:
    """Such models built since ``mark`` (an earlier :func:`unsettled_models`)."""
    return unsettled_models() - mark
