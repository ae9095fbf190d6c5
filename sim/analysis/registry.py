"""The metric registry: every metric the report, figures and spreadsheet show, declared once.

A new metric is one line in :data:`CIRCLE` (a column of the stored ``circle`` table) or
:data:`CITY` (a measure per city). A declared metric that is absent from the stored tables of a
batch is skipped, never an error, so a batch written before a metric existed still reports.

``better`` is the direction a planner prefers: +1 higher is better, −1 lower is better, 0 the
metric describes the outcome without ranking it (the report then says "higher"/"lower" only).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Metric:
    """One reported metric: its code (a stored column), labels, unit and direction."""

    code: str
    en: str
    zh: str
    unit_en: str
    unit_zh: str
    better: int = 0
    flow: bool = False  # an annual money flow: a discounted total over the horizon means something
    headline: bool = False    # shown in the executive summary and the headline figure
    number_format: str = "0.0000"   # indices: four decimals

    def label(self, lang: str = "en") -> str:
        return self.zh if lang == "zh" else self.en

    def unit(self, lang: str = "en") -> str:
        return self.unit_zh if lang == "zh" else self.unit_en

    def label_with_unit(self, lang: str = "en") -> str:
        unit = self.unit(lang)
        if not unit:
            return self.label(lang)
        return f"{self.label(lang)}({unit})" if lang == "zh" else f"{self.label(lang)} ({unit})"


MONEY = ("100m yuan/yr", "亿元/年")
INDEX = ("index", "指数")
SHARE = ("share", "比重")
YUAN = "#,##0.0"
#: Shares as percentages with three decimals, so a difference of 9e-05 reads 0.009%, not 0.000.
PERCENT = "0.000%"

#: Circle-wide metrics (columns of the ``circle`` table), in report order.
CIRCLE: tuple[Metric, ...] = (
    Metric("welfare", "Welfare", "社会福利", *MONEY, +1, True, True, YUAN),   # circle residents
    Metric("welfare_national", "National welfare", "全国社会福利", *MONEY, +1, True, True, YUAN),
    Metric("gdp_total", "Circle GDP", "城市圈GDP", *MONEY, +1, True, True, YUAN),
    Metric("similarity_ring_mean", "Ring-city structure similarity", "圈内城市产业结构相似系数",
           *INDEX, -1, False, True),
    Metric("specialisation_mean", "Krugman specialisation (mean)", "克鲁格曼专业化指数(均值)",
           *INDEX, 0),
    Metric("wuhan_share", "Wuhan share of circle GDP", "武汉占城市圈GDP比重", *SHARE, 0, False,
           True, PERCENT),
    Metric("theil", "Theil index of GDP per capita", "人均GDP泰尔指数", *INDEX, -1, False, True),
    Metric("subsidy_total", "Subsidies", "补贴", *MONEY, -1, True, True, YUAN),
    Metric("tax_total", "Tax", "税收", *MONEY, 0, True, False, YUAN),
    Metric("distance_cost_total", "Distance costs", "距离成本", *MONEY, -1, True, False, YUAN),
    Metric("idle_land_share", "Idle park land share", "园区闲置土地比例", *SHARE, -1, False,
           False, PERCENT),
    Metric("relocated_out_of_wuhan_cum", "Output relocated out of Wuhan, cumulative",
           "累计迁出武汉产值", *MONEY, 0, False, False, YUAN),
    Metric("wuhan_investment_in_ring_cum", "Wuhan investors' new projects in ring cities, "
           "cumulative", "累计武汉资本在圈内城市新投资产值", *MONEY, 0, False, False, YUAN),
)

#: Measures per city (columns of the ``cities`` table, ``fiscal_net`` derived from two).
CITY: tuple[Metric, ...] = (
    Metric("gdp_physical", "Physical GDP", "属地GDP", *MONEY, +1, False, False, YUAN),
    Metric("gdp_credited", "Credited GDP", "核算认定GDP", *MONEY, +1, False, True, YUAN),
    Metric("fiscal_net", "Tax minus subsidies", "税收减补贴", *MONEY, +1, False, False, YUAN),
)

GAP = ("share difference", "比重之差")
#: The plan's four pairs, chain completeness and segment-level similarity (``circle`` columns),
#: reported in their own section (:mod:`sim.analysis.plan_pairs`), not among the headline
#: measures: the plan's pattern is an outcome the report describes, not a welfare ranking.
PLAN_PAIRS: tuple[Metric, ...] = (
    Metric("pair_rnd_vs_manufacturing", "Wuhan's share of R&D minus its share of manufacturing",
           "武汉研发占比减制造占比", *GAP),
    Metric("pair_hq_vs_chain", "Wuhan's share of head offices minus its share of the chain",
           "武汉头部占比减链条占比", *GAP),
    Metric("pair_wuhan_capital_to_ring_cum", "Wuhan investors' new investment placed in the "
           "ring, cumulative", "武汉资本新投资落在圈内城市的比重(累计)", *SHARE),
    Metric("pair_ring_capital_from_wuhan_cum", "Ring cities' new investment from Wuhan "
           "investors, cumulative", "圈内城市新投资中武汉资本比重(累计)", *SHARE),
    Metric("pair_core_vs_supply", "Wuhan's share of the main chain minus its share of suppliers",
           "武汉主链占比减配套占比", *GAP),
    Metric("chain_completeness_ring", "Chain completeness of ring cities' lead sectors",
           "圈内城市主导产业链完整度", "segments within 100 km, of 4", "100公里内环节数(满分4)"),
    Metric("similarity_ring_mean_segment", "Ring-city similarity by sector-segment",
           "圈内城市产业环节结构相似系数", *INDEX),
)

BY_CODE: dict[str, Metric] = {m.code: m for m in CIRCLE + CITY + PLAN_PAIRS}

#: The headline metrics (codes, report order): the executive summary's, the headline figure's,
#: the sensitivity study's outcomes and ``sim.OUTCOMES`` all derive from this one list.
HEADLINE: tuple[str, ...] = tuple(m.code for m in CIRCLE if m.headline)
#: The headline metrics a planner ranks (a direction other than 0).
RANKED: tuple[str, ...] = tuple(code for code in HEADLINE if BY_CODE[code].better)
#: The headline metrics where higher is better (welfare, national welfare, circle GDP): the gains
#: whose sign ranges the report's summary cites.
GAINS: tuple[str, ...] = tuple(code for code in HEADLINE if BY_CODE[code].better > 0)
#: Which way is better per circle-wide metric: +1 higher, -1 lower, 0 not ranked.
DIRECTIONS: dict[str, int] = {m.code: m.better for m in CIRCLE}


def get(code: str) -> Metric:
    """The declared metric, or a plain one named by its code (unknown metrics still display)."""
    return BY_CODE.get(code) or Metric(code, code, code, "", "")


def present(columns, metrics: tuple[Metric, ...] = CIRCLE) -> tuple[str, ...]:
    """Codes of the declared metrics found among ``columns``, in registry order."""
    have = set(columns)
    return tuple(m.code for m in metrics if m.code in have)


def headline(columns) -> tuple[str, ...]:
    """Codes of the headline metrics found among ``columns``."""
    return tuple(c for c in present(columns) if BY_CODE[c].headline)


def flows(columns) -> tuple[str, ...]:
    """Codes of the money-flow metrics found among ``columns`` (discounted totals are computed)."""
    return tuple(c for c in present(columns) if BY_CODE[c].flow)
