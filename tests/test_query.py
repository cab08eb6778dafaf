"""Questions across layers over real HTTP (/api/query, /api/query/layers, /export/query.<ext>): answers checked
against an independent computation with shapely on the layers themselves; the issue's example questions, with
"the 26 mountain counties" imported as a user layer through the real import routes; every kind of bad input
answered 400/404 with JSON; the cache (ETag, 304, gzip); exports read back with GDAL."""

from __future__ import annotations

import gzip
import json
import urllib.parse

import geopandas as gpd
import pytest
import shapely

from settings import load_settings
from tests.conftest import serve
from tests.gdal import ogr_layers, ogrinfo
from tests.test_import_http import upload
from tests.test_user_layers import Client, bearer, points_frame

# Zhejiang's 26 mountain counties (山区26县) by name. The numbers of high-tech enterprises beside them are made up
# for this test (a column of an imported list to filter on), not facts.
MOUNTAIN = [
    ("淳安县", 41), ("永嘉县", 160), ("平阳县", 150), ("苍南县", 120), ("文成县", 20), ("泰顺县", 18),
    ("武义县", 130), ("磐安县", 25), ("柯城区", 90), ("衢江区", 60), ("江山市", 110), ("常山县", 45),
    ("开化县", 30), ("龙游县", 95), ("三门县", 70), ("天台县", 105), ("仙居县", 80), ("莲都区", 140),
    ("龙泉市", 50), ("青田县", 65), ("云和县", 35), ("庆元县", 22), ("缙云县", 100), ("遂昌县", 40),
    ("松阳县", 38), ("景宁畲族自治县", 15),
]  # fmt: skip
CSV = "县（市、区）,高新技术企业数\n" + "".join(f"{name},{n}\n" for name, n in MOUNTAIN)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The app over a fresh data directory, served over HTTP, with the 26 mountain counties imported by an editor
    (check, then commit) and a user layer of points."""
    from layers.users import open_users
    from server import create_app

    data_dir = tmp_path_factory.mktemp("data")
    creds = open_users(data_dir).add("ed", "editor")
    app = create_app(load_settings(data_dir=data_dir))
    with serve(app) as base:
        c = Client(base)
        status, report = upload(c, "/api/imports", "山区26县.csv", CSV.encode("utf-8"), creds.token)
        assert status == 200, report
        assert report["counts"]["matched"] + report["counts"]["former"] == 26, report["counts"]
        status, body = c.json(
            "POST", f"/api/imports/{report['import_id']}/commit", {"title": "山区26县"}, bearer(creds.token)
        )
        assert status == 201, body
        points = app.extensions["editor"].save("实验室", points_frame(), actor="ed", source="labs.geojson").id
        yield {"app": app, "base": base, "c": c, "mountain": body["layer"], "points": points}


def ask(site, query: str, status: int = 200) -> dict:
    got, body = site["c"].json("GET", "/api/query?" + query)
    assert got == status, (query, body)
    return body


def codes(answer: dict) -> list[str]:
    return [r["adcode"] for r in answer["regions"]]


# ------------------------------------------------------------------ the independent computation
def frame(site, layer_id: str) -> gpd.GeoDataFrame:
    return site["app"].extensions["catalog"].frame(layer_id)


def counties(site) -> gpd.GeoDataFrame:
    return frame(site, "counties")


def inside(polygon, layer: gpd.GeoDataFrame) -> int:
    """How many of a layer's features lie in `polygon`: points by location, zones by their centroid, lines when
    they cross it."""
    n = 0
    for g in layer.geometry:
        if g.geom_type in ("LineString", "MultiLineString"):
            n += bool(polygon.intersects(g))
        else:
            n += bool(polygon.covers(g if g.geom_type == "Point" else g.centroid))
    return n


def expected(site, regions: gpd.GeoDataFrame, test) -> list[str]:
    """The adcodes of `regions` for which test(adcode, polygon) holds, sorted by city then adcode."""
    hits = [(r.city_adcode, a) for a, r in regions.iterrows() if test(a, r.geometry)]
    return [a for _, a in sorted(hits)]


def test_pilot_counties_containing_a_high_tech_zone(site):
    zones = frame(site, "high-tech-zones")
    pilots = set(frame(site, "pilot-counties").index)
    want = expected(site, counties(site), lambda a, p: a in pilots and inside(p, zones) >= 1)
    answer = ask(site, "in=pilot-counties&contains=high-tech-zones")
    assert codes(answer) == want and answer["count"] == len(want) >= 1
    for r in answer["regions"]:
        assert r["counts"]["high-tech-zones"] == inside(counties(site).loc[r["adcode"]].geometry, zones)
        assert r["name"] == counties(site).loc[r["adcode"], "name"]
    assert sum(answer["by_city"].values()) == answer["count"]
    # the curated county of every zone says the same
    listed = {c for c in zones["county_adcode"] if c in pilots}
    assert set(want) == listed


def test_counties_not_pilots_containing_a_platform(site):
    platforms = frame(site, "platforms")
    pilots = set(frame(site, "pilot-counties").index)
    want = expected(site, counties(site), lambda a, p: a not in pilots and inside(p, platforms) >= 1)
    answer = ask(site, "not_in=pilot-counties&contains=platforms")
    assert codes(answer) == want and len(want) > 10
    by_city: dict[str, int] = {}
    for a in want:
        city = counties(site).loc[a, "city"]
        by_city[city] = by_city.get(city, 0) + 1
    assert answer["by_city"] == by_city


def test_minimums_lines_and_zones(site):
    c = counties(site)
    platforms = frame(site, "platforms")
    want = expected(site, c, lambda a, p: inside(p, platforms) >= 3)
    assert codes(ask(site, "contains=platforms:3")) == want
    corridors = frame(site, "corridors")  # a line counts in every county it crosses
    want = expected(site, c, lambda a, p: inside(p, corridors) >= 1)
    answer = ask(site, "contains=corridors")
    assert codes(answer) == want and answer["count"] > len(corridors)
    zones = frame(site, "science-city-zones")  # a zone by its centre
    assert codes(ask(site, "contains=science-city-zones:2")) == expected(site, c, lambda a, p: inside(p, zones) >= 2)
    # min 0 always holds; the counts are still given
    answer = ask(site, "contains=high-tech-zones:0")
    assert answer["count"] == 90
    assert sum(r["counts"]["high-tech-zones"] for r in answer["regions"]) == len(frame(site, "high-tech-zones"))


def test_city_level(site):
    cities = frame(site, "cities")
    zones = frame(site, "high-tech-zones")
    want = expected(site, cities.assign(city_adcode=cities.index), lambda a, p: inside(p, zones) >= 2)
    answer = ask(site, "level=city&contains=high-tech-zones:2")
    assert codes(answer) == want
    assert all(
        r["counts"]["high-tech-zones"] == inside(cities.loc[r["adcode"]].geometry, zones) for r in answer["regions"]
    )
    assert answer["by_city"] == {cities.loc[a, "name"]: 1 for a in want}
    # a city is in a county list when at least one of its counties is
    pilot_cities = sorted(set(frame(site, "pilot-counties")["city_adcode"]))
    answer = ask(site, "level=city&in=pilot-counties")
    assert codes(answer) == pilot_cities and "at least one of its counties" in answer["query"]["membership"]
    not_pilot = ask(site, "level=city&not_in=pilot-counties")
    assert sorted(codes(not_pilot)) == sorted(set(cities.index) - set(pilot_cities))


def test_example_mountain_counties_without_a_platform(site):
    """ "Which of the 26 mountain counties have no innovation platform?" on the imported list."""
    mountain = site["mountain"]
    listed = set(frame(site, mountain)["adcode"])
    assert len(listed) == 26
    platforms = frame(site, "platforms")
    want = expected(site, counties(site), lambda a, p: a in listed and inside(p, platforms) == 0)
    answer = ask(site, f"in={mountain}&not_contains=platforms")
    assert codes(answer) == want and 0 < answer["count"] < 26
    assert all(r["counts"]["platforms"] == 0 for r in answer["regions"])
    with_one = ask(site, f"in={mountain}&contains=platforms")
    assert answer["count"] + with_one["count"] == 26


def test_example_where_on_a_column_of_the_imported_list(site):
    """ "How many high-tech enterprises does each county on my list have": the counties with at least 100."""
    mountain = site["mountain"]
    names = dict(MOUNTAIN)
    rows = frame(site, mountain)
    want_codes = {a for a, name in zip(rows["adcode"], rows["name"], strict=True) if names[name] >= 100}
    answer = ask(site, f"in={mountain}&where=" + urllib.parse.quote("高新技术企业数>=100"))
    assert set(codes(answer)) == want_codes and answer["count"] == sum(n >= 100 for _, n in MOUNTAIN)
    for r in answer["regions"]:
        assert r["values"]["高新技术企业数"] == names[r["name"]] >= 100
    assert answer["query"]["where"] == [{"layer": mountain, "field": "高新技术企业数", "op": ">=", "value": 100.0}]
    # the layer may be named; every operator works
    for op, test in (
        ("<", lambda n: n < 40),
        ("=", lambda n: n == 150),
        (">", lambda n: n > 150),
        ("<=", lambda n: n <= 20),
    ):
        value = {"<": 40, "=": 150, ">": 150, "<=": 20}[op]
        got = ask(site, f"in={mountain}&where=" + urllib.parse.quote(f"{mountain}:高新技术企业数{op}{value}"))
        assert got["count"] == sum(test(n) for _, n in MOUNTAIN), op
    # city level: a city's value is the sum of its listed counties
    answer = ask(site, f"level=city&in={mountain}&where=" + urllib.parse.quote("高新技术企业数>0"))
    c = counties(site).set_index("adcode")
    sums: dict[str, int] = {}
    for a, name in zip(rows["adcode"], rows["name"], strict=True):
        sums[c.loc[a, "city_adcode"]] = sums.get(c.loc[a, "city_adcode"], 0) + names[name]
    assert {r["adcode"]: r["values"]["高新技术企业数"] for r in answer["regions"]} == sums


def test_example_pilot_counties_among_the_mountain_counties_and_user_points(site):
    mountain = site["mountain"]
    listed = set(frame(site, mountain)["adcode"])
    pilots = set(frame(site, "pilot-counties").index)
    answer = ask(site, f"in={mountain}&in=pilot-counties")
    assert set(codes(answer)) == listed & pilots
    assert ask(site, f"in={mountain}&not_in={mountain}")["count"] == 0
    # a user layer of points is a site layer
    points = frame(site, site["points"])
    want = expected(site, counties(site), lambda a, p: inside(p, points) >= 1)
    assert codes(ask(site, f"contains={site['points']}")) == want and want
    vocab = site["c"].json("GET", "/api/query/layers")[1]
    regions = {x["id"]: x for x in vocab["regions"]}
    assert regions[mountain]["numeric_fields"] == ["高新技术企业数"]
    assert regions["pilot-counties"]["numeric_fields"] == ["year"]
    assert site["points"] in {x["id"] for x in vocab["sites"]}
    assert "reference" not in regions and "reference" not in {x["id"] for x in vocab["sites"]}
    assert vocab["max_conditions"] == 20


def test_the_answer_is_cached_gzipped_and_revalidated(site):
    c = site["c"]
    path = "/api/query?contains=platforms&in=pilot-counties"
    status, headers, body = c.request("GET", path, headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    answer = json.loads(gzip.decompress(body))
    etag = headers["ETag"]
    status, _, _ = c.request("GET", path, headers={"If-None-Match": etag, "Accept-Encoding": "gzip"})
    assert status == 304
    # the same question in another order and spelling is the same answer
    status, _, plain = c.request("GET", "/api/query?in=pilot-counties&contains=platforms:1&level=county")
    assert json.loads(plain) == answer


BAD = [
    ("in=high-tech-zones", 400, "site layer"),
    ("contains=pilot-counties", 400, "region layer"),
    ("not_contains=counties", 400, "region layer"),
    ("not_in=platforms", 400, "site layer"),
    ("contains=reference", 400, "no question can use"),
    ("in=pilot-counties&where=name>3", 400, "not numeric"),
    ("in=pilot-counties&where=listed_as=3", 400, "not numeric"),
    ("in=pilot-counties&where=nope>3", 400, "no layer named in in="),
    ("where=year>3", 400, "in="),
    ("in=counties&where=pilot-counties:year>3", 400, "not named in in="),
    ("in=pilot-counties&where=year~3", 400, "op one of"),
    ("in=pilot-counties&where=year", 400, "op one of"),
    ("in=pilot-counties&where=year>>3", 400, "not a finite number"),
    ("in=pilot-counties&where=year>abc", 400, "not a finite number"),
    ("in=pilot-counties&where=year>nan", 400, "not a finite number"),
    ("contains=platforms:-1", 400, "whole number"),
    ("contains=platforms:1.5", 400, "whole number"),
    ("contains=platforms:x", 400, "whole number"),
    ("contains=platforms:", 400, "whole number"),
    ("in=", 400, "needs a layer id"),
    ("level=province", 400, "level must be"),
    ("level=county&level=city", 400, "level must be"),
    ("inn=pilot-counties", 400, "unknown parameter"),
    ("&".join(["contains=platforms"] * 21), 400, "too many conditions"),
    ("in=" + "x" * 300, 400, "too long"),
    ("in=nope", 404, "unknown layer"),
    ("contains=user-nope:2", 404, "unknown layer"),
]


@pytest.mark.parametrize(("query", "status", "says"), BAD)
def test_bad_input_is_answered_with_json(site, query, status, says):
    got, body = site["c"].json("GET", "/api/query?" + urllib.parse.quote(query, safe="=&:"))
    assert got == status and says in body["error"], (query, body)
    got, body = site["c"].json("GET", "/export/query.csv?" + urllib.parse.quote(query, safe="=&:"))
    assert got == status and says in body["error"], (query, body)


def test_where_on_a_text_column_of_the_imported_list(site):
    body = ask(site, f"in={site['mountain']}&where=" + urllib.parse.quote("name>3"), 400)
    assert "not numeric" in body["error"] and "高新技术企业数" in body["error"]
    body = ask(site, f"in=pilot-counties&where={site['mountain']}:" + urllib.parse.quote("高新技术企业数>3"), 400)
    assert "not named in in=" in body["error"]
    got, body = site["c"].json("GET", "/export/query.docx?in=pilot-counties")
    assert got == 400 and "unknown export format" in body["error"]


def test_exports_read_back_with_gdal(site, tmp_path):
    c = site["c"]
    query = f"in={site['mountain']}&not_contains=platforms"
    answer = ask(site, query)
    status, headers, data = c.request("GET", "/export/query.gpkg?" + query)
    assert status == 200 and "attachment" in headers["Content-Disposition"]
    path = tmp_path / "query.gpkg"
    path.write_bytes(data)
    (layer,) = ogr_layers(path)
    assert layer["count"] == answer["count"] and layer["epsg4326"] and "Polygon" in layer["geometry"]
    info = ogrinfo("-al", "-q", str(path))
    assert "n platforms (Integer" in info
    for r in answer["regions"]:
        assert f"adcode (String) = {r['adcode']}" in info
    status, _, data = c.request("GET", "/export/query.csv?" + query + "&geometry=wkt")
    assert status == 200
    csv = tmp_path / "query.csv"
    csv.write_bytes(data)
    (read,) = ogr_layers(csv)
    assert read["count"] == answer["count"]
    text = ogrinfo("-al", "-q", str(csv))
    assert all(r["name"] in text for r in answer["regions"])
    # the where value is a column too
    query = f"in={site['mountain']}&where=" + urllib.parse.quote("高新技术企业数>=150")
    status, _, data = c.request("GET", "/export/query.csv?" + query)
    lines = data.decode("utf-8-sig").splitlines()
    assert "高新技术企业数" in lines[0] and len(lines) == 1 + sum(n >= 150 for _, n in MOUNTAIN)


@pytest.mark.parametrize("ext", ["geojson", "shp.zip", "kml", "html", "png", "pdf"])
def test_every_export_format(site, ext):
    status, headers, data = site["c"].request("GET", f"/export/query.{ext}?in=pilot-counties&contains=high-tech-zones")
    assert status == 200 and len(data) > 500, ext
    assert "attachment" in headers["Content-Disposition"]
    if ext == "geojson":
        fc = json.loads(data)
        want = codes(ask(site, "in=pilot-counties&contains=high-tech-zones"))
        assert [f["properties"]["adcode"] for f in fc["features"]] == want
        assert all(shapely.geometry.shape(f["geometry"]).geom_type.endswith("Polygon") for f in fc["features"])


def test_a_new_version_of_a_list_renews_the_answer(site):
    """Answers are cached per user-layer revision: a list saved again is answered anew, with no new code."""
    from tests.test_user_layers import regions_frame

    catalog = site["app"].extensions["catalog"]
    editor = site["app"].extensions["editor"]
    layer = editor.save("三县", regions_frame(catalog, ["330106", "330108", "330109"]), actor="ed", source="t").id
    first = ask(site, f"in={layer}")
    assert codes(first) == ["330106", "330108", "330109"]
    assert ask(site, f"in={layer}&where=" + urllib.parse.quote("高新技术企业数>100"))["count"] == 2
    editor.replace(layer, regions_frame(catalog, ["330108"]), actor="ed", source="t")
    assert codes(ask(site, f"in={layer}")) == ["330108"]
    assert ask(site, f"level=city&in={layer}")["by_city"] == {"杭州市": 1}


def test_a_list_of_cities_at_county_and_city_level(site):
    """A list may name cities: their counties are in it at county level and take the city's value."""
    catalog = site["app"].extensions["catalog"]
    cities = catalog.frame("cities").loc[["330100", "330300"]]
    frame = gpd.GeoDataFrame(
        {
            "adcode": list(cities.index),
            "name": cities["name"].tolist(),
            "city": cities["name"].tolist(),
            "高企": [5, 9],
        },
        geometry=cities.geometry.values,
        crs="EPSG:4326",
    )
    layer = site["app"].extensions["editor"].save("两市", frame, actor="ed", source="t").id
    c = counties(site)
    answer = ask(site, f"in={layer}")
    assert codes(answer) == expected(site, c, lambda a, p: c.loc[a, "city_adcode"] in ("330100", "330300"))
    answer = ask(site, f"in={layer}&where=" + urllib.parse.quote("高企>6"))
    assert set(answer["by_city"]) == {"温州市"} and {r["values"]["高企"] for r in answer["regions"]} == {9}
    answer = ask(site, f"level=city&in={layer}&not_contains=high-tech-zones")
    assert codes(answer) == []  # both cities hold high-tech zones
    assert codes(ask(site, f"level=city&in={layer}")) == ["330100", "330300"]
