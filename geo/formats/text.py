"""Writers for the text formats: GeoJSON (RFC 7946) and CSV (UTF-8 with BOM, a point, WKT or no geometry).

Both hold one table: several layers are written as one collection / one table whose rows name their `layer`.
CSV options: `geometry` = `point` (default: `lon`, `lat` of a point on each feature), `wkt` (full geometry
as WKT, plus `longitude`/`latitude` for point layers) or `none`; `figures=long` writes the layers' related
tables (long tables of figures) instead of the features.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import shapely

from ..errors import BadRequest
from ..geojson import feature_collection, to_bytes
from ..shapes import label_point
from .layer import PRECISION, ExportLayer, choice, data_layers, flat_frame, flat_table, meta_text, related_tables

GEOMETRY_MODES = ("point", "wkt", "none")  # the CSV `geometry` option, default first
FIGURES_MODES = ("wide", "long", "none")  # the `figures` option, default first
EXCEL_CELL_LIMIT = 32767  # characters Excel keeps in one cell
POINT_NOTE = (
    "lon/lat: a point on each feature (a point itself; an area's centroid, or a point inside it when the "
    "centroid falls outside; a line's midpoint); ask geometry=wkt for the full geometry"
)


def write_geojson(layers: Sequence[ExportLayer], options: Mapping[str, Any]) -> bytes:
    """RFC 7946 FeatureCollection; nested properties as JSON strings; metadata as a foreign member.
    Several layers: one collection whose features carry a leading `layer` property."""
    data = data_layers(layers)
    if choice(options, "figures", FIGURES_MODES) == "long":
        raise BadRequest("figures=long is a table without geometry: ask for csv, gpkg, shp.zip or kml")
    if len(data) == 1:
        layer = data[0]
        extra = {"name": layer.name, "title": layer.title, "metadata": meta_text(layer)}
        return to_bytes(feature_collection(layer.frame, precision=PRECISION, stringify_nested=True, extra=extra))
    features = []
    for layer in data:
        for feature in feature_collection(layer.frame, precision=PRECISION, stringify_nested=True)["features"]:
            feature["properties"] = {"layer": layer.name, **feature["properties"]}
            features.append(feature)
    metas = [meta_text(lay) for lay in data]
    extra = {
        "name": "+".join(lay.name for lay in data),
        "title": " + ".join(lay.title for lay in data),
        "metadata": {"datum": metas[0].get("datum", ""), "layers": metas},
    }
    return to_bytes({"type": "FeatureCollection", **extra, "features": features})


def _geometry_columns(layer: ExportLayer, flat: pd.DataFrame, geoms: Any, mode: str) -> pd.DataFrame:
    table = pd.DataFrame(flat)
    if mode == "point":
        points = [label_point(g) if g is not None and not g.is_empty else (None, None) for g in layer.frame.geometry]
        table["lon"] = pd.array([p[0] for p in points], dtype="Float64")
        table["lat"] = pd.array([p[1] for p in points], dtype="Float64")
    elif mode == "wkt":
        if len(flat) and set(shapely.get_type_id(geoms)) == {0}:  # every feature a Point
            table["longitude"] = shapely.get_x(geoms).round(PRECISION)
            table["latitude"] = shapely.get_y(geoms).round(PRECISION)
        table["WKT"] = shapely.to_wkt(geoms, rounding_precision=PRECISION, trim=True)
    return table


def _csv_table(layer: ExportLayer, mode: str) -> pd.DataFrame:
    flat = flat_frame(layer.frame)
    geom_col = flat.geometry.name
    geoms = flat.geometry.values
    table = _geometry_columns(layer, pd.DataFrame(flat.drop(columns=[geom_col])), geoms, mode)
    meta = meta_text(layer)
    for key in ("source", "data_date", "datum"):
        table[f"meta_{key}"] = meta.get(key, "")
    if mode == "point":
        table["meta_geometry"] = POINT_NOTE
    return table


def _concat(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Tables one under the other (columns united); whole-number columns stay whole numbers."""
    if len(parts) == 1:
        return parts[0]
    out = pd.concat(parts, ignore_index=True)
    for col in out.columns:
        kinds = [p[col].dtype for p in parts if col in p.columns]
        if kinds and all(pd.api.types.is_integer_dtype(k) for k in kinds):
            out[col] = out[col].astype("Int64")
    return out


def _csv_bytes(table: pd.DataFrame) -> bytes:
    # %.15g: whole numbers without ".0", every decimal kept (coordinates have 6)
    text = table.to_csv(index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL, float_format="%.15g")
    return ("\ufeff" + text).encode("utf-8")


def write_csv(layers: Sequence[ExportLayer], options: Mapping[str, Any]) -> bytes:
    """UTF-8 CSV with BOM: id, properties (nested as JSON), the geometry as the `geometry` option says,
    and metadata columns (`meta_source`, `meta_data_date`, `meta_datum`, `meta_geometry`). Several layers:
    one table with a leading `layer` column. `figures=long`: the related tables instead (several: a leading
    `table` column)."""
    data = data_layers(layers)
    mode = choice(options, "geometry", GEOMETRY_MODES)
    if choice(options, "figures", FIGURES_MODES) == "long":
        tables = [t for t in related_tables(data) if t.kind == "data"]
        if not tables:
            raise BadRequest("figures=long: these layers carry no figures; ask for a region or site layer")
        if len(tables) == 1:
            return _csv_bytes(flat_table(tables[0].frame))
        parts = []
        for t in tables:
            part = flat_table(t.frame)
            part.insert(0, "table", t.name)
            parts.append(part)
        return _csv_bytes(_concat(parts))
    parts = []
    for layer in data:
        part = _csv_table(layer, mode)
        if len(data) > 1:
            part.insert(0, "layer", layer.name)
        parts.append(part)
    return _csv_bytes(_concat(parts))
