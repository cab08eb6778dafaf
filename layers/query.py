"""Questions across layers: parse, check and answer "which counties (or cities) are in these lists, contain
these sites and meet these figures?" (`GET /api/query`, `/export/query.<ext>`).

Nothing here names a layer. What a layer can be asked about follows from the catalog:
- a *region layer* is a layer of kind "regions", or a user layer whose features carry an `adcode` and are
  polygons (an imported list of counties or cities); `in=` / `not_in=` / `where=` take these;
- a *site layer* is a layer of kind "sites", or any other user layer with geometry (points, lines, zones);
  `contains=` / `not_contains=` take these.
So a layer imported or added later is asked about with no new code.

How a site counts in a region: a point by where it lies; a zone (polygon) by its label point (the centroid when
it lies inside, else a point on its surface, as the region profiles count); a line (a corridor) in every region
it crosses. A point on a shared border counts once, in the first region found.

Membership by level. County level: a county is in a region layer when the layer lists the county, its city or
the province. City level: a city is in a region layer when the layer lists the city or the province, or at least
one of its counties. A `where` value is the listed row's: at county level the county's row, else its city's, else
the province's; at city level the city's own row, else the sum of its listed counties' values, else the province's.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import shapely

from geo.errors import BadRequest
from geo.shapes import label_point

if TYPE_CHECKING:
    import geopandas as gpd

    from .store import Catalog

LEVELS = ("county", "city")
OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
}
MAX_CONDITIONS = 20  # in + not_in + contains + not_contains + where, all together
MAX_VALUE_CHARS = 200  # one parameter's value
PARAMS = ("level", "in", "not_in", "contains", "not_contains", "where")
WHERE_RE = re.compile(r"^\s*(?P<field>[^<>=]+?)\s*(?P<op>>=|<=|>|<|=)\s*(?P<value>\S.*?)\s*$", re.S)
RULES = {
    "county": "a county is in a region layer when the layer lists the county, its city or the province",
    "city": "a city is in a region layer when the layer lists the city or the province, or at least one of its "
    "counties; a where value is the city's own row, else the sum of its listed counties",
    "sites": "a point counts where it lies, a zone by its label point, a line in every region it crosses",
}


@dataclass(frozen=True)
class Where:
    """A numeric condition on a field of a region layer: `term` is how the answer names its value."""

    layer: str
    field: str
    op: str
    value: float
    term: str

    def holds(self, x: float | None) -> bool:
        return x is not None and not math.isnan(x) and OPS[self.op](x, self.value)


@dataclass(frozen=True)
class Question:
    """A checked question; every list is sorted and free of repeats, so equal questions compare equal."""

    level: str = "county"
    in_: tuple[str, ...] = ()
    not_in: tuple[str, ...] = ()
    contains: tuple[tuple[str, int], ...] = ()
    not_contains: tuple[str, ...] = ()
    where: tuple[Where, ...] = ()

    def params(self) -> list[tuple[str, str]]:
        """The question as query parameters (the canonical form a permalink or export link uses)."""
        out: list[tuple[str, str]] = [("level", self.level)]
        out += [("in", x) for x in self.in_]
        out += [("not_in", x) for x in self.not_in]
        out += [("contains", f"{x}:{n}") for x, n in self.contains]
        out += [("not_contains", x) for x in self.not_contains]
        out += [("where", f"{w.term}{w.op}{_number(w.value)}") for w in self.where]
        return out

    def normalised(self) -> dict[str, Any]:
        """The question as the answer echoes it, with the membership rule it was answered by."""
        return {
            "level": self.level,
            "in": list(self.in_),
            "not_in": list(self.not_in),
            "contains": [{"layer": x, "min": n} for x, n in self.contains],
            "not_contains": list(self.not_contains),
            "where": [{"layer": w.layer, "field": w.field, "op": w.op, "value": w.value} for w in self.where],
            "params": urlencode(self.params()),
            "membership": RULES[self.level],
            "sites": RULES["sites"],
        }


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(v)


# ------------------------------------------------------------------ what each layer can be asked about
def _is_polygonal(geometry_type: str) -> bool:
    return "Polygon" in geometry_type


def layer_role(catalog: Catalog, layer_id: str) -> str | None:
    """'regions', 'sites' or None (a layer that takes part in no question, e.g. the reference water)."""
    spec = catalog.spec(layer_id)
    if spec.kind == "regions":
        return "regions"
    if spec.kind == "sites":
        return "sites"
    if spec.kind == "user":
        frame = catalog.frame(layer_id)
        if "adcode" in frame.columns and _is_polygonal(spec.geometry_type):
            return "regions"
        return "sites" if len(frame) else None
    return None


def numeric_fields(frame: gpd.GeoDataFrame) -> list[str]:
    """The columns a `where` can test: numbers (not booleans, not the geometry)."""
    out = []
    for col in frame.columns:
        if col == frame.geometry.name or col == "adcode":
            continue
        dtype = frame[col].dtype
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            continue
        out.append(str(col))
    return out


def query_layers(catalog: Catalog) -> dict[str, Any]:
    """The vocabulary of questions: region layers (with their numeric fields) and site layers, catalog order."""
    regions, sites = [], []
    for layer_id in catalog.ids():
        role = layer_role(catalog, layer_id)
        if role is None:
            continue
        spec = catalog.spec(layer_id)
        item: dict[str, Any] = {
            "id": layer_id,
            "title": spec.title,
            "title_en": spec.title_en,
            "kind": spec.kind,
            "geometry_type": spec.geometry_type,
        }
        if role == "regions":
            item["numeric_fields"] = numeric_fields(catalog.frame(layer_id))
            regions.append(item)
        else:
            sites.append(item)
    return {
        "levels": list(LEVELS),
        "ops": list(OPS),
        "max_conditions": MAX_CONDITIONS,
        "regions": regions,
        "sites": sites,
    }


# ------------------------------------------------------------------ parsing
def _accepted(catalog: Catalog, role: str) -> str:
    ids = [i for i in catalog.ids() if layer_role(catalog, i) == role]
    return ", ".join(ids) or "none"


def _layer(catalog: Catalog, raw: str, role: str, param: str) -> str:
    layer_id = raw.strip()
    if not layer_id:
        raise BadRequest(f"{param}= needs a layer id; {role[:-1]} layers are: {_accepted(catalog, role)}")
    catalog.spec(layer_id)  # unknown layer: 404, as everywhere else
    found = layer_role(catalog, layer_id)
    if found != role:
        what = {"regions": "a region layer", "sites": "a site layer", None: "a layer no question can use"}[found]
        accepted = _accepted(catalog, role)
        raise BadRequest(f"{param}={layer_id}: {layer_id!r} is {what}; {param}= takes {role[:-1]} layers: {accepted}")
    return layer_id


def _contains(catalog: Catalog, raw: str, param: str) -> tuple[str, int]:
    layer_part, sep, min_part = raw.strip().rpartition(":")
    if not sep:
        return _layer(catalog, raw, "sites", param), 1
    if not re.fullmatch(r"\d{1,9}", min_part.strip()):
        raise BadRequest(f"{param}={raw}: the minimum after ':' must be a whole number ≥ 0, e.g. {param}=<layer>:2")
    return _layer(catalog, layer_part, "sites", param), int(min_part)


def _where(catalog: Catalog, raw: str, in_layers: Sequence[str]) -> Where:
    m = WHERE_RE.match(raw)
    if not m:
        raise BadRequest(
            f"where={raw}: write <field><op><value> with op one of {', '.join(OPS)} (URL-encoded), e.g. "
            "where=高新技术企业数>=100"
        )
    term, op, text = m["field"].strip(), m["op"], m["value"]
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise BadRequest(f"where={raw}: the value {text!r} is not a finite number")
    if not in_layers:
        raise BadRequest(f"where={raw}: a where tests a field of a region layer named in in=; add in=<region layer>")
    layer, field = None, term
    prefix, sep, rest = term.partition(":")
    if sep and prefix in catalog.ids():
        if prefix not in in_layers:
            raise BadRequest(f"where={raw}: {prefix!r} is not named in in= (in= names: {', '.join(in_layers)})")
        layer, field = prefix, rest.strip()
    fields = {x: numeric_fields(catalog.frame(x)) for x in in_layers}
    owners = [layer] if layer else [x for x in in_layers if field in catalog.frame(x).columns]
    listing = "; ".join(f"{x}: {', '.join(f) or 'none'}" for x, f in fields.items())
    if not owners:
        raise BadRequest(f"where={raw}: no layer named in in= has a field {field!r}; numeric fields are {listing}")
    if len(owners) > 1:
        raise BadRequest(
            f"where={raw}: several layers in in= have {field!r} ({', '.join(owners)}); write where=<layer>:{field}…"
        )
    owner = owners[0]
    if field not in fields[owner]:
        kind = "not a field" if field not in catalog.frame(owner).columns else "not numeric"
        raise BadRequest(f"where={raw}: {field!r} of {owner} is {kind}; numeric fields are {listing}")
    return Where(owner, field, op, value, term)


def parse(catalog: Catalog, args: Mapping[str, Sequence[str]], *, extra: Sequence[str] = ()) -> Question:
    """A checked Question from query parameters (name → its values); 400 saying what is accepted, or 404 for
    an unknown layer. Parameters in `extra` (e.g. export options) are let through unread."""
    unknown = [k for k in args if k not in PARAMS and k not in extra]
    if unknown:
        raise BadRequest(f"unknown parameter {unknown[0]!r}; a question takes {', '.join(PARAMS)}")
    for key in PARAMS:
        for v in args.get(key, ()):
            if len(v) > MAX_VALUE_CHARS:
                raise BadRequest(f"{key}= is too long; at most {MAX_VALUE_CHARS} characters")
    levels = list(args.get("level", ()))
    level = (levels[-1].strip().lower() if levels else "") or "county"
    if level not in LEVELS or len(set(levels)) > 1:
        raise BadRequest(f"level must be one of {', '.join(LEVELS)} (once), got {', '.join(levels)!r}")
    n = sum(len(args.get(k, ())) for k in PARAMS if k != "level")
    if n > MAX_CONDITIONS:
        raise BadRequest(
            f"too many conditions ({n}); at most {MAX_CONDITIONS} of in/not_in/contains/not_contains/where"
        )
    in_ = sorted({_layer(catalog, x, "regions", "in") for x in args.get("in", ())})
    not_in = sorted({_layer(catalog, x, "regions", "not_in") for x in args.get("not_in", ())})
    contains: dict[str, int] = {}
    for raw in args.get("contains", ()):
        layer, low = _contains(catalog, raw, "contains")
        contains[layer] = max(low, contains.get(layer, 0))  # two minimums for one layer: both hold
    not_contains = sorted({_layer(catalog, x, "sites", "not_contains") for x in args.get("not_contains", ())})
    wheres = {}
    for raw in args.get("where", ()):
        w = _where(catalog, raw, in_)
        wheres[(w.layer, w.field, w.op, w.value)] = w
    return Question(
        level,
        tuple(in_),
        tuple(not_in),
        tuple(sorted(contains.items())),
        tuple(not_contains),
        tuple(sorted(wheres.values(), key=lambda w: (w.layer, w.field, w.op, w.value))),
    )


def describe(catalog: Catalog, q: Question) -> str:
    """The question in words (Chinese, layer titles), e.g. for a printed map's subtitle."""
    title = {i: catalog.spec(i).title for i in (*q.in_, *q.not_in, *(x for x, _ in q.contains), *q.not_contains)}
    parts = [f"属于{title[x]}" for x in q.in_]
    parts += [f"不属于{title[x]}" for x in q.not_in]
    parts += [f"含{title[x]}≥{n}" for x, n in q.contains]
    parts += [f"不含{title[x]}" for x in q.not_contains]
    parts += [f"{w.field}{w.op}{_number(w.value)}" for w in q.where]
    unit = "县（市、区）" if q.level == "county" else "设区市"
    return f"{unit}：{'；'.join(parts)}" if parts else f"全部{unit}"


# ------------------------------------------------------------------ answering
def _units(catalog: Catalog, level: str) -> gpd.GeoDataFrame:
    """The regions a question ranges over, sorted by city then adcode; `city` is the city's own name for cities."""
    b = catalog.boundaries
    frame = (b.counties if level == "county" else b.cities).copy()
    frame["adcode"] = frame["adcode"].astype(str)
    frame["city_adcode"] = frame["city_adcode"].fillna(frame["adcode"]).astype(str)
    frame["province_adcode"] = frame["province_adcode"].astype(str)
    if level == "city":
        frame["city"] = frame["name"]
    frame = frame.sort_values(["city_adcode", "adcode"], kind="stable")
    return frame.set_index(frame["adcode"].rename("id"))


def _listed(catalog: Catalog, layer_id: str) -> pd.DataFrame:
    """A region layer's rows by adcode (the first row of an adcode listed twice)."""
    frame = catalog.frame(layer_id)
    rows = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    rows = rows[rows["adcode"].notna()]
    rows.index = rows["adcode"].astype(str)
    return rows[~rows.index.duplicated()]


def _county_cities(catalog: Catalog) -> dict[str, list[str]]:
    counties = catalog.boundaries.counties
    out: dict[str, list[str]] = {}
    for code, city in zip(counties["adcode"].astype(str), counties["city_adcode"].astype(str), strict=True):
        out.setdefault(city, []).append(code)
    return out


def _membership(catalog: Catalog, units: gpd.GeoDataFrame, level: str, layer_id: str) -> pd.Series:
    """Whether each region is in the layer (see the module docstring)."""
    codes = set(_listed(catalog, layer_id).index)
    inside = units["adcode"].isin(codes) | units["city_adcode"].isin(codes) | units["province_adcode"].isin(codes)
    if level == "city":
        children = _county_cities(catalog)
        inside |= units["adcode"].map(lambda c: any(x in codes for x in children.get(c, ()))).astype(bool)
    return inside


def _values(catalog: Catalog, units: gpd.GeoDataFrame, level: str, w: Where) -> pd.Series:
    """A `where` field's value for each region (NaN when the layer gives none)."""
    rows = _listed(catalog, w.layer)
    values = pd.to_numeric(rows[w.field], errors="coerce").astype(float)
    own = dict(zip(values.index, values.to_numpy(), strict=True))
    children = _county_cities(catalog) if level == "city" else {}
    out = []
    for code, city, province in zip(units["adcode"], units["city_adcode"], units["province_adcode"], strict=True):
        if code in own:
            out.append(own[code])
        elif level == "county" and city in own:
            out.append(own[city])
        elif level == "city" and any(c in own for c in children.get(code, ())):
            vals = [own[c] for c in children[code] if c in own and not math.isnan(own[c])]
            out.append(float(sum(vals)) if vals else math.nan)
        else:
            out.append(own.get(province, math.nan))
    return pd.Series(out, index=units.index, dtype=float)


def site_counts(catalog: Catalog, units: gpd.GeoDataFrame, layer_id: str) -> pd.Series:
    """How many of a site layer's features lie in each region (see the module docstring)."""
    frame = catalog.frame(layer_id)
    counts = np.zeros(len(units), dtype=int)
    geoms = [g for g in frame.geometry.values if g is not None and not g.is_empty]
    tree = shapely.STRtree(np.asarray(units.geometry.values))
    lines = [g for g in geoms if "Line" in g.geom_type]
    others = [g for g in geoms if "Line" not in g.geom_type]
    if others:
        points = shapely.points([label_point(g) if g.geom_type != "Point" else (g.x, g.y) for g in others])
        hit_p, hit_r = tree.query(points, predicate="intersects")
        seen: set[int] = set()
        for p, r in zip(hit_p.tolist(), hit_r.tolist(), strict=True):
            if p not in seen:
                seen.add(p)
                counts[r] += 1
    if lines:
        hit_l, hit_r = tree.query(np.asarray(lines, dtype=object), predicate="intersects")
        for _line, r in set(zip(hit_l.tolist(), hit_r.tolist(), strict=True)):
            counts[r] += 1
    return pd.Series(counts, index=units.index)


def answer_frame(catalog: Catalog, q: Question) -> gpd.GeoDataFrame:
    """The matching regions with their boundary geometry and the answer's columns: adcode, name, city, a count
    per contains-layer (`<layer id>` in `counts`) and each where value, sorted by city then adcode.
    Column names: `counts` as `n <layer id>`, values under their where term."""
    units = _units(catalog, q.level)
    keep = pd.Series(True, index=units.index)
    for layer_id in q.in_:
        keep &= _membership(catalog, units, q.level, layer_id)
    for layer_id in q.not_in:
        keep &= ~_membership(catalog, units, q.level, layer_id)
    counts: dict[str, pd.Series] = {}
    for layer_id, low in q.contains:
        counts[layer_id] = site_counts(catalog, units, layer_id)
        keep &= counts[layer_id] >= low
    for layer_id in q.not_contains:
        n = counts.get(layer_id)
        n = site_counts(catalog, units, layer_id) if n is None else n
        counts.setdefault(layer_id, n)
        keep &= n == 0
    values: dict[str, pd.Series] = {}
    for w in q.where:
        values[w.term] = _values(catalog, units, q.level, w)
        keep &= values[w.term].map(w.holds).astype(bool)
    out = units.loc[keep.to_numpy(), ["adcode", "name", "city", "geometry"]].copy()
    for layer_id, n in counts.items():
        out[f"n {layer_id}"] = n[keep].astype(int)
    for term, v in values.items():
        out[term] = v[keep]
    out.attrs["count_columns"] = {layer_id: f"n {layer_id}" for layer_id in counts}
    out.attrs["value_columns"] = list(values)
    return out


def answer(catalog: Catalog, q: Question) -> dict[str, Any]:
    """The answer as /api/query serves it: count, count per city, the regions with their figures, the question."""
    frame = answer_frame(catalog, q)
    by_city: dict[str, int] = {}
    regions = []
    count_columns: dict[str, str] = frame.attrs["count_columns"]
    for _, row in frame.iterrows():
        city = str(row["city"]) if isinstance(row["city"], str) else ""
        by_city[city] = by_city.get(city, 0) + 1
        item: dict[str, Any] = {"adcode": row["adcode"], "name": row["name"], "city": city}
        if count_columns:
            item["counts"] = {layer_id: int(row[col]) for layer_id, col in count_columns.items()}
        if frame.attrs["value_columns"]:
            item["values"] = {
                term: (None if math.isnan(row[term]) else _plain(row[term])) for term in frame.attrs["value_columns"]
            }
        regions.append(item)
    return {"count": len(regions), "by_city": by_city, "regions": regions, "query": q.normalised()}


def _plain(v: float) -> float | int:
    return int(v) if float(v).is_integer() and abs(v) < 2**53 else round(float(v), 6)
