"""Zoom-dependent simplification of a polygon coverage that keeps neighbours' shared borders shared."""

from __future__ import annotations

import numpy as np
import shapely

TILE = 256


def tolerance_for_zoom(zoom: int, pixels: float = 0.6, lat: float = 30.0) -> float:
    """Degrees spanned by `pixels` screen pixels at a web-map zoom level (at latitude `lat`)."""
    deg_per_px = 360.0 / (TILE * 2**zoom)
    return pixels * deg_per_px * np.cos(np.radians(lat))


def simplify_coverage(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Simplify polygons that tile a region together (counties of a province) without gaps or slivers.

    GEOS's coverage simplification simplifies each shared edge once, so both neighbours keep the
    same border; per-polygon simplification would open gaps between them.
    """
    if tolerance <= 0:
        return geoms
    return shapely.coverage_simplify(np.asarray(geoms), tolerance, simplify_boundary=True)
