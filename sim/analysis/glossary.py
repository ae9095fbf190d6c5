"""The workbook's glossary: every word a reader of ``summary.xlsx`` meets, in English and Chinese.

Metrics (with units and the direction a planner prefers, from :mod:`sim.analysis.registry`),
the measures, the verdicts, the statistics and the rules (switches), so the workbook reads on
its own, without the report or the code.
"""

from __future__ import annotations

import pandas as pd

from sim.analysis import i18n, registry

#: What each reported metric measures (code -> English, Chinese).
METRICS: dict[str, tuple[str, str]] = {
    "welfare": ("Income of the circle's residents above their opportunity costs: factor rents, "
                "local profits and tax, less every public outlay (subsidies, retention, park "
                "costs, platform, compensation) at the marginal cost of public funds.",
                "城市圈居民高于机会成本的收入:要素租金、本地利润与税收,减去按公共资金边际成本计的各项"
                "公共支出(补贴、挽留、园区成本、平台、补偿)。"),
    "welfare_national": ("The same for the whole country: production outside the circle counts "
                         "too, so a move at equal productivity adds nothing and transfers cost "
                         "only their excess burden.",
                         "全国口径的同一指标:城市圈外的生产也计入,因此同等生产率的搬迁不增加福利,"
                         "转移支付只计其超额负担。"),
    "gdp_total": ("Value added of all production units in the circle (physical GDP).",
                  "城市圈内全部生产单位的增加值(属地GDP)。"),
    "similarity_ring_mean": ("Mean over pairs of ring cities of the structure similarity "
                             "coefficient of manufacturing output shares (1 = identical "
                             "structures): how homogenised the ring is.",
                             "圈内城市两两之间制造业产值结构相似系数的平均值(1表示结构完全相同),"
                             "衡量同质化程度。"),
    "specialisation_mean": ("Mean Krugman specialisation index: how far each city's sector "
                            "shares are from the rest of the circle's.",
                            "克鲁格曼专业化指数均值:各城市产业结构与圈内其他城市的差异。"),
    "wuhan_share": ("Wuhan's share of circle GDP.", "武汉GDP占城市圈GDP的比重。"),
    "theil": ("Theil index of GDP per capita across the cities, population-weighted (0 = equal).",
              "按人口加权的各城市人均GDP泰尔指数(0表示完全均等)。"),
    "subsidy_total": ("Subsidies the cities pay to production units.", "各城市向生产单位支付的补贴。"),
    "tax_total": ("Local tax on value added collected in the circle.", "城市圈内征收的增加值地方税。"),
    "distance_cost_total": ("What linked segments pay for their distance from each other.",
                            "关联环节之间因距离而承担的成本。"),
    "idle_land_share": ("Share of serviced park land that is not used.", "已开发园区土地中闲置的比例。"),
    "relocated_out_of_wuhan_cum": ("Output of units that moved from Wuhan to ring cities, "
                                   "since the start.", "自期初起从武汉迁往圈内城市的企业产值。"),
    "wuhan_investment_in_ring_cum": ("Output of new projects of Wuhan investors placed in ring "
                                     "cities, since the start.",
                                     "自期初起武汉投资者在圈内城市新落地项目的产值。"),
    "gdp_physical": ("GDP counted where the establishment is (China's statistical rule).",
                     "按企业所在地统计的GDP(国家统计规则)。"),
    "gdp_credited": ("GDP each city reports in its own reviews, agreed shares of enclave parks "
                     "included (what officials are assessed on).",
                     "各城市在考核中申报的GDP,包含飞地园区按协议分得的份额(官员考核所依据的口径)。"),
    "fiscal_net": ("The city's tax revenue minus the subsidies it pays.", "城市税收减去其支付的补贴。"),
}

#: Measures, verdicts and statistics (English term, English meaning, Chinese term, meaning).
TERMS: tuple[tuple[str, str, str, str], ...] = (
    ("Last quarter", "The metric's value at the run's last step (a quarter).",
     "末期", "运行最后一步(一个季度)的指标值。"),
    ("Present value", "The quarterly series of an annual flow summed over the horizon, each "
     "quarter a quarter of its annual rate, discounted at the stated annual rate to 2021Q1.",
     "贴现值", "年度流量的季度序列在整个时期的加总:每季度计其年率的四分之一,按所给年贴现率贴现至2021年第一季度。"),
    ("Replicate", "One run on its own random draws; replicate r of every scenario uses the same "
     "draws (common random numbers), so scenarios are compared in pairs.",
     "重复实验", "使用一组随机数的一次运行;各情景的第r次重复使用相同的随机数(共同随机数),因此情景间成对比较。"),
    ("Paired difference", "Scenario minus baseline within each replicate, then averaged.",
     "配对差值", "在每次重复内计算情景减基准,再取平均。"),
    ("95% interval", "Mean ± t(n−1, 0.975) × standard deviation / √n over the replicates.",
     "95%区间", "均值 ± t(n−1, 0.975) × 标准差 / √n(按重复实验计算)。"),
    ("p (paired t-test)", "Chance of a mean difference this far from zero if the true one were "
     "zero; below 0.05 exactly when the 95% interval excludes zero.",
     "p值(配对t检验)", "若真实差值为零,出现如此偏离零的平均差值的概率;当且仅当95%区间不含零时小于0.05。"),
    ("Effect size d_z", "Mean difference over its standard deviation.", "效应量d_z", "平均差值除以其标准差。"),
    ("Better / worse", "The interval lies wholly on the side a planner prefers / avoids "
     "(column \"Better is\").", "更优 / 更差", "区间完全位于规划者偏好/不愿看到的一侧(见“更优方向”列)。"),
    ("Higher / lower", "The interval lies wholly above / below zero for a metric that is not "
     "ranked.", "更高 / 更低", "对不排序的指标,区间完全高于/低于零。"),
    ("Not distinguishable from zero", "The interval includes zero.", "与零无显著区别", "区间包含零。"),
    ("Identical", "The difference is exactly zero in every replicate.", "完全相同", "每次重复的差值都恰好为零。"),
    ("Cannot be judged", "One replicate only: no interval and no test.", "无法判断", "只有一次重复:没有区间,无法检验。"),
    ("Ablation removed", "A rule switched off in the coordinated regime; its effect is full "
     "minus without.", "从协同共建中移除", "在协同共建中关闭某条规则;其效应为完整情景减去关闭后。"),
    ("Ablation added", "A rule switched on alone under competition; its effect is with minus "
     "without.", "单独加入竞争情景", "在同质化竞争中单独开启某条规则;其效应为开启后减去原情景。"),
    ("100m yuan/yr", "Money in 100 million yuan (亿元) per year; flows are annual rates observed "
     "each quarter.", "亿元/年", "金额单位为亿元/年;流量为每季度观测的年率。"),
)


def glossary(lang: str = "en") -> pd.DataFrame:
    """Term and meaning, one row each: metrics, then measures, verdicts and statistics, then
    the rules (switches)."""
    zh = lang == "zh"
    rows = []
    for metric in registry.CIRCLE + registry.CITY:
        meaning = METRICS.get(metric.code, ("", ""))[1 if zh else 0]
        rows.append((metric.label_with_unit(lang), meaning))
    rows += [(t[2], t[3]) if zh else (t[0], t[1]) for t in TERMS]
    rows += [(i18n.switch_label(k, lang), i18n.switch_description(k, lang)) for k in i18n.SWITCHES]
    return pd.DataFrame(rows, columns=["术语", "含义"] if zh else ["Term", "Meaning"])
