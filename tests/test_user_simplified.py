"""A user region list at a low zoom is as light as the built-in layers: regions matched by name take the
boundaries' simplified outlines, while polygons drawn by the user keep theirs."""

from __future__ import annotations

import json

import geopandas as gpd
import shapely

from layers.store import Catalog
from layers.userstore import GeoPackageStore
from settings import load_settings


def test_a_region_list_is_served_simplified_and_own_polygons_are_not(tmp_path):
    settings = load_settings()
    catalog = Catalog(
        settings.boundaries,
        settings.layers_dir,
        settings.seeds_dir,
        user_store=GeoPackageStore(tmp_path / "user.gpkg"),
    )
    counties = catalog.frame("counties")
    codes = list(counties.index)
    own = shapely.box(120.0, 29.0, 120.2, 29.2).buffer(0.05, quad_segs=64)  # many vertices, no boundary
    frame = gpd.GeoDataFrame(
        {"adcode": [*codes, "999999"], "name": [*counties["name"], "自绘区域"]},
        geometry=[*counties.geometry.values, own],
        crs="EPSG:4326",
    )
    assert catalog.user_store is not None
    layer = catalog.user_store.save("全省县区名单", frame, owner="tester").id

    def vertices(layer_id: str, zoom: int | None) -> dict[str, int]:
        body = json.loads(catalog.geojson(layer_id, zoom=zoom))
        return {
            f["id"]: int(shapely.get_num_coordinates(shapely.from_geojson(json.dumps(f["geometry"]))))
            for f in body["features"]
        }

    full, low, builtin = vertices(layer, None), vertices(layer, 7), vertices("counties", 7)
    assert sum(low[c] for c in codes) == sum(builtin.values())  # the same outlines as the county layer at zoom 7
    assert sum(low[c] for c in codes) < sum(full[c] for c in codes) / 5
    assert low["999999"] == full["999999"]  # the user's own polygon is left as drawn
