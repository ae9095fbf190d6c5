"""Which assumed parameters move the calibration targets: a rule over a Morris screen.

``sim sensitivity --targets`` runs Morris elementary effects (Morris 1991; μ*, Campolongo et al.
2007) with each calibration target's model output as an output, all points on the same random
streams. SALib's elementary effects are per unit of the normalised range, so μ* is roughly the
change of a target when the parameter moves across its prior range.

The rule: a parameter's *score* on a target is μ* divided by the width of the target's band
(the tolerance the data allow). A parameter is **kept** when on some target its score is at
least :data:`MIN_SCORE` (moving it across its range moves the target by half a band or more),
its μ* exceeds its bootstrap half-width, and its μ* is at least :data:`NOISE_MULTIPLE` times the
target's *noise floor*: the μ* that replicate noise alone would give (the mean absolute
difference between two replicates at one point, over the design's step Δ = 2/3), measured by
:func:`noise_floor`; at most :data:`MAX_KEPT`, the highest scores first. The noise floor was
added after the first screen on the model (1,000 units) kept twelve parameters on the status quo
at rest alone, where a small city's 20-quarter change is mostly sampling noise. The rest stay at
their priors: moving them changes no calibration target beyond noise, so the data cannot say
anything about them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.estimation.targets import TargetLike

#: Least μ* / band width on some target for a parameter to be kept.
MIN_SCORE = 0.5
#: Most parameters kept (the fit's cost grows with each).
MAX_KEPT = 12
#: μ* must be at least this multiple of the target's noise floor.
NOISE_MULTIPLE = 2.0
#: The Morris step on the unit scale with SALib's 4 levels: p / (2 (p − 1)).
MORRIS_DELTA = 2 / 3


def noise_floor(replicates: pd.DataFrame, delta: float = MORRIS_DELTA) -> dict[str, float]:
    """Per target (column): the μ* of pure replicate noise, the mean absolute difference between
    two replicates at one parameter point (over all pairs of rows) divided by ``delta``."""
    floor = {}
    for name in replicates.columns:
        x = replicates[name].to_numpy(float)
        pairs = np.abs(x[:, None] - x[None, :])[np.triu_indices(len(x), 1)]
        floor[name] = float(pairs.mean() / delta) if len(pairs) else 0.0
    return floor


def screen(indices: pd.DataFrame, targets: Sequence[TargetLike],
           floor: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per parameter: its best target and score, kept or not, and why.

    Args:
        indices: Morris indices, one row per (output, parameter), outputs named as the targets.
        targets: the calibration targets (their band widths scale μ*).
        floor: each target's noise floor (:func:`noise_floor`); None: no floor.
    """
    width = {t.name: float(t.band_hi - t.band_lo) for t in targets}
    rows = indices[indices["output"].isin(list(width))].copy()
    rows["score"] = [m / width[o] if width[o] > 0 else float("inf")
                     for m, o in zip(rows["mu_star"], rows["output"])]
    noise = rows["output"].map(floor or {}).fillna(0.0)
    rows["distinct"] = ((rows["mu_star"] > rows["mu_star_conf"])
                        & (rows["mu_star"] >= NOISE_MULTIPLE * noise))
    eligible = rows[rows["distinct"]]
    best = rows.sort_values("score", ascending=False).groupby("parameter", sort=False).head(1)
    best_ok = (eligible.sort_values("score", ascending=False)
               .groupby("parameter", sort=False).head(1).set_index("parameter"))
    table = []
    for r in best.itertuples():
        ok = best_ok.loc[r.parameter] if r.parameter in best_ok.index else None
        score = float(ok["score"]) if ok is not None else 0.0
        table.append({"parameter": r.parameter, "best_target": r.output,
                      "score": float(r.score), "score_distinct": score})
    frame = pd.DataFrame(table).sort_values("score_distinct", ascending=False,
                                            kind="stable").reset_index(drop=True)
    passes = frame["score_distinct"] >= MIN_SCORE
    frame["kept"] = passes & (passes.cumsum() <= MAX_KEPT)
    frame["reason"] = [
        "moves a target by at least half its band" if kept else
        (f"passes, but beyond the {MAX_KEPT} highest" if ok else
         f"moves no target by half a band above noise (best {s:.2f} of a band on {t})")
        for kept, ok, s, t in zip(frame["kept"], passes, frame["score"], frame["best_target"])]
    return frame


def markdown(frame: pd.DataFrame) -> str:
    """The screen's verdict per parameter."""
    lines = [f"Kept {int(frame['kept'].sum())} of {len(frame)} parameters: μ*/band width at "
             f"least {MIN_SCORE} on some calibration target, μ* above its bootstrap half-width "
             f"and at least {NOISE_MULTIPLE:g} times the target's noise floor, at most "
             f"{MAX_KEPT}.", "",
             "| parameter | best target | μ*/band | kept | why |", "|---|---|---|---|---|"]
    for r in frame.itertuples():
        lines.append(f"| `{r.parameter}` | {r.best_target} | {r.score:.2f} | "
                     f"{'yes' if r.kept else 'no'} | {r.reason} |")
    return "\n".join(lines) + "\n"
