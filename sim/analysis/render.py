"""The report's blocks rendered as Markdown (``report.md``) and self-contained HTML
(``report.html``, figures inlined as PNG data).

A block is a tuple: ``("h1"|"h2"|"h3"|"p"|"warning", text)``, ``("ul", [items])``,
``("table", DataFrame)`` or ``("figure", name, png_path, caption)``; ``**bold**`` marks
emphasis in text.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from sim.analysis import i18n


def to_markdown(blocks: list, out_dir: Path) -> str:
    lines = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            lines.append("#" * int(kind[1]) + " " + block[1])
        elif kind == "warning":
            lines.append(f"> **{block[1]}**")
        elif kind == "p":
            lines.append(block[1])
        elif kind == "ul":
            lines.extend(f"- {item}" for item in block[1])
        elif kind == "table":
            frame = block[1]
            lines.append("| | " + " | ".join(frame.columns) + " |")
            lines.append("|---" * (len(frame.columns) + 1) + "|")
            lines.extend(f"| {i} | " + " | ".join(map(str, r)) + " |"
                         for i, r in zip(frame.index, frame.to_numpy()))
        elif kind == "figure":
            lines.append(f"![{block[1]}]({block[2].relative_to(out_dir).as_posix()})")
            lines.append(f"*{block[3]}*")
        lines.append("")
    return "\n".join(lines)


CSS = ("body{font-family:'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;max-width:1200px;"
       "margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;font-size:12px;"
       "display:block;overflow-x:auto}td,th{border:1px solid #ccc;padding:3px 6px}"
       "th{background:#f4f4f4}img{max-width:100%;border:1px solid #eee}li{margin:.3em 0}"
       "figcaption{font-size:13px;color:#555;margin:.3em 0 1.5em}"
       ".warning{background:#fff3cd;border:2px solid #d39e00;padding:.6em 1em;font-weight:bold}")


def _inline(text: str) -> str:
    parts = html.escape(text).split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))


def to_html(blocks: list, lang: str) -> str:
    body = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3", "p"):
            body.append(f"<{kind}>{_inline(block[1])}</{kind}>")
        elif kind == "warning":
            body.append(f'<p class="warning">{_inline(block[1])}</p>')
        elif kind == "ul":
            body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block[1]) + "</ul>")
        elif kind == "table":
            body.append(block[1].to_html(escape=True, na_rep=""))
        elif kind == "figure":
            data = base64.b64encode(block[2].read_bytes()).decode("ascii")
            body.append(f'<figure><img alt="{html.escape(block[1])}" '
                        f'src="data:image/png;base64,{data}">'
                        f"<figcaption>{html.escape(block[3])}</figcaption></figure>")
    return (f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
            f'<meta charset="utf-8"><title>{html.escape(i18n.sentence("title", lang))}</title>'
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>")
