"""Where a difference in ring cities' structure similarity comes from: by city, sector and channel.

The ring-mean similarity S of the circle table is a function of the ring cities' manufacturing
output by sector (or sector-segment) at the last step, X. Between two scenarios paired by
replicate, ``S(X_b) − S(X_a) = Σ_ic G_ic (X_b − X_a)_ic`` exactly, with G the gradient of S
averaged along the straight line from X_a to X_b (an integrated gradient, by Gauss-Legendre
quadrature: the identity is the fundamental theorem of calculus). Any split of X into additive
parts then splits the difference exactly. X at the last step is split by how the output got
where it stands: each unit whose latest event in the ``transfers`` table is a placement
contributes the output it was placed with to that placement's channel (``new_investment``,
``relocation``, ``enclave``, ``park_within_park``, ``reverse_enclave``); what is left,
``in_place``, is the base year's units that are still where they were and every unit's output
change since it was placed (agglomeration). Contributions are summed per replicate and reported
with paired t-intervals over replicates.

Reads stored tables only (``sim.experiments.store.load_results``); never runs the model.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis import i18n, stats
from sim.analysis.plots import save_figure
from sim.experiments.store import load_results
from sim.paths import DATA_DIR

PLACEMENT_CHANNELS = ("new_investment", "relocation", "enclave", "park_within_park",
                      "reverse_enclave")
IN_PLACE = "in_place"
CHANNELS = (*PLACEMENT_CHANNELS, IN_PLACE)
QUADRATURE_NODES = 16


def ring_similarity(x: np.ndarray) -> float:
    """Mean cosine similarity over all pairs of rows of ``x`` (ring cities x cells, >= 0)."""
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    rows, cols = np.triu_indices(len(x), k=1)
    return float((unit @ unit.T)[rows, cols].mean())


def ring_similarity_gradient(x: np.ndarray) -> np.ndarray:
    """Gradient of :func:`ring_similarity` with respect to every cell of ``x``.

    For a pair, ``∂cos(x_i, x_j)/∂x_i = (u_j − cos_ij u_i) / |x_i|`` with u the unit rows, so
    ``∂S/∂x_i = [(Σ_j u_j − u_i) − (Σ_j cos_ij − 1) u_i] / (|x_i| P)``, P the number of pairs.
    """
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    unit = x / norm
    cosines = unit @ unit.T
    pairs = len(x) * (len(x) - 1) / 2
    others = unit.sum(axis=0, keepdims=True) - unit
    return (others - (cosines.sum(axis=1, keepdims=True) - 1.0) * unit) / (norm * pairs)


def integrated_gradient(x_a: np.ndarray, x_b: np.ndarray,
                        nodes: int = QUADRATURE_NODES) -> np.ndarray:
    """The gradient of S averaged along the line from ``x_a`` to ``x_b`` (Gauss-Legendre), so
    that ``Σ G (x_b − x_a)`` is ``S(x_b) − S(x_a)`` up to the quadrature's error."""
    points, weights = np.polynomial.legendre.leggauss(nodes)
    return sum(w / 2 * ring_similarity_gradient(x_a + (p + 1) / 2 * (x_b - x_a))
               for p, w in zip(points, weights))


def _cells(frame: pd.DataFrame, level: str) -> pd.Series:
    if level == "sector":
        return frame["sector"]
    return frame["sector"].astype(str) + "/" + frame["segment"].astype(str)   # categoricals


def _matrix(frame: pd.DataFrame, city_column: str, ring: Sequence[str], cells: Sequence[str],
            level: str) -> np.ndarray:
    """Ring cities x cells sum of ``output`` (cities or cells absent: 0)."""
    frame = frame.assign(cell=_cells(frame, level), output=frame["output"].astype(float))
    table = frame.pivot_table(index=city_column, columns="cell", values="output", aggfunc="sum",
                              fill_value=0.0, observed=True)
    return table.reindex(index=list(ring), columns=list(cells), fill_value=0.0).to_numpy(float)


def stock_by_channel(sectors: pd.DataFrame, transfers: pd.DataFrame, ring: Sequence[str],
                     cells: Sequence[str], level: str = "sector") -> dict[str, np.ndarray]:
    """One run's ring output at its last step, split by how it got there (``CHANNELS``).

    Args:
        sectors, transfers: one run's rows of the two stored tables (``sectors``: its last
            step is used).
        ring: the ring cities (rows); cells: sectors (or ``sector/segment``) measured.
    """
    total = _matrix(sectors[sectors["step"] == sectors["step"].max()], "city", ring, cells,
                    level)
    latest = transfers.sort_values("step", kind="stable").drop_duplicates("unit_id", keep="last")
    placed = latest[latest["channel"].isin(PLACEMENT_CHANNELS)]
    parts = {ch: _matrix(placed[placed["channel"] == ch], "to_city", ring, cells, level)
             for ch in PLACEMENT_CHANNELS}
    parts[IN_PLACE] = total - sum(parts.values())
    return parts


def decompose(batch, scenario: str, baseline: str, manufacturing: Sequence[str],
              level: str = "sector") -> pd.DataFrame:
    """Exact decomposition of ``S(scenario) − S(baseline)`` at the last step, per replicate.

    Args:
        batch: stored tables with ``sectors``, ``transfers`` and ``circle`` (scenario and
            replicate columns), e.g. ``load_results(DIR)``.
        manufacturing: the sector codes similarity is measured on.
        level: ``sector`` (the ``similarity_ring_mean`` column) or ``segment``
            (``similarity_ring_mean_segment``).

    Runs of sweep points are left out (the scenarios' unswept runs are compared).

    Returns:
        Long rows: ``replicate``, ``city``, ``cell``, ``channel``, ``contribution``; the
        contributions of a replicate sum to its difference in S (check: :func:`check_total`).
    """
    cities = list(dict.fromkeys(batch.sectors["city"]))
    ring = cities[1:]          # the core city first, as every table writes it
    pair = [baseline, scenario]
    circle = batch.circle[batch.circle["scenario"].isin(pair)]
    swept = stats.sweep_columns(circle)
    runs = set(circle.loc[circle[swept].isna().all(axis=1), "run"])    # sweep points left out
    sectors = batch.sectors[batch.sectors["run"].isin(runs)
                            & batch.sectors["sector"].isin(list(manufacturing))]
    sectors = stats.last_step(sectors)
    transfers = batch.transfers
    at = transfers.groupby("run", observed=True, sort=False).indices   # row numbers, no copies
    none = np.array([], dtype=np.intp)
    by_run = {(row.scenario, row.replicate): at.get(row.run, none)
              for row in circle.drop_duplicates("run").itertuples() if row.run in runs}
    cells = sorted(set(_cells(sectors, level)))
    city, cell = (a.ravel() for a in np.meshgrid(ring, cells, indexing="ij"))
    rows = []
    held = [set(sectors.loc[sectors["scenario"] == name, "replicate"]) for name in pair]
    for replicate in sorted(held[0] & held[1]):       # paired: replicates both scenarios ran
        parts = {name: stock_by_channel(
            sectors[(sectors["scenario"] == name) & (sectors["replicate"] == replicate)],
            transfers.iloc[by_run.get((name, replicate), none)], ring, cells, level)
            for name in pair}
        before, after = (sum(parts[name].values()) for name in pair)
        weight = integrated_gradient(before, after)
        for channel in CHANNELS:
            change = weight * (parts[scenario][channel] - parts[baseline][channel])
            rows.append(pd.DataFrame({"replicate": replicate, "city": city, "cell": cell,
                                      "channel": channel, "contribution": change.ravel()}))
    return pd.concat(rows, ignore_index=True)


def check_total(parts: pd.DataFrame, circle: pd.DataFrame, scenario: str, baseline: str,
                column: str = "similarity_ring_mean") -> float:
    """Largest gap, over replicates, between the summed contributions and the circle table's
    difference in ``column`` at the last step (quadrature and rounding error only)."""
    swept = stats.sweep_columns(circle)
    last = stats.last_step(circle[circle[swept].isna().all(axis=1)])
    last = last.set_index(["scenario", "replicate"])[column]
    summed = parts.groupby("replicate")["contribution"].sum()
    table = last.loc[scenario].reindex(summed.index) - last.loc[baseline].reindex(summed.index)
    return float((summed - table).abs().max())


def summarise(parts: pd.DataFrame, by: str) -> pd.DataFrame:
    """Contributions summed within each replicate by ``by`` (``channel``, ``city``, ``cell``),
    then mean and paired t-interval over replicates, largest first."""
    per_replicate = parts.groupby(["replicate", by])["contribution"].sum().unstack(by)
    rows = [{by: key, **stats.paired_t(per_replicate[key].to_numpy())}
            for key in per_replicate.columns]
    table = pd.DataFrame(rows)[[by, "n", "mean", "ci_low", "ci_high", "verdict"]]
    return table.sort_values("mean", key=np.abs, ascending=False).reset_index(drop=True)


#: The comparisons that explain the similarity result: the regime against competition, the two
#: rules that move similarity most (the shared platform and the investment map, removed from the
#: regime and added alone to competition) and the subsidy cap removed from the regime (the one
#: other rule whose removal moves it; docs/PAIRS.md).
COMPARISONS: tuple[tuple[str, str], ...] = (
    ("coordinated", "homogenised"),
    ("coordinated", "coordinated_without_shared_platform"),
    ("homogenised_with_shared_platform", "homogenised"),
    ("coordinated", "coordinated_without_investment_map"),
    ("homogenised_with_investment_map", "homogenised"),
    ("coordinated", "coordinated_without_subsidy_cap"),
)


def explain(batch, manufacturing: Sequence[str],
            comparisons: Sequence[tuple[str, str]] = COMPARISONS,
            level: str = "sector") -> pd.DataFrame:
    """:func:`summarise` by channel, city and cell for every comparison the batch holds.

    Returns:
        Long rows: ``scenario``, ``baseline``, ``by`` (channel, city or cell), ``key`` and the
        interval columns of :func:`summarise`; the total difference as ``by == "total"``.
    """
    held = set(batch.circle["scenario"])
    frames = []
    for scenario, baseline in comparisons:
        if not {scenario, baseline} <= held:
            continue
        parts = decompose(batch, scenario, baseline, manufacturing, level)
        total = parts.assign(total="total")
        for by, frame in (("total", total), ("channel", parts), ("city", parts), ("cell", parts)):
            table = summarise(frame, by).rename(columns={by: "key"})
            frames.append(table.assign(scenario=scenario, baseline=baseline, by=by))
    columns = ["scenario", "baseline", "by", "key", "n", "mean", "ci_low", "ci_high", "verdict"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(
        columns=columns)


def plot_explained(table: pd.DataFrame, by: str, lang: str = "en", top: int = 11):
    """One panel per comparison: the contributions by ``by`` (channel, city or cell) with 95%
    t-intervals, largest first, and the total difference in the title. 16 x 9 inches."""
    from matplotlib.figure import Figure

    pairs = list(dict.fromkeys(zip(table["scenario"], table["baseline"])))
    with i18n.figure_style(lang):
        fig = Figure(figsize=(16, 9), layout="constrained")
        axes = fig.subplots(2, 3).ravel()
        for ax, (scenario, baseline) in zip(axes, pairs):
            rows = table[(table["scenario"] == scenario) & (table["baseline"] == baseline)]
            total = rows[rows["by"] == "total"].iloc[0]
            part = rows[rows["by"] == by].head(top).iloc[::-1]
            err = np.nan_to_num([part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]])
            colours = np.where(part["verdict"].isin(["higher", "lower"]), "#4c72b0", "#b0b0b0")
            ax.barh(range(len(part)), part["mean"], xerr=err, color=colours,
                    error_kw={"elinewidth": 0.7, "capsize": 2})
            ax.set_yticks(range(len(part)), [key_label(by, k, lang) for k in part["key"]],
                          fontsize=8)
            ax.axvline(0, color="black", linewidth=0.6)
            ax.set_title(f"{i18n.scenario_label(scenario, lang)}\n− "
                         f"{i18n.scenario_label(baseline, lang)}: {total['mean']:+.4f} "
                         f"[{total['ci_low']:+.4f}, {total['ci_high']:+.4f}]", fontsize=8.5)
        for ax in axes[len(pairs):]:
            ax.set_visible(False)
    return fig


def key_label(by: str, key: str, lang: str) -> str:
    if by == "city":
        return i18n.city_label(key, lang)
    if by == "cell":
        sector, _, segment = key.partition("/")
        label = i18n.sector_label(sector, lang)
        return f"{label} / {i18n.segment_label(segment, lang)}" if segment else label
    return "in place" if key == IN_PLACE and lang == "en" else \
        "在位" if key == IN_PLACE else i18n.channel_label(key, lang)


def manufacturing_sectors() -> list[str]:
    """The manufacturing sectors of the bundled data (similarity's sectors)."""
    sectors = pd.read_csv(DATA_DIR / "sectors.csv")
    default = sectors["default"].astype(str).str.lower() == "yes"
    return list(sectors.loc[(sectors["group"] == "manufacturing") & default, "code"])


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.analysis.similarity_sources BATCH --out DIR``: the decomposition of every
    comparison in :data:`COMPARISONS` the batch holds, as ``similarity_sources.csv`` and figures
    by channel, city and sector (``similarity_<by>.png``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sim.analysis.similarity_sources",
                                     description=main.__doc__.split("\n")[0])
    parser.add_argument("batch")
    parser.add_argument("--out", required=True)
    parser.add_argument("--level", choices=("sector", "segment"), default="sector")
    parser.add_argument("--lang", choices=("en", "zh"), default="en")
    args = parser.parse_args(argv)
    table = explain(load_results(args.batch), manufacturing_sectors(), level=args.level)
    if table.empty:
        print(f"{args.batch}: holds none of the comparisons {COMPARISONS}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / f"similarity_sources_{args.level}.csv", index=False)
    for by in ("channel", "city", "cell"):
        save_figure(plot_explained(table, by, args.lang), out, f"similarity_{args.level}_{by}",
                    args.lang)
    print(out / f"similarity_sources_{args.level}.csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
