"""Read the curated YAML files in data/, validate them (schema.py, then cross-record checks) and collect every problem.

Stage 1 reads each file (UTF-8, YAML) and validates it against its pydantic model, one line per problem naming
file, record and field. Stage 2 checks what one record cannot know alone: unique ids, parents, counties through
the gazetteer, and every citation against sources.yaml and the seed texts (lines exist, cited figures appear).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from geo.errors import ApiError

from . import schema
from .catalog import SITE_LAYERS
from .schema import Conflict, Fact, Source

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
# every key any model knows, to suggest the intended one for a misspelt key
_KNOWN_KEYS = sorted(
    {
        name
        for model in vars(schema).values()
        if isinstance(model, type) and issubclass(model, BaseModel)
        for name in model.model_fields
    }
)


class DataError(RuntimeError):
    """The shipped layer data has problems; the message lists every one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the layer data:\n- " + "\n- ".join(problems))


def cite(source: Source | dict | None) -> str:
    """A source as people read it: `000_c6c9f80bd43acc42.txt L160–163`."""
    if not source:
        return ""
    file, (a, b) = (source["file"], source["lines"]) if isinstance(source, dict) else (source.file, source.lines)
    return f"{file} L{a}" + (f"–{b}" if b != a else "")


@dataclass
class Problems:
    items: list[str] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")


def _utf8(raw: bytes, where: str, problems: Problems) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.add(
            where,
            f"not valid UTF-8 at byte offset {exc.start} (line {line}: {raw[exc.start : exc.end]!r}); "
            "save the file as UTF-8",
        )
        return None


class SeedTexts:
    """The seed documents, to check that citations point at real lines holding the cited figures."""

    def __init__(self, seeds_dir: Path) -> None:
        self.dir = seeds_dir
        self.available = seeds_dir.is_dir()
        self._lines: dict[str, list[str] | None] = {}
        self.problems = Problems()  # unreadable seed files, reported once each

    def lines(self, name: str) -> list[str] | None:
        if name not in self._lines:
            path = self.dir / name
            text = _utf8(path.read_bytes(), f"seed file {name}", self.problems) if path.is_file() else None
            self._lines[name] = text.splitlines() if text is not None else None
        return self._lines[name]

    def exists(self, name: str) -> bool:
        return (self.dir / name).is_file()


class Citations:
    """Checks every citation against the source table and (when available) the seed texts; builds `source_ref`s."""

    def __init__(self, seeds: SeedTexts, table: dict[str, schema.SourceEntry], problems: Problems) -> None:
        self.seeds = seeds
        self.table = table
        self.problems = problems
        self.count = 0

    def ref(self, source: Source | None) -> dict | None:
        """The structured citation served beside the short string: file, lines and the document's readable names."""
        if source is None:
            return None
        entry = self.table.get(source.file)
        return {
            "file": source.file,
            "lines": list(source.lines),
            "title": entry.title if entry else None,
            "title_en": entry.title_en if entry else None,
            "doc_number": entry.doc_number if entry else None,
            "issuer": entry.issuer if entry else None,
            "date": entry.date if entry else None,
        }

    def check(self, source: Source | None, where: str, value: Any = None) -> None:
        if source is None:
            return
        self.count += 1
        if self.table and source.file not in self.table:
            self.problems.add(where, f"cites {source.file}, which is not in sources.yaml")
        if not self.seeds.available:
            return
        first, last = source.lines
        text = self.seeds.lines(source.file)
        if text is None:
            if not self.seeds.exists(source.file):
                self.problems.add(where, f"cites {source.file}, which is not a seed file")
            return
        if last > len(text):
            self.problems.add(where, f"cites lines {[first, last]} but {source.file} has {len(text)} lines")
            return
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            cited = re.sub(r"\s+", "", "".join(text[first - 1 : last]))
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            numerals = _CN_NUMERALS.get(value, ()) if isinstance(value, int) else ()
            if shown not in cited and f"{value:,}" not in cited and not any(n in cited for n in numerals):
                self.problems.add(where, f"figure {shown} does not appear in {cite(source)}")

    def fact(self, fact: Fact, where: str) -> dict:
        self.check(fact.source, where, fact.value)
        alternatives = []
        for k, alt in enumerate(fact.alternatives):
            self.check(alt.source, f"{where}.alternatives[{k + 1}]", alt.value)
            alternatives.append(
                {
                    "value": alt.value,
                    "unit": alt.unit,
                    "unit_en": alt.unit_en,
                    "year": alt.year,
                    "note": alt.note,
                    "note_en": alt.note_en,
                    "source": cite(alt.source),
                    "source_ref": self.ref(alt.source),
                }
            )
        return {
            "label": fact.label,
            "label_en": fact.label_en,
            "value": fact.value,
            "unit": fact.unit,
            "unit_en": fact.unit_en,
            "year": fact.year,
            "status": fact.status,
            "period": fact.period,
            "note": fact.note,
            "note_en": fact.note_en,
            "source": cite(fact.source),
            "source_ref": self.ref(fact.source),
            "alternatives": alternatives,
        }

    def facts(self, facts: list[Fact], where: str) -> list[dict]:
        return [self.fact(f, f"{where} facts[{j + 1}]") for j, f in enumerate(facts)]

    def conflicts(self, conflicts: list[Conflict], where: str) -> list[dict]:
        out = []
        for j, c in enumerate(conflicts):
            for k, src in enumerate(c.sources):
                self.check(src, f"{where} conflicts[{j + 1}].sources[{k + 1}]")
            out.append(
                {
                    "topic": c.topic,
                    "topic_en": c.topic_en,
                    "note": c.note,
                    "note_en": c.note_en,
                    "sources": [cite(s) for s in c.sources],
                    "source_refs": [self.ref(s) for s in c.sources],
                }
            )
        return out


# --- stage 1: files and schema --------------------------------------------------------------------------


def _read_yaml(path: Path, rel: str, problems: Problems) -> Any:
    """The parsed file, or None after adding a problem (not UTF-8, not YAML, empty)."""
    text = _utf8(path.read_bytes(), rel, problems)
    if text is None:
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problems.add(rel, f"not valid YAML: {' '.join(str(exc).split())}")
        return None
    if data is None:
        problems.add(rel, "the file is empty or holds only comments; a data file must hold records (or be deleted)")
        return None
    return data


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


def _record_label(data: Any, loc: tuple) -> tuple[str, tuple]:
    """`#3 yunqi-town` for errors inside a record list, and the rest of the location."""
    if len(loc) >= 2 and loc[0] in ("sites", "regions", "counties") and isinstance(loc[1], int):
        items = data.get(loc[0]) if isinstance(data, dict) else None
        rec = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        name = (rec.get("id") or rec.get("name") or "") if isinstance(rec, dict) else ""
        return f"{loc[0]} #{loc[1] + 1}" + (f" {name}" if name else ""), loc[2:]
    return "", loc


def _field_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]"  # counting from 1, as people count records
        elif part.startswith("function-") or part in ("str", "int", "float", "list", "dict"):
            continue
        else:
            out += ("." if out else "") + part
    return out


def schema_problems(rel: str, data: Any, err: ValidationError) -> list[str]:
    """One line per error: `file record: field: message, got value`."""
    lines = []
    for e in err.errors(include_url=False):
        label, rest = _record_label(data, e["loc"])
        where = f"{rel} {label}".strip()
        path = _field_path(rest) or ("(the record)" if label else "(top level)")
        if e["type"] == "extra_forbidden":
            key = str(rest[-1]) if rest else ""
            near = difflib.get_close_matches(key, _KNOWN_KEYS, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            lines.append(f"{where}: {path}: unknown key{hint}")
        elif e["type"] == "missing":
            why = " (it has no source)" if rest and rest[-1] == "source" else ""
            lines.append(f"{where}: {path}: required key is missing{why}")
        else:
            if e["type"] == "value_error":  # our own validators say what they got
                lines.append(f"{where}: {path}: {e['msg'].removeprefix('Value error, ')}")
            else:
                lines.append(f"{where}: {path}: {e['msg']}, got {_short(e['input'])}")
    return lines


def _validate(model: type[schema.Record], data: Any, rel: str, list_key: str, problems: Problems) -> list[Any]:
    """The file's valid records. On errors, list them all and keep the records that are valid on their own."""
    try:
        return list(getattr(model.model_validate(data), list_key))
    except ValidationError as err:
        problems.items.extend(schema_problems(rel, data, err))
    items = data.get(list_key) if isinstance(data, dict) else None
    (record_model,) = get_args(model.model_fields[list_key].annotation)  # list[X] -> X
    kept = []
    for item in items if isinstance(items, list) else []:
        try:
            kept.append(record_model.model_validate(item))
            continue
        except ValidationError as err:
            bad = {e["loc"][0] for e in err.errors() if e["loc"]}
        if not isinstance(item, dict):
            continue
        try:  # without its faulty keys, so the cross-record checks (county, location, ids) still see it
            kept.append(record_model.model_validate({k: v for k, v in item.items() if k not in bad}))
        except ValidationError:
            continue
    return kept


def _files(layers_dir: Path, folder: str, problems: Problems) -> list[Path]:
    here = layers_dir / folder
    if not here.is_dir():
        problems.add(f"{folder}/", f"the layer directory is missing (expected {here})")
        return []
    files = sorted(here.glob("*.yaml"))
    if not files:
        problems.add(f"{folder}/", "the layer directory holds no *.yaml file")
    return files


@dataclass
class LayerData:
    sites: list[dict]
    pilots: list[dict]
    pilot_meta: dict
    regions: list[dict]
    sources: dict[str, dict] = field(default_factory=dict)
    unverified: bool = False  # citations were not checked against the seed texts (seeds missing, allowed)


def _read_sources(layers_dir: Path, seeds: SeedTexts, problems: Problems) -> dict[str, schema.SourceEntry]:
    path = layers_dir / schema.SOURCES_FILE
    if not path.is_file():
        problems.add(schema.SOURCES_FILE, "the source table is missing; every cited file must be listed there")
        return {}
    data = _read_yaml(path, schema.SOURCES_FILE, problems)
    if data is None:
        return {}
    try:
        table = dict(schema.SourcesFile.model_validate(data).sources)
    except ValidationError as err:
        problems.items.extend(schema_problems(schema.SOURCES_FILE, data, err))
        return {}
    if seeds.available:
        for name in table:
            if not seeds.exists(name):
                problems.add(f"{schema.SOURCES_FILE} {name}", f"no such seed file in {seeds.dir}")
    return table


def read(
    layers_dir: Path, seeds: SeedTexts, resolve: Callable[[str], Any], allow_unverified: bool = False
) -> tuple[LayerData, Problems]:
    """Read every YAML file under layers_dir; `resolve(name)` maps a region name to a Place or raises ApiError."""
    problems = Problems()
    if not layers_dir.is_dir():
        problems.add(str(layers_dir), "the layers data directory does not exist (KECHUANG_LAYERS_DIR)")
        return LayerData([], [], {}, []), problems
    table = _read_sources(layers_dir, seeds, problems)
    cites = Citations(seeds, table, problems)

    # stage 1: every file against its schema
    site_records: list[tuple[str, str, int, Any]] = []  # (layer, file, position, record)
    for layer in SITE_LAYERS:
        for path in _files(layers_dir, layer, problems):
            rel = str(path.relative_to(layers_dir))
            data = _read_yaml(path, rel, problems)
            if data is not None:
                recs = _validate(schema.SITE_FILES[layer], data, rel, "sites", problems)
                site_records += [(layer, rel, i, r) for i, r in enumerate(recs)]
    pilot_files = []
    for path in _files(layers_dir, "pilot-counties", problems):
        rel = str(path.relative_to(layers_dir))
        data = _read_yaml(path, rel, problems)
        if data is None:
            continue
        try:
            pilot_files.append((rel, schema.PilotFile.model_validate(data)))
        except ValidationError as err:
            problems.items.extend(schema_problems(rel, data, err))
    region_records: list[tuple[str, int, schema.Region]] = []
    for path in _files(layers_dir, "regions", problems):
        rel = str(path.relative_to(layers_dir))
        data = _read_yaml(path, rel, problems)
        if data is not None:
            recs = _validate(schema.RegionFile, data, rel, "regions", problems)
            region_records += [(rel, i, r) for i, r in enumerate(recs)]

    # stage 2: across records
    def county_of(name: str, where: str) -> Any:
        try:
            place = resolve(name)
        except ApiError as exc:
            problems.add(where, f"county {name!r}: {exc.message}")
            return None
        if place.level != "county":
            problems.add(where, f"{name!r} is a {place.level}, not a county-level unit")
            return None
        return place

    sites: list[dict] = []
    seen: dict[str, str] = {}
    for layer, rel, i, rec in site_records:
        where = f"{rel} sites #{i + 1} {rec.id}"
        if rec.id in seen:
            problems.add(where, f"id {rec.id!r} is used again (first in {seen[rec.id]})")
            continue
        seen[rec.id] = rel
        for other in rec.also_in:
            if other == layer:
                problems.add(where, f"also_in names {other!r}, the record's own layer")
        place = county_of(rec.county, where)
        if isinstance(rec, schema.CorridorSite):
            path_pts = [(float(p[0]), float(p[1])) for p in rec.path]
            loc = path_pts[0]
        else:
            path_pts = []
            loc = (float(rec.location[0]), float(rec.location[1]))
        designation = None
        if rec.designation is not None:
            d = rec.designation
            cites.check(d.source, f"{where} designation.source")
            designation = {
                "programme": d.programme,
                "programme_en": d.programme_en,
                "year": d.year,
                "source": cite(d.source),
                "source_ref": cites.ref(d.source),
            }
        cites.check(rec.summary_source, f"{where} summary_source")
        cites.check(rec.layout_source, f"{where} layout_source")
        facts = cites.facts(rec.facts, where)
        conflicts = cites.conflicts(rec.conflicts, where)
        refs = [f["source"] for f in facts] + [cite(rec.summary_source), cite(rec.layout_source)]
        refs += [designation["source"] if designation else ""]
        sources = list(dict.fromkeys(r for r in refs if r))
        plain = rec.model_dump(exclude={"facts", "conflicts", "designation", "location", "path"}, exclude_none=True)
        sites.append(
            {
                **plain,
                "layer": layer,
                "layers": [layer, *(o for o in rec.also_in if o != layer)],
                "location": loc,
                "path": path_pts,
                "county_adcode": place.adcode if place else None,
                "county": place.name if place else rec.county,
                "city": place.city if place else None,
                "aliases": list(rec.aliases),
                "designation": designation,
                "facts": facts,
                "conflicts": conflicts,
                "sources": sources,
                "source": "; ".join(sources),
                "summary_source": cite(rec.summary_source),
                "summary_source_ref": cites.ref(rec.summary_source),
                "layout_source": cite(rec.layout_source),
                "layout_source_ref": cites.ref(rec.layout_source),
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
                "source_ref": parent.get("layout_source_ref") or pd.get("source_ref"),
                "inherited_from": parent["id"],
            }
    for s in sites:
        if s.get("parent") and s["parent"] not in ids:
            problems.add(f"site {s['id']}", f"parent {s['parent']!r} is not a site id")
        if s.get("within") and s["within"] not in ids:
            problems.add(f"site {s['id']}", f"within {s['within']!r} is not a site id")

    pilots: list[dict] = []
    pilot_meta: dict = {}
    for rel, pf in pilot_files:
        cites.check(pf.source, f"{rel} source")
        pilot_meta = {
            "programme": pf.programme,
            "programme_en": pf.programme_en,
            "year": pf.year,
            "source": cite(pf.source),
            "source_ref": cites.ref(pf.source),
        }
        for i, county in enumerate(pf.counties):
            here = f"{rel} counties #{i + 1} {county.name}"
            cites.check(county.source, f"{here} source")
            place = county_of(county.name, here)
            if place:
                pilots.append(
                    {
                        "adcode": place.adcode,
                        "listed_as": county.name,
                        **pilot_meta,
                        "source": cite(county.source),
                        "source_ref": cites.ref(county.source),
                    }
                )
    regions: list[dict] = []
    for rel, i, region in region_records:
        where = f"{rel} regions #{i + 1} {region.name}"
        try:
            place = resolve(region.name)
        except ApiError as exc:
            problems.add(where, exc.message)
            continue
        cites.check(region.summary_source, f"{where} summary_source")
        regions.append(
            {
                "adcode": place.adcode,
                "summary": region.summary,
                "summary_en": region.summary_en,
                "summary_source": cite(region.summary_source),
                "summary_source_ref": cites.ref(region.summary_source),
                "location_note": region.location_note,
                "location_note_en": region.location_note_en,
                "facts": cites.facts(region.facts, where),
                "conflicts": cites.conflicts(region.conflicts, where),
            }
        )
    problems.items.extend(seeds.problems.items)
    unverified = not seeds.available
    if unverified and not allow_unverified:
        problems.add(
            f"seeds directory {seeds.dir}",
            f"does not exist, so none of the {cites.count} citations can be checked against its lines; point "
            "KECHUANG_SEEDS_DIR at the source documents, or set KECHUANG_ALLOW_UNVERIFIED=1 to serve the data "
            "marked as unverified",
        )
    table_out = {name: entry.model_dump() for name, entry in table.items()}
    return LayerData(sites, pilots, pilot_meta, regions, table_out, unverified), problems
