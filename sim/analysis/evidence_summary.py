"""The report's section on the model's fit to history, from a `sim evidence` output folder.

``sim compare`` shows, near the top, how many empirical targets the model that made the batch
hits and which it misses, from the latest ``evidence.json`` written for the same package
version, model code and data (its hashes), or says that none was run. It looks in the folder
given with ``--evidence``, else in ``evidence/`` inside the batch folder and beside it.
"""

from __future__ import annotations

import json
from pathlib import Path

from sim.validation.fingerprint import code_hash

FILE = "evidence.json"

TEXT = {
    "title": ("Fit to history (sim evidence)", "与历史的拟合(sim evidence)"),
    "none": ("No `sim evidence` output was found for this model and data, so how well the model "
             "fits history is unknown: run `sim evidence --out {where}` (or pass --evidence DIR).",
             "未找到与本模型和数据对应的 `sim evidence` 结果,模型与历史的拟合程度未知:"
             "请运行 `sim evidence --out {where}`(或用 --evidence 指定目录)。"),
    "stale": ("The `sim evidence` output in {path} does not belong to this batch ({why}); the "
              "fit to history of this model and data is unknown.",
              "{path} 中的 `sim evidence` 结果不属于本批次({why}),"
              "本模型和数据与历史的拟合程度未知。"),
    "line": ("**{hit} of {with_data} empirical targets with data are hit** ({roles}); "
             "{no_data} without data. Scored {created} on {replicates} replicates of {units:,} "
             "units ({path}).",
             "**有数据的 {with_data} 个经验目标中命中 {hit} 个**({roles});{no_data} 个无数据。"
             "{created} 以 {units:,} 个单位、{replicates} 次重复计算({path})。"),
    "unknown_code": ("This batch does not record the model code that made its runs (it was begun "
                     "before batches recorded it), so this scoreboard, of the code installed "
                     "now ({code}), may be of another model than the runs'.",
                     "本批次未记录生成其运行的模型代码(开始于批次记录代码之前),"
                     "此评分表属于当前安装的代码({code}),可能与这些运行的模型不同。"),
    "missed": ("Missed: {names}.", "未命中:{names}。"),
    "no_data": ("No data: {names}.", "无数据:{names}。"),
}


def _t(key: str, lang: str) -> str:
    return TEXT[key][0 if lang == "en" else 1]


def candidates(batch_dir: Path, given: Path | None) -> list[Path]:
    """Where an evidence.json may be: the given folder only, else inside and beside the batch."""
    if given is not None:
        return [Path(given) / FILE]
    return [batch_dir / "evidence" / FILE, batch_dir.parent / "evidence" / FILE]


def mismatch(record: dict, batch: dict, current_code: str) -> str:
    """Why an evidence record does not belong to a batch ('' when it does): other package
    version, data, or model code than the batch's runs (``current_code``, the code doing the
    reporting, stands in for a batch written before batches recorded their code's hash)."""
    hashes = {s.get("data_hash") for s in batch.get("scenarios", {}).values()} - {None}
    if batch.get("version") and record.get("version") != batch.get("version"):
        return f"package version {record.get('version')} against {batch.get('version')}"
    if hashes and hashes != {record.get("data_hash")}:
        return "other data"
    runs_code = batch.get("code_hash") or current_code
    if record.get("code_hash") != runs_code:
        return f"model code {record.get('code_hash')} against {runs_code}"
    return ""


def _roles(by_role: dict, lang: str) -> str:
    names = {"calibration": ("calibration", "校准"), "validation": ("validation", "验证")}
    return ", ".join(f"{r['hit']}/{r['hit'] + r['miss']} {names[role][0 if lang == 'en' else 1]}"
                     for role, r in by_role.items())


def report_blocks(batch_dir: Path, given: Path | None, batch: dict, lang: str = "en") -> list:
    """The section's blocks: the latest matching record's summary, or a warning that none was
    found (or that the one found belongs to other code or data)."""
    found = []
    for path in candidates(Path(batch_dir), given):
        try:
            found.append((json.loads(path.read_text(encoding="utf-8")), path))
        except (OSError, ValueError):
            continue
    current = code_hash()
    matching = [(r, p) for r, p in found if not mismatch(r, batch, current)]
    head = ("h2", _t("title", lang))
    if not matching:
        if found:
            record, path = found[0]
            why = mismatch(record, batch, current)
            return [head, ("warning", _t("stale", lang).format(path=path.parent, why=why))]
        where = Path(given) if given is not None else Path(batch_dir) / "evidence"
        return [head, ("warning", _t("none", lang).format(where=where))]
    record, path = max(matching, key=lambda rp: rp[0].get("created", ""))
    items = [_t("line", lang).format(
        hit=len(record["hit"]), with_data=len(record["hit"]) + len(record["miss"]),
        roles=_roles(record["by_role"], lang), no_data=len(record["no_data"]),
        created=record.get("created", "?"), replicates=record.get("replicates", "?"),
        units=int(record.get("n_units", 0)), path=path.parent)]
    if record["miss"]:
        items.append(_t("missed", lang).format(names=", ".join(record["miss"])))
    if record["no_data"]:
        items.append(_t("no_data", lang).format(names=", ".join(record["no_data"])))
    if not batch.get("code_hash"):
        items.append(_t("unknown_code", lang).format(code=current))
    return [head, ("ul", items)]
