"""What `sim evidence` writes: evidence.csv, evidence.md, evidence.png and evidence.json.

``evidence.json`` records the code and data the scoreboard was computed from (hashes) and its
summary (targets hit, missed, without data), so that ``sim compare`` can say how well the model
that made a batch fits history. :func:`update_document` puts the markdown table into a document
between two marker lines, so docs/VALIDATION.md takes its figures from the command's output.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.model import diagnostics
from sim.rules.constants import TOLERANCE

BEGIN, END = "<!-- evidence:begin -->", "<!-- evidence:end -->"
CLIP = 4.0      # band units beyond which a marker is drawn at the edge


def summary(frame: pd.DataFrame) -> dict:
    """Hit, missed and no-data target names, and counts by role."""
    by_status = {s: list(frame.loc[frame.status == s, "target"])
                 for s in ("hit", "miss", "no data", "no model value")}
    roles = {role: {s: int(((frame.role == role) & (frame.status == s)).sum())
                    for s in ("hit", "miss", "no data")}
             for role in ("calibration", "validation")}
    return {"hit": by_status["hit"], "miss": by_status["miss"],
            "no_data": by_status["no data"] + by_status["no model value"], "by_role": roles}


def summary_line(s: dict) -> str:
    """One sentence: how many targets with data the model hits, by role."""
    with_data = len(s["hit"]) + len(s["miss"])
    parts = [f"{r['hit']} of {r['hit'] + r['miss']} {role}"
             for role, r in s["by_role"].items()]
    return (f"{len(s['hit'])} of {with_data} targets with data hit ({', '.join(parts)}); "
            f"{len(s['no_data'])} without data")


def _num(value: float, digits: int = 4) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.{digits}f}"


def markdown_table(frame: pd.DataFrame) -> str:
    """The scoreboard as a markdown table (one row per target)."""
    lines = ["| target | role | data | band | model mean | model 5-95% | benchmark | result |",
             "|---|---|---|---|---|---|---|---|"]
    for r in frame.itertuples():
        band = "" if math.isnan(r.band_lo) else f"{_num(r.band_lo)}-{_num(r.band_hi)}"
        spread = "" if math.isnan(r.model_lo) else f"{_num(r.model_lo)}-{_num(r.model_hi)}"
        bench = _num(r.benchmark) + (f" ({r.benchmark_status})" if r.benchmark_status else "")
        result = f"**{r.status}**" if r.status == "miss" else r.status
        lines.append(f"| {r.target} | {r.role} | {_num(r.data)} | {band} | "
                     f"{_num(r.model_mean)} | {spread} | {bench} | {result} |")
    return "\n".join(lines)


def markdown(frame: pd.DataFrame, meta: dict) -> str:
    """evidence.md: how it was made, the summary, the table, the missed targets."""
    s = summary(frame)
    missed = ", ".join(s["miss"]) or "none"
    return "\n".join([
        f"Scoreboard of `sim evidence`: {meta['replicates']} replicates of {meta['n_units']:,} "
        f"units, seed {meta['seed']}, overrides {meta['overrides'] or 'none'}; code "
        f"{meta['code_hash']}, data {meta['data_hash'][:16]}; {meta['cpu_seconds']:.0f} CPU "
        f"seconds. A target is hit when the model's mean over replicates lies in its band.",
        *_unsettled_note(meta),
        "", f"**{summary_line(s)}.** Missed: {missed}.", "", markdown_table(frame), ""])


def _unsettled_note(meta: dict) -> list[str]:
    k = int(meta.get("unsettled_replicates") or 0)
    if not k:
        return []
    ran = diagnostics.ran_not_at_rest(k, meta["replicates"], "replicates")
    return ["", f"Warning: {ran}; their targets carry its drift."]


def _band_units(value: np.ndarray, lo: float, hi: float) -> np.ndarray:
    centre, half = (lo + hi) / 2, max((hi - lo) / 2, TOLERANCE)
    return np.clip((value - centre) / half, -CLIP, CLIP)


def plot_evidence(frame: pd.DataFrame) -> Figure:
    """Each target with data in units of its band (−1..1 is a hit): the model's 5-95% band and
    mean, the benchmark (x); at most 1600 px wide."""
    part = frame[~frame.data.isna()].reset_index(drop=True)
    fig = Figure(figsize=(16, max(4.0, 0.28 * len(part) + 1.5)), dpi=100, layout="constrained")
    ax = fig.subplots()
    ax.axvspan(-1, 1, color="tab:green", alpha=0.12, label="band of the target")
    for i, r in part.iterrows():
        colour = "tab:blue" if r.status == "hit" else "tab:red"
        lo, hi, mean, bench = _band_units(
            np.array([r.model_lo, r.model_hi, r.model_mean, r.benchmark]), r.band_lo, r.band_hi)
        ax.plot([lo, hi], [i, i], color=colour, lw=2)
        ax.plot([mean], [i], "o", color=colour)
        if not math.isnan(r.benchmark):
            ax.plot([bench], [i], "x", color="black")
    ax.set_yticks(range(len(part)), [f"{t} ({r[:3]}.)" for t, r in zip(part.target, part.role)],
                  fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(-CLIP - 0.3, CLIP + 0.3)
    ax.set_xlabel(f"position in the target's band (−1 to 1 is a hit; clipped at ±{CLIP:g}); "
                  "line: model 5-95%, dot: model mean (blue hit, red miss), x: persistence")
    ax.set_title(summary_line(summary(frame)))
    return fig


def write_outputs(folder: Path, frame: pd.DataFrame, meta: dict) -> None:
    """Write the four files into ``folder`` (which exists and is empty)."""
    frame.to_csv(folder / "evidence.csv", index=False)
    (folder / "evidence.md").write_text(markdown(frame, meta), encoding="utf-8")
    plot_evidence(frame).savefig(folder / "evidence.png")
    record = {**meta, **summary(frame), "targets": len(frame)}
    (folder / "evidence.json").write_text(json.dumps(record, indent=1), encoding="utf-8")


def update_document(document: Path, evidence_dir: Path) -> None:
    """Replace the text between the marker lines of ``document`` by ``evidence.md``."""
    text = document.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise ValueError(f"{document}: expected the marker lines {BEGIN} and {END}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    body = (evidence_dir / "evidence.md").read_text(encoding="utf-8").strip()
    document.write_text(f"{head}{BEGIN}\n{body}\n{END}{tail}", encoding="utf-8")
