"""Region layers answered per view (`bbox`, `zoom`, `clip`), and the home extent the map opens on (real HTTP)."""

from __future__ import annotations

import shapely
from shapely.geometry import shape

BBOX = (119.9, 29.9, 120.5, 30.4)  # around Hangzhou


def test_home_is_the_province(http):
    _, body = http.json("/api/layers")
    province = next(layer for layer in body["layers"] if layer["id"] == "province")
    assert body["home"] == {"name": "浙江省", "bbox": province["bbox"]}


def test_a_clipped_view_has_the_same_features_cut_to_the_bbox(http):
    bbox = ",".join(map(str, BBOX))
    _, whole = http.json(f"/api/layers/counties?bbox={bbox}&zoom=9")
    _, clipped = http.json(f"/api/layers/counties?bbox={bbox}&zoom=9&clip=1")
    assert [f["id"] for f in clipped["features"]] == [f["id"] for f in whole["features"]]
    assert "330106" in [f["id"] for f in clipped["features"]]  # 西湖区
    box = shapely.box(*BBOX).buffer(1e-4)
    assert all(box.contains(shape(f["geometry"])) for f in clipped["features"])
    assert not all(box.contains(shape(f["geometry"])) for f in whole["features"])


def test_a_view_answer_is_the_same_when_asked_again(http):
    bbox = ",".join(map(str, BBOX))
    first = http.get(f"/api/layers/cities?bbox={bbox}&zoom=7&clip=1")[2]
    again = http.get(f"/api/layers/cities?bbox={bbox}&zoom=7&clip=1")[2]
    assert first == again


def test_a_bad_view_bbox_is_a_clear_error(http):
    status, message = http.error("/api/layers/counties?bbox=1,2,3&zoom=7&clip=1")
    assert status == 400 and "bbox" in message


def test_a_large_build_carries_its_simplified_outlines_and_the_catalog_uses_them(tmp_path):
    """`build(..., simplified=True)` (the default for all of China) writes `<layer>_simplified` tables; the
    catalog then answers every simplified zoom from them instead of simplifying at run time."""
    import numpy as np

    from boundaries.build import SIMPLIFIED_ZOOMS, build
    from geo.simplify import simplify_levels
    from layers.store import Catalog
    from settings import load_settings

    path = tmp_path / "zj.gpkg"
    build("浙江省", path, simplified=True)
    settings = load_settings(boundaries=path)
    catalog = Catalog(settings.boundaries, settings.layers_dir, settings.seeds_dir)
    kept = {(layer, z): catalog.boundaries.simplified(layer, z) for layer in ("counties",) for z in range(3, 14)}
    assert sorted(z for (_, z), v in kept.items() if v) == list(SIMPLIFIED_ZOOMS)
    counties = catalog.frame("counties")
    expected = simplify_levels(np.asarray(counties.geometry.values), SIMPLIFIED_ZOOMS)[7]
    assert all(
        shapely.equals_exact(kept[("counties", 7)][a], g, 1e-9) for a, g in zip(counties.index, expected, strict=True)
    )
    served = catalog.query("counties", zoom=7)
    assert all(
        shapely.equals_exact(kept[("counties", 7)][a], g, 1e-6)
        for a, g in zip(served.index, served.geometry, strict=True)
    )
