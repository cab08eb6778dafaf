"""Build a boundary GeoPackage (layers province, cities, counties) in WGS-84 from the cnmaps wheel."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from geo.datum import gcj02_to_wgs84, transform_geometry
from geo.simplify import simplify_levels

from . import EMBEDDED_GPKG
from .source import PACKAGE, VERSION, CnmapsWheel

PRECISION = 1e-6  # coordinates rounded to 6 decimals (~0.1 m)
LAYER_OF_LEVEL = {"province": "province", "city": "cities", "county": "counties"}
SIMPLIFIED_ZOOMS = range(5, 12)  # zoom levels a large build carries simplified outlines for (12 on: full detail)
FIELDS = ["adcode", "name", "level", "city", "city_adcode", "province", "province_adcode"]


@dataclass
class BuildReport:
    path: Path
    counts: dict[str, int] = field(default_factory=dict)
    repairs: list[str] = field(default_factory=list)


def _polygonal(geom: BaseGeometry) -> MultiPolygon:
    """Keep the polygonal part of a geometry as a MultiPolygon."""
    parts: list[Polygon] = []
    for g in getattr(geom, "geoms", [geom]):
        if isinstance(g, Polygon) and not g.is_empty:
            parts.append(g)
        elif isinstance(g, MultiPolygon):
            parts.extend(g.geoms)
        elif hasattr(g, "geoms"):
            parts.extend(_polygonal(g).geoms)
    return MultiPolygon(parts)


def convert(geojson: dict) -> tuple[MultiPolygon, list[str]]:
    """GCJ-02 GeoJSON geometry → valid WGS-84 MultiPolygon at 6 decimals, with notes on what was repaired."""
    notes: list[str] = []
    geom = transform_geometry(shape(geojson), gcj02_to_wgs84)
    if not geom.is_valid:
        notes.append(f"invalid after datum conversion ({shapely.is_valid_reason(geom)}): made valid")
        geom = shapely.make_valid(geom)
    geom = shapely.set_precision(geom, PRECISION)
    if not geom.is_valid:
        notes.append("invalid after rounding: made valid")
        geom = shapely.make_valid(geom)
    return _polygonal(geom), notes


def default_output(province: str, data_dir: Path | None) -> Path:
    """The embedded GeoPackage for 浙江省, else boundaries-<name>.gpkg in the data directory (a setting)."""
    if province == "浙江省":
        return EMBEDDED_GPKG
    if data_dir is None:
        raise ValueError(f"give an output file or a data directory for {province!r}")
    name = "china" if province == "all" else province
    return Path(data_dir) / f"boundaries-{name}.gpkg"


def build(
    province: str = "浙江省",
    output: Path | None = None,
    wheel: CnmapsWheel | None = None,
    *,
    data_dir: Path | None = None,
    cache: Path | None = None,
    simplified: bool | None = None,
) -> BuildReport:
    """Build the GeoPackage for one province (its Chinese name) or for all of China (`all`).

    Without `output`, 浙江省 goes to the embedded GeoPackage and anything else into `data_dir`;
    the cnmaps wheel is read from (or downloaded into) `cache`. `simplified` (default: for all of China) also
    writes each layer simplified for the map's zoom levels (tables `<layer>_simplified`: adcode, zoom,
    geometry), so a server on a large build never simplifies at run time (minutes for all of China).
    """
    wheel = wheel or CnmapsWheel(cache=cache)
    records = list(wheel.records(None if province == "all" else province))
    if not records:
        known = "、".join(wheel.provinces())
        raise ValueError(f"no province named {province!r}; use one of: {known}, or all")
    output = Path(output) if output is not None else default_output(province, data_dir)
    report = BuildReport(output)

    provinces = {r.province: r.adcode for r in records if r.level == "province"}
    cities = {(r.province, r.city): r.adcode for r in records if r.level == "city"}
    rows: dict[str, list[dict]] = {layer: [] for layer in LAYER_OF_LEVEL.values()}
    for rec in records:
        geom, notes = convert(wheel.geometry(rec))
        report.repairs += [f"{rec.adcode} {rec.name}: {n}" for n in notes]
        city_name = rec.city if rec.level != "province" else None
        rows[LAYER_OF_LEVEL[rec.level]].append(
            {
                "adcode": rec.adcode,
                "name": rec.name,
                "level": rec.level,
                "city": city_name,
                "city_adcode": cities.get((rec.province, rec.city)) if city_name else None,
                "province": rec.province,
                "province_adcode": provinces.get(rec.province),
                "geometry": geom,
            }
        )

    output.parent.mkdir(parents=True, exist_ok=True)
    if output.exists():
        output.unlink()
    meta = {
        "source": f"PyPI {PACKAGE}=={VERSION} (AMap administrative boundaries, BSD-3-Clause)",
        "source_datum": "GCJ-02",
        "datum": "WGS-84 (EPSG:4326)",
        "datum_conversion": (
            "GCJ-02 → WGS-84 by iterated inverse of the published forward transform (geo.datum), error < 1e-9°"
        ),
        "coordinate_precision": "6 decimals",
        "build_date": dt.date.today().isoformat(),
        "extent": province,
    }
    for layer, items in rows.items():
        frame = gpd.GeoDataFrame(items, columns=[*FIELDS, "geometry"], geometry="geometry", crs="EPSG:4326")
        frame = frame.sort_values("adcode").reset_index(drop=True)
        frame.to_file(
            output,
            layer=layer,
            driver="GPKG",
            engine="pyogrio",
            dataset_options={"VERSION": "1.2"},
            dataset_metadata=meta if layer == "province" else None,
            layer_metadata={"description": f"{layer} of {province}", **meta},
        )
        report.counts[layer] = len(frame)
        if simplified if simplified is not None else province == "all":
            levels = simplify_levels(np.asarray(frame.geometry.values), SIMPLIFIED_ZOOMS)
            table = gpd.GeoDataFrame(
                {
                    "adcode": [a for _ in levels for a in frame["adcode"]],
                    "zoom": [z for z in levels for _ in range(len(frame))],
                },
                geometry=[g for geoms in levels.values() for g in geoms],
                crs="EPSG:4326",
            )
            # read a zoom at a time by the server (no spatial index needed: it is never searched by area)
            table.to_file(
                output,
                layer=f"{layer}_simplified",
                driver="GPKG",
                engine="pyogrio",
                layer_options={"SPATIAL_INDEX": "NO"},
            )
    return report
