"""Side-by-side comparison of 2–4 counties or cities, built from their profiles (layers/profiles.py).

Per region: names, city, level, designations and summary. Across the regions, aligned: figures and text facts
(one row per indicator label, one cell per region), the sites inside per site layer (built-in and user layers).
Every cited thing carries its source as the profile shows it: the document's title and lines, never a file name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from geo.errors import BadRequest

from .catalog import DATA_DATE, SITE_LAYERS

if TYPE_CHECKING:
    from .store import Catalog

MIN_REGIONS = 2
MAX_REGIONS = 4
COMPARABLE_LEVELS = ("county", "city")
ADCODE = re.compile(r"^\d{6}$")
FACT_FIELDS = ("status", "period", "note", "note_en")


def parse_compare_ids(raw: str | None) -> list[str]:
    """`330381,330782` → ['330381', '330782']; BadRequest unless 2–4 distinct six-digit adcodes are listed."""
    accepted = (
        f"ids must list {MIN_REGIONS} to {MAX_REGIONS} different region adcodes (6 digits, counties or cities), "
        "comma-separated, e.g. ids=330381,330782"
    )
    ids = [p.strip() for p in (raw or "").split(",") if p.strip()]
    if not MIN_REGIONS <= len(ids) <= MAX_REGIONS:
        raise BadRequest(f"{accepted}; got {len(ids)}", min=MIN_REGIONS, max=MAX_REGIONS)
    bad = [i for i in ids if not ADCODE.match(i)]
    if bad:
        raise BadRequest(f"{accepted}; not an adcode: {', '.join(repr(b) for b in bad[:4])}")
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise BadRequest(f"{accepted}; listed more than once: {', '.join(repeated)}")
    return ids


def source_text(ref: Mapping[str, Any] | None, lang: str = "zh") -> str:
    """A source as the profile sheet shows it.

    "《title》（doc number） 第40–41行" in Chinese, "title (doc number), lines 40–41" in English."""
    if not ref:
        return ""
    en = lang == "en"
    title = ref.get("title_en") if en else ref.get("title")
    lines = ref.get("lines") or []
    a = lines[0] if lines else None
    b = lines[1] if len(lines) > 1 else None
    where = ""
    if a:
        if b and b != a:
            where = f"lines {a}–{b}" if en else f"第{a}–{b}行"
        else:
            where = f"line {a}" if en else f"第{a}行"
    number = ref.get("doc_number")
    doc = (f" ({number})" if en else f"（{number}）") if number else ""
    if title:
        name = f"{title}{doc}" if en else f"《{title}》{doc}"
    else:
        name = "unnamed document" if en else "未列明的文件"
    if not where:
        return name
    return f"{name}, {where}" if en else f"{name} {where}"


def cited(ref: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parts of a profile's `source_ref` a reader needs, plus its display text in both languages."""
    ref = ref or {}
    keep = ("title", "title_en", "doc_number", "issuer", "date", "lines", "file")
    return {
        "source": {k: ref.get(k) for k in keep} if ref else None,
        "source_text": source_text(ref, "zh") if ref else "",
        "source_text_en": source_text(ref, "en") if ref else "",
    }


def _cell(fact: Mapping[str, Any]) -> dict[str, Any]:
    """One region's value for an indicator: value, unit (both languages), year, status and its source."""
    cell = {
        "value": fact.get("value"),
        "unit": fact.get("unit"),
        "unit_en": fact.get("unit_en"),
        "year": fact.get("year"),
        **{k: fact.get(k) for k in FACT_FIELDS},
        **cited(fact.get("source_ref")),
    }
    cell["status"] = cell["status"] or "reported"
    cell["alternatives"] = [
        {
            "value": a.get("value"),
            "unit": a.get("unit"),
            "unit_en": a.get("unit_en"),
            "year": a.get("year"),
            "note": a.get("note"),
            "note_en": a.get("note_en"),
            **cited(a.get("source_ref")),
        }
        for a in fact.get("alternatives") or []
    ]
    return cell


def align(per_region: list[list[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Facts of each region lined up by label: one row per label, a cell (or None) per region. Rows that more
    regions share come first; otherwise in the order the regions list them."""
    rows: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for i, facts in enumerate(per_region):
        for fact in facts:
            label = str(fact.get("label") or "")
            row = rows.get(label)
            if row is None:
                row = rows[label] = {
                    "label": label,
                    "label_en": fact.get("label_en"),
                    "cells": [None] * len(per_region),
                }
                order.append(label)
            if row["cells"][i] is None:  # a second fact of the same label in one region: the first one counts
                row["cells"][i] = _cell(fact)
            if not row["label_en"]:
                row["label_en"] = fact.get("label_en")
    out = [rows[label] for label in order]
    for row in out:
        row["regions_with_value"] = sum(c is not None for c in row["cells"])
    position = {label: n for n, label in enumerate(order)}
    return sorted(out, key=lambda r: (-r["regions_with_value"], position[r["label"]]))


def _site_rows(catalog: Catalog, profiles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per site layer (every built-in one, then each user layer holding a feature in one of the regions): how many
    of its features lie in each region, and their names."""
    rows = []
    for layer in SITE_LAYERS:
        spec = catalog.spec(layer)
        cells = []
        for p in profiles:
            items = p["sites"].get(layer, [])
            cells.append(
                {
                    "count": len(items),
                    "sites": [{"id": s["id"], "name": s["name"], "name_en": s.get("name_en")} for s in items],
                }
            )
        rows.append({"layer": layer, "title": spec.title, "title_en": spec.title_en, "user": False, "cells": cells})
    user: dict[str, dict[str, Any]] = {}
    for i, p in enumerate(profiles):
        for place in p.get("user_layers") or []:
            row = user.setdefault(
                place["layer"],
                {
                    "layer": place["layer"],
                    "title": place["title"],
                    "title_en": place["title"],
                    "user": True,
                    "cells": [{"count": 0, "sites": []} for _ in profiles],
                },
            )
            feats = place.get("features") or []
            row["cells"][i] = {
                "count": len(feats),
                "sites": [{"id": f["id"], "name": f.get("name"), "name_en": None} for f in feats],
            }
    return rows + list(user.values())


def _region(p: Mapping[str, Any]) -> dict[str, Any]:
    """The heading of one region's column: names, city, level, designations, summary."""
    return {
        "adcode": p["adcode"],
        "name": p["name"],
        "name_en": p.get("name_en"),
        "level": p["level"],
        "city": p.get("city"),
        "city_en": p.get("city_en"),
        "city_adcode": p.get("city_adcode"),
        "designations": [
            {
                "programme": d.get("programme"),
                "programme_en": d.get("programme_en"),
                "year": d.get("year"),
                **cited(d.get("source_ref")),
            }
            for d in p.get("designations") or []
        ],
        "pilot_counties": p.get("pilot_counties"),
        "summary": p.get("summary"),
        "summary_en": p.get("summary_en"),
        "summary_sources": [cited(r) for r in p.get("summary_source_refs") or []],
        "center": p.get("center"),
        "bbox": p.get("bbox"),
    }


def documents(comparison: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every document the comparison cites, once, in the order first cited (for a printed page's footnotes)."""
    seen: dict[tuple, dict[str, Any]] = {}

    def walk(value: Any) -> Iterable[Mapping[str, Any]]:
        if isinstance(value, Mapping):
            src = value.get("source")
            if isinstance(src, Mapping) and (src.get("title") or src.get("file")):
                yield src
            for v in value.values():
                yield from walk(v)
        elif isinstance(value, list):
            for v in value:
                yield from walk(v)

    for src in walk({k: comparison[k] for k in ("regions", "figures", "facts")}):
        key = (src.get("title"), src.get("doc_number"), src.get("file"))
        if key not in seen:
            seen[key] = {k: src.get(k) for k in ("title", "title_en", "doc_number", "issuer", "date", "file")}
    return list(seen.values())


def compare(catalog: Catalog, ids: list[str]) -> dict[str, Any]:
    """The comparison of the regions `ids` (already parsed): 404 for an unknown adcode, 400 for a province."""
    profiles = [catalog.profiles.get(code) for code in ids]
    wrong = [p["name"] for p in profiles if p["level"] not in COMPARABLE_LEVELS]
    if wrong:
        raise BadRequest(
            f"only counties and cities can be compared; {', '.join(wrong)} is a province", levels=COMPARABLE_LEVELS
        )
    figures = align([p.get("figures") or [] for p in profiles])
    facts = align([p.get("facts") or [] for p in profiles])
    sites = _site_rows(catalog, profiles)
    summary = {
        "regions": [
            {
                "adcode": p["adcode"],
                "designations": len(p.get("designations") or []),
                "figures": len(p.get("figures") or []),
                "facts": len(p.get("facts") or []),
                "sites": sum(row["cells"][i]["count"] for row in sites if not row["user"]),
                "user_features": sum(row["cells"][i]["count"] for row in sites if row["user"]),
            }
            for i, p in enumerate(profiles)
        ],
        "shared_figures": sum(r["regions_with_value"] > 1 for r in figures),
        "shared_facts": sum(r["regions_with_value"] > 1 for r in facts),
    }
    return {
        "ids": ids,
        "data_date": DATA_DATE,
        "regions": [_region(p) for p in profiles],
        "figures": figures,
        "facts": facts,
        "sites": sites,
        "summary": summary,
    }
