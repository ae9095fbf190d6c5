"""The comparison under the posterior: P(scenario better than the baseline) per headline
measure, and where in the posterior the sign flips.

In a batch run with a posterior (``sim batch --posterior DIR``), replicate r of every scenario
ran at the posterior's draw r on the same random streams, so the paired difference of replicate
r is one draw of the difference under parameter uncertainty and the model's own noise together.
P(better) is the share of replicates in which the scenario is better on the measure (the
registry's direction), with a 95% Jeffreys interval (Brown, Cai & DasGupta 2001). Where it is
not better is found by PRIM over the draws' parameter values (:func:`sim.sensitivity.discover
.find_boxes`, as ``sim discover``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from sim.analysis import registry, stats
from sim.estimation.assign import draws_by_replicate
from sim.estimation.posterior import PRIOR_KIND, load_posterior
from sim.sensitivity.prim import find_boxes

#: Headline measures reported (present and ranked ones only), as (measure, metric).
MEASURES = (("last", "welfare"), ("last", "welfare_national"), ("last", "gdp_total"),
            ("discounted", "welfare"), ("discounted", "welfare_national"),
            ("discounted", "gdp_total"))

TEXT = {
    "heading": ("The comparison under the posterior", "后验分布下的比较"),
    "heading_prior": ("The comparison over the priors", "先验分布下的比较"),
    "prior_note": ("The folder holds draws from the priors, not a posterior: no data narrowed "
                   "them (sim prior-sample), so P(better) says how the answer depends on what "
                   "is assumed, over the assumed ranges.",
                   "该文件夹是先验分布的抽样而非后验分布:没有数据收窄它们(sim prior-sample),"
                   "故P(更优)表示结论在假定范围内对假定参数的依赖。"),
    "intro": ("Replicate r of every scenario ran at draw r of the {source} in {folder} on the "
              "same random streams, so each paired difference is one draw of the difference "
              "under parameter uncertainty and the model's noise together. P(better): the share "
              "of {n} replicates in which the scenario is better, with a 95% Jeffreys interval; "
              "where not better: the PRIM box of the draws' parameter values in which it "
              "mostly is not.",
              "各情景的第r次重复取{source}{folder}的第r个抽样,随机数相同,故每个配对差值是参数不确定性与"
              "模型随机性共同作用下的一次抽样。P(更优):{n}次重复中该情景更优的比例及"
              "95% Jeffreys区间;"
              "不更优之处:PRIM在各抽样参数值中找到的、该情景多数不更优的区域。"),
    "posterior": ("posterior", "后验分布"),
    "prior": ("prior sample", "先验抽样"),
}


def jeffreys_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The Jeffreys interval of a binomial share k/n (Beta(k + ½, n − k + ½) quantiles; 0 and
    1 at the ends when k is 0 or n)."""
    tail = (1 - level) / 2
    low = 0.0 if k == 0 else float(sps.beta.ppf(tail, k + 0.5, n - k + 0.5))
    high = 1.0 if k == n else float(sps.beta.ppf(1 - tail, k + 0.5, n - k + 0.5))
    return low, high


def paired_by_replicate(circle: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Per scenario, replicate, measure and metric: the paired difference ``diff``."""
    per_run = stats.run_values(circle)
    return stats.paired(per_run, baseline, ["measure", "metric"])


def probability_better(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and headline measure: replicates, how many better, P(better), interval."""
    rows = []
    for (scenario, measure, metric), group in pairs.groupby(["scenario", "measure", "metric"]):
        direction = registry.get(metric).better
        if (measure, metric) not in MEASURES or direction == 0:
            continue
        better = np.sign(group["diff"].to_numpy(float)) == direction
        n, k = len(better), int(better.sum())
        low, high = jeffreys_interval(k, n)
        rows.append({"scenario": scenario, "measure": measure, "metric": metric, "n": n,
                     "better": k, "p_better": k / n, "p_low": low, "p_high": high})
    return pd.DataFrame(rows, columns=["scenario", "measure", "metric", "n", "better",
                                       "p_better", "p_low", "p_high"])


def flip_region(pairs: pd.DataFrame, draws: pd.DataFrame, scenario: str, measure: str,
                metric: str) -> str:
    """The PRIM box of draws where ``scenario`` is not better on the measure, as text."""
    rows = pairs[(pairs["scenario"] == scenario) & (pairs["measure"] == measure)
                 & (pairs["metric"] == metric)].set_index("replicate")
    direction = registry.get(metric).better
    worse = ~(np.sign(rows["diff"].to_numpy(float)) == direction)
    if not worse.any():
        return "nowhere: better at every draw"
    if worse.all():
        return "everywhere: not better at any draw"
    try:
        boxes = find_boxes(draws.loc[rows.index].reset_index(drop=True), worse, max_boxes=1)
    except ImportError:
        return "PRIM needs the 'ema' extra"
    if not boxes:
        return "no box found"
    box = boxes[0]
    return f"{box.text()} (coverage {box.coverage:.0%}, density {box.density:.0%})"


def batch_posterior_folder(configs: dict[str, dict]) -> Path | None:
    """The posterior every scenario of the batch ran under, or None."""
    folders = {c.get("posterior") for c in configs.values()}
    return Path(folders.pop()) if len(folders) == 1 and None not in folders else None


def posterior_blocks(circle: pd.DataFrame, configs: dict[str, dict], baseline: str,
                     compared: list[str], lang: str = "en") -> list:
    """The report's section (blocks) when the batch ran under a posterior; [] otherwise."""
    folder = batch_posterior_folder(configs)
    if folder is None or not (folder / "posterior.parquet").is_file():
        return []
    pairs = paired_by_replicate(circle, baseline)
    pairs = pairs[pairs["scenario"].isin(compared)]
    table = probability_better(pairs)
    if table.empty:
        return []
    posterior = load_posterior(folder)
    draws = draws_by_replicate(posterior, sorted(pairs["replicate"].unique()))
    table["where_not_better"] = [flip_region(pairs, draws, r.scenario, r.measure, r.metric)
                                 for r in table.itertuples()]
    shown = table.assign(
        p_better=[f"{p:.2f} [{lo:.2f}, {hi:.2f}]" for p, lo, hi in
                  zip(table["p_better"], table["p_low"], table["p_high"])],
        better=[f"{k} of {n}" for k, n in zip(table["better"], table["n"])])
    shown = shown[["scenario", "measure", "metric", "better", "p_better", "where_not_better"]]
    pick = 1 if lang == "zh" else 0
    prior = posterior.record.get("kind") == PRIOR_KIND      # `sim prior-sample`'s draws
    intro = TEXT["intro"][pick].format(source=TEXT["prior" if prior else "posterior"][pick],
                                       folder=folder.name, n=int(table["n"].max()))
    heading = [("h2", TEXT["heading_prior"][pick]), ("p", TEXT["prior_note"][pick])] if prior \
        else [("h2", TEXT["heading"][pick])]
    return [*heading, ("p", intro), ("table", shown.reset_index(drop=True))]
