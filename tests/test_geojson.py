"""geo/geojson.py: plain-JSON property values and RFC 7946 FeatureCollections built from small hand-made frames."""

import datetime as dt
import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from geo.geojson import MEDIA_TYPE, feature_collection, geometry_dict, jsonable, prepare_geometries, to_bytes

SQUARE_CW = Polygon([(0, 0), (0, 1), (1, 1), (1, 0)])  # clockwise exterior: RFC 7946 wants it reversed
DONUT = Polygon(
    [(0, 0), (10, 0), (10, 10), (0, 10)],
    holes=[[(2, 2), (4, 2), (4, 4), (2, 4)]],  # counter-clockwise hole: RFC 7946 wants it clockwise
)


def ring_is_ccw(coords) -> bool:
    return shapely.LinearRing(coords).is_ccw


# ------------------------------------------------------------------ jsonable
@pytest.mark.parametrize(
    "value, plain",
    [
        (None, None),
        ("萧山区", "萧山区"),
        (True, True),
        (np.bool_(False), False),
        (np.int64(7), 7),
        (np.float32(0.5), 0.5),
        (float("nan"), None),
        (np.float64("inf"), None),
        (-math.inf, None),
        (pd.NaT, None),
        (pd.NA, None),
        (dt.date(2021, 6, 1), "2021-06-01"),
        (pd.Timestamp("2021-06-01T08:30"), "2021-06-01T08:30:00"),
        (np.array([1, 2]), [1, 2]),
        ((np.int32(1), "a"), [1, "a"]),
        ({"n": np.int16(3), 5: [np.nan]}, {"n": 3, "5": [None]}),
    ],
)
def test_jsonable_gives_plain_json(value, plain):
    out = jsonable(value)
    assert out == plain
    json.dumps(out, allow_nan=False)  # really plain JSON, no NaN


def test_jsonable_types_are_python_not_numpy():
    assert type(jsonable(np.int64(7))) is int
    assert type(jsonable(np.float64(1.5))) is float
    assert type(jsonable(np.bool_(True))) is bool


def test_jsonable_can_turn_nested_values_into_json_strings():
    value = {"label": "企业", "values": [1, np.int64(2)], "note": None}
    text = jsonable(value, stringify_nested=True)
    assert isinstance(text, str)
    assert json.loads(text) == {"label": "企业", "values": [1, 2], "note": None}
    assert "企业" in text  # Chinese kept as characters
    assert jsonable(["a", 1], stringify_nested=True) == '["a",1]'
    assert jsonable("scalar", stringify_nested=True) == "scalar"


def test_jsonable_falls_back_to_text():
    assert jsonable(Point(1, 2)) == "POINT (1 2)"


# ------------------------------------------------------------------ geometries
def test_prepare_geometries_rounds_and_orients_rings_per_rfc7946():
    wobbly = shapely.affinity.translate(SQUARE_CW, 120.123456789, 30.987654321)
    out = prepare_geometries([wobbly, DONUT], precision=6)
    assert isinstance(out, np.ndarray) and len(out) == 2
    exterior = list(out[0].exterior.coords)
    assert ring_is_ccw(exterior)
    assert all(round(x, 6) == x and round(y, 6) == y for x, y in exterior)
    assert exterior[0] == (120.123457, 30.987654)
    assert ring_is_ccw(out[1].exterior.coords) and not ring_is_ccw(out[1].interiors[0].coords)
    assert out[1].area == DONUT.area  # same shape, only orientation changed


def test_prepare_geometries_precision_is_a_parameter():
    (pt,) = prepare_geometries([Point(120.123456, 30.5)], precision=2)
    assert (pt.x, pt.y) == (120.12, 30.5)


def test_geometry_dict_uses_lists_and_keeps_every_part():
    d = geometry_dict(MultiPolygon([SQUARE_CW, shapely.affinity.translate(SQUARE_CW, 5, 0)]))
    assert d["type"] == "MultiPolygon"
    assert isinstance(d["coordinates"], list) and len(d["coordinates"]) == 2
    assert d["coordinates"][0][0][0] == [0.0, 0.0]
    assert geometry_dict(Point(1.5, 2)) == {"type": "Point", "coordinates": [1.5, 2.0]}
    assert geometry_dict(LineString([(0, 0), (1, 1)])) == {
        "type": "LineString",
        "coordinates": [[0.0, 0.0], [1.0, 1.0]],
    }
    # json.dumps of tuples gives the same text, but the documented shape is lists all the way down
    assert json.loads(json.dumps(d)) == d


def test_geometry_dict_of_nothing_is_null():
    assert geometry_dict(None) is None
    assert geometry_dict(Polygon()) is None


def test_geometry_collection_members_are_converted_too():
    gc = shapely.GeometryCollection([Point(0, 1), LineString([(0, 0), (2, 2)])])
    assert geometry_dict(gc) == {
        "type": "GeometryCollection",
        "geometries": [
            {"type": "Point", "coordinates": [0.0, 1.0]},
            {"type": "LineString", "coordinates": [[0.0, 0.0], [2.0, 2.0]]},
        ],
    }


# ------------------------------------------------------------------ feature collections
def frame(**kw) -> gpd.GeoDataFrame:
    data = {
        "name": ["萧山区", "瑞安市"],
        "count": [np.int64(3), np.int64(0)],
        "share": [0.25, np.nan],
        "facts": [[{"label": "企业", "value": 5}], []],
    }
    data.update(kw)
    geoms = [shapely.affinity.translate(SQUARE_CW, 120, 30), Point(120.6543219, 27.7809871)]
    return gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:4326", index=pd.Index(["330109", "330381"], name="id"))


def test_feature_collection_is_rfc7946():
    fc = feature_collection(frame())
    assert list(fc) == ["type", "features"]  # and no `crs` member
    assert fc["type"] == "FeatureCollection"
    a, b = fc["features"]
    assert a["type"] == "Feature" and a["id"] == "330109"
    assert set(a) == {"type", "id", "geometry", "properties"}
    assert a["properties"] == {"name": "萧山区", "count": 3, "share": 0.25, "facts": [{"label": "企业", "value": 5}]}
    assert b["properties"]["share"] is None  # NaN becomes null
    assert a["geometry"]["type"] == "Polygon" and ring_is_ccw(a["geometry"]["coordinates"][0])
    assert b["geometry"] == {"type": "Point", "coordinates": [120.654322, 27.780987]}
    json.dumps(fc, allow_nan=False)


def test_feature_collection_reprojects_to_wgs84():
    utm = frame().to_crs("EPSG:32651")
    fc = feature_collection(utm)
    assert fc["features"][1]["geometry"]["coordinates"] == pytest.approx([120.654322, 27.780987], abs=2e-6)


def test_feature_collection_integer_ids_stay_numbers():
    f = frame()
    f.index = pd.Index([1, 2])
    assert [feat["id"] for feat in feature_collection(f)["features"]] == [1, 2]


def test_feature_collection_stringifies_nested_values_when_asked():
    fc = feature_collection(frame(), stringify_nested=True)
    facts = fc["features"][0]["properties"]["facts"]
    assert isinstance(facts, str) and json.loads(facts) == [{"label": "企业", "value": 5}]


def test_feature_collection_extra_members_never_replace_the_core():
    extra = {"numberMatched": 2, "links": [], "type": "Nope", "features": [], "crs": "EPSG:3857"}
    fc = feature_collection(frame(), extra=extra)
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 2
    assert fc["numberMatched"] == 2 and fc["links"] == []
    assert "crs" not in fc
    assert list(fc)[-1] == "features"


def test_empty_frame_gives_an_empty_collection():
    fc = feature_collection(frame().iloc[:0])
    assert fc == {"type": "FeatureCollection", "features": []}


def test_geometry_only_frame_has_empty_properties():
    f = gpd.GeoDataFrame(geometry=[Point(1, 2)], crs="EPSG:4326")
    assert feature_collection(f)["features"][0]["properties"] == {}


def test_to_bytes_is_compact_utf8_and_refuses_nan():
    data = to_bytes({"name": "萧山区", "n": [1, 2]})
    assert data == '{"name":"萧山区","n":[1,2]}'.encode()
    with pytest.raises(ValueError):
        to_bytes({"n": float("nan")})
    assert MEDIA_TYPE == "application/geo+json"
