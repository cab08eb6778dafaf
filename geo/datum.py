"""Chinese web-map datums: WGS-84 ↔ GCJ-02 (AMap, Tencent) and GCJ-02 ↔ BD-09 (Baidu).

GCJ-02 is WGS-84 plus a published, deterministic obfuscation inside China's extent; outside it
the two coincide. The forward transform is closed-form; its inverse is computed by fixed-point
iteration to well under a millimetre. Everything is vectorised over numpy arrays, and
`transform_geometry` applies a transform to every vertex of a shapely geometry at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import overload

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0

# The extent inside which the obfuscation applies (the rectangle every public implementation uses).
CHINA_EXTENT = (72.004, 0.8293, 137.8347, 55.8271)

ArrayLike = np.ndarray | float | list[float]
Transform = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def in_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """True where (lon, lat) lies inside the extent where GCJ-02 differs from WGS-84."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    x0, y0, x1, y1 = CHINA_EXTENT
    return (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 shift (degrees) at WGS-84 (lon, lat)."""
    x, y = lon - 105.0, lat - 35.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 → GCJ-02; points outside China's extent are returned unchanged."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _offset(lon, lat)
    inside = in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def _invert(
    forward: Transform, lon: np.ndarray, lat: np.ndarray, tol: float = 1e-10, max_iter: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """Solve forward(x) = (lon, lat) by fixed-point iteration x ← x − (forward(x) − target)."""
    xlon, xlat = lon.copy(), lat.copy()
    for _ in range(max_iter):
        flon, flat = forward(xlon, xlat)
        elon, elat = flon - lon, flat - lat
        xlon, xlat = xlon - elon, xlat - elat
        if np.all(np.abs(elon) < tol) and np.all(np.abs(elat) < tol):
            break
    return xlon, xlat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 → WGS-84, exact to < 1e-10° (≈ 0.01 mm); points outside China's extent are unchanged.

    The one-step inverse (subtracting the offset evaluated at the GCJ point) is metres off, so the
    forward transform is inverted by iteration, which converges in a handful of steps.
    """
    glon, glat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    wlon, wlat = _invert(wgs84_to_gcj02, glon, glat)
    inside = in_china(glon, glat)
    return np.where(inside, wlon, glon), np.where(inside, wlat, glat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 → BD-09 (Baidu)."""
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 (Baidu) → GCJ-02 by iterating the forward transform (the usual closed form is centimetres off)."""
    blon, blat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return _invert(gcj02_to_bd09, blon, blat)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 → WGS-84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 → BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


TRANSFORMS: dict[tuple[str, str], Transform] = {
    ("gcj02", "wgs84"): gcj02_to_wgs84,
    ("wgs84", "gcj02"): wgs84_to_gcj02,
    ("gcj02", "bd09"): gcj02_to_bd09,
    ("bd09", "gcj02"): bd09_to_gcj02,
    ("bd09", "wgs84"): bd09_to_wgs84,
    ("wgs84", "bd09"): wgs84_to_bd09,
}
DATUMS = ("wgs84", "gcj02", "bd09")


def get_transform(source: str, target: str) -> Transform | None:
    """The transform from one datum name to another; None when they are the same."""
    if source == target:
        return None
    try:
        return TRANSFORMS[(source, target)]
    except KeyError:
        raise ValueError(f"unknown datum pair {source!r} → {target!r}; datums are {', '.join(DATUMS)}") from None


@overload
def transform_geometry(geom: np.ndarray, func: Transform) -> np.ndarray: ...
@overload
def transform_geometry(geom: BaseGeometry, func: Transform) -> BaseGeometry: ...
def transform_geometry(geom: BaseGeometry | np.ndarray, func: Transform) -> BaseGeometry | np.ndarray:
    """Apply a datum transform to every vertex of a geometry (or an array of geometries) at once."""

    def _apply(coords: np.ndarray) -> np.ndarray:
        x, y = func(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, _apply)
