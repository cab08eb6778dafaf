"""Writers for the one-layer text formats: GeoJSON (RFC 7946) and CSV (UTF-8 with BOM, WKT geometry)."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import shapely

from ..geojson import feature_collection, to_bytes
from .layer import PRECISION, ExportLayer, flat_frame, meta_text, one_layer


def write_geojson(layers: Sequence[ExportLayer], options: Mapping[str, Any]) -> bytes:
    """RFC 7946 FeatureCollection; nested properties as JSON strings; metadata as a foreign member."""
    layer = one_layer(layers, "geojson")
    extra = {"name": layer.name, "title": layer.title, "metadata": meta_text(layer)}
    return to_bytes(feature_collection(layer.frame, precision=PRECISION, stringify_nested=True, extra=extra))


def write_csv(layers: Sequence[ExportLayer], options: Mapping[str, Any]) -> bytes:
    """UTF-8 CSV with BOM: id, properties (nested as JSON), `longitude`/`latitude` for point layers,
    `WKT` geometry (6 decimals) and metadata columns (`meta_source`, `meta_data_date`, `meta_datum`)."""
    layer = one_layer(layers, "csv")
    flat = flat_frame(layer.frame)
    geom_col = flat.geometry.name
    geoms = flat.geometry.values
    table = pd.DataFrame(flat.drop(columns=[geom_col]))
    if len(flat) and set(flat.geometry.geom_type.dropna().unique()) == {"Point"}:
        table["longitude"] = shapely.get_x(geoms).round(PRECISION)
        table["latitude"] = shapely.get_y(geoms).round(PRECISION)
    table["WKT"] = shapely.to_wkt(geoms, rounding_precision=PRECISION, trim=True)
    meta = meta_text(layer)
    for key in ("source", "data_date", "datum"):
        table[f"meta_{key}"] = meta.get(key, "")
    text = table.to_csv(index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    return ("\ufeff" + text).encode("utf-8")
