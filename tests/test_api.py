"""The JSON API over real HTTP: layers, regions, search and errors as the interface document says."""

import gzip
import json

import pytest


def test_healthz(http):
    assert http.json("/healthz") == (200, {"status": "ok"})


def test_layer_list(http):
    status, body = http.json("/api/layers")
    assert status == 200
    layers = {layer["id"]: layer for layer in body["layers"]}
    for lid in (
        "province",
        "cities",
        "counties",
        "pilot-counties",
        "innovation-bases",
        "science-cities",
        "science-city-zones",
        "high-tech-zones",
    ):
        assert {"id", "title", "kind", "geometry_type", "count", "bbox"} <= set(layers[lid])
    assert layers["counties"]["count"] == 90 and layers["pilot-counties"]["count"] == 10
    assert layers["innovation-bases"]["count"] == 6


def test_layer_is_rfc7946_geojson(http):
    status, headers, body = http.get("/api/layers/pilot-counties")
    assert status == 200 and headers["Content-Type"].startswith("application/geo+json")
    fc = json.loads(body)
    assert fc["type"] == "FeatureCollection" and "crs" not in fc
    f = {x["id"]: x for x in fc["features"]}["330109"]
    assert f["properties"]["adcode"] == "330109" and f["properties"]["name"] == "萧山区"
    assert {"adcode", "name", "city", "level"} <= set(f["properties"])


def test_sites_carry_interface_properties(http):
    _, fc = http.json("/api/layers/innovation-bases")
    for f in fc["features"]:
        assert {"name", "kind", "county_adcode", "precision", "source"} <= set(f["properties"])
        assert f["id"] == f["properties"]["id"]


def test_zoom_simplifies_and_keeps_shared_borders(http):
    import shapely
    from shapely.geometry import shape

    _, full = http.json("/api/layers/counties")
    _, z7 = http.json("/api/layers/counties?zoom=7")

    def size(fc):
        return sum(shapely.get_num_coordinates(shape(f["geometry"])) for f in fc["features"])

    assert size(z7) < size(full) / 3
    geoms = [shape(f["geometry"]) for f in z7["features"]]
    union = shapely.union_all(geoms)
    assert abs(sum(g.area for g in geoms) - union.area) / union.area < 1e-3  # no overlaps
    assert (
        abs(union.area - shapely.union_all([shape(f["geometry"]) for f in full["features"]]).area) / union.area < 0.01
    )


def test_bbox_filters(http):
    _, fc = http.json("/api/layers/counties?bbox=120.1,30.1,120.3,30.3")
    names = {f["properties"]["name"] for f in fc["features"]}
    assert "萧山区" in names and "龙泉市" not in names


def test_gcj02_datum_shifts_east_north(http):
    _, w = http.json("/api/layers/innovation-bases")
    _, g = http.json("/api/layers/innovation-bases?datum=gcj02")
    a, b = w["features"][0]["geometry"]["coordinates"], g["features"][0]["geometry"]["coordinates"]
    assert 0.002 < b[0] - a[0] < 0.008  # in Zhejiang GCJ-02 lies ~450 m east and ~250 m south
    assert -0.005 < b[1] - a[1] < 0


def test_gzip_when_asked(http):
    _status, headers, body = http.get("/api/layers/counties?zoom=7", {"Accept-Encoding": "gzip"})
    assert headers.get("Content-Encoding") == "gzip"
    assert json.loads(gzip.decompress(body))["type"] == "FeatureCollection"


def test_region_profile(http):
    status, p = http.json("/api/regions/330109")
    assert status == 200
    assert p["name"] == "萧山区" and p["city"] == "杭州市" and p["level"] == "county"
    assert "科创中国" in p["designations"][0]["programme"]
    for fig in p["figures"]:
        assert {"value", "unit", "year", "source"} <= set(fig) and fig["source"]
    for sites in p["sites"].values():
        for site in sites:
            assert site["name"] != site["id"] and not site["name"].isascii(), site  # the Chinese name, not the slug
    _, city = http.json("/api/regions/330100")
    assert "萧山区" in city["pilot_counties"] and len(city["counties"]) == 13


def test_search(http):
    _, body = http.json("/api/search?q=瑞安")
    first = body["results"][0]
    assert first["id"] == "330381" and first["layer"] == "counties" and len(first["center"]) == 2
    _, body = http.json("/api/search?q=云栖")
    assert any(r["layer"] == "innovation-bases" for r in body["results"])


@pytest.mark.parametrize(
    "path, status",
    [
        ("/api/layers/nope", 404),
        ("/api/regions/999999", 404),
        ("/api/regions/abc", 404),
        ("/api/layers/counties?bbox=1,2,3", 400),
        ("/api/layers/counties?bbox=a,b,c,d", 400),
        ("/api/layers/counties?bbox=10,10,5,5", 400),
        ("/api/layers/counties?zoom=99", 400),
        ("/api/layers/counties?zoom=x", 400),
        ("/api/layers/counties?datum=bd", 400),
        ("/api/search", 400),
        ("/api/search?q=" + "x" * 200, 400),
        ("/api/layers/counties?ids=999999", 404),
        ("/no/such/route", 404),
    ],
)
def test_bad_input_is_a_json_error(http, path, status):
    assert http.error(path)[0] == status


def test_english_names_for_regions(http):
    _, p = http.json("/api/regions/330381")
    assert (p["name_en"], p["city_en"]) == ("Rui'an City", "Wenzhou")
    _, body = http.json("/api/search?q=xiaoshan")
    assert body["results"][0]["id"] == "330109"
    _, fc = http.json("/api/layers/counties?zoom=7")
    assert all(f["properties"]["name_en"] for f in fc["features"])


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/static/vendor/leaflet-1.9.4/leaflet.js",
        "/static/app/js/popups.js",
        "/api/regions/330109",
        "/ogc/collections",
    ],
)
def test_compressible_answers_are_gzipped_and_revalidate(http, path):
    status, headers, body = http.get(path, {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert len(gzip.decompress(body)) > len(body)
    if "ETag" in headers:  # weak when gzipped on the fly; strong ("…-gz") when served from cached gzip bytes
        again, _, _ = http.get(path, {"Accept-Encoding": "gzip", "If-None-Match": headers["ETag"]})
        assert again == 304


def test_one_mistake_one_error_text_across_routes(http):
    """An unknown feature id reads the same from the JSON API and the downloads (geo.select)."""
    api = http.error("/api/layers/counties?ids=330109,999999")
    download = http.error("/export/counties.geojson?ids=330109,999999")
    assert api == download and api[0] == 404 and "999999" in api[1] and "330109" not in api[1]
    assert http.error("/api/layers/counties?bbox=10,10,5,5") == http.error("/export/counties.geojson?bbox=10,10,5,5")


def test_one_style_table_served_and_used_for_printing(app, http):
    """The table /api/layers serves is the one the server prints and exports with, and the layers' own styles."""
    from layers.styles import print_style, style_table

    _, body = http.json("/api/layers")
    served = body["styles"]
    assert served == app.config["KECHUANG_STYLES"] == style_table()
    assert set(served) == {"layers", "kinds", "roles", "symbols", "labels", "states", "reference", "thematic"}
    for layer in body["layers"]:
        assert layer["style"] == served["layers"][layer["id"]], layer["id"]
        printed = print_style(app.config["KECHUANG_STYLES"], layer["id"])
        assert {k: printed[k] for k in layer["style"]} == layer["style"]
    # Zones print by role and sites by kind, with the served colours and symbols.
    zones = print_style(served, "science-city-zones")["classes"]
    assert zones["field"] == "role"
    assert {r: (v["color"], v["fill"], v["dash"]) for r, v in zones["values"].items()} == {
        r: (v["color"], v["fill"], v["dash"]) for r, v in served["roles"].items()
    }
    assert set(served["roles"]) == {"core", "zone", "park", "block", "axis", "node"}
    sites = print_style(served, "high-tech-zones")["classes"]
    assert sites["field"] == "kind"
    for kind, v in sites["values"].items():
        assert v["marker"] == served["symbols"][served["kinds"][kind]["symbol"]]["marker"]
        assert v["hollow"] == served["kinds"][kind]["hollow"]
    from layers.catalog import KINDS

    assert set(served["kinds"]) == KINDS
    assert served["labels"]["cities"]["min_zoom"] < served["labels"]["counties"]["min_zoom"]


def test_js_modules_are_served_as_javascript(http):
    status, headers, _ = http.get("/static/app/js/main.js")
    assert status == 200
    assert headers["Content-Type"].split(";")[0] in ("text/javascript", "application/javascript")
