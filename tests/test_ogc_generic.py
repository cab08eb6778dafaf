"""geo.ogc on its own: the OGC API handlers over a tiny in-memory provider (no catalog, no server)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import geopandas as gpd
import pytest
from shapely.geometry import Point

from geo import ogc
from geo.errors import BadRequest, NotFound

BASE = "http://example.test/ogc"
WELLS = [("w1", "东井", 120.0, 30.0, 12), ("w2", "西井", 120.5, 30.5, 40), ("w3", "南井", 121.0, 29.0, 12)]


class WellsProvider:
    """One collection, `wells`, kept as a plain list of tuples: nothing here is a catalog."""

    last_modified = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

    def collections(self) -> Sequence[ogc.CollectionInfo]:
        return [ogc.CollectionInfo("wells", "水井", "test wells", (120.0, 29.0, 121.0, 30.5), {"source": "made up"})]

    def collection(self, collection_id: str) -> ogc.CollectionInfo | None:
        return next((c for c in self.collections() if c.id == collection_id), None)

    def queryables(self, collection_id: str) -> Sequence[str]:
        return ["name", "depth"]

    def _frame(self, rows) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            {"name": [r[1] for r in rows], "depth": [r[4] for r in rows]},
            geometry=[Point(r[2], r[3]) for r in rows],
            crs="EPSG:4326",
            index=[r[0] for r in rows],
        )

    def items(
        self,
        collection_id: str,
        *,
        bbox: tuple[float, float, float, float] | None,
        properties: Mapping[str, str],
        limit: int,
        offset: int,
    ) -> ogc.ItemsPage:
        rows = [
            r
            for r in WELLS
            if (bbox is None or (bbox[0] <= r[2] <= bbox[2] and bbox[1] <= r[3] <= bbox[3]))
            and all(str(r[{"name": 1, "depth": 4}[k]]) == v for k, v in properties.items())
        ]
        return ogc.ItemsPage(self._frame(rows[offset : offset + limit]), len(rows))

    def item(self, collection_id: str, feature_id: str) -> gpd.GeoDataFrame | None:
        rows = [r for r in WELLS if r[0] == feature_id]
        return self._frame(rows) if rows else None


@pytest.fixture
def wells() -> WellsProvider:
    return WellsProvider()


def links(doc: dict, rel: str) -> list[str]:
    return [link["href"] for link in doc["links"] if link["rel"] == rel]


def test_the_provider_meets_the_protocol(wells):
    assert isinstance(wells, ogc.CollectionProvider)


def test_landing_conformance_and_collections(wells):
    landing = ogc.landing(wells, BASE, title="井").json()
    assert landing["title"] == "井" and links(landing, "data") == [f"{BASE}/collections"]
    assert any(c.endswith("/conf/core") for c in ogc.conformance(wells, BASE).json()["conformsTo"])
    (coll,) = ogc.collections(wells, BASE).json()["collections"]
    assert coll["id"] == "wells" and coll["title"] == "水井" and coll["description"] == "test wells"
    assert coll["extent"]["spatial"]["bbox"] == [[120.0, 29.0, 121.0, 30.5]]
    assert coll["metadata"] == {"source": "made up"}
    assert links(coll, "items") == [f"{BASE}/collections/wells/items"]
    assert ogc.collection(wells, BASE, "wells").json() == coll


def test_items_pages_with_next_and_prev(wells):
    page = ogc.items(wells, BASE, "wells", {"limit": "2"}).json()
    assert [f["id"] for f in page["features"]] == ["w1", "w2"]
    assert (page["numberMatched"], page["numberReturned"]) == (3, 2)
    assert links(page, "next") == [f"{BASE}/collections/wells/items?limit=2&offset=2"] and not links(page, "prev")
    page = ogc.items(wells, BASE, "wells", {"limit": "2", "offset": "2"}).json()
    assert [f["id"] for f in page["features"]] == ["w3"] and not links(page, "next") and links(page, "prev")


def test_items_bbox_and_property_filters_reach_the_provider(wells):
    page = ogc.items(wells, BASE, "wells", {"bbox": "119.9,29.9,120.6,30.6", "depth": "12"}).json()
    assert [f["id"] for f in page["features"]] == ["w1"] and page["numberMatched"] == 1
    assert page["features"][0]["properties"] == {"name": "东井", "depth": 12}


def test_one_item(wells):
    feature = ogc.item(wells, BASE, "wells", "w2").json()
    assert feature["type"] == "Feature" and feature["geometry"]["coordinates"] == [120.5, 30.5]
    assert links(feature, "self") == [f"{BASE}/collections/wells/items/w2"]


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda p: ogc.collection(p, BASE, "rivers"), NotFound),
        (lambda p: ogc.items(p, BASE, "rivers"), NotFound),
        (lambda p: ogc.item(p, BASE, "wells", "w9"), NotFound),
        (lambda p: ogc.items(p, BASE, "wells", {"colour": "red"}), BadRequest),
        (lambda p: ogc.items(p, BASE, "wells", {"limit": "0"}), BadRequest),
        (lambda p: ogc.items(p, BASE, "wells", {"bbox": "1,2,3"}), BadRequest),
        (lambda p: ogc.items(p, BASE, "wells", {"bbox-crs": "EPSG:3857"}), BadRequest),
        (lambda p: ogc.collections(p, BASE, {"f": "xml"}), BadRequest),
    ],
)
def test_client_mistakes_raise_their_status(wells, call, error):
    with pytest.raises(error):
        call(wells)


def test_unknown_collection_names_the_known_ones(wells):
    with pytest.raises(NotFound, match="known: wells"):
        ogc.items(wells, BASE, "rivers")


def test_etag_and_last_modified_revalidate(wells):
    first = ogc.items(wells, BASE, "wells")
    assert first.status == 200 and first.headers["Last-Modified"] == "Fri, 02 Jan 2026 03:04:05 GMT"
    assert ogc.items(wells, BASE, "wells", headers={"If-None-Match": first.headers["ETag"]}).status == 304
    assert ogc.items(wells, BASE, "wells", headers={"If-Modified-Since": first.headers["Last-Modified"]}).status == 304
    assert ogc.items(wells, BASE, "wells", headers={"If-None-Match": '"other"'}).status == 200


def test_openapi_lists_the_provider_collections(wells):
    doc = ogc.api(wells, BASE).json()
    assert doc["paths"]["/collections/{collectionId}/items"]["get"]["parameters"][0]["schema"]["enum"] == ["wells"]


def test_frame_helpers_page_and_find(wells):
    frame = wells._frame(WELLS)
    page = ogc.frame_page(frame, bbox=(119.9, 29.9, 120.6, 30.6), limit=1, offset=1)
    assert list(page.features.index) == ["w2"] and page.number_matched == 2
    assert list(ogc.frame_page(frame, properties={"depth": "12"}).features.index) == ["w1", "w3"]
    assert list(ogc.frame_item(frame, "w3").index) == ["w3"] and ogc.frame_item(frame, "nope") is None
    assert ogc.frame_bbox(frame) == (120.0, 29.0, 121.0, 30.5)
    assert ogc.frame_bbox(frame.iloc[:0]) == ogc.WORLD
