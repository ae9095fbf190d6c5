"""Labels for figures and the report, in English (en) and Chinese (zh).

City and sector names come from the data folder (``cities.csv`` column ``city_zh``,
``sectors.csv`` column ``name_zh``); everything else is declared here once.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

LANGUAGES = ("en", "zh")
DATA_DIR = Path(__file__).resolve().parents[1] / "data"

METRICS: dict[str, tuple[str, str]] = {
    "similarity_ring_mean": ("Ring-city structure similarity", "圈内城市产业结构相似系数"),
    "specialisation_mean": ("Krugman specialisation (mean)", "克鲁格曼专业化指数(均值)"),
    "wuhan_share": ("Wuhan share of circle GDP", "武汉占城市圈GDP比重"),
    "theil": ("Theil index of GDP per capita", "人均GDP泰尔指数"),
    "subsidy_total": ("Subsidies (100m yuan/yr)", "补贴(亿元/年)"),
    "tax_total": ("Tax (100m yuan/yr)", "税收(亿元/年)"),
    "distance_cost_total": ("Distance costs (100m yuan/yr)", "距离成本(亿元/年)"),
    "welfare": ("Welfare (100m yuan/yr)", "社会福利(亿元/年)"),
    "idle_land_share": ("Idle park land share", "园区闲置土地比例"),
    "welfare_national": ("National welfare (100m yuan/yr)", "全国社会福利(亿元/年)"),
    "relocated_out_of_wuhan_cum": ("Output relocated out of Wuhan, cumulative (100m yuan/yr)",
                                   "累计迁出武汉产值(亿元/年)"),
    "wuhan_investment_in_ring_cum": ("Wuhan investors' new projects in ring cities, cumulative "
                                     "(100m yuan/yr)", "累计武汉资本在圈内城市新投资产值(亿元/年)"),
    "gdp_total": ("Circle GDP (100m yuan/yr)", "城市圈GDP(亿元/年)"),
    "gdp_physical": ("Physical GDP", "属地GDP"),
    "gdp_credited": ("Credited GDP", "核算认定GDP"),
    "fiscal_net": ("Tax minus subsidies", "税收减补贴"),
}

TERMS: dict[str, tuple[str, str]] = {
    "step": ("Quarter", "季度"),
    "scenario": ("Scenario", "情景"),
    "metric": ("Metric", "指标"),
    "mean": ("Mean", "均值"),
    "ci": ("95% interval", "95%区间"),
    "baseline": ("baseline", "基准"),
    "difference": ("Difference from baseline", "相对基准的差值"),
    "paired_note": ("last step, paired by replicate, 95% bootstrap interval",
                    "末期,按重复实验配对,95% bootstrap区间"),
    "city": ("City", "城市"),
    "sector": ("Sector", "产业"),
    "lq": ("Location quotient", "区位商"),
    "share": ("Output share", "产值占比"),
    "investment_map": ("Investment map: city x sector", "产业招商地图:城市×产业"),
    "arrivals_map": ("Where projects landed over the horizon: city x sector",
                     "期内项目落地:城市×产业"),
    "arrivals": ("Location quotient of placements", "落地产值区位商"),
    "flow_map": ("Output moved out of Wuhan by channel (100m yuan/yr)",
                 "按渠道迁出武汉的产值(亿元/年)"),
    "city_gains": ("Gain or loss against the baseline (100m yuan/yr, last step)",
                   "相对基准的得失(亿元/年,末期)"),
    "last_step": ("Last step: mean and 95% interval", "末期:均值与95%置信区间"),
    "sweep": ("Response to", "响应:"),
    "gdp_size": ("circle size: GDP", "圆大小:GDP"),
}

CHANNELS: dict[str, tuple[str, str]] = {
    "relocation": ("relocation", "搬迁"),
    "enclave": ("enclave park", "飞地园区"),
    "park_within_park": ("park-within-park", "园外园"),
    "reverse_enclave": ("reverse enclave", "反向飞地"),
    "new_investment": ("new investment", "新增投资"),
    "exit": ("exit", "退出"),
}

#: What each switch of ``ScenarioConfig.switches`` does, for the report.
SWITCHES: dict[str, tuple[str, str]] = {
    "investment_map": (
        "A coordinator assigns sector-segments to cities (产业招商地图); off-map placements pay an "
        "approval friction.",
        "协调机构统一绘制产业招商地图,把产业环节分配到各城市;地图外落户需承担审批摩擦成本。"),
    "subsidy_cap": (
        "A circle-wide cap on subsidy rates, which a city breaks when cheating pays.",
        "全圈统一的补贴上限;当违约收益更大时城市可能突破上限。"),
    "shared_platform": (
        "Shared information and platforms: every park sees every project.",
        "信息共享、平台共建:所有园区都能看到所有项目。"),
    "enclave": (
        "Enclave parks (飞地园区): a source city co-builds and runs a park in a host city.",
        "飞地园区:输出城市在承接城市共建并运营园区。"),
    "gdp_tax_sharing": (
        "Agreed shares of GDP credit and tax go to the source city for the agreed term.",
        "协议期内按约定比例向输出城市分享GDP统计与税收。"),
    "park_within_park": (
        "Park-within-park (园外园): a Wuhan national zone runs a branch inside a host park.",
        "园外园:武汉国家级开发区在承接城市园区内设立分园并托管运营。"),
    "reverse_enclave": (
        "Reverse enclaves (反向飞地): ring cities' R&D sites inside Wuhan.",
        "反向飞地(离岸科创园):圈内城市在武汉设立研发基地。"),
}

SENTENCES: dict[str, tuple[str, str]] = {
    "title": ("Wuhan city circle: coordination against competition",
              "武汉城市圈:协同共建与同质化竞争的比较"),
    "question": (
        "Does coordinated park co-construction (investment map, subsidy cap, shared platform, "
        "enclave parks, park-within-park, reverse enclaves) beat homogenised competition, for "
        "whom, "
        "and under which assumptions? All scenarios run on the same calibrated world with the same "
        "random draws (common random numbers), so differences are paired by replicate.",
        "协同共建(产业招商地图、补贴上限、共享平台、飞地园区、园外园、反向飞地)是否优于同质化竞争?"
        "对谁有利?在什么假设下成立?所有情景在同一校准世界、同一组随机数下运行,差值按重复实验配对。"),
    "higher": ("higher", "更高"),
    "lower": ("lower", "更低"),
    "not_distinct": ("not distinguishable from zero", "与零无显著区别"),
    "identical": ("identical to the baseline in every replicate", "每次重复均与基准完全相同"),
    "changes": ("changes", "使"),
}

#: Figure captions, keyed by the figure's file name (sweep figures share the ``sweep`` caption).
CAPTIONS: dict[str, tuple[str, str]] = {
    "time_series": ("Headline metrics over the horizon: mean across replicates and 95% t-band.",
                    "主要指标随时间变化:各重复实验均值及95% t置信带。"),
    "last_step": ("Last-step level of every metric: mean and 95% t-interval; the dashed line is "
                  "the baseline's mean.", "末期各指标水平:均值与95% t区间;虚线为基准均值。"),
    "differences": ("Paired difference from the baseline at the last step (same random draws per "
                    "replicate): mean and 95% bootstrap interval; an interval crossing the dashed "
                    "zero line is not distinguishable from zero.",
                    "末期相对基准的配对差值(每次重复使用相同随机数):均值与95% bootstrap区间;"
                    "区间跨过零线即与零无显著区别。"),
    "investment_map": ("Investment map (产业招商地图): location quotient of each city's output by "
                       "sector at the last step (red: specialised); rows that look alike mean "
                       "duplicated targeting.",
                       "产业招商地图:末期各城市分产业产值的区位商(红色为专业化);各行越相似,"
                       "同质化招商越严重。"),
    "arrivals_map": ("Location quotients of the output placed over the horizon (new investment, "
                     "relocations, enclave and park-within-park placements) by city and sector: "
                     "where projects landed; matching red cells across rows mean cities won the "
                     "same sectors.",
                     "期内落地产值(新增投资、搬迁、飞地与园外园落户)的城市×产业区位商:项目落在哪里;"
                     "多行在同一产业同为红色,说明各城市争到了相同产业。"),
    "flow_map": ("Output moved out of Wuhan to the ring cities over the horizon, per run, by "
                 "channel; circles sized by physical GDP at the last step.",
                 "整个时期按渠道从武汉迁往圈内城市的产值(每次运行平均);圆的大小为末期属地GDP。"),
    "city_gains": ("Each city's gain or loss against the baseline at the last step: physical "
                   "GDP, credited GDP and tax minus subsidies (mean and 95% t-interval).",
                   "各城市末期相对基准的得失:属地GDP、核算认定GDP与税收减补贴(均值与95% t区间)。"),
    "sweep": ("Response to a swept parameter: mean and 95% t-band at each sweep point.",
              "参数扫描的响应:各扫描点的均值与95% t置信带。"),
    "methods": (
        "Intervals of levels are 95% Student-t intervals across replicates; differences from the "
        "baseline are paired by replicate (common random numbers) with 95% bootstrap percentile "
        "intervals, Cohen's d_z and a paired t-test p-value. Money in 100 million yuan per year; "
        "present values discount quarterly flows at the stated annual rate.",
        "水平值区间为各重复实验的95% t区间;相对基准的差值按重复实验配对(共同随机数),给出95% "
        "bootstrap百分位区间、Cohen d_z效应量和配对t检验p值。金额单位为亿元/年;贴现值按年利率对"
        "季度流量贴现。"),
}

HEADINGS: dict[str, tuple[str, str]] = {
    "question": ("The question", "研究问题"),
    "scenarios": ("Scenarios", "情景"),
    "summary": ("Summary", "结论摘要"),
    "headline": ("Headline table (last step)", "主要指标(末期)"),
    "differences": ("Differences from the baseline (paired by replicate)",
                    "相对基准的差值(按重复实验配对)"),
    "figures": ("Figures", "图表"),
    "switches": ("Switches", "开关"),
    "replicates": ("replicates", "次重复"),
}


def _pick(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {lang!r}")
    pair = table.get(key)
    if pair is None:
        return key
    return pair[LANGUAGES.index(lang)]


def metric_label(key: str, lang: str = "en") -> str:
    """Axis label of a metric or city measure (the key itself when unknown)."""
    return _pick(METRICS, key, lang)


def term(key: str, lang: str = "en") -> str:
    """A short term (axis labels, legend titles)."""
    return _pick(TERMS, key, lang)


def channel_label(key: str, lang: str = "en") -> str:
    return _pick(CHANNELS, key, lang)


def switch_description(key: str, lang: str = "en") -> str:
    return _pick(SWITCHES, key, lang)


def sentence(key: str, lang: str = "en") -> str:
    return _pick(SENTENCES, key, lang)


def heading(key: str, lang: str = "en") -> str:
    return _pick(HEADINGS, key, lang)


def caption(name: str, lang: str = "en") -> str:
    """Caption of a figure file name (``sweep_*`` figures share one caption)."""
    return _pick(CAPTIONS, "sweep" if name.startswith("sweep") else name, lang)


@lru_cache(maxsize=4)
def _names(file: str, key: str, zh: str, en: str | None) -> dict[str, tuple[str, str]]:
    frame = pd.read_csv(DATA_DIR / file)
    english = frame[en] if en else frame[key]
    return {k: (e, z) for k, e, z in zip(frame[key], english, frame[zh])}


def city_label(city: str, lang: str = "en") -> str:
    """City name in the language (Chinese from ``cities.csv``)."""
    return _pick(_names("cities.csv", "city", "city_zh", None), city, lang)


def sector_label(code: str, lang: str = "en") -> str:
    """Sector name: the code in English (short, fits a heatmap), the Chinese name in zh."""
    if lang == "en":
        return code
    name = _pick(_names("sectors.csv", "code", "name_zh", "name_en"), code, lang)
    return name.split("(")[0]


def city_order(cities) -> list[str]:
    """Cities in ``cities.csv`` order (the core city first), unknown ones after, sorted."""
    known = list(pd.read_csv(DATA_DIR / "cities.csv")["city"])
    return [c for c in known if c in set(cities)] + sorted(set(cities) - set(known))


def sector_order(codes) -> list[str]:
    """Sector codes in ``sectors.csv`` order, unknown ones after, sorted."""
    known = list(pd.read_csv(DATA_DIR / "sectors.csv")["code"])
    return [c for c in known if c in set(codes)] + sorted(set(codes) - set(known))


# --- Fonts: Chinese labels need a CJK font; never draw boxes for missing glyphs. ---------------

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "Source Han Sans SC", "Noto Sans SC")
_CJK_FILE_HINTS = ("wqy", "notosanscjk", "notoserifcjk", "sourcehansans", "notosanssc")


class FontMissingError(RuntimeError):
    """No CJK font is installed, so Chinese labels would render as boxes."""


def cjk_font() -> str:
    """Name of an installed CJK font known to matplotlib.

    Fonts installed after matplotlib built its cache are found by scanning the system font
    folders and registering matching files.

    Raises:
        FontMissingError: none is installed (message says which Debian package to install).
    """
    from matplotlib import font_manager

    def installed() -> str | None:
        names = {entry.name for entry in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in names), None)

    name = installed()
    if name is None:
        for path in font_manager.findSystemFonts():
            if any(hint in Path(path).name.lower() for hint in _CJK_FILE_HINTS):
                font_manager.fontManager.addfont(path)
        name = installed()
    if name is None:
        raise FontMissingError(
            "--lang zh needs a Chinese (CJK) font and none is installed: install one with "
            "`sudo apt-get install fonts-noto-cjk` (or `fonts-wqy-microhei`), then rerun")
    return name


def figure_style(lang: str = "en"):
    """A matplotlib rc context for the language: a CJK font first for zh, defaults for en.

    Enter it around creating *and* saving figures (tick labels are laid out when drawn).
    """
    import matplotlib as mpl

    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {lang!r}")
    settings: dict = {"svg.fonttype": "none"}
    if lang == "zh":
        settings.update({"font.family": [cjk_font(), "DejaVu Sans"],
                         "axes.unicode_minus": False})
    return mpl.rc_context(settings)
