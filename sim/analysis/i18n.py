"""Labels for figures and the report, in English (en) and Chinese (zh).

City names come from ``cities.csv`` (column ``city_zh``); display names of scenarios, switches,
sectors and segments, with scenario descriptions, from ``display_names.csv`` (code, English,
Chinese); metric labels and units from :mod:`sim.analysis.registry`. Everything else is declared
here once.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from sim.analysis import registry
from sim.paths import DATA_DIR

LANGUAGES = ("en", "zh")

TERMS: dict[str, tuple[str, str]] = {
    "step": ("Quarter", "季度"),
    "scenario": ("Scenario", "情景"),
    "metric": ("Metric", "指标"),
    "mean": ("Mean", "均值"),
    "ci": ("95% interval", "95%区间"),
    "baseline": ("baseline", "基准"),
    "difference": ("Difference from baseline", "相对基准的差值"),
    "city": ("City", "城市"),
    "sector": ("Sector", "产业"),
    "lq": ("Location quotient", "区位商"),
    "share": ("Output share", "产值占比"),
    "specialisation": (
        "Output specialisation at the last quarter (location quotients): city x sector",
        "末期产出专业化(区位商):城市×产业",
    ),
    "coordinator_map": ("The coordinator's investment map", "协调机构的产业招商地图"),
    "map_share": (
        "Share of runs in which the city is assigned the sector-segment",
        "该城市被分配到该产业环节的运行占比",
    ),
    "pct_of_baseline": (
        "Difference from the baseline, % of the baseline's level (mean and 95% paired t-interval)",
        "相对基准的差值,占基准水平的百分比(均值与95%配对t区间)",
    ),
    "headline_title": ("who wins, on which measure, by how much", "谁更优、在哪些指标上、差多少"),
    "verdict_better": ("better", "更优"),
    "verdict_worse": ("worse", "更差"),
    "verdict_neutral": ("higher or lower (not ranked)", "更高或更低(不排序)"),
    "verdict_not_distinct": ("not distinguishable from zero", "与零无显著区别"),
    "ablation_removed": (
        "switch removed from the coordinated regime (full − without)",
        "从协同共建中移除该规则(完整 − 移除后)",
    ),
    "ablation_added": (
        "switch added alone to competition (with − without)",
        "在同质化竞争中单独加入该规则(加入后 − 原情景)",
    ),
    "ablations_title": (
        "Which rule carries the result? Effect of each rule, paired by replicate, 95% t-interval",
        "哪条规则起主要作用?各规则的效应(按重复实验配对,95% t区间)",
    ),
    "lon": ("Longitude (°E)", "经度(°E)"),
    "lat": ("Latitude (°N)", "纬度(°N)"),
    "channel": ("Channel", "渠道"),
    "width_key": ("Arrow width:\noutput moved\n(100m yuan/yr)", "箭头宽度:\n迁出产值\n(亿元/年)"),
    "segment": ("Sector-segment", "产业环节"),
    "arrivals_map": (
        "Where projects landed over the horizon: city x sector",
        "期内项目落地:城市×产业",
    ),
    "arrivals": ("Location quotient of placements", "落地产值区位商"),
    "flow_map": (
        "Output moved out of Wuhan by channel (100m yuan/yr)",
        "按渠道迁出武汉的产值(亿元/年)",
    ),
    "city_gains": (
        "Gain or loss against the baseline (100m yuan/yr, last step)",
        "相对基准的得失(亿元/年,末期)",
    ),
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
        "Shared information and platforms: arriving projects are shown the parks the map "
        "assigns to their sector (without a map, the parks that promote it), at a cost.",
        "信息共享、平台共建:向新来项目展示招商地图为其行业指定的园区(无地图时为推介该行业的园区),"
        "平台运行有成本。"),
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
    "title": (
        "Wuhan city circle: coordination against competition",
        "武汉城市圈:协同共建与同质化竞争的比较",
    ),
    "question": (
        "Does coordinated park co-construction (investment map, subsidy cap, shared platform, "
        "enclave parks, park-within-park, reverse enclaves) beat homogenised competition, for "
        "whom, "
        "and under which assumptions? All scenarios run on the same calibrated world with the same "
        "random draws (common random numbers), so differences are paired by replicate.",
        "协同共建(产业招商地图、补贴上限、共享平台、飞地园区、园外园、反向飞地)是否优于同质化竞争?"
        "对谁有利?在什么假设下成立?所有情景在同一校准世界、同一组随机数下运行,差值按重复实验配对。",
    ),
    "higher": ("higher", "更高"),
    "lower": ("lower", "更低"),
    "not_distinct": ("not distinguishable from zero", "与零无显著区别"),
    "identical": ("identical to the baseline in every replicate", "每次重复均与基准完全相同"),
    "cannot_judge": ("cannot be judged (one replicate: no interval, no test)",
                     "无法判断(仅一次重复:没有区间,无法检验)"),
    "one_replicate": (
        "Warning: one replicate per scenario. No difference can be judged: there is no interval "
        "and no test. Rerun with --replicates 2 or more (10 or more before quoting numbers).",
        "警告:每个情景只有一次重复实验,任何差值都无法判断(没有区间,无法检验)。请以 --replicates 2 "
        "或更多重新运行(引用数字前应为10次或更多)。",
    ),
    "few_replicates": (
        "Warning: fewer than 10 replicates. Intervals are wide and the verdicts fragile; rerun "
        "with --replicates 10 or more before quoting these numbers.",
        "警告:重复实验少于10次,区间较宽、结论不稳健;引用这些数字前请以 --replicates 10 或更多重新运行。",
    ),
    "changes": ("changes", "使"),
    "better": ("better", "更优"),
    "worse": ("worse", "更差"),
}

#: Figure captions, keyed by the figure's file name (sweep figures share the ``sweep`` caption).
CAPTIONS: dict[str, tuple[str, str]] = {
    "time_series": ("Headline metrics over the horizon: mean across replicates and 95% t-band.",
                    "主要指标随时间变化:各重复实验均值及95% t置信带。"),
    "headline": ("The headline: each regime's paired difference from the baseline on the "
                 "headline measures, as % of the baseline's level, with 95% t-intervals. Money "
                 "flows are present values over the horizon, the rest last-quarter levels. Green "
                 "is better, red worse, grey not distinguishable from zero.",
                 "要点:各情景相对基准在主要指标上的配对差值,以基准水平的百分比表示,附95% t区间。"
                 "金额为整个时期的贴现值,其余为末期水平。绿色更优,红色更差,灰色与零无显著区别。"),
    "ablations": ("Which rule carries the result: the effect of each rule on the headline "
                  "measures, removed from the coordinated regime (blue) and added alone to "
                  "competition (orange), paired by replicate, with 95% t-intervals.",
                  "哪条规则起主要作用:各规则对主要指标的效应,蓝色为从协同共建中移除,橙色为在竞争情景中"
                  "单独加入,按重复实验配对,附95% t区间。"),
    "coordinator_map": ("The coordinator's investment map (产业招商地图) at the last quarter: "
                        "rows are cities, columns sector-segments grouped by sector; a filled "
                        "cell means the coordinator assigns that sector-segment to the city, the "
                        "shade the share of runs that drew it (the planner's estimates are noisy).",
                        "末期协调机构的产业招商地图:行为城市,列为按产业分组的产业环节;有色格表示协调机构"
                        "把该产业环节分配给该城市,颜色深浅为抽到该分配的运行占比(规划者的估计带有噪声)。"),
    "specialisation": ("Output specialisation (the outcome, not the coordinator's map): location "
                       "quotient of each city's output by sector at the last quarter (red: "
                       "specialised); rows that look alike mean duplicated structures.",
                       "产出专业化(结果,而非协调机构的地图):末期各城市分产业产值的区位商(红色为专业化);"
                       "各行越相似,产业结构越同质。"),
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
        "Levels: mean across replicates with a 95% Student-t interval. Differences from the "
        "baseline are paired by replicate (common random numbers): mean difference, its 95% "
        "paired t-interval and the paired t-test on the same n − 1 degrees of freedom, so an "
        "interval excludes 0 exactly when p < 0.05; d_z is the mean difference over its "
        "standard deviation. Money in 100 million yuan per year; present values discount "
        "quarterly flows at the stated annual rate.",
        "水平值:各重复实验均值及95% t区间。相对基准的差值按重复实验配对(共同随机数):给出平均差值、"
        "95%配对t区间和同自由度(n − 1)的配对t检验,因此区间不含0当且仅当p < 0.05;d_z为平均差值除以"
        "其标准差。金额单位为亿元/年;贴现值按所给年利率对季度流量贴现。"),
}

HEADINGS: dict[str, tuple[str, str]] = {
    "question": ("The question", "研究问题"),
    "scenarios": ("Scenarios", "情景"),
    "executive": ("Executive summary", "要点摘要"),
    "summary": ("Every difference from the baseline", "相对基准的全部差值"),
    "headline": ("Headline table (last step)", "主要指标(末期)"),
    "differences": ("Differences from the baseline (paired by replicate)",
                    "相对基准的差值(按重复实验配对)"),
    "figures": ("Figures", "图表"),
    "switches": ("Switches", "开关"),
    "replicates": ("replicates", "次重复"),
}


def _check(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {lang!r}")


def text_of(table: dict[str, tuple[str, ...]], key: str, lang: str) -> str:
    """A report module's own text in ``lang`` (its table holds an (English, Chinese) pair per
    key; an unknown key or language is an error, not a fallback)."""
    _check(lang)
    return table[key][LANGUAGES.index(lang)]


def _pick(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    _check(lang)
    pair = table.get(key)
    if pair is None:
        return key
    return pair[LANGUAGES.index(lang)]


def metric_label(key: str, lang: str = "en") -> str:
    """Axis label of a metric or city measure with its unit (the key itself when unknown)."""
    _check(lang)
    return registry.get(key).label_with_unit(lang)


def term(key: str, lang: str = "en") -> str:
    """A short term (axis labels, legend titles)."""
    return _pick(TERMS, key, lang)


def channel_label(key: str, lang: str = "en") -> str:
    return _pick(CHANNELS, key, lang)


def switch_description(key: str, lang: str = "en") -> str:
    return _pick(SWITCHES, key, lang)


def sentence(key: str, lang: str = "en") -> str:
    return _pick(SENTENCES, key, lang)


def verdict_word(verdict: str, metric: str, lang: str = "en") -> str:
    """A verdict code of :func:`stats.paired_t` in words, saying better or worse where the
    registry ranks the metric: ``better (higher)``, ``worse (lower)``, ``higher``, ..."""
    if verdict not in ("higher", "lower"):
        known = verdict in ("identical", "cannot_judge")
        return sentence(verdict if known else "not_distinct", lang)
    direction = registry.get(metric).better
    word = sentence(verdict, lang)
    if direction == 0:
        return word
    good = (verdict == "higher") == (direction > 0)
    judged = sentence("better" if good else "worse", lang)
    return f"{judged}({word})" if lang == "zh" else f"{judged} ({word})"


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


@lru_cache(maxsize=1)
def _display() -> dict[tuple[str, str], dict[str, str]]:
    """``(kind, code) -> row`` of ``display_names.csv`` (read once)."""
    table = pd.read_csv(DATA_DIR / "display_names.csv", dtype=str, keep_default_na=False)
    return {(row["kind"], row["code"]): row for row in table.to_dict("records")}


def _display_name(kind: str, code: str, lang: str, column: str = "") -> str | None:
    """The ``display_names.csv`` entry of ``kind``/``code`` (None when absent or empty)."""
    _check(lang)
    row = _display().get((kind, str(code)))
    return (row.get(f"{column}{'_' if column else ''}{lang}") or None) if row else None


def display_name(kind: str, code: str, lang: str = "en") -> str | None:
    """The display name of ``code`` of ``kind`` (scenario, switch, sector, segment, parameter)."""
    return _display_name(kind, code, lang)


def readable(code: str) -> str:
    """A code as words: ``coordinated_without_enclave`` -> ``Coordinated without enclave``."""
    text = str(code).replace("__", " / ").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def scenario_label(name: str, lang: str = "en") -> str:
    """A scenario's display name; names not in the table become readable words."""
    found = _display_name("scenario", name, lang)
    if found:
        return found
    for prefix, switch in _ablation_parts(name):
        base = scenario_label(prefix, lang)
        words = switch_label(switch, lang)
        if lang == "zh":
            return f"{base}({'无' if '_without_' in name else '+'}{words})"
        return (
            f"{base} {'without' if '_without_' in name else 'with'} {words[:1].lower() + words[1:]}"
        )
    return readable(name)


def _ablation_parts(name: str) -> list[tuple[str, str]]:
    """``[(parent, switch)]`` for ``parent_without_switch`` / ``parent_with_switch`` names."""
    for joiner in ("_without_", "_with_"):
        if joiner in name:
            parent, switch = name.split(joiner, 1)
            return [(parent, switch)]
    return []


def scenario_description(name: str, fallback: str, lang: str = "en") -> str:
    """The scenario's description from the table in the language, else its config's text."""
    return _display_name("scenario", name, lang, "description") or fallback.strip()


def switch_label(code: str, lang: str = "en") -> str:
    return _display_name("switch", code, lang) or readable(code)


def segment_label(code: str, lang: str = "en") -> str:
    return _display_name("segment", code, lang) or readable(code)


def sector_label(code: str, lang: str = "en") -> str:
    """A sector's short display name (table), else its name in ``sectors.csv``, else the code."""
    found = _display_name("sector", code, lang)
    if found:
        return found
    name = _pick(_names("sectors.csv", "code", "name_zh", "name_en"), code, lang)
    return name.split("(")[0].strip() if name != code else readable(code)


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
