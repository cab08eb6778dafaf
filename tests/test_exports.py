"""Downloads (`GET /export/<id>.<ext>`) over real HTTP, read back by GDAL's ogrinfo, Chromium and image checks."""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.parse
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from tests.gdal import ogr_feature_geometries, ogr_layers, ogrinfo

LEAFLET_DIR = next((Path(__file__).resolve().parent.parent / "static" / "vendor").glob("leaflet*/leaflet.js")).parent
# One layer of each geometry family the catalog serves.
SAMPLES = {"pilot-counties": "Polygon", "innovation-bases": "Point", "corridors": "LineString"}
GDAL_FORMATS = ("geojson", "gpkg", "shp.zip", "kml", "csv")
MEDIA = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "shp.zip": "application/zip",
    "kml": "application/vnd.google-earth.kml+xml",
    "csv": "text/csv",
    "html": "text/html",
    "png": "image/png",
    "pdf": "application/pdf",
}


# ---------------------------------------------------------------- helpers


def download(http, path: str, tmp_path: Path, name: str) -> tuple[Path, dict]:
    status, headers, body = http.get(path)
    assert status == 200, (path, status, body[:300])
    target = tmp_path / name
    target.write_bytes(body)
    return target, headers


def ogr_open_target(path: Path) -> Path:
    """The file ogrinfo should open: the .shp inside a shp.zip, the file itself otherwise."""
    if path.name.endswith(".shp.zip"):
        out = path.parent / (path.name + ".d")
        with zipfile.ZipFile(path) as zf:
            zf.extractall(out)
        (shp,) = sorted(out.glob("*.shp"))
        return shp
    return path


def family(geometry_type: str) -> str:
    """'Multi Polygon' / 'MULTIPOLYGON' / 'Polygon' → 'polygon'."""
    return geometry_type.lower().replace(" ", "").replace("multi", "").replace("3d", "")


def disposition_names(header: str) -> tuple[str, str | None]:
    ascii_name = re.search(r'filename="([^"]*)"', header).group(1)
    m = re.search(r"filename\*=UTF-8''(\S+)", header)
    return ascii_name, urllib.parse.unquote(m.group(1)) if m else None


# ---------------------------------------------------------------- every GDAL format opens right


@pytest.mark.gdal
@pytest.mark.parametrize("ext", GDAL_FORMATS)
@pytest.mark.parametrize("layer_id", list(SAMPLES))
def test_export_opens_in_gdal_with_count_type_and_crs(http, catalog, tmp_path, layer_id, ext):
    frame = catalog.frame(layer_id)
    assert len(frame) > 0, f"{layer_id} has no features to export"
    query = "?geometry=wkt" if ext == "csv" else ""  # a CSV's full geometry is on request (default: lon/lat)
    path, headers = download(http, f"/export/{layer_id}.{ext}{query}", tmp_path, f"{layer_id}.{ext}")
    assert headers["Content-Type"].startswith(MEDIA[ext])
    assert headers["Content-Disposition"].startswith("attachment;")
    target = ogr_open_target(path)
    layer, *related = ogr_layers(target)  # the layer first, then its tables of figures (gpkg, kml)
    assert len(related) <= (2 if catalog.spec(layer_id).kind == "regions" else 1)
    assert layer["count"] == len(frame)
    kinds = {family(t) for t in ogr_feature_geometries(target)}
    assert kinds == {family(SAMPLES[layer_id])}, kinds
    assert len(ogr_feature_geometries(target)) == len(frame)
    if ext in ("csv", "kml"):
        # GDAL reports these layers as "Unknown (any)": a CSV's WKT column and KML placemarks carry no
        # layer-level type, so the per-feature types above are what is checked.
        assert layer["geometry"] in ("Unknown (any)", "Point", "Line String", "Polygon", "Multi Polygon")
    else:
        assert family(layer["geometry"]) == family(SAMPLES[layer_id])
    if ext == "csv":
        # A CSV cannot carry a CRS: the datum is stated in a column on every row instead.
        rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
        assert {r["meta_datum"] for r in rows} == {"WGS-84 (EPSG:4326)"}
    else:
        assert layer["epsg4326"], f"{ext}: layer SRS is not EPSG:4326"


@pytest.mark.gdal
def test_gpkg_holds_several_layers_with_metadata(http, catalog, tmp_path):
    path, _headers = download(http, "/export/cities.gpkg?layers=innovation-bases,corridors", tmp_path, "multi.gpkg")
    layers = {lay["name"]: lay for lay in ogr_layers(path)}
    # the layers, then the tables of figures: regions' figures, what the cities' figure columns hold, sites' facts
    assert list(layers) == ["cities", "innovation-bases", "corridors", "figures", "cities_figure_fields", "facts"]
    assert {layers[t]["geometry"] for t in ("figures", "cities_figure_fields", "facts")} == {"None"}
    # repeating a layer (or the one in the path) in ?layers= does not duplicate it
    path2, _ = download(http, "/export/cities.gpkg?layers=cities,corridors,corridors", tmp_path, "dup.gpkg")
    assert [lay["name"] for lay in ogr_layers(path2)][:2] == ["cities", "corridors"]
    for layer_id in ("cities", "innovation-bases", "corridors"):
        lay = layers[layer_id]
        assert lay["count"] == len(catalog.frame(layer_id))
        assert lay["epsg4326"]
        meta = catalog.metadata(layer_id)
        assert lay["meta"]["data_date"] == meta["data_date"]
        assert lay["meta"]["datum"] == "WGS-84 (EPSG:4326)"
        assert lay["meta"]["source"] == meta["source"]
    assert family(layers["cities"]["geometry"]) == "polygon"
    assert family(layers["corridors"]["geometry"]) == "linestring"


@pytest.mark.gdal
def test_shapefile_zip_has_prj_utf8_cpg_and_field_table(http, catalog, tmp_path):
    path, _ = download(http, "/export/innovation-bases.shp.zip", tmp_path, "bases.shp.zip")
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert {
            "innovation-bases.shp",
            "innovation-bases.shx",
            "innovation-bases.dbf",
            "innovation-bases.prj",
            "innovation-bases.cpg",
            "innovation-bases_fields.csv",
            "README.txt",
        } <= names
        assert zf.read("innovation-bases.cpg").decode().strip() == "UTF-8"
        assert "WGS" in zf.read("innovation-bases.prj").decode()
        table = dict(csv.reader(io.StringIO(zf.read("innovation-bases_fields.csv").decode("utf-8-sig"))))
        readme = zf.read("README.txt").decode("utf-8-sig")
    assert table.pop("dbf_field") == "full_name"
    assert all(len(short.encode()) <= 10 for short in table)
    assert len({s.lower() for s in table}) == len(table)
    assert set(table.values()) >= {"county_adcode", "name", "id"}
    meta = catalog.metadata("innovation-bases")
    assert meta["data_date"] in readme and "EPSG:4326" in readme
    # Chinese attribute values come back intact through GDAL (the .cpg is honoured).
    text = ogrinfo("-al", "-q", str(ogr_open_target(path)))
    for name in catalog.frame("innovation-bases")["name"]:
        assert f"= {name}" in text


def test_csv_is_excel_friendly_with_wkt_and_lonlat(http, catalog, tmp_path):
    path, _headers = download(http, "/export/innovation-bases.csv?geometry=wkt", tmp_path, "bases.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM so Excel opens Chinese right"
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    frame = catalog.frame("innovation-bases")
    assert [r["id"] for r in rows] == list(frame.index.astype(str))
    for row, geom in zip(rows, frame.geometry, strict=False):
        assert shapely.from_wkt(row["WKT"]).equals_exact(geom, 1e-6)
        assert float(row["longitude"]) == pytest.approx(geom.x, abs=1e-6)
        assert float(row["latitude"]) == pytest.approx(geom.y, abs=1e-6)
        assert row["meta_data_date"] == catalog.metadata("innovation-bases")["data_date"]
    assert [r["name"] for r in rows] == list(frame["name"])


# ---------------------------------------------------------------- GeoJSON is RFC 7946


def _rings(geom):
    polys = getattr(geom, "geoms", [geom])
    for poly in polys:
        yield "exterior", poly.exterior
        for hole in poly.interiors:
            yield "hole", hole


@pytest.mark.parametrize("layer_id", ["counties", "pilot-counties", "science-city-zones", "innovation-bases"])
def test_geojson_export_is_rfc7946(http, catalog, layer_id):
    status, headers, body = http.get(f"/export/{layer_id}.geojson")
    assert status == 200
    assert headers["Content-Type"].startswith("application/geo+json")
    text = body.decode("utf-8")
    fc = json.loads(text)
    assert fc["type"] == "FeatureCollection"
    assert "crs" not in fc
    geometries = json.dumps([f["geometry"] for f in fc["features"]])
    assert not re.search(r"\d\.\d{7,}", geometries), "coordinates with more than 6 decimals"
    frame = catalog.frame(layer_id)
    assert [f["id"] for f in fc["features"]] == list(frame.index.astype(str))
    assert fc["metadata"]["datum"] == "WGS-84 (EPSG:4326)" and fc["metadata"]["data_date"]
    for feature in fc["features"]:
        geom = feature["geometry"]
        coords = np.array(shapely.get_coordinates(shape(geom)))
        assert ((-180 <= coords[:, 0]) & (coords[:, 0] <= 180)).all()
        assert ((-90 <= coords[:, 1]) & (coords[:, 1] <= 90)).all()
        if geom["type"] in ("Polygon", "MultiPolygon"):
            for role, ring in _rings(shape(geom)):
                assert ring.is_ccw == (role == "exterior"), f"{feature['id']}: {role} wound the wrong way"
        for key, value in feature["properties"].items():
            assert not isinstance(value, (list, dict)), f"{key}: nested values are JSON strings in exports"
    assert "\\u" not in text  # Chinese kept as characters (ensure_ascii=False)


def test_geojson_nested_values_are_json_strings(http, catalog):
    frame = catalog.frame("innovation-bases")
    nested = [c for c in frame.columns if c != "geometry" and frame[c].map(lambda v: isinstance(v, (list, dict))).any()]
    assert nested, "expected nested properties (facts, sources…) in the site layers"
    fc = json.loads(http.get("/export/innovation-bases.geojson")[2])
    feature = fc["features"][0]
    for col in nested:
        value = feature["properties"][col]
        if value is not None:
            assert isinstance(value, str) and isinstance(json.loads(value), (list, dict))


# ---------------------------------------------------------------- bbox, ids, errors, file names


def test_bbox_and_ids_limit_the_download(http, catalog):
    frame = catalog.frame("counties")
    bbox = (120.0, 30.0, 120.5, 30.5)
    expected = frame[frame.intersects(shapely.box(*bbox))]
    fc = json.loads(http.get("/export/counties.geojson?bbox=" + ",".join(map(str, bbox)))[2])
    assert 0 < len(fc["features"]) < len(frame)
    assert [f["id"] for f in fc["features"]] == list(expected.index.astype(str))
    ids = list(frame.index.astype(str)[[0, 5, 9]])
    fc = json.loads(http.get("/export/counties.geojson?ids=" + ",".join(ids))[2])
    assert sorted(f["id"] for f in fc["features"]) == sorted(ids)


@pytest.mark.parametrize(
    "path,status",
    [
        ("/export/counties.xyz", 400),
        ("/export/no-such-layer.geojson", 404),
        ("/export/counties.geojson?bbox=1,2,3", 400),
        ("/export/counties.geojson?bbox=a,b,c,d", 400),
        ("/export/counties.geojson?bbox=10,10,0,0", 400),
        ("/export/counties.geojson?ids=000000", 404),
        ("/export/counties.csv?geometry=shape", 400),
        ("/export/counties.csv?figures=tall", 400),
        ("/export/counties.geojson?figures=long", 400),
        ("/export/corridors.csv?figures=long&layers=nope", 404),
        ("/export/view.gpkg", 400),
        ("/export/view.gpkg?layers=nope", 404),
        ("/export/counties.gpkg?layers=nope", 404),
        ("/export/counties.png?size=a9", 400),
        ("/export/counties.png?orientation=sideways", 400),
        ("/export/counties.png?dpi=5000", 400),
        ("/export/counties.png?over=nope", 404),
    ],
)
def test_bad_export_requests_are_client_errors(http, path, status):
    assert http.error(path)[0] == status


@pytest.mark.parametrize("ext", ["geojson", "gpkg", "shp.zip", "kml", "csv", "html", "png", "pdf"])
def test_an_empty_selection_still_downloads(http, ext):
    status, headers, body = http.get(f"/export/innovation-bases.{ext}?bbox=0,0,1,1")
    assert status == 200, body[:300]
    assert headers["Content-Type"].startswith(MEDIA[ext]) and len(body) > 0
    if ext == "geojson":
        assert json.loads(body)["features"] == []


def test_map_title_from_the_query_is_plain_text(http):
    # "$...$" would be matplotlib mathtext (and a crash on bad TeX) if it were not drawn as plain text
    status, _, body = http.get("/export/science-cities.png?dpi=72&title=" + urllib.parse.quote("成本 $\\frac{ 100%"))
    assert status == 200, body[:300]


def test_content_disposition_has_ascii_fallback_and_utf8_name(http, catalog):
    _status, headers, _ = http.get("/export/pilot-counties.kml")
    ascii_name, utf8_name = disposition_names(headers["Content-Disposition"])
    assert headers["Content-Disposition"].startswith("attachment;")
    assert ascii_name == "pilot-counties.kml"
    assert utf8_name == catalog.spec("pilot-counties").title + ".kml"
    ascii_name.encode("ascii")


# ---------------------------------------------------------------- standalone HTML map, offline


@pytest.mark.browser
def test_html_export_opens_offline_and_shows_the_layer(http, catalog, tmp_path, browser):
    path, headers = download(http, "/export/innovation-bases.html", tmp_path, "bases.html")
    assert headers["Content-Type"].startswith("text/html")
    html = path.read_text(encoding="utf-8")
    assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', html), "external script or stylesheet"
    frame = catalog.frame("innovation-bases")
    page_url = path.resolve().as_uri()
    blocked, requested, errors = [], [], []
    page = browser.new_page()
    try:

        def guard(route):
            url = route.request.url
            if url.startswith("http://127.0.0.1") or url == page_url or url.startswith("data:"):
                route.continue_()
            else:
                blocked.append(url)
                route.abort()

        page.route("**/*", guard)
        page.on("request", lambda req: requested.append(req.url))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(page_url)
        page.wait_for_selector(".kc-site", timeout=15000)
        markers = page.locator(".kc-site")  # the web map's symbols (DivIcon SVGs)
        assert markers.count() == len(frame)
        switcher = page.locator(".leaflet-control-layers").inner_text().split("\n")
        assert [line.strip() for line in switcher if line.strip()][-1] == catalog.spec("innovation-bases").title
        markers.first.click(force=True)
        page.wait_for_selector(".leaflet-popup-content", timeout=5000)
        popup = page.locator(".leaflet-popup-content").inner_text()
        assert frame["name"].iloc[0] in popup
        meta_note = page.locator("#export-meta").inner_text()
        assert catalog.metadata("innovation-bases")["data_date"] in meta_note
    finally:
        page.close()
    assert blocked == [], f"the exported map tried to reach outside hosts: {blocked}"
    assert all(u == page_url or u.startswith("data:") for u in requested), requested
    assert errors == []


# ---------------------------------------------------------------- printable maps


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_png_map_is_a4_landscape_and_not_blank(http):
    status, headers, body = http.get("/export/pilot-counties.png?dpi=100")
    assert status == 200 and headers["Content-Type"] == "image/png"
    w, h = _png_size(body)
    assert (w, h) == (round(297 / 25.4 * 100), round(210 / 25.4 * 100)) or (abs(w - 1169) <= 1 and abs(h - 827) <= 1)
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(body)).convert("RGB")).astype(int)
    assert img.std() > 20, "blank image"
    # the theme colour (#e74c3c-ish fill over white, or the #c0392b outline) is present
    red = (img[:, :, 0] > 150) & (img[:, :, 1] < 120) & (img[:, :, 2] < 120)
    assert red.sum() > 500
    info = Image.open(io.BytesIO(body)).info
    assert "EPSG:4326" in info.get("Description", "")
    status, _, body = http.get("/export/pilot-counties.png?dpi=72&orientation=portrait&size=a3")
    w, h = _png_size(body)
    assert h > w and abs(w - 842) <= 1 and abs(h - 1191) <= 1


def test_pdf_map_is_a4_with_embedded_cjk_font(http):
    status, headers, body = http.get("/export/innovation-bases.pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert body.startswith(b"%PDF")
    assert re.search(rb"/MediaBox \[ ?0 0 841\.8\d* 595\.2\d* ?\]", body), "A4 landscape page"
    assert b"NotoSansCJK" in body, "the CJK font is embedded"


def _simplified_chinese_face(fp) -> bool:
    """The text is set in Noto Sans CJK's Simplified Chinese face (not the collection's first, Japanese one)."""
    from matplotlib import font_manager

    found = font_manager.findfont(fp, fallback_to_default=False)
    return fp.get_family() == ["Noto Sans CJK SC"] and "NotoSansCJK" in str(found)


def test_map_figure_has_legend_title_and_chinese_in_a_cjk_font(catalog):
    """Inspect the figure the PNG is made from: what text is drawn, in which font, and where."""
    from geo import mapprint

    layers = [
        mapprint.MapLayer(catalog.frame("counties"), "县界", {"color": "#8a8a8a"}, background=True),
        mapprint.MapLayer(
            catalog.frame("pilot-counties"),
            catalog.spec("pilot-counties").title,
            {"color": "#c0392b", "fill": "#e74c3c"},
            label_field="name",
        ),
    ]
    title = "“科创中国”试点县分布图"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = mapprint.build_figure(
            layers, title=title, sources="测试来源", data_date="2021-12-31", page=mapprint.Page(dpi=100)
        )
        png = mapprint.save(fig, "png")
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert missing == [], missing  # every Chinese glyph was found in the font
    texts = {t.get_gid(): t for t in fig.texts if t.get_gid()}
    assert texts["title"].get_text() == title
    assert _simplified_chinese_face(texts["title"].get_fontproperties())
    assert "2021-12-31" in texts["footer"].get_text() and "测试来源" in texts["footer"].get_text()
    legend = next(leg for leg in fig.legends if leg.get_gid() == "legend")
    labels = [t.get_text() for t in legend.get_texts()]
    n = len(catalog.frame("pilot-counties"))
    assert labels == ["县界", f"{catalog.spec('pilot-counties').title}（{n}）"]
    assert all(_simplified_chinese_face(t.get_fontproperties()) for t in legend.get_texts())
    ax = next(a for a in fig.axes if a.get_gid() == "map")
    assert any(t.get_gid() == "north-arrow" for t in ax.texts)
    assert any(t.get_gid() == "scalebar-2" and "km" in t.get_text() for t in ax.texts)
    # The legend's box in the saved PNG really has ink: the red patch and dark label text.
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    bb = legend.get_window_extent()
    height = img.shape[0]
    region = img[int(height - bb.y1) : int(height - bb.y0), int(bb.x0) : int(bb.x1)]
    assert region.size > 0
    assert ((region[:, :, 0] > 180) & (region[:, :, 1] < 140) & (region[:, :, 2] < 140)).any(), "legend patch"
    assert (region.sum(axis=2) < 200).sum() > 50, "legend text"
    title_bb = texts["title"].get_window_extent()
    title_region = img[int(height - title_bb.y1) : int(height - title_bb.y0), int(title_bb.x0) : int(title_bb.x1)]
    assert (title_region.sum(axis=2) < 200).sum() > 200, "title text drawn"


def test_scale_bar_length_is_right_at_the_map_latitude():
    from geo import mapprint

    assert mapprint.nice_length(37_000) == 20_000
    assert mapprint.nice_length(9_999) == 5_000
    assert mapprint.nice_length(100) == 100


@pytest.mark.browser
def test_html_export_shows_markup_in_data_as_text(browser, tmp_path):
    """A property holding markup is shown as text in the exported map's popup, never run as HTML."""
    import geopandas as gpd
    from shapely.geometry import Point

    from geo import htmlmap
    from geo.formats import ExportLayer

    evil = '<img src=x onerror="window.pwned=1">'
    frame = gpd.GeoDataFrame({"id": ["a"], "name": [evil]}, geometry=[Point(120.2, 30.2)], crs="EPSG:4326")
    frame.index = frame["id"]
    layer = ExportLayer("t", "测试", frame, {"source": "test", "data_date": "2026-01-01", "datum": "WGS-84"})
    path = tmp_path / "t.html"
    path.write_bytes(htmlmap.render_html([layer], leaflet_dir=LEAFLET_DIR))
    page = browser.new_page()
    try:
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith("file:") or route.request.url.startswith("data:")
                else route.abort()
            ),
        )
        page.goto(path.resolve().as_uri())
        page.wait_for_selector(".kc-site", timeout=15000)
        page.locator(".kc-site").first.click(force=True)
        page.wait_for_selector(".leaflet-popup-content", timeout=5000)
        assert evil in page.locator(".leaflet-popup-content").inner_text()
        assert page.locator(".leaflet-popup-content img").count() == 0
        assert page.evaluate("() => window.pwned") is None
    finally:
        page.close()


def test_printed_map_draws_zone_roles_in_the_table_colours(http, app):
    """Each role the zones use shows on the printed map in that role's outline colour from the style table."""
    from PIL import Image

    status, _, body = http.get("/export/science-city-zones.png")
    assert status == 200
    pixels = np.asarray(Image.open(io.BytesIO(body)).convert("RGB")).astype(int)
    roles = app.config["KECHUANG_STYLES"]["roles"]
    _, fc = http.json("/api/layers/science-city-zones")
    used = {f["properties"]["role"] for f in fc["features"] if f["properties"].get("role")}
    assert len(used) >= 3, used
    for role in used:
        rgb = np.array([int(roles[role]["color"][i : i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(pixels - rgb).sum(axis=2) < 12).sum() > 100, f"no {role} outline ({roles[role]['color']})"
