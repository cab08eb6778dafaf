"""Small geometry helpers: schematic circles in metres, label points and bounding boxes."""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQ = 111_320.0


def circle(lon: float, lat: float, radius_m: float, segments: int = 48) -> Polygon:
    """A circle of `radius_m` metres around (lon, lat) as a lon/lat polygon (counter-clockwise)."""
    t = np.linspace(0.0, 2.0 * math.pi, segments, endpoint=False)
    dlon = radius_m / (_M_PER_DEG_LON_EQ * math.cos(math.radians(lat)))
    dlat = radius_m / _M_PER_DEG_LAT
    ring = np.column_stack([lon + dlon * np.cos(t), lat + dlat * np.sin(t)]).round(6)
    return Polygon(ring)


def label_point(geom: BaseGeometry) -> tuple[float, float]:
    """A point inside the geometry for labels and fly-to: the centroid when it lies inside, else a point on it."""
    if geom.geom_type in ("LineString", "MultiLineString"):
        c = shapely.line_interpolate_point(geom, 0.5, normalized=True)  # halfway along a line
    else:
        c = geom.centroid
        if geom.geom_type != "Point" and not geom.contains(c):  # e.g. a crescent-shaped county
            c = geom.representative_point()
    return round(c.x, 6), round(c.y, 6)


def bbox(geom: BaseGeometry) -> list[float]:
    return [round(v, 6) for v in geom.bounds]
