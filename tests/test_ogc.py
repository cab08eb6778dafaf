"""OGC API – Features Part 1 Core under /ogc: real HTTP requests, and GDAL's OAPIF driver as the client."""

from __future__ import annotations

import email.utils
import json
import re
import urllib.parse

import pytest
import shapely

from tests.gdal import ogrinfo

CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"


def rel(doc: dict, name: str) -> list[dict]:
    return [link for link in doc["links"] if link["rel"] == name]


def path_of(href: str) -> str:
    parts = urllib.parse.urlsplit(href)
    return parts.path + ("?" + parts.query if parts.query else "")


def test_landing_page_links_api_conformance_and_data(http, live_server):
    status, headers, body = http.get("/ogc")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    doc = json.loads(body)
    assert rel(doc, "service-desc")[0]["href"] == f"{live_server}/ogc/api"
    assert rel(doc, "conformance")[0]["href"] == f"{live_server}/ogc/conformance"
    assert rel(doc, "data")[0]["href"] == f"{live_server}/ogc/collections"
    assert rel(doc, "self")
    assert json.loads(http.get("/ogc?f=json")[2]) == doc


def test_conformance_declares_core_geojson_oas30(http):
    status, doc = http.json("/ogc/conformance")
    assert status == 200
    assert {CONF + c for c in ("core", "geojson", "oas30")} <= set(doc["conformsTo"])


def test_openapi_document_describes_every_path(http):
    status, headers, body = http.get("/ogc/api")
    assert status == 200
    assert headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
    doc = json.loads(body)
    assert doc["openapi"].startswith("3.0")
    assert {
        "/",
        "/conformance",
        "/api",
        "/collections",
        "/collections/{collectionId}",
        "/collections/{collectionId}/items",
        "/collections/{collectionId}/items/{featureId}",
    } <= set(doc["paths"])
    params = doc["components"]["parameters"]
    assert {"limit", "offset", "bbox"} <= set(params)
    # every $ref resolves inside the document
    for ref in re.findall(r'"\$ref": ?"#/([^"]+)"', json.dumps(doc)):
        node = doc
        for part in ref.split("/"):
            node = node[part]


def test_collections_list_every_layer_with_extent(http, catalog, live_server):
    status, doc = http.json("/ogc/collections")
    assert status == 200
    by_id = {c["id"]: c for c in doc["collections"]}
    assert list(by_id) == catalog.ids()
    for cid, coll in by_id.items():
        assert coll["title"] == catalog.spec(cid).title
        frame = catalog.frame(cid)
        if len(frame):
            assert coll["extent"]["spatial"]["bbox"][0] == pytest.approx(list(frame.total_bounds), abs=1e-6)
        assert rel(coll, "items")[0]["href"] == f"{live_server}/ogc/collections/{cid}/items"
        assert rel(coll, "items")[0]["type"] == "application/geo+json"
        assert coll["metadata"]["data_date"] == catalog.metadata(cid)["data_date"]
        assert http.json(f"/ogc/collections/{cid}")[1] == coll


def test_items_page_with_limit_offset_next_and_prev(http, catalog):
    frame = catalog.frame("counties")
    status, headers, body = http.get("/ogc/collections/counties/items?limit=25")
    assert status == 200 and headers["Content-Type"].startswith("application/geo+json")
    page = json.loads(body)
    assert page["numberMatched"] == len(frame) and page["numberReturned"] == 25
    assert "crs" not in page
    seen = [f["id"] for f in page["features"]]
    assert not rel(page, "prev")
    pages = 1
    while rel(page, "next"):
        page = json.loads(http.get(path_of(rel(page, "next")[0]["href"]))[2])
        assert page["numberReturned"] == len(page["features"])
        assert rel(page, "prev")
        seen += [f["id"] for f in page["features"]]
        pages += 1
    assert seen == list(frame.index.astype(str))
    assert pages == -(-len(frame) // 25)
    prev = json.loads(http.get(path_of(rel(page, "prev")[0]["href"]))[2])
    assert prev["features"][0]["id"] == seen[(pages - 2) * 25]


def test_items_bbox_and_property_filter(http, catalog):
    frame = catalog.frame("platforms")
    bbox = (120.0, 29.9, 120.9, 30.5)
    expected = frame[frame.intersects(shapely.box(*bbox))]
    status, page = http.json("/ogc/collections/platforms/items?limit=1000&bbox=" + ",".join(map(str, bbox)))
    assert status == 200
    assert page["numberMatched"] == len(expected) > 0
    assert [f["id"] for f in page["features"]] == list(expected.index.astype(str))
    name = frame["name"].iloc[0]
    status, page = http.json("/ogc/collections/platforms/items?name=" + urllib.parse.quote(name))
    assert [f["properties"]["name"] for f in page["features"]] == [name] * page["numberReturned"] != []


def test_single_item_and_nested_properties_as_json(http, catalog):
    frame = catalog.frame("innovation-bases")
    fid = str(frame.index[0])
    status, headers, body = http.get(f"/ogc/collections/innovation-bases/items/{urllib.parse.quote(fid)}")
    assert status == 200 and headers["Content-Type"].startswith("application/geo+json")
    feature = json.loads(body)
    assert feature["type"] == "Feature" and feature["id"] == fid
    assert feature["properties"]["name"] == frame["name"].iloc[0]
    assert rel(feature, "collection")
    # the API keeps nested values as JSON (exports flatten them to strings)
    nested = [c for c in frame.columns if c != "geometry" and isinstance(frame[c].iloc[0], (list, dict))]
    for col in nested:
        assert isinstance(feature["properties"][col], (list, dict))


@pytest.mark.parametrize(
    "path,status",
    [
        ("/ogc/collections/no-such-layer", 404),
        ("/ogc/collections/no-such-layer/items", 404),
        ("/ogc/collections/counties/items/000000", 404),
        ("/ogc/collections/counties/items?limit=0", 400),
        ("/ogc/collections/counties/items?limit=ten", 400),
        ("/ogc/collections/counties/items?offset=-1", 400),
        ("/ogc/collections/counties/items?bbox=1,2,3", 400),
        ("/ogc/collections/counties/items?bbox=0,0,200,10", 400),
        ("/ogc/collections/counties/items?bbox-crs=EPSG:3857&bbox=0,0,1,1", 400),
        ("/ogc/collections/counties/items?colour=red", 400),
        ("/ogc/collections/counties/items?crs=http://www.opengis.net/def/crs/EPSG/0/3857", 400),
        ("/ogc/collections?f=xml", 400),
    ],
)
def test_client_mistakes_are_4xx_json(http, path, status):
    assert http.error(path)[0] == status


def test_limit_above_maximum_is_clamped_not_refused(http, catalog):
    status, page = http.json("/ogc/collections/counties/items?limit=999999")
    assert status == 200 and page["numberReturned"] == len(catalog.frame("counties"))


@pytest.mark.parametrize(
    "path",
    ["/ogc", "/ogc/collections", "/ogc/collections/counties/items?limit=5", "/ogc/collections/counties/items/330102"],
)
def test_etag_and_last_modified_give_304(http, path):
    status, headers, _body = http.get(path)
    assert status == 200
    etag, last_modified = headers["ETag"], headers["Last-Modified"]
    assert re.fullmatch(r'"[0-9a-f]+"', etag)
    assert email.utils.parsedate_to_datetime(last_modified)
    status, headers2, body2 = http.get(path, headers={"If-None-Match": etag})
    assert status == 304 and body2 == b"" and headers2["ETag"] == etag
    assert http.get(path, headers={"If-None-Match": '"other"'})[0] == 200
    assert http.get(path, headers={"If-Modified-Since": last_modified})[0] == 304
    assert http.get(path, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})[0] == 200
    # the same request gives the same tag (no timestamps in the body)
    assert http.get(path)[1]["ETag"] == etag


# ---------------------------------------------------------------- GDAL's OGC API – Features client


@pytest.mark.gdal
def test_gdal_oapif_lists_every_collection(live_server, catalog):
    text = ogrinfo(f"OAPIF:{live_server}/ogc")
    listed = re.findall(r"^\d+: (\S+) \(title: (.*)\) \((.+)\)$", text, re.M)
    assert [name for name, _, _ in listed] == catalog.ids()
    for name, title, _ in listed:
        assert title == catalog.spec(name).title


@pytest.mark.gdal
def test_gdal_oapif_reads_all_features_with_paging(live_server, catalog):
    frame = catalog.frame("platforms")
    assert len(frame) > 10, "needs more than one page at GDAL's default page size"
    summary = ogrinfo("-so", f"OAPIF:{live_server}/ogc", "platforms")
    assert f"Feature Count: {len(frame)}" in summary
    assert 'ID["EPSG",4326]]' in summary
    assert "Geometry: Point" in summary
    text = ogrinfo("-q", f"OAPIF:{live_server}/ogc", "platforms")
    ids = re.findall(r"^  id \(String\) = (.+)$", text, re.M)
    assert ids == list(frame.index.astype(str))
    assert text.count("POINT (") == len(frame)


@pytest.mark.gdal
def test_gdal_oapif_reads_with_a_bbox(live_server, catalog):
    frame = catalog.frame("counties")
    bbox = (120.0, 30.0, 120.5, 30.5)
    expected = frame[frame.intersects(shapely.box(*bbox))]
    text = ogrinfo("-q", "-geom=SUMMARY", "-spat", *map(str, bbox), f"OAPIF:{live_server}/ogc", "counties")
    ids = re.findall(r"^  id \(String\) = (.+)$", text, re.M)
    assert 0 < len(ids) < len(frame)
    assert sorted(ids) == sorted(expected.index.astype(str))
