"""Which agreements came about, and which scenarios therefore changed nothing.

Agreements in force in the base year are the status quo of every scenario; new ones are choices
of both cities (proposed by the circle's office or offered, then signed or declined; withheld
when the office's assessment says the circle would not gain; renewed or expired at the end of a
term), so a rule whose every agreement is declined never acts: its ablation is then identical to
the scenario it was made from. :func:`uptake` counts the ``agreements`` table per scenario, kind
and basis (in force, documented or hypothetical, so illustrative agreements are marked);
:func:`identical_scenarios` finds scenarios whose stored tables equal another scenario's on every
replicate and says why (from the switches that differ and the agreements signed under them); who
paid whom is :mod:`sim.analysis.payments`. Reads stored tables only.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from sim.analysis import i18n, payments
from sim.analysis.stats import ATOL, RTOL, ablation_pairs

STATUSES = ("in_force", "offered", "withheld", "signed", "declined", "renewed", "expired")
#: Agreement kinds through which a switch acts (the others act on every unit).
SWITCH_KINDS: dict[str, tuple[str, ...]] = {
    "enclave": ("enclave",), "park_within_park": ("park_within_park",),
    "reverse_enclave": ("reverse_enclave",), "gdp_tax_sharing": ("enclave", "reverse_enclave")}
#: Tables compared, every numeric column, to call two scenarios identical.
COMPARED = ("circle", "cities", "fiscal")
TEXT: dict[str, tuple[str, str]] = {
    "heading": ("Agreements offered, signed and declined", "合作协议的提出、签署与拒绝"),
    "intro": ("Co-construction agreements per run (mean over the scenario's runs) by kind, basis "
              "and outcome over the horizon. In force: in operation in the base year, the status "
              "quo of every scenario. A new agreement is proposed by the circle's coordination "
              "office where its assessment says the circle gains (withheld where it does not), "
              "or offered at its date under the voluntary rule, and signed or declined by both "
              "cities' own choice (a declined or withheld offer comes back a year later); at the "
              "end of a term it is renewed or expires. Hypothetical: illustrative agreements, "
              "not documented.",
              "各情景每次运行的合作协议数(各次运行的平均),按类型、依据与结果统计。已生效:基年已在运行,"
              "是各情景的现状。新协议由城市圈协调机构在其评估认为城市圈受益时提出(否则暂缓),或在自愿规则下"
              "按期提出,由双方城市自主决定签署或拒绝(被拒绝或暂缓的提议一年后再次提出);协议期满时续签或到期。"
              "假设:示意性协议,无文献记载。"),
    "in_force": ("in force", "已生效"), "withheld": ("withheld", "暂缓"),
    "basis_in_force": ("in force", "已生效"), "basis_documented": ("documented", "有记载"),
    "basis_hypothetical": ("hypothetical", "假设"),
    "none": ("No agreement was offered in any scenario of this batch.",
             "本批次各情景均未提出任何合作协议。"),
    "kind": ("Kind", "类型"),
    "offered": ("proposed or offered", "提出"), "signed": ("signed", "签署"),
    "declined": ("declined", "拒绝"),
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
    "withheld_all": ("the circle's office withheld every {kind} under {where} ({k} times: its "
                     "assessment said the circle would not gain), so {switch} never acted",
                     "{where}下协调机构暂缓了全部{kind}(共{k}次:评估认为城市圈不受益),{switch}从未起作用"),
    "no_change": ("switching {switch} changed no decision in these runs",
                  "开关{switch}在这些运行中未改变任何决策"),
}
KIND_NAMES = {"enclave": ("enclave park", "飞地园区"),
              "park_within_park": ("park-within-park branch", "园外园"),
              "reverse_enclave": ("reverse enclave", "反向飞地")}


def text(key: str, lang: str) -> str:
    return i18n.text_of(TEXT, key, lang)


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
    """Agreements per run by scenario, kind, basis and status (mean over the scenario's unswept
    runs, runs without any agreement counted as zero). Columns ``scenario``, ``kind``,
    ``basis`` (empty for runs stored before agreements had one) and one per status."""
    runs = unswept_runs(batch)
    table = getattr(batch, "agreements", None)
    empty = pd.DataFrame(columns=["scenario", "kind", "basis", *STATUSES])
    if table is None or table.empty:
        return empty
    rows = table[table["run"].isin(set(runs["run"]))]
    if rows.empty:
        return empty
    rows = rows.assign(basis=rows["basis"].fillna("") if "basis" in rows else "")
    counts = rows.groupby(["scenario", "kind", "basis", "status"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=list(STATUSES), fill_value=0).astype(float)
    per_run = runs.groupby("scenario")["run"].nunique()
    n = np.array([per_run[s] for s in counts.index.get_level_values("scenario")], dtype=float)
    return (counts / n[:, None]).reset_index()


def uptake_table(table: pd.DataFrame, order: list[str], lang: str) -> pd.DataFrame:
    """The uptake as a readable table: scenario, kind and basis in words, counts per run (the
    statuses that occur in the batch)."""
    rank = {s: i for i, s in enumerate(order)}
    table = table.assign(rank=table["scenario"].map(rank).fillna(len(rank)))
    table = table.sort_values(["rank", "kind", "basis"])
    index = [f"{i18n.scenario_label(s, lang)}: {_kind(k, lang)}"
             + (f" ({text('basis_' + b, lang)})" if b else "")
             for s, k, b in zip(table["scenario"], table["kind"], table["basis"])]
    shown = [s for s in STATUSES if s in ("offered", "signed", "declined") or table[s].any()]
    return pd.DataFrame({text(s, lang): [f"{v:.3g}" for v in table[s]] for s in shown},
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
            withheld = int((mine["status"] == "withheld").sum())
            key = ("declined_all" if offered else "withheld_all" if withheld
                   else "never_offered")
            out.append(text(key, lang).format(kind=_kind(kind, lang), k=offered or withheld,
                                              switch=label,
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
    blocks += [("ul", flags)] if flags else []
    return blocks + payments.report_blocks(getattr(batch, "flows", None), unswept_runs(batch),
                                           order, lang)


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
