"""Thematic maps: which numeric fields can colour (regions) or size (points) a layer, and their classification.

Fields come from the catalog and the data, never from a list of names: a layer's numeric columns (an imported
list keeps its numbers numeric) and its curated figures — the `facts` of its features, or for a region layer
the facts of the region records of the same adcode — grouped by indicator label, offered when at least
`min_count` features have a number. Classification is mapclassify's: quantiles, natural breaks (Fisher–Jenks,
exact and deterministic) and equal interval, into k = 3..7 classes coloured from a palette of the one style
table (layers/styles.py THEMATIC). `thematic_layer` turns an answer into what the printed and HTML maps draw:
a class column and a per-class style in the table's `classes` shape.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import mapclassify
import numpy as np
import pandas as pd

from geo.errors import BadRequest
from geo.formats import ExportLayer

if TYPE_CHECKING:
    from geopandas import GeoDataFrame

    from .store import Catalog

METHODS = {
    "quantiles": mapclassify.Quantiles,
    "natural_breaks": mapclassify.FisherJenks,  # the exact algorithm: the same breaks every time
    "equal_interval": mapclassify.EqualInterval,
}
METHOD_TITLES = {
    "quantiles": ("分位数", "quantiles"),
    "natural_breaks": ("自然断点", "natural breaks"),
    "equal_interval": ("等间距", "equal interval"),
}
K_RANGE = (3, 7)
DEFAULT_METHOD = "quantiles"
DEFAULT_K = 5
FACT_PREFIX = "fact:"
CLASS_COLUMN = "_thematic_class"  # the column printed and HTML maps are classed by
VALUE_COLUMN = "_thematic_value"  # the value a feature is classed by (HTML map popups show it)
NO_DATA = "no_data"
NO_DATA_TITLE = "无数据 No data"


@dataclass(frozen=True)
class Options:
    """A thematic map's definition: which field, classified how, coloured with which palette."""

    field: str
    method: str = DEFAULT_METHOD
    k: int = DEFAULT_K
    palette: str = ""


def parse_options(args: Mapping[str, Any], table: Mapping[str, Any]) -> Options:
    """`field`, `method`, `k` and `palette` from query arguments, checked; 400 naming what is accepted."""
    field = str(args.get("field") or "").strip()
    if not field:
        raise BadRequest("field is required; GET /api/thematic/<layer> lists the layer's numeric fields")
    method = str(args.get("method") or DEFAULT_METHOD)
    if method not in METHODS:
        raise BadRequest(f"method must be one of {', '.join(METHODS)}, got {method!r}", accepted=list(METHODS))
    raw_k = args.get("k") or DEFAULT_K
    try:
        k = int(raw_k)
    except (TypeError, ValueError):
        raise BadRequest(f"k must be an integer from {K_RANGE[0]} to {K_RANGE[1]}, got {raw_k!r}") from None
    if not K_RANGE[0] <= k <= K_RANGE[1]:
        raise BadRequest(f"k must be from {K_RANGE[0]} to {K_RANGE[1]} classes, got {k}", accepted=list(K_RANGE))
    palettes = table["thematic"]["palettes"]
    palette = str(args.get("palette") or table["thematic"]["default_palette"])
    if palette not in palettes:
        raise BadRequest(f"palette must be one of {', '.join(palettes)}, got {palette!r}", accepted=list(palettes))
    return Options(field, method, k, palette)


def parse_text(text: str, table: Mapping[str, Any]) -> Options:
    """`field:method:k:palette` (the field may itself hold colons: the last three parts are split off)."""
    parts = text.rsplit(":", 3)
    if len(parts) != 4 or not parts[0]:
        raise BadRequest(
            f"thematic must be <field>:<method>:<k>:<palette>, e.g. 高新技术企业数:quantiles:5:YlGnBu; got {text!r}"
        )
    return parse_options(dict(zip(("field", "method", "k", "palette"), parts, strict=True)), table)


def symbol_kind(catalog: Catalog, layer_id: str) -> str:
    """ "choropleth" for a polygon layer, "graduated" (circles) for a point layer; 400 for lines and the rest."""
    spec = catalog.spec(layer_id)
    geometry = spec.geometry_type or ""
    if "Polygon" in geometry and spec.kind != "reference":
        return "choropleth"
    if "Point" in geometry:
        return "graduated"
    raise BadRequest(
        f"{layer_id!r} has {geometry or 'no'} geometry; thematic maps colour polygon layers (regions) and size "
        "point layers"
    )


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool | np.bool_)
        and (bool(np.isfinite(value)))
    )


def _facts_by_feature(catalog: Catalog, frame: GeoDataFrame) -> dict[str, list[dict[str, Any]]]:
    """Each feature's curated facts: its own `facts` column, else those of the region records of its adcode."""
    if "facts" in frame.columns:
        return {str(fid): list(facts or []) for fid, facts in zip(frame.index, frame["facts"], strict=True)}
    if "adcode" not in frame.columns:
        return {}
    records: dict[str, list[dict[str, Any]]] = {}
    for record in catalog.data.regions:  # a region may have several records (one per source): all their facts
        records.setdefault(str(record.get("adcode")), []).extend(record.get("facts") or [])
    return {str(fid): list(records.get(str(code), [])) for fid, code in zip(frame.index, frame["adcode"], strict=True)}


def _numeric_facts(facts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """label -> the fact with a number under that label (the latest year when there are several)."""
    out: dict[str, dict[str, Any]] = {}
    for fact in facts:
        label = fact.get("label")
        if not label or not _is_number(fact.get("value")):
            continue
        old = out.get(label)
        if old is None or (fact.get("year") or 0) > (old.get("year") or 0):
            out[label] = fact
    return out


COORDINATE_TOLERANCE = 0.02  # degrees: a column this close to every point's longitude or latitude holds coordinates


def _coordinates(frame: GeoDataFrame) -> list[np.ndarray]:
    """The points' longitudes and latitudes (none for other geometries): columns equal to them are no figures."""
    geoms = frame.geometry
    if not len(frame) or not geoms.geom_type.isin(["Point"]).all():
        return []
    return [geoms.x.to_numpy(dtype=float), geoms.y.to_numpy(dtype=float)]


def _numeric_columns(frame: GeoDataFrame) -> list[str]:
    """Columns holding numbers (not booleans) with at least two different values, other than a point list's own
    longitude and latitude columns."""
    coords = _coordinates(frame)
    out = []
    for column in frame.columns:
        if column == frame.geometry.name or str(column).startswith("_"):
            continue
        series = frame[column]
        if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
            continue
        numbers = series.to_numpy(dtype=float, na_value=np.nan)
        if any(np.nanmax(np.abs(numbers - axis), initial=0.0) < COORDINATE_TOLERANCE for axis in coords):
            continue
        if series.dropna().nunique() >= 2:
            out.append(str(column))
    return out


def fields(catalog: Catalog, layer_id: str, *, min_count: int = 3) -> dict[str, Any]:
    """The layer's numeric fields: the numeric columns of a user layer (built-in layers keep their figures in
    `facts`, their other columns are bookkeeping), then curated figures that at least `min_count` features have."""
    kind = symbol_kind(catalog, layer_id)
    frame = catalog.frame(layer_id)
    out: list[dict[str, Any]] = [
        {
            "id": column,
            "label": column,
            "label_en": column,
            "unit": None,
            "unit_en": None,
            "source": "column",
            "count": int(frame[column].notna().sum()),
        }
        for column in (_numeric_columns(frame) if catalog.is_user_layer(layer_id) else [])
    ]
    by_label: dict[str, list[dict[str, Any]]] = {}
    for facts in _facts_by_feature(catalog, frame).values():
        for label, fact in _numeric_facts(facts).items():
            by_label.setdefault(label, []).append(fact)
    for label, facts in by_label.items():
        if len(facts) < min_count:
            continue
        unit, unit_en = _main_unit(facts)
        first = facts[0]
        out.append(
            {
                "id": FACT_PREFIX + label,
                "label": label,
                "label_en": first.get("label_en") or label,
                "unit": unit,
                "unit_en": unit_en,
                "source": "figure",
                "count": sum(1 for f in facts if (f.get("unit") or None) == unit),
                "years": sorted({f["year"] for f in facts if f.get("year") is not None}),
                "statuses": sorted({f.get("status") or "reported" for f in facts}),
            }
        )
    return {"layer": layer_id, "symbol": kind, "min_count": min_count, "fields": out}


def _main_unit(facts: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """The unit most of the facts use (with its English), so that only like figures are compared."""
    unit = Counter(f.get("unit") or None for f in facts).most_common(1)[0][0]
    unit_en = next((f.get("unit_en") for f in facts if (f.get("unit") or None) == unit and f.get("unit_en")), None)
    return unit, unit_en


def _field_values(catalog: Catalog, layer_id: str, field: str, min_count: int) -> tuple[dict[str, Any], pd.Series]:
    """(the field's description, its numbers by feature id, NaN where a feature has none); 400 for a field that
    is unknown, holds text, or holds no numbers."""
    frame = catalog.frame(layer_id)
    listed = {f["id"]: f for f in fields(catalog, layer_id, min_count=min_count)["fields"]}
    ids = [str(i) for i in frame.index]
    if field in frame.columns and field not in listed:
        series = frame[field]
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
            raise BadRequest(
                f"field {field!r} of {layer_id!r} has fewer than two different numbers: nothing to classify",
                accepted=list(listed),
            )
        raise BadRequest(
            f"field {field!r} of {layer_id!r} is not numeric; numeric fields: {', '.join(listed) or 'none'}",
            accepted=list(listed),
        )
    info = listed.get(field)
    if info is None:
        raise BadRequest(
            f"unknown field {field!r} for {layer_id!r}; numeric fields: {', '.join(listed) or 'none'} "
            "(GET /api/thematic/<layer> lists them)",
            accepted=list(listed),
        )
    if info["source"] == "column":
        values = pd.to_numeric(frame[field], errors="coerce").astype(float)
        values.index = pd.Index(ids)
        return {**info, "values": {}}, values
    label = field.removeprefix(FACT_PREFIX)
    meta: dict[str, dict[str, Any]] = {}
    numbers: dict[str, float] = {}
    for fid, facts in _facts_by_feature(catalog, frame).items():
        fact = _numeric_facts(facts).get(label)
        if fact is None or (fact.get("unit") or None) != info["unit"]:
            continue
        numbers[fid] = float(fact["value"])
        ref = fact.get("source_ref") or {}
        meta[fid] = {
            "unit": fact.get("unit"),
            "unit_en": fact.get("unit_en"),
            "year": fact.get("year"),
            "status": fact.get("status") or "reported",
            "source": {k: ref.get(k) for k in ("title", "title_en", "doc_number", "issuer", "date") if ref.get(k)},
        }
    values = pd.Series([numbers.get(i, np.nan) for i in ids], index=pd.Index(ids), dtype=float)
    return {**info, "values": meta}, values


def classify(values: np.ndarray, method: str, k: int) -> tuple[list[float], np.ndarray, str | None]:
    """(upper bounds of the classes, class of each value, a note when fewer classes than asked were made)."""
    y = np.asarray(values, dtype=float)
    distinct = len(np.unique(y))
    note = None
    use = k
    if distinct < k:
        use = max(distinct, 1)
        note = f"only {distinct} different values: {use} classes instead of {k}"
    if use == 1:
        return [float(y.max())], np.zeros(len(y), dtype=int), note
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "numba not installed", and mapclassify's own note on too few values
        classifier = METHODS[method](y, k=use)
    bins = [float(b) for b in classifier.bins]
    if len(bins) < k and note is None:
        note = f"{len(bins)} classes instead of {k}: repeated values fall on the same break"
    return bins, np.asarray(classifier.yb, dtype=int), note


def thematic(
    catalog: Catalog,
    layer_id: str,
    options: Options,
    table: Mapping[str, Any],
    *,
    min_count: int = 3,
    natural_breaks_max: int = 500,
) -> dict[str, Any]:
    """The thematic map of a layer: breaks, classes (min, max, colour, count; radius for circles), each feature's
    value and class, the features without a value, and the units, years, statuses and sources of the values.
    Natural breaks (exact Fisher–Jenks, pure Python here: 1,000 values take seconds) takes at most
    `natural_breaks_max` values."""
    kind = symbol_kind(catalog, layer_id)
    info, series = _field_values(catalog, layer_id, options.field, min_count)
    present = series.dropna()
    if present.empty:
        raise BadRequest(f"field {options.field!r} of {layer_id!r} has no numbers", accepted=[])
    if options.method == "natural_breaks" and len(present) > natural_breaks_max:
        raise BadRequest(
            f"natural_breaks classifies at most {natural_breaks_max} values; {options.field!r} has {len(present)}: "
            "use quantiles or equal_interval",
            accepted=["quantiles", "equal_interval"],
        )
    bins, classes, note = classify(present.to_numpy(), options.method, options.k)
    style = table["thematic"]
    colors = _colors(style["palettes"][options.palette], len(bins))
    radii = _radii(style["circle"], len(bins))
    low = float(present.min())
    out_classes = []
    for i, upper in enumerate(bins):
        entry: dict[str, Any] = {
            "min": low if i == 0 else bins[i - 1],
            "max": upper,
            "color": colors[i],
            "count": int((classes == i).sum()),
        }
        if kind == "graduated":
            entry["radius"] = radii[i]
        out_classes.append(entry)
    meta = info.pop("values")
    features = {
        fid: {"value": _plain(value), "class": int(c), **meta.get(fid, {})}
        for fid, value, c in zip(present.index, present.to_numpy(), classes, strict=True)
    }
    no_data = [str(i) for i in series.index[series.isna()]]
    years = sorted({m["year"] for m in meta.values() if m.get("year") is not None})
    sources: dict[str, dict[str, Any]] = {}
    for m in meta.values():
        src = m.get("source") or {}
        if src.get("title"):
            sources.setdefault(src["title"], {**src, "count": 0})["count"] += 1
    return {
        "layer": layer_id,
        "symbol": kind,
        "field": info,
        "method": options.method,
        "k": options.k,
        "k_used": len(bins),
        "note": note,
        "palette": options.palette,
        "breaks": bins,
        "classes": out_classes,
        "features": features,
        "no_data": no_data,
        "no_data_style": style["no_data"],
        "unit": info.get("unit"),
        "unit_en": info.get("unit_en"),
        "years": years,
        "statuses": sorted({m["status"] for m in meta.values()}),
        "sources": list(sources.values()),
    }


def _plain(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _colors(palette: Mapping[str, list[str]], n: int) -> list[str]:
    """n colours of a palette: its own n-class ramp, or for 1–2 classes the ends of its 3-class ramp."""
    if str(n) in palette:
        return list(palette[str(n)])
    three = palette[str(K_RANGE[0])]
    return [three[-1]] if n == 1 else [three[0], three[-1]]


def _radii(circle: Mapping[str, Any], n: int) -> list[float]:
    low, high = float(circle["min_radius"]), float(circle["max_radius"])
    if n == 1:
        return [round((low + high) / 2, 1)]
    return [round(low + (high - low) * i / (n - 1), 1) for i in range(n)]


def fmt_number(value: float) -> str:
    """A break as a reader writes it: no trailing zeros, thousands unseparated (CJK tables rarely use them)."""
    return f"{value:.6g}" if abs(value) < 1e6 else f"{value:.0f}"


def class_titles(answer: Mapping[str, Any]) -> list[str]:
    """Each class as "min – max" (the first class's min is the smallest value)."""
    return [f"{fmt_number(c['min'])} – {fmt_number(c['max'])}" for c in answer["classes"]]


def legend_heading(answer: Mapping[str, Any]) -> str:
    """The field, its unit and the classification, in both languages: the legend's heading on printed maps."""
    info = answer["field"]
    unit = f"（{answer['unit']}）" if answer.get("unit") else ""
    zh, en = METHOD_TITLES[answer["method"]]
    label_en = info.get("label_en") or info["label"]
    unit_en = f" ({answer['unit_en']})" if answer.get("unit_en") else ""
    return f"{info['label']}{unit} · {zh} {answer['k_used']} 级 / {label_en}{unit_en}, {en}"


def themed(layer: ExportLayer, answer: Mapping[str, Any], table: Mapping[str, Any]) -> ExportLayer:
    """An export layer drawn as the thematic map `answer` (its frame classed, its style the classes')."""
    frame, style = thematic_layer(layer.frame, answer, layer.style, table)
    return replace(layer, frame=frame, style=style)


def thematic_layer(
    frame: GeoDataFrame, answer: Mapping[str, Any], base_style: Mapping[str, Any], table: Mapping[str, Any]
) -> tuple[GeoDataFrame, dict[str, Any]]:
    """(frame with the class column, style) for the printed and HTML maps: the style's `classes` (ordered, one per
    class then "no data") in the shape geo.mapprint and geo.htmlmap already draw."""
    style = table["thematic"]
    classed = {fid: f"c{entry['class']}" for fid, entry in answer["features"].items()}
    out = frame.copy()
    out[CLASS_COLUMN] = [classed.get(str(fid), NO_DATA) for fid in out.index]
    values_by_id = {fid: fmt_number(entry["value"]) for fid, entry in answer["features"].items()}
    out[VALUE_COLUMN] = [values_by_id.get(str(fid)) for fid in out.index]
    graduated = answer["symbol"] == "graduated"
    region, circle, missing = style["region"], style["circle"], style["no_data"]
    titles = class_titles(answer)
    values: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(answer["classes"]):
        if graduated:
            values[f"c{i}"] = {
                "color": entry["color"],
                "marker": "o",
                "svg": table["symbols"]["circle"],
                "hollow": False,
                "size": round(entry["radius"] * 2),
                "title": titles[i],
            }
        else:
            values[f"c{i}"] = {
                "color": region["color"],
                "weight": region["weight"],
                "fill": entry["color"],
                "alpha": region["fill_opacity"],
                "title": titles[i],
            }
    values[NO_DATA] = (
        {"color": missing["color"], "marker": "o", "hollow": True, "size": 12, "title": NO_DATA_TITLE}
        if graduated
        else {
            "color": missing["color"],
            "weight": missing["weight"],
            "fill": missing["fill"],
            "alpha": 1.0,
            "hatch": missing["hatch"],
            "title": NO_DATA_TITLE,
        }
    )
    drawn = {k: v for k, v in base_style.items() if k not in ("classes", "kind_styled", "role_styled", "dash")}
    unit = f"（{answer['unit']}）" if answer.get("unit") else ""
    drawn["classes"] = {
        "field": CLASS_COLUMN,
        "values": values,
        "ordered": True,
        "heading": legend_heading(answer),
        "value_field": VALUE_COLUMN,
        "value_title": f"{answer['field']['label']}{unit}",
    }
    drawn["symbol_stroke"] = {"outline": circle["color"], "solid_width": circle["weight"], "hollow_width": 2}
    return out, drawn
