"""The settings a comparison rests on, stated before any number it reports.

Model size (production units), horizon (quarters from 2021Q1), replicates, root seed, the
annual discount rate of the present values, the package version and the data folder's hash,
all read from the stored batch (``config.yaml`` of its runs, ``batch.json``, ``manifest.csv``),
never from the clock or from assumptions. A batch smaller or shorter than the bundled default
(``scenarios/base.yaml``) is said to be a quick look, and fewer than two replicates that no
difference can be judged, so a small batch never reads like a full study.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import pandas as pd
import yaml

from sim.analysis import i18n
from sim.paths import SCENARIO_DIR
from sim.rules.constants import STEPS_PER_YEAR

TEXT: dict[str, tuple[str, str]] = {
    "heading": ("Settings", "运行设置"),
    "item": ("Setting", "设置"), "value": ("Value", "取值"),
    "size": ("Model size", "模型规模"),
    "size_value": ("{n:,} production units (default {d:,})", "{n:,} 个生产单位(默认 {d:,})"),
    "horizon": ("Horizon", "模拟期"),
    "horizon_value": ("{s} quarters ({y:g} years) from 2021Q1 (default {d})",
                      "自2021年第一季度起 {s} 个季度({y:g} 年;默认 {d})"),
    "replicates": ("Replicates", "重复实验"),
    "replicates_value": ("{n} paired per scenario (smallest; common random numbers)",
                         "每个情景 {n} 次配对重复(最少值;共同随机数)"),
    "seed": ("Root seed", "根随机种子"),
    "rate": ("Discount rate of present values", "贴现值的年贴现率"),
    "version": ("Model version", "模型版本"),
    "data": ("Data folder hash", "数据文件夹哈希"),
    "written": ("Batch written", "批次写入时间"),
    "unsettled": ("In {k} of {n} runs the status quo's fixed point stopped at its cap: their "
                  "base year is not exactly at rest, so part of their change over the horizon is "
                  "its drift (manifest.csv, column base_year_settled).",
                  "{n} 次运行中有 {k} 次现状均衡的不动点迭代在上限处停止:其基年并非完全静止,"
                  "模拟期内的部分变化来自这一漂移(见 manifest.csv 的 base_year_settled 列)。"),
    "small": ("This batch is smaller or shorter than the model's default ({n:,} units, {s} "
              "quarters): a quick look, not a result to quote.",
              "本批次的规模或模拟期小于模型默认值({n:,} 个生产单位、{s} 个季度):仅供快速查看,"
              "不宜引用。"),
}


def text(key: str, lang: str) -> str:
    return i18n.text_of(TEXT, key, lang)


@dataclasses.dataclass(frozen=True)
class BatchSettings:
    """What produced a comparison's numbers (None where the batch does not record it)."""

    n_units: int | None
    steps: int | None
    replicates: int
    seed: str
    rate: float
    version: str
    data_hash: str
    written: str
    default_units: int
    default_steps: int
    runs: int = 0
    unsettled: int = 0

    @property
    def small(self) -> bool:
        """Fewer units or quarters than the bundled default."""
        return ((self.n_units or 0) < self.default_units
                or (self.steps or 0) < self.default_steps)


@lru_cache(maxsize=1)
def defaults() -> tuple[int, int]:
    """Units and quarters of the bundled ``base.yaml`` (what ``sim run`` uses by default)."""
    base = yaml.safe_load((SCENARIO_DIR / "base.yaml").read_text(encoding="utf-8"))
    return int(base["world"]["n_units"]), int(base["steps"])


def batch_settings(configs: dict[str, dict], metadata: dict, replicates: int,
                   rate: float) -> BatchSettings:
    """The settings of a batch from its scenarios' stored configs (``sim compare`` refuses
    batches whose scenarios differ in size, horizon, seed or data) and ``batch.json``."""
    config = next(iter(configs.values()), {})
    units = (config.get("world") or {}).get("n_units")
    steps = config.get("steps")
    hashes = sorted({str(r.get("data_hash", ""))[:12]
                     for r in (metadata.get("scenarios") or {}).values()} - {""})
    units_default, steps_default = defaults()
    return BatchSettings(
        n_units=None if units is None else int(units), steps=None if steps is None else int(steps),
        replicates=int(replicates), seed=str(metadata.get("seed", "")), rate=float(rate),
        version=str(metadata.get("version", "")), data_hash=", ".join(hashes),
        written=str(metadata.get("date", "")), default_units=units_default,
        default_steps=steps_default, runs=int(metadata.get("runs", 0)),
        unsettled=int(metadata.get("unsettled", 0)))


def rows(settings: BatchSettings, lang: str) -> list[tuple[str, str]]:
    """(label, value) of every setting, in the language."""
    size = "?" if settings.n_units is None else text("size_value", lang).format(
        n=settings.n_units, d=settings.default_units)
    horizon = "?" if settings.steps is None else text("horizon_value", lang).format(
        s=settings.steps, y=settings.steps / STEPS_PER_YEAR, d=settings.default_steps)
    return [
        (text("size", lang), size),
        (text("horizon", lang), horizon),
        (text("replicates", lang), text("replicates_value", lang).format(n=settings.replicates)),
        (text("seed", lang), settings.seed),
        (text("rate", lang), f"{settings.rate:.1%}"),
        (text("version", lang), settings.version),
        (text("data", lang), settings.data_hash),
        (text("written", lang), settings.written),
    ]


def warnings(settings: BatchSettings, lang: str) -> list[str]:
    """What the settings forbid reading into the numbers: a small batch, few replicates, runs
    whose base year did not settle."""
    found = []
    if settings.small:
        found.append(text("small", lang).format(n=settings.default_units,
                                                 s=settings.default_steps))
    if settings.replicates < 2:
        found.append(i18n.sentence("one_replicate", lang))
    elif settings.replicates < 10:
        found.append(i18n.sentence("few_replicates", lang))
    if settings.unsettled:
        found.append(text("unsettled", lang).format(k=settings.unsettled, n=settings.runs))
    return found


def report_blocks(settings: BatchSettings, lang: str) -> list:
    """The report's opening: its warnings, then the settings as a table."""
    table = pd.DataFrame(rows(settings, lang), columns=[text("item", lang), text("value", lang)])
    return [*[("warning", line) for line in warnings(settings, lang)],
            ("h2", text("heading", lang)), ("table", table.set_index(text("item", lang)))]
