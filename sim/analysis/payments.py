"""Who paid whom under the agreements: GDP-credit and tax shares paid and left unpaid, and side
payments, per scenario and pair of cities, from the stored ``flows`` table.

Flows are annual rates recorded each quarter; a quarter's amount is the rate over
:data:`~sim.rules.constants.STEPS_PER_YEAR`, so the table's sums are 亿元 over the horizon (mean
per run). Reads stored tables only.
"""

from __future__ import annotations

import pandas as pd

from sim.analysis import i18n
from sim.rules.constants import STEPS_PER_YEAR

#: flow kind -> column of the table
COLUMNS = {"gdp_credit": "credit_paid", "gdp_credit_unpaid": "credit_unpaid", "tax": "tax_paid",
           "tax_unpaid": "tax_unpaid", "side_payment": "side_payment"}
TEXT: dict[str, tuple[str, str]] = {
    "heading": ("Who paid whom under the agreements", "合作协议下的支付"),
    "intro": ("Amounts over the horizon (亿元, mean per run) that agreements moved from one city "
              "to another: the agreed GDP credit and tax shares paid and those the host kept "
              "(unpaid: each period's shares are paid with a stated probability, "
              "policies.agreements.payment_probability), and the side payments bargained "
              "under the office's proposals. Paid share: shares paid over shares due.",
              "各情景协议在城市之间转移的金额(期内合计,亿元,每次运行平均):已支付与未支付(由东道主"
              "留下)的约定GDP与税收分成,以及在协调机构提议下商定的附带支付。已付比例:已付分成占应付分成之比。"),
    "credit_paid": ("GDP credit paid", "已付GDP分成"),
    "credit_unpaid": ("GDP credit unpaid", "未付GDP分成"),
    "tax_paid": ("tax paid", "已付税收分成"), "tax_unpaid": ("tax unpaid", "未付税收分成"),
    "side_payment": ("side payments", "附带支付"), "paid_share": ("paid share", "已付比例"),
}


def text(key: str, lang: str) -> str:
    return i18n.text_of(TEXT, key, lang)


def who_paid_whom(flows: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and pair (from, to): each agreement flow summed over the horizon (亿元, mean
    per run of the scenario) and the share of the GDP-credit and tax shares due that was paid.

    Args:
        flows: the batch's ``flows`` (``run``, ``kind``, ``from_city``, ``to_city``, ``amount``).
        runs: ``run`` and ``scenario`` of the runs to count (each scenario's runs).
    """
    columns = ["scenario", "from_city", "to_city", *COLUMNS.values(), "paid_share"]
    if flows is None or flows.empty:
        return pd.DataFrame(columns=columns)
    rows = flows[flows["kind"].isin(COLUMNS) & flows["run"].isin(set(runs["run"]))]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    scenario = runs.drop_duplicates("run").set_index("run")["scenario"]
    rows = rows.assign(scenario=rows["run"].map(scenario),
                       column=rows["kind"].map(COLUMNS),
                       amount=rows["amount"] / STEPS_PER_YEAR)
    table = rows.pivot_table(index=["scenario", "from_city", "to_city"], columns="column",
                             values="amount", aggfunc="sum", fill_value=0.0)
    table = table.reindex(columns=list(COLUMNS.values()), fill_value=0.0)
    per_run = runs.groupby("scenario")["run"].nunique()
    table = table.div(per_run.reindex(table.index.get_level_values("scenario")).to_numpy(),
                      axis=0)
    paid = table["credit_paid"] + table["tax_paid"]
    due = paid + table["credit_unpaid"] + table["tax_unpaid"]
    table["paid_share"] = (paid / due.where(due > 0)).astype(float)
    return table.reset_index()[columns]


def payments_table(table: pd.DataFrame, order: list[str], lang: str) -> pd.DataFrame:
    """:func:`who_paid_whom` as a readable table: scenario and pair in words."""
    rank = {s: i for i, s in enumerate(order)}
    table = table.assign(rank=table["scenario"].map(rank).fillna(len(rank))).sort_values(
        ["rank", "from_city", "to_city"])
    index = [f"{i18n.scenario_label(s, lang)}: {a} → {b}"
             for s, a, b in zip(table["scenario"], table["from_city"], table["to_city"])]
    out = {text(c, lang): [f"{v:,.1f}" for v in table[c]] for c in COLUMNS.values()}
    out[text("paid_share", lang)] = ["" if pd.isna(v) else f"{v:.2f}" for v in table["paid_share"]]
    return pd.DataFrame(out, index=index)


def report_blocks(flows: pd.DataFrame, runs: pd.DataFrame, order: list[str],
                  lang: str) -> list:
    """The report's blocks on who paid whom (none when no agreement moved anything)."""
    table = who_paid_whom(flows, runs)
    if table.empty:
        return []
    return [("h3", text("heading", lang)), ("p", text("intro", lang)),
            ("table", payments_table(table, order, lang))]
