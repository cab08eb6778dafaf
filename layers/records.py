"""Read the curated YAML records in data/ and check them, collecting every problem before failing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from geo.errors import ApiError

from .catalog import KINDS, PRECISIONS, ROLES, SITE_LAYERS

_CN_NUMERALS = {
    1: ("一",),
    2: ("二", "两"),
    3: ("三",),
    4: ("四",),
    5: ("五",),
    6: ("六",),
    7: ("七",),
    8: ("八",),
    9: ("九",),
    10: ("十",),
}
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class DataError(RuntimeError):
    """The shipped layer data has problems; the message lists every one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the layer data:\n- " + "\n- ".join(problems))


def cite(source: dict | None) -> str:
    """A source as people read it: `000_c6c9f80bd43acc42.txt L160–163`."""
    if not source:
        return ""
    a, b = source["lines"]
    return f"{source['file']} L{a}" + (f"–{b}" if b != a else "")


@dataclass
class Problems:
    items: list[str] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")


class SeedTexts:
    """The seed documents, to check that citations point at real lines holding the cited figures."""

    def __init__(self, seeds_dir: Path) -> None:
        self.dir = seeds_dir
        self.available = seeds_dir.is_dir()

    @cache  # noqa: B019 - one SeedTexts per catalog build; the cache lives as long as it
    def lines(self, name: str) -> list[str] | None:
        path = self.dir / name
        return path.read_text(encoding="utf-8").splitlines() if path.is_file() else None

    def check(self, source: Any, where: str, problems: Problems, value: Any = None) -> None:
        if not isinstance(source, dict) or "file" not in source or "lines" not in source:
            problems.add(where, f"source must be {{file, lines: [first, last]}}, got {source!r}")
            return
        lines = source["lines"]
        if (
            not isinstance(lines, list)
            or len(lines) != 2
            or not all(isinstance(n, int) for n in lines)
            or lines[0] < 1
            or lines[1] < lines[0]
        ):
            problems.add(where, f"source lines must be [first, last] with 1 ≤ first ≤ last, got {lines!r}")
            return
        if not self.available:
            return
        text = self.lines(source["file"])
        if text is None:
            problems.add(where, f"cites {source['file']}, which is not a seed file")
            return
        if lines[1] > len(text):
            problems.add(where, f"cites lines {lines} but {source['file']} has {len(text)} lines")
            return
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            cited = re.sub(r"\s+", "", "".join(text[lines[0] - 1 : lines[1]]))
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            numerals = _CN_NUMERALS.get(value, ()) if isinstance(value, int) else ()
            if shown not in cited and f"{value:,}" not in cited and not any(n in cited for n in numerals):
                problems.add(where, f"figure {shown} does not appear in {cite(source)}")


def _load_yaml(path: Path, problems: Problems) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        problems.add(str(path), f"not valid YAML: {exc}")
        return {}
    if not isinstance(data, dict):
        problems.add(str(path), "top level must be a mapping")
        return {}
    return data


def _check_facts(facts: Any, where: str, seeds: SeedTexts, problems: Problems) -> list[dict]:
    if facts is None:
        return []
    if not isinstance(facts, list):
        problems.add(where, "facts must be a list")
        return []
    out = []
    for i, fact in enumerate(facts):
        here = f"{where} fact {i + 1}"
        if not isinstance(fact, dict) or "label" not in fact or "value" not in fact:
            problems.add(here, "a fact needs label and value")
            continue
        if "source" not in fact:
            problems.add(here, f"{fact['label']!r} has no source")
            continue
        seeds.check(fact["source"], here, problems, fact["value"])
        out.append(
            {
                "label": fact["label"],
                "label_en": fact.get("label_en"),
                "value": fact["value"],
                "unit": fact.get("unit"),
                "year": fact.get("year"),
                "source": cite(fact.get("source")),
                "source_ref": fact.get("source"),
            }
        )
    return out


def _point(value: Any) -> tuple[float, float] | None:
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, (int, float)) for v in value)
        and 73 <= value[0] <= 136
        and 3 <= value[1] <= 54
    ):
        return float(value[0]), float(value[1])
    return None


@dataclass
class LayerData:
    sites: list[dict]
    pilots: list[dict]
    pilot_meta: dict
    regions: list[dict]


def read(layers_dir: Path, seeds: SeedTexts, resolve) -> tuple[LayerData, Problems]:
    """Read every YAML file under layers_dir; `resolve(name)` maps a region name to a Place or raises ApiError."""
    problems = Problems()
    sites: list[dict] = []
    seen: dict[str, str] = {}

    def county_of(name: Any, where: str) -> Any:
        try:
            place = resolve(str(name))
        except ApiError as exc:
            problems.add(where, f"county {name!r}: {exc.message}")
            return None
        if place.level != "county":
            problems.add(where, f"{name!r} is a {place.level}, not a county-level unit")
            return None
        return place

    for layer in SITE_LAYERS:
        for path in sorted((layers_dir / layer).glob("*.yaml")):
            data = _load_yaml(path, problems)
            for i, rec in enumerate(data.get("sites") or []):
                where = f"{path.relative_to(layers_dir)} #{i + 1} {rec.get('id') or rec.get('name') or ''}"
                sid = rec.get("id")
                if not isinstance(sid, str) or not _SLUG.match(sid):
                    problems.add(where, f"id must be a lowercase ascii slug, got {sid!r}")
                    continue
                if sid in seen:
                    problems.add(where, f"id {sid!r} is used again (first in {seen[sid]})")
                    continue
                seen[sid] = str(path.relative_to(layers_dir))
                for key in ("name", "kind", "county", "precision"):
                    if not rec.get(key):
                        problems.add(where, f"missing {key}")
                if rec.get("kind") and rec["kind"] not in KINDS:
                    problems.add(where, f"kind {rec['kind']!r} is not one of {sorted(KINDS)}")
                if rec.get("precision") and rec["precision"] not in PRECISIONS:
                    problems.add(where, f"precision {rec['precision']!r} is not one of {PRECISIONS}")
                also = rec.get("also_in") or []
                for other in also:
                    if other not in SITE_LAYERS or other == layer:
                        problems.add(where, f"also_in names {other!r}, not another site layer")
                place = county_of(rec.get("county"), where) if rec.get("county") else None
                if layer == "corridors":
                    path_pts = [_point(p) for p in rec.get("path") or []]
                    if len(path_pts) < 2 or not all(path_pts):
                        problems.add(where, "a corridor needs a path of at least two [lon, lat] points")
                        path_pts = []
                    loc = path_pts[0] if path_pts else None
                else:
                    path_pts = []
                    loc = _point(rec.get("location"))
                    if loc is None:
                        problems.add(where, f"location must be [lon, lat] in China, got {rec.get('location')!r}")
                if layer == "science-city-zones":
                    if not rec.get("parent"):
                        problems.add(where, "a zone needs a parent")
                    if rec.get("role") not in ROLES:
                        problems.add(where, f"role {rec.get('role')!r} is not one of {ROLES}")
                    if not isinstance(rec.get("order"), int):
                        problems.add(where, "a zone needs an integer order")
                designation = rec.get("designation")
                if designation is not None:
                    if not isinstance(designation, dict) or not designation.get("programme"):
                        problems.add(where, "designation needs a programme")
                        designation = None
                    else:
                        seeds.check(designation.get("source"), f"{where} designation", problems)
                        designation = {**designation, "source": cite(designation.get("source"))}
                for key in ("summary_source", "layout_source"):
                    if rec.get(key) is not None:
                        seeds.check(rec[key], f"{where} {key}", problems)
                if rec.get("summary") and not rec.get("summary_source"):
                    problems.add(where, "summary has no summary_source")
                facts = _check_facts(rec.get("facts"), where, seeds, problems)
                refs = [f["source_ref"] for f in facts] + [rec.get(k) for k in ("summary_source", "layout_source")]
                refs += [(rec.get("designation") or {}).get("source")]
                sources = list(dict.fromkeys(cite(r) for r in refs if isinstance(r, dict)))
                sites.append(
                    {
                        **{k: v for k, v in rec.items() if k not in ("facts", "designation", "location", "path")},
                        "layer": layer,
                        "layers": [layer, *also],
                        "location": loc,
                        "path": path_pts,
                        "county_adcode": place.adcode if place else None,
                        "county": place.name if place else rec.get("county"),
                        "city": place.city if place else None,
                        "aliases": list(rec.get("aliases") or []),
                        "designation": designation,
                        "facts": [{k: v for k, v in f.items() if k != "source_ref"} for f in facts],
                        "sources": sources,
                        "source": "; ".join(sources),
                        "summary_source": cite(rec.get("summary_source")),
                        "layout_source": cite(rec.get("layout_source")),
                        "schematic": layer in ("science-city-zones", "corridors"),
                    }
                )
    ids = {s["id"] for s in sites}
    by_id = {s["id"]: s for s in sites}
    for s in sites:  # a layout part without its own designation belongs to its parent's layout
        parent = by_id.get(s.get("parent") or "")
        if s["designation"] is None and parent is not None:
            pd = parent.get("designation") or {}
            s["designation"] = {
                "programme": f"{parent['name']}空间布局",
                "programme_en": f"Layout of {parent.get('name_en') or parent['name']}",
                "year": pd.get("year"),
                "source": parent.get("layout_source") or pd.get("source") or "",
                "inherited_from": parent["id"],
            }
    for s in sites:
        if s.get("parent") and s["parent"] not in ids:
            problems.add(f"site {s['id']}", f"parent {s['parent']!r} is not a site id")
        if s.get("within") and s["within"] not in ids:
            problems.add(f"site {s['id']}", f"within {s['within']!r} is not a site id")

    pilots: list[dict] = []
    pilot_meta: dict = {}
    for path in sorted((layers_dir / "pilot-counties").glob("*.yaml")):
        data = _load_yaml(path, problems)
        where = str(path.relative_to(layers_dir))
        for key in ("programme", "year", "source"):
            if key not in data:
                problems.add(where, f"missing {key}")
        seeds.check(data.get("source"), where, problems)
        pilot_meta = {
            "programme": data.get("programme"),
            "programme_en": data.get("programme_en"),
            "year": data.get("year"),
            "source": cite(data.get("source")),
        }
        for i, rec in enumerate(data.get("counties") or []):
            here = f"{where} county {i + 1} {rec.get('name')}"
            seeds.check(rec.get("source"), here, problems)
            place = county_of(rec.get("name"), here)
            if place:
                pilots.append(
                    {
                        "adcode": place.adcode,
                        "listed_as": rec["name"],
                        **pilot_meta,
                        "source": cite(rec.get("source")) or pilot_meta["source"],
                    }
                )
    regions: list[dict] = []
    for path in sorted((layers_dir / "regions").glob("*.yaml")):
        data = _load_yaml(path, problems)
        for i, rec in enumerate(data.get("regions") or []):
            where = f"{path.relative_to(layers_dir)} #{i + 1} {rec.get('name')}"
            try:
                place = resolve(str(rec.get("name")))
            except ApiError as exc:
                problems.add(where, exc.message)
                continue
            if rec.get("summary_source") is not None:
                seeds.check(rec["summary_source"], f"{where} summary_source", problems)
            elif rec.get("summary"):
                problems.add(where, "summary has no summary_source")
            regions.append(
                {
                    "adcode": place.adcode,
                    "summary": rec.get("summary"),
                    "summary_en": rec.get("summary_en"),
                    "summary_source": cite(rec.get("summary_source")),
                    "facts": _check_facts(rec.get("facts"), where, seeds, problems),
                }
            )
    return LayerData(sites, pilots, pilot_meta, regions), problems
