"""Which agreements came about, and which scenarios therefore changed nothing.

Agreements are choices of both cities (offered, then signed or declined; renewed or expired at
the end of a term), so a rule whose every agreement is declined never acts: its ablation is then
identical to the scenario it was made from. :func:`uptake` counts the ``agreements`` table per
scenario and kind; :func:`identical_scenarios` finds scenarios whose stored tables equal another
scenario's on every replicate and says why (from the switches that differ and the agreements
signed under them). Reads stored tables only.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from sim.analysis import i18n
from sim.analysis.stats import ATOL, RTOL, ablation_pairs

STATUSES = ("offered", "signed", "declined", "renewed", "expired")
#: Agreement kinds through which a switch acts (the others act on every unit).
SWITCH_KINDS: dict[str, tuple[str, ...]] = {
    "enclave": ("enclave",), "park_within_park": ("park_within_park",),
    "reverse_enclave": ("reverse_enclave",), "gdp_tax_sharing": ("enclave", "reverse_enclave")}
#: Tables compared, every numeric column, to call two scenarios identical.
COMPARED = ("circle", "cities", "fiscal")
TEXT: dict[str, tuple[str, str]] = {
    "heading": ("Agreements offered, signed and declined", "合作协议的提出、签署与拒绝"),
    "intro": ("Co-construction agreements per run (mean over the scenario's runs) by kind and "
              "outcome over the horizon: each offer is signed or declined by both cities' own "
              "choice (a declined offer is made again a year later); at the end of a term an "
              "agreement is renewed or expires.",
              "各情景每次运行的合作协议数(各次运行的平均),按类型与结果统计:每项提议由双方城市自主决定"
              "签署或拒绝(被拒绝的提议一年后再次提出);协议期满时续签或到期。"),
    "none": ("No agreement was offered in any scenario of this batch.",
             "本批次各情景均未提出任何合作协议。"),
    "kind": ("Kind", "类型"),
    "offered": ("offered", "提出"), "signed": ("signed", "签署"), "declined": ("declined", "拒绝"),
    "renewed": ("renewed", "续签"), "expired": ("expired", "到期"),
    "identical": ("**{a}** is identical to **{b}** (up to rounding) in every column of the "
                  "circle, cities and fiscal tables, on each of its {n} paired replicate(s): "
                  "{why}.",
                  "**{a}**在全部{n}次配对重复中与**{b}**的城市圈、城市和财政表各列完全相同(仅有舍入误差):"
                  "{why}。"),
    "declined_all": ("every {kind} offered under {where} was declined ({k} offers), so "
                     "{switch} never acted",
                     "{where}下提出的{kind}全部被拒绝(共{k}次提议),{switch}从未起作用"),
    "never_offered": ("no {kind} was offered under {where} within the horizon, so {switch} "
                      "never acted", "{where}下期内未提出任何{kind},{switch}从未起作用"),
    "no_change": ("switching {switch} changed no decision in these runs",
                  "开关{switch}在这些运行中未改变任何决策"),
}
KIND_NAMES = {"enclave": ("enclave park", "飞地园区"),
              "park_within_park": ("park-within-park branch", "园外园"),
              "reverse_enclave": ("reverse enclave", "反向飞地")}


def text(key: str, lang: str) -> str:
    return TEXT[key][1 if lang == "zh" else 0]


def _kind(kind: str, lang: str) -> str:
    return KIND_NAMES.get(kind, (kind, kind))[1 if lang == "zh" else 0]


def unswept_runs(batch) -> pd.DataFrame:
    """``run``, ``scenario``, ``replicate`` of the runs at no sweep point."""
    circle = batch.circle
    swept = [k for k in getattr(batch, "swept_keys", []) if k in circle.columns]
    runs = circle.drop_duplicates("run")
    if swept:
        runs = runs[runs[swept].isna().all(axis=1)]
    return runs[["run", "scenario", "replicate"]]


def uptake(batch) -> pd.DataFrame:
    """Agreements per run by scenario, kind and status (mean over the scenario's unswept runs,
    runs without any agreement counted as zero). Columns ``scenario``, ``kind`` and one per
    status."""
    runs = unswept_runs(batch)
    table = getattr(batch, "agreements", None)
    if table is None or table.empty:
        return pd.DataFrame(columns=["scenario", "kind", *STATUSES])
    rows = table[table["run"].isin(set(runs["run"]))]
    if rows.empty:
        return pd.DataFrame(columns=["scenario", "kind", *STATUSES])
    counts = rows.groupby(["scenario", "kind", "status"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=list(STATUSES), fill_value=0).astype(float)
    per_run = runs.groupby("scenario")["run"].nunique()
    n = np.array([per_run[s] for s in counts.index.get_level_values("scenario")], dtype=float)
    return (counts / n[:, None]).reset_index()


def uptake_table(table: pd.DataFrame, order: list[str], lang: str) -> pd.DataFrame:
    """The uptake as a readable table: scenario and kind in words, counts per run."""
    rank = {s: i for i, s in enumerate(order)}
    table = table.assign(rank=table["scenario"].map(rank).fillna(len(rank)))
    table = table.sort_values(["rank", "kind"])
    index = [f"{i18n.scenario_label(s, lang)}: {_kind(k, lang)}"
             for s, k in zip(table["scenario"], table["kind"])]
    return pd.DataFrame({text(s, lang): [f"{v:.3g}" for v in table[s]] for s in STATUSES},
                        index=index)


@dataclasses.dataclass(frozen=True)
class Identical:
    """``scenario`` equals ``twin`` on ``replicates`` paired replicates, for ``reasons``."""

    scenario: str
    twin: str
    replicates: int
    reasons: tuple[str, ...]


def _fingerprints(batch, runs: pd.DataFrame) -> dict[tuple[str, int], list[np.ndarray]]:
    """Per (scenario, replicate): the numeric columns of each compared table."""
    out: dict[tuple[str, int], list] = {}
    ids = runs.set_index("run")
    for name in COMPARED:
        frame = getattr(batch, name, None)
        if frame is None or frame.empty:
            continue
        frame = frame[frame["run"].isin(set(runs["run"]))]
        numeric = [c for c in frame.select_dtypes("number").columns if c != "replicate"]
        for run, group in frame.groupby("run", sort=False):
            key = (ids.at[run, "scenario"], int(ids.at[run, "replicate"]))
            out.setdefault(key, []).append(group[numeric].to_numpy(dtype=float))
    return out


def same_tables(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    """Equal shapes and values up to rounding (:data:`sim.analysis.stats.RTOL`, ``ATOL``)."""
    return len(a) == len(b) and all(
        x.shape == y.shape and np.allclose(x, y, rtol=RTOL, atol=ATOL, equal_nan=True)
        for x, y in zip(a, b))


def identical_scenarios(batch, configs: dict[str, dict], baseline: str) -> list[Identical]:
    """One-at-a-time ablations whose compared tables equal another scenario's (the baseline
    first, then the others) on every replicate they share (at least one), with the reason."""
    runs = unswept_runs(batch)
    prints = _fingerprints(batch, runs)
    names = sorted(runs["scenario"].unique())
    ablations = {name for name, *_ in ablation_pairs(names)}
    found = []
    for a in names:
        if a == baseline or a not in ablations:
            continue
        for b in [baseline, *[n for n in names if n not in (a, baseline)]]:
            shared = sorted({r for s, r in prints if s == a} & {r for s, r in prints if s == b})
            if shared and all(same_tables(prints[(a, r)], prints[(b, r)]) for r in shared):
                found.append(Identical(a, b, len(shared), reasons(batch, configs, a, b)))
                break
    return found


def reasons(batch, configs: dict[str, dict], a: str, b: str, lang: str = "en") -> tuple:
    """Why ``a`` and ``b`` came out the same: per switch that differs, the agreements signed
    under the scenario that has it on (none signed, or none offered), else no decision
    changed."""
    on_a, on_b = ((configs.get(s) or {}).get("switches") or {} for s in (a, b))
    table = getattr(batch, "agreements", None)
    out = []
    for switch in sorted(set(on_a) | set(on_b)):
        if bool(on_a.get(switch)) == bool(on_b.get(switch)):
            continue
        where = a if on_a.get(switch) else b
        label = i18n.switch_label(switch, lang)
        kinds = SWITCH_KINDS.get(switch, ())
        rows = (table[(table["scenario"] == where) & table["kind"].isin(kinds)]
                if kinds and table is not None and not table.empty else None)
        if rows is None:
            out.append(text("no_change", lang).format(switch=label))
            continue
        for kind in kinds:
            mine = rows[rows["kind"] == kind]
            offered = int((mine["status"] == "offered").sum())
            taken = int(mine["status"].isin(["signed", "renewed"]).sum())
            if taken:
                continue
            key = "declined_all" if offered else "never_offered"
            out.append(text(key, lang).format(kind=_kind(kind, lang), k=offered, switch=label,
                                              where=i18n.scenario_label(where, lang)))
    return tuple(out) or (text("no_change", lang).format(switch="—"),)


def report_blocks(batch, configs: dict[str, dict], baseline: str, order: list[str],
                  lang: str, flags: list[str] | None = None) -> list:
    """The report's section: agreement uptake per scenario and the identical ablations
    (``flags``: :func:`identical_items`, computed here when not given)."""
    table = uptake(batch)
    blocks: list = [("h2", text("heading", lang)), ("p", text("intro", lang))]
    blocks.append(("table", uptake_table(table, order, lang)) if len(table)
                  else ("p", text("none", lang)))
    flags = identical_items(batch, configs, baseline, lang) if flags is None else flags
    return blocks + ([("ul", flags)] if flags else [])


def identical_items(batch, configs: dict[str, dict], baseline: str, lang: str) -> list[str]:
    """One bullet per scenario identical to another, with the reason."""
    items = []
    for found in identical_scenarios(batch, configs, baseline):
        why = ("; " if lang != "zh" else ";").join(reasons(batch, configs, found.scenario,
                                                           found.twin, lang))
        items.append(text("identical", lang).format(
            a=i18n.scenario_label(found.scenario, lang), b=i18n.scenario_label(found.twin, lang),
            n=found.replicates, why=why))
    return items
