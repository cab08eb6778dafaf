"""geo.select: the one selection function (bbox, ids, property values) on small frames made here."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from geo.errors import BadRequest, NotFound
from geo.params import parse_bbox
from geo.select import equals, select, select_layers


@pytest.fixture
def towns() -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {
            "name": ["甲", "乙", "丙", "丁"],
            "rank": [1, 2, 3, 2],
            "pilot": [True, False, True, False],
        },
        geometry=[Point(120.1, 30.1), Point(120.9, 30.9), box(119.0, 29.0, 119.5, 29.5), Point(121.5, 28.5)],
        crs="EPSG:4326",
        index=["a", "b", "c", "d"],
    )
    return frame


def ids_of(frame: gpd.GeoDataFrame) -> list[str]:
    return list(frame.index.astype(str))


def test_nothing_asked_gives_the_whole_frame(towns):
    assert ids_of(select(towns)) == ["a", "b", "c", "d"]


def test_bbox_keeps_what_intersects_in_frame_order(towns):
    assert ids_of(select(towns, bbox=(119.4, 29.4, 120.5, 30.5))) == ["a", "c"]  # the polygon overlaps
    assert ids_of(select(towns, bbox=(0, 0, 1, 1))) == []


def test_ids_keep_frame_order_and_never_repeat(towns):
    assert ids_of(select(towns, ids=["d", "a", "d"])) == ["a", "d"]
    assert ids_of(select(towns, ids=["b"], bbox=(119.4, 29.4, 120.5, 30.5))) == []  # both filters hold


def test_unknown_ids_are_a_404_naming_them(towns):
    with pytest.raises(NotFound) as err:
        select(towns, ids=["a", "zz", "yy"], layer="towns")
    assert err.value.status == 404
    assert err.value.details["unknown"] == ["zz", "yy"]
    assert "zz, yy" in err.value.message and "towns" in err.value.message


def test_too_many_ids_and_empty_ids_are_400s(towns):
    with pytest.raises(BadRequest, match="at most 2"):
        select(towns, ids=["a", "b", "c"], max_ids=2)
    assert ids_of(select(towns, ids=["a", "b"], max_ids=2)) == ["a", "b"]
    with pytest.raises(BadRequest, match="comma-separated"):
        select(towns, ids=[" ", ""])


@pytest.mark.parametrize(
    "bbox, text",
    [
        ((10, 10, 0, 0), "10,10,0,0"),  # min above max
        ((0, 0, 200, 10), "0,0,200,10"),  # out of range
        ((0, 0, float("inf"), 1), "0,0,inf,1"),  # not finite
    ],
)
def test_a_bad_bbox_is_a_400_with_the_same_text_as_a_bad_query(towns, bbox, text):
    with pytest.raises(BadRequest) as from_numbers:
        select(towns, bbox=bbox)
    with pytest.raises(BadRequest) as from_query:
        parse_bbox(text)
    assert from_numbers.value.message == from_query.value.message


def test_a_bbox_needs_four_numbers(towns):
    with pytest.raises(BadRequest, match="minx,miny,maxx,maxy"):
        select(towns, bbox=(1, 2, 3))
    with pytest.raises(BadRequest, match="four numbers"):
        select(towns, bbox=("a", 2, 3, 4))


def test_property_values_compare_as_their_type(towns):
    assert ids_of(select(towns, properties={"rank": "2"})) == ["b", "d"]
    assert ids_of(select(towns, properties={"rank": "2.0", "pilot": "false"})) == ["b", "d"]
    assert ids_of(select(towns, properties={"name": "丙"})) == ["c"]
    with pytest.raises(BadRequest, match="unknown property"):
        select(towns, properties={"colour": "red"})
    assert not equals(None, "") and not equals(float("nan"), "nan") and not equals(3, "three")


def test_several_layers_share_one_id_list(towns):
    other = gpd.GeoDataFrame({"name": ["戊"]}, geometry=[Point(120, 30)], crs="EPSG:4326", index=["e"])
    chosen = select_layers({"towns": towns, "other": other}, ids=["a", "e"])
    assert {k: ids_of(v) for k, v in chosen.items()} == {"towns": ["a"], "other": ["e"]}
    with pytest.raises(NotFound) as err:
        select_layers({"towns": towns, "other": other}, ids=["a", "nope"])
    assert err.value.details["unknown"] == ["nope"] and "towns, other" in err.value.message
