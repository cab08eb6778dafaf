"""The shipped reference layer (sea, lakes): small, documented, WGS-84, and never over the province's land."""

from __future__ import annotations

import json

import shapely

from boundaries.reference import LICENCE, REFERENCE, SOURCE, load


def test_reference_file_is_small_and_says_where_it_comes_from():
    assert REFERENCE.stat().st_size < 300 * 1024
    doc = json.loads(REFERENCE.read_text(encoding="utf-8"))
    assert doc["source"] == SOURCE and "Natural Earth" in SOURCE
    assert doc["licence"] == LICENCE and "public domain" in LICENCE.lower()


def test_reference_features_are_water_in_wgs84_and_the_sea_stays_off_the_land(catalog):
    frame = load()
    assert set(frame["kind"]) == {"sea", "lake"}
    assert set(frame.geom_type) == {"MultiPolygon"}
    minx, miny, maxx, maxy = frame.total_bounds
    assert 116 < minx < maxx < 125 and 25 < miny < maxy < 33  # around Zhejiang, in degrees
    land = shapely.union_all(catalog.boundaries.province.geometry.values)
    sea = frame[frame["kind"] == "sea"].geometry.iloc[0]
    assert sea.intersection(land).area < 1e-4 * land.area
    # 千岛湖 (the one large lake inside the province) is there.
    assert any(g.intersects(land) and g.intersection(land).area > 0.01 for g in frame[frame["kind"] == "lake"].geometry)
