"""Build RFC 7946 GeoJSON FeatureCollections from GeoDataFrames: oriented rings, rounded coordinates, no `crs`."""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import shapely
from geopandas import GeoDataFrame

MEDIA_TYPE = "application/geo+json"


def jsonable(value: Any, *, stringify_nested: bool = False) -> Any:
    """A property value as plain JSON: numpy scalars unwrapped, NaN/NaT → None, dates → ISO strings.

    Lists and dicts are kept (recursively cleaned) or, with `stringify_nested`, turned into compact JSON strings.
    """
    if value is None:
        return None
    if isinstance(value, (str, bool)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date)):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple, Mapping)):
        if isinstance(value, Mapping):
            clean: Any = {str(k): jsonable(v) for k, v in value.items()}
        else:
            clean = [jsonable(v) for v in value]
        if stringify_nested:
            return json.dumps(clean, ensure_ascii=False, separators=(",", ":"))
        return clean
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _to_lists(coords: Any) -> Any:
    if isinstance(coords, tuple) and coords and isinstance(coords[0], (int, float)):
        return list(coords)
    if isinstance(coords, (tuple, list)):
        return [_to_lists(c) for c in coords]
    return coords


def prepare_geometries(geoms: Any, precision: int = 6) -> np.ndarray:
    """Round coordinates to `precision` decimals, then orient rings per RFC 7946 (exterior CCW, holes CW)."""
    arr = np.asarray(geoms, dtype=object)
    arr = shapely.transform(arr, lambda xy: np.round(xy, precision))
    polygonal = np.isin(shapely.get_type_id(arr), (3, 6, 7))  # Polygon, MultiPolygon, GeometryCollection
    if polygonal.all():
        return shapely.orient_polygons(arr, exterior_cw=False)
    if polygonal.any():
        arr[polygonal] = shapely.orient_polygons(arr[polygonal], exterior_cw=False)
    return arr


def geometry_dict(geom: Any) -> dict | None:
    """A shapely geometry as a GeoJSON geometry object (lists, not tuples); None/empty → None."""
    if geom is None or geom.is_empty:
        return None
    mapping = shapely.geometry.mapping(geom)
    if mapping["type"] == "GeometryCollection":
        return {"type": "GeometryCollection", "geometries": [geometry_dict(g) for g in geom.geoms]}
    return {"type": mapping["type"], "coordinates": _to_lists(mapping["coordinates"])}


def feature_collection(
    frame: GeoDataFrame, *, precision: int = 6, stringify_nested: bool = False, extra: dict | None = None
) -> dict:
    """An RFC 7946 FeatureCollection dict for a WGS-84 frame whose index holds the feature ids.

    Every non-geometry column becomes a property. `extra` members are added to the collection
    (foreign members such as `numberMatched`, `links` or `metadata`). No `crs` member is written.
    """
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    geom_col = frame.geometry.name
    columns = [c for c in frame.columns if c != geom_col]
    geoms = prepare_geometries(frame.geometry.values, precision) if len(frame) else np.empty(0, dtype=object)
    records = frame[columns].to_dict(orient="records") if columns else [{} for _ in range(len(frame))]
    # Points (thousands in an imported list) skip shapely's per-geometry mapping: their x, y come in one call.
    point = (shapely.get_type_id(geoms) == 0) & ~shapely.is_empty(geoms) if len(geoms) else np.zeros(0, dtype=bool)
    xy = np.full((len(geoms), 2), np.nan)
    if point.any():
        xy[point] = shapely.get_coordinates(geoms[point])
    xy_list = xy.tolist()
    features = []
    for n, (fid, props, geom) in enumerate(zip(frame.index, records, geoms, strict=False)):
        features.append(
            {
                "type": "Feature",
                "id": jsonable(fid) if isinstance(fid, (int, np.integer)) else str(fid),
                "geometry": {"type": "Point", "coordinates": xy_list[n]} if point[n] else geometry_dict(geom),
                "properties": {str(k): jsonable(v, stringify_nested=stringify_nested) for k, v in props.items()},
            }
        )
    fc: dict = {"type": "FeatureCollection"}
    if extra:
        fc.update({k: v for k, v in extra.items() if k not in ("type", "features", "crs")})
    fc["features"] = features
    return fc


def to_bytes(fc: Mapping) -> bytes:
    """Compact UTF-8 JSON (Chinese kept as characters)."""
    return json.dumps(fc, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
