"""Tables (CSV), figures and a markdown report section of a sensitivity study.

Figures: one bar chart of indices with 95% intervals per output (Morris mu* or Sobol S1 and ST),
and one scatter per metric of the paired difference (scenario - baseline) against its most
influential parameter. Plot functions return ``(Figure, Axes)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.model import diagnostics
from sim.sensitivity.core import DIRECTIONS, Study, most_influential
from sim.sensitivity.where_beats import beats_table, sign_ranges_table


def plot_indices(indices: pd.DataFrame, output: str, top: int = 15):
    """Horizontal bars of the ``top`` parameters' indices for ``output``, with 95% intervals."""
    import matplotlib.pyplot as plt

    rows = indices[indices["output"] == output]
    morris = "mu_star" in rows
    rows = rows.sort_values("mu_star" if morris else "ST", ascending=True).tail(top)
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(rows) + 1.5))
    ypos = np.arange(len(rows))
    if morris:
        ax.barh(ypos, rows["mu_star"], xerr=rows["mu_star_conf"], color="tab:blue", capsize=2)
        ax.set_xlabel("Morris mu* (mean |elementary effect|), 95% interval")
    else:
        ax.barh(ypos - 0.2, rows["S1"], 0.4, xerr=rows["S1_conf"], label="first order S1",
                capsize=2)
        ax.barh(ypos + 0.2, rows["ST"], 0.4, xerr=rows["ST_conf"], label="total ST", capsize=2)
        ax.set_xlabel("Sobol index, 95% interval")
        ax.legend(loc="lower right")
    ax.set_yticks(ypos, rows["parameter"], fontsize=8)
    ax.set_title(output)
    fig.tight_layout()
    return fig, ax


def plot_difference(points: pd.DataFrame, outputs: pd.DataFrame, metric: str, parameter: str):
    """The paired difference scenario - baseline of ``metric`` against ``parameter``."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    diff = outputs[f"{metric}.diff"]
    direction = DIRECTIONS.get(metric, 0)
    colour = np.where(np.sign(diff) == direction, "tab:green", "tab:red") if direction \
        else "tab:grey"
    ax.scatter(points[parameter], diff, s=10, c=colour)
    ax.axhline(0.0, color="black", linewidth=0.8)
    better = {1: "green: higher is better", -1: "green: lower is better"}.get(direction, "")
    ax.set_xlabel(parameter)
    ax.set_ylabel(f"{metric}: scenario - baseline")
    ax.set_title(f"{metric} difference vs its most influential parameter\n{better}", fontsize=9)
    fig.tight_layout()
    return fig, ax


def write_tables(study: Study, out: Path) -> dict[str, pd.DataFrame]:
    """``samples.csv`` (parameters and outputs), ``<method>.csv`` (indices), ``beats.csv``,
    ``sign_ranges.csv`` (where the difference on each welfare measure changes sign)."""
    tables = {"samples": pd.concat([study.points, study.outputs], axis=1),
              study.method: study.indices,
              "beats": beats_table(study.points, study.outputs),
              "sign_ranges": sign_ranges_table(study.points, study.outputs)}
    for name, frame in tables.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    return tables


def write_figures(study: Study, out: Path) -> list[Path]:
    """Index bars for every output; difference scatters for every metric with a baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = out / "figures"
    folder.mkdir(exist_ok=True)
    paths = []
    for output in study.indices["output"].unique():
        fig, _ = plot_indices(study.indices, output)
        paths.append(folder / f"indices_{output}.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    for column in [c for c in study.outputs if c.endswith(".diff")]:
        metric = column.removesuffix(".diff")
        fig, _ = plot_difference(study.points, study.outputs, metric,
                                 most_influential(study.indices, column))
        paths.append(folder / f"difference_{metric}.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


def report_section(study: Study, tables: dict[str, pd.DataFrame], title: str) -> str:
    """A markdown section: design, top parameters per output, where the scenario beats."""
    lines = [f"## {title}", "",
             f"{study.method.capitalize()} design over {study.problem['num_vars']} parameters, "
             f"{len(study.points)} sample points, wall time {study.wall_s:.0f} s.", ""]
    if study.unsettled:
        ran = diagnostics.ran_not_at_rest(study.unsettled, len(study.points), "points")
        lines += [f"**Warning:** {ran}; their outputs carry its drift (`samples/*.json`, field "
                  f"`unsettled_runs`).", ""]
    score = "mu_star_norm" if study.method == "morris" else "ST"
    lines += ["| output | most influential parameters (" + score + ") |", "|---|---|"]
    for output, rows in study.indices.groupby("output", sort=False):
        top = rows.sort_values(score, ascending=False).head(3)
        shown = ", ".join(f"{p} ({v:.2f})" for p, v in zip(top["parameter"], top[score]))
        lines.append(f"| {output} | {shown} |")
    if len(tables["beats"]):
        lines += ["", "Share of sampled parameter space in which the scenario beats the baseline "
                  "(rule from a depth-2 Gini tree on the sampled parameters):", "",
                  "| metric | better | share beats | mean difference | where it does not |",
                  "|---|---|---|---|---|"]
        for row in tables["beats"].itertuples():
            lines.append(f"| {row.metric} | {row.better} | {row.share_beats:.0%} | "
                         f"{row.mean_diff:.4g} | {row.where_not} |")
    turning = tables["sign_ranges"]
    turning = turning[turning["changes_sign"]] if len(turning) else turning
    if len(turning):
        lines += ["", "Parameters over whose range the mean difference changes sign "
                  "(bins of about equal count of the sampled values):", "",
                  "| metric | parameter | positive over | negative over | sign changes near |",
                  "|---|---|---|---|---|"]
        for row in turning.itertuples():
            lines.append(f"| {row.metric} | {row.parameter} | {row.positive or '—'} | "
                         f"{row.negative or '—'} | {row.crossings} |")
    return "\n".join(lines) + "\n"


def write_report(study: Study, out: str | Path, title: str = "Sensitivity") -> Path:
    """Write tables, figures and ``report.md`` into ``out``; return the report's path."""
    out = Path(out)
    tables = write_tables(study, out)
    write_figures(study, out)
    path = out / "report.md"
    path.write_text(report_section(study, tables, title), encoding="utf-8")
    return path
