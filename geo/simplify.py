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


def simplify_levels(geoms: np.ndarray, zooms: range | list[int]) -> dict[int, np.ndarray]:
    """`simplify_coverage` for every zoom of `zooms`: the finest from `geoms`, each coarser one from the finest
    (far fewer vertices than the source), so the costly pass over full-resolution boundaries runs once."""
    levels = sorted(zooms, reverse=True)
    out: dict[int, np.ndarray] = {}
    if not levels:
        return out
    finest = simplify_coverage(np.asarray(geoms), tolerance_for_zoom(levels[0]))
    out[levels[0]] = finest
    for zoom in levels[1:]:
        out[zoom] = simplify_coverage(finest, tolerance_for_zoom(zoom))
    return out
