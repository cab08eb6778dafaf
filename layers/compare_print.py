"""The printed comparison: a comparison (layers/compare.py) as a PDF table in one language, sources as footnotes.

Each language shows its own text: in English the English names, labels, units and notes; Chinese-only text is
marked as such rather than shown. A cell's source is cited as a numbered document and its lines; the
documents are listed, by title, under the table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from geo.tableprint import Part, Section, render_pdf

from .compare import documents

COMPARE_LANGS = ("zh", "en")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "区域对比：{names}",
        "subtitle": "科创地图 · 数据日期 {date} · {link}",
        "indicator": "指标",
        "region": "区域",
        "designations": "入选名单",
        "none": "—",
        "figures": "主要指标",
        "facts": "要点",
        "sites": "区域内的地点",
        "summary": "概况",
        "sources": "来源：",
        "untranslated": "—",
        "no_designation": "未列入试点或基地名单",
        "level.county": "县（市、区）",
        "level.city": "设区市",
        "another": "另一来源",
        "count": "{n} 个",
        "more": "等 {n} 个",
        "status.estimate": "预计",
        "status.plan": "计划",
        "status.target": "目标",
        "status.cumulative": "累计",
    },
    "en": {
        "title": "Comparison: {names}",
        "subtitle": "Zhejiang Innovation Map · data of {date} · {link}",
        "indicator": "Indicator",
        "region": "Region",
        "designations": "Designations",
        "none": "—",
        "figures": "Key figures",
        "facts": "Facts",
        "sites": "Places inside",
        "summary": "Summary",
        "sources": "Sources:",
        "untranslated": "— (in Chinese only)",
        "no_designation": "Not on a pilot or base list",
        "level.county": "County / district",
        "level.city": "Prefecture city",
        "another": "another source",
        "count": "{n}",
        "more": "and {n} more",
        "status.estimate": "estimate",
        "status.plan": "plan",
        "status.target": "target",
        "status.cumulative": "cumulative",
    },
}
MAX_SITE_NAMES = 8  # names listed in a printed cell; the rest are counted


def _only(obj: Mapping[str, Any], field: str, lang: str) -> str:
    """The field in `lang` only (no fallback to the other language), as the page shows data text."""
    value = obj.get(f"{field}_en" if lang == "en" else field)
    return "" if value is None else str(value)


def _name(obj: Mapping[str, Any], lang: str) -> str:
    """A place name in `lang`, falling back to the Chinese name (a name is never left out)."""
    return str((obj.get("name_en") if lang == "en" else None) or obj.get("name") or "")


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def _unit(cell: Mapping[str, Any], lang: str) -> str:
    if lang != "en":
        return str(cell.get("unit") or "")
    if cell.get("unit_en") is not None:
        return str(cell["unit_en"])
    unit = str(cell.get("unit") or "")
    return "" if CJK.search(unit) else unit


def _value(cell: Mapping[str, Any], lang: str, text: dict[str, str]) -> str:
    value = cell.get("value")
    if lang == "en" and isinstance(value, str) and CJK.search(value):
        return text["untranslated"]
    unit = _unit(cell, lang)
    shown = _number(value)
    if unit:
        shown += unit if re.match(r"^[%‰℃°]", unit) else " " + unit
    extra = []
    status = cell.get("status")
    if status and status != "reported":
        extra.append(text.get(f"status.{status}", status) + (f" {cell['period']}" if cell.get("period") else ""))
    if cell.get("year"):
        extra.append(str(cell["year"]) if lang == "en" else f"{cell['year']}年")
    return shown + (f" ({', '.join(extra)})" if lang == "en" and extra else f"（{'，'.join(extra)}）" if extra else "")


class _Notes:
    """Documents numbered in the order first cited; a citation reads "[n] lines a–b"."""

    def __init__(self, docs: list[dict[str, Any]], lang: str) -> None:
        self.lang = lang
        self.index = {(d.get("title"), d.get("doc_number"), d.get("file")): n for n, d in enumerate(docs, start=1)}
        self.docs = docs

    def cite(self, item: Mapping[str, Any]) -> str:
        src = item.get("source")
        if not isinstance(src, Mapping):
            return ""
        n = self.index.get((src.get("title"), src.get("doc_number"), src.get("file")))
        lines = src.get("lines") or []
        a, b = [*lines, None, None][:2]
        where = ""
        if a:
            en = self.lang == "en"
            where = (
                (f"lines {a}–{b}" if en else f"第{a}–{b}行") if b and b != a else (f"line {a}" if en else f"第{a}行")
            )
        return f"[{n}] {where}".strip()

    def footer(self, heading: str) -> list[str]:
        out = [heading]
        for n, d in enumerate(self.docs, start=1):
            en = self.lang == "en"
            title = d.get("title_en") if en else d.get("title")
            if not title:
                title = "unnamed document" if en else "未列明的文件"
            elif not en:
                title = f"《{title}》"
            number = d.get("doc_number")
            if number:
                title += f" ({number})" if en else f"（{number}）"
            extra = [str(v) for v in ((d.get("issuer") if not en else None), d.get("date")) if v]
            out.append(f"[{n}] {title}" + (f" — {', '.join(extra)}" if extra else ""))
        return out


def _fact_rows(rows: list[dict[str, Any]], lang: str, text: dict[str, str], notes: _Notes) -> list[list[list[Part]]]:
    out = []
    for row in rows:
        cells: list[list[Part]] = [[Part(_only(row, "label", lang) or text["untranslated"], "bold")]]
        for cell in row["cells"]:
            if cell is None:
                cells.append([Part(text["none"], "muted")])
                continue
            parts = [Part(_value(cell, lang, text))]
            note = _only(cell, "note", lang)
            if note:
                parts.append(Part(note, "small"))
            parts.extend(
                Part(f"{text['another']}: {_value(alt, lang, text)} {notes.cite(alt)}", "small")
                for alt in cell.get("alternatives") or []
            )
            parts.append(Part(notes.cite(cell), "muted", run_on=True))
            cells.append(parts)
        out.append(cells)
    return out


def compare_sections(comparison: Mapping[str, Any], lang: str, notes: _Notes) -> list[Section]:
    """The printed table's sections: the regions' headings, figures, facts, sites and summaries."""
    text = TEXT[lang]
    regions = comparison["regions"]
    about: list[list[Part]] = [[Part(text["designations"], "bold")]]
    for r in regions:
        parts = [
            Part(
                " · ".join(
                    x
                    for x in (
                        text[f"level.{r['level']}"],
                        _name({"name": r.get("city"), "name_en": r.get("city_en")}, lang)
                        if r["level"] == "county"
                        else "",
                    )
                    if x
                )
            )
        ]
        for d in r["designations"]:
            programme = _only(d, "programme", lang) or text["untranslated"]
            parts.append(
                Part(programme + (f" ({d['year']})" if d.get("year") and str(d["year"]) not in programme else ""))
            )
            parts.append(Part(notes.cite(d), "muted", run_on=True))
        if not r["designations"]:
            parts.append(Part(text["no_designation"], "muted"))
        about.append(parts)
    sections = [Section("", [about])]
    if comparison["figures"]:
        sections.append(Section(text["figures"], _fact_rows(comparison["figures"], lang, text, notes)))
    if comparison["facts"]:
        sections.append(Section(text["facts"], _fact_rows(comparison["facts"], lang, text, notes)))
    site_rows = []
    for row in comparison["sites"]:
        if not any(c["count"] for c in row["cells"]):
            continue
        cells: list[list[Part]] = [[Part(_only(row, "title", lang) or row["title"], "bold")]]
        for c in row["cells"]:
            names = [_name(s, lang) for s in c["sites"]]
            shown = "、".join(names[:MAX_SITE_NAMES]) if lang == "zh" else ", ".join(names[:MAX_SITE_NAMES])
            if len(names) > MAX_SITE_NAMES:
                shown += " " + text["more"].format(n=len(names) - MAX_SITE_NAMES)
            cells.append([Part(text["count"].format(n=c["count"]))] + ([Part(shown, "small")] if shown else []))
        site_rows.append(cells)
    sections.append(Section(text["sites"], site_rows))
    summary: list[list[Part]] = [[Part(text["summary"], "bold")]]
    for r in regions:
        said = _only(r, "summary", lang)
        parts = [Part(said, "small")] if said else [Part(text["none"], "muted")]
        if said:
            parts += [Part(notes.cite(s), "muted", run_on=True) for s in r["summary_sources"]]
        summary.append(parts)
    if any(_only(r, "summary", lang) for r in regions):
        sections.append(Section("", [summary]))
    return sections


def compare_pdf(comparison: Mapping[str, Any], *, lang: str = "zh", link: str = "") -> bytes:
    """The comparison as a PDF page (more pages only when it does not fit on one)."""
    text = TEXT[lang]
    notes = _Notes(documents(comparison), lang)
    regions = comparison["regions"]
    names = [_name(r, lang) for r in regions]
    sep = "、" if lang == "zh" else ", "
    title = text["title"].format(names=sep.join(names))
    return render_pdf(
        title=title,
        subtitle=text["subtitle"].format(date=comparison.get("data_date", ""), link=link),
        header=[text["indicator"], *names],
        sections=compare_sections(comparison, lang, notes),
        footer=notes.footer(text["sources"]),
        landscape=len(regions) > 2,
        metadata={"Title": title, "Subject": sep.join(names), "Creator": "科创地图"},
    )
