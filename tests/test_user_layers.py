"""User layers over real HTTP: who may change them (sessions with CSRF, Bearer tokens, 401/403), the audit log,
and a user layer served like any other layer (catalog, GeoJSON, exports read by GDAL, OGC, search, profiles),
still there after a restart. Also the users CLI."""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import geopandas as gpd
import psycopg
import pytest
import shapely

from layers.backends import open_backends
from tests.conftest import BACKENDS, ROOT, backend_settings, serve
from tests.gdal import ogr_layers, ogrinfo


class Client:
    """Real HTTP with a cookie jar (a browser's session), no redirects followed."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=120) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def json(self, method: str, path: str, payload=None, headers: dict | None = None):
        body = None if payload is None else json.dumps(payload).encode()
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        status, _, data = self.request(method, path, body, hdrs)
        return status, json.loads(data) if data else None

    def form(self, path: str, fields: dict[str, str]):
        body = urllib.parse.urlencode(fields).encode()
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def regions_frame(catalog, codes: list[str]) -> gpd.GeoDataFrame:
    """What the import engine hands over for a region list: typed columns plus adcode/name/city, county shapes."""
    counties = catalog.frame("counties").loc[codes]
    return gpd.GeoDataFrame(
        {
            "adcode": codes,
            "name": counties["name"].tolist(),
            "city": counties["city"].tolist(),
            "高新技术企业数": list(range(100, 100 + len(codes))),
            "备注": ["<script>alert('x')</script>"] + ["ok"] * (len(codes) - 1),
            "listed": [dt.date(2024, 5, 1)] * len(codes),
        },
        geometry=counties.geometry.values,
        crs="EPSG:4326",
    )


def points_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["滨江实验室", "湘湖实验室"], "county_adcode": ["330108", "330109"], "staff": [120, 80]},
        geometry=[shapely.Point(120.2, 30.2), shapely.Point(120.25, 30.12)],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module", params=BACKENDS)
def site(request, tmp_path_factory):
    """An app over a fresh data directory (and, for PostGIS, a fresh database), served over HTTP, with an
    editor, an admin and a reader."""
    data_dir = tmp_path_factory.mktemp("data")
    settings = backend_settings(request, data_dir, request.param)
    from server import create_app

    app = create_app(settings)
    users = app.extensions["users"]
    creds = {name: users.add(name, role) for name, role in (("ed", "editor"), ("root", "admin"), ("rita", "reader"))}
    try:
        with serve(app) as base:
            yield {"app": app, "base": base, "settings": settings, "creds": creds, "backend": request.param}
    finally:
        app.extensions["backends"].close()


def saved(site, title: str, frame: gpd.GeoDataFrame | None = None) -> str:
    """A user layer saved through the store, as the import routes will (through the LayerEditor)."""
    catalog = site["app"].extensions["catalog"]
    frame = regions_frame(catalog, ["330106", "330108", "330109"]) if frame is None else frame
    return site["app"].extensions["editor"].save(title, frame, actor="ed", source="list.csv").id


GEOJSON = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "A", "n": 1},
            "geometry": {"type": "Point", "coordinates": [120.1, 30.2]},
        },
        {
            "type": "Feature",
            "properties": {"name": "B", "n": 2},
            "geometry": {"type": "Point", "coordinates": [120.3, 30.1]},
        },
    ],
}


def test_writes_without_credentials_are_401(site):
    layer = saved(site, "Open list")
    c = Client(site["base"])
    for method, path, payload in (
        ("PUT", f"/api/layers/{layer}", GEOJSON),
        ("PATCH", f"/api/layers/{layer}", {"title": "x"}),
        ("DELETE", f"/api/layers/{layer}", None),
        ("POST", f"/api/layers/{layer}/restore", {"version": 1}),
        ("GET", "/api/audit", None),
    ):
        status, body = c.json(method, path, payload)
        assert status == 401, (method, path, body)
        assert "sign in at /login" in body["error"]
    status, body = c.json("PUT", f"/api/layers/{layer}", GEOJSON, bearer("kc_not-a-token"))
    assert status == 401 and "not valid" in body["error"]
    # reading stays open
    assert c.json("GET", f"/api/layers/{layer}/versions")[0] == 200


def test_bearer_editor_replaces_restores_renames_deletes_and_admin_reads_the_audit(site):
    layer = saved(site, "Bearer list")
    c = Client(site["base"])
    ed, root, rita = (bearer(site["creds"][n].token) for n in ("ed", "root", "rita"))

    status, body = c.json("PUT", f"/api/layers/{layer}", GEOJSON, rita)
    assert status == 403 and "reader" in body["error"]
    status, body = c.json("PUT", f"/api/layers/{layer}", GEOJSON, ed)
    assert status == 200, body
    assert (body["version"], body["count"], body["kind"], body["geometry_type"]) == (2, 2, "user", "Point")
    status, fc = c.json("GET", f"/api/layers/{layer}")
    assert [f["properties"]["name"] for f in fc["features"]] == ["A", "B"]

    status, body = c.json("GET", f"/api/layers/{layer}/versions")
    assert [(v["version"], v["current"]) for v in body["versions"]] == [(1, False), (2, True)]
    status, body = c.json("POST", f"/api/layers/{layer}/restore", {"version": 1}, ed)
    assert status == 200 and body["version"] == 1 and body["count"] == 3
    assert c.json("POST", f"/api/layers/{layer}/restore", {"version": 7}, ed)[0] == 404
    assert c.json("POST", f"/api/layers/{layer}/restore", {"version": "1"}, ed)[0] == 400

    status, body = c.json("PATCH", f"/api/layers/{layer}", {"title": "新名称 <b>"}, ed)
    assert status == 200 and body["title"] == "新名称 <b>"
    assert c.json("PATCH", f"/api/layers/{layer}", {"name": "x"}, ed)[0] == 400

    # multipart upload of a GeoJSON file
    boundary = uuid.uuid4().hex
    body_bytes = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="labs.geojson"\r\n'
            "Content-Type: application/geo+json\r\n\r\n"
        ).encode()
        + json.dumps(GEOJSON).encode()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, _, raw = c.request(
        "PUT", f"/api/layers/{layer}", body_bytes, {**ed, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert status == 200 and json.loads(raw)["version"] == 3

    # refusals: a built-in layer, an unknown one, a body that is not GeoJSON
    assert c.json("PUT", "/api/layers/counties", GEOJSON, ed)[0] == 400
    assert c.json("DELETE", "/api/layers/user-nothing", None, ed)[0] == 404
    status, _, raw = c.request("PUT", f"/api/layers/{layer}", b"name,lon\nx,1", {**ed, "Content-Type": "text/csv"})
    assert status == 400 and "GeoJSON" in json.loads(raw)["error"]
    assert c.json("PUT", f"/api/layers/{layer}", {"type": "FeatureCollection", "features": []}, ed)[0] == 400

    assert c.json("GET", "/api/audit", None, ed)[0] == 403
    status, body = c.json("DELETE", f"/api/layers/{layer}", None, ed)
    assert status == 200 and body == {"deleted": layer}
    assert c.json("GET", f"/api/layers/{layer}")[0] == 404
    status, body = c.json("GET", "/api/audit", None, root)
    mine = [(e["actor"], e["action"]) for e in body["entries"] if e["layer"] == layer]
    assert mine == [
        ("ed", "delete"),
        ("ed", "replace"),
        ("ed", "rename"),
        ("ed", "restore"),
        ("ed", "replace"),
        ("ed", "import"),
    ]
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", e["at"]) for e in body["entries"])


def test_sign_in_page_session_and_csrf(site):
    layer = saved(site, "Session list")
    c = Client(site["base"])
    status, headers, page = c.request("GET", "/login")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.decode()).group(1)
    # no CSRF token: refused; wrong password: 401 page; right one: a session and a redirect
    status, _, page = c.form("/login", {"name": "ed", "password": site["creds"]["ed"].password})
    assert status == 400 and "sign in again" in page.decode()
    status, _, page = c.form("/login", {"name": "ed", "password": "wrong", "csrf_token": token})
    assert status == 401 and "Wrong name or password" in page.decode()
    status, headers, _ = c.form(
        "/login",
        {"name": "ed", "password": site["creds"]["ed"].password, "csrf_token": token, "next": "//evil.example"},
    )
    assert status == 303 and headers["Location"] in ("/", site["base"] + "/")
    status, me = c.json("GET", "/api/me")
    assert (me["user"], me["role"], me["via"]) == ("ed", "editor", "session")

    # a cookie-session write needs the CSRF token
    status, body = c.json("PATCH", f"/api/layers/{layer}", {"title": "Renamed"})
    assert status == 400 and "CSRF" in body["error"]
    status, body = c.json("PATCH", f"/api/layers/{layer}", {"title": "Renamed"}, {"X-CSRFToken": me["csrf_token"]})
    assert status == 200 and body["title"] == "Renamed"

    # a signed-in reader gets 403
    reader = Client(site["base"])
    token = re.search(r'name="csrf_token" value="([^"]+)"', reader.request("GET", "/login")[2].decode()).group(1)
    reader.form("/login", {"name": "rita", "password": site["creds"]["rita"].password, "csrf_token": token})
    status, me = reader.json("GET", "/api/me")
    assert me["user"] == "rita"
    status, body = reader.json("DELETE", f"/api/layers/{layer}", None, {"X-CSRFToken": me["csrf_token"]})
    assert status == 403 and "needs an editor" in body["error"]

    # signing out ends the session on the server
    status, me = c.json("GET", "/api/me")
    assert c.form("/logout", {"csrf_token": me["csrf_token"]})[0] == 303
    assert c.json("GET", "/api/me")[1]["user"] is None
    assert c.json("DELETE", f"/api/layers/{layer}", None, {"X-CSRFToken": me["csrf_token"]})[0] == 401


def test_a_user_layer_is_a_layer_like_any_other(site, tmp_path):
    layer = saved(site, "High-tech firms 2024")
    points = saved(site, "实验室", points_frame())
    c = Client(site["base"])

    status, body = c.json("GET", "/api/layers")
    mine = {x["id"]: x for x in body["layers"] if x["kind"] == "user"}
    assert {layer, points} <= set(mine)
    entry = mine[layer]
    assert (entry["owner"], entry["version"], entry["group_title"], entry["group_title_en"]) == (
        "ed",
        1,
        "我的图层",
        "My layers",
    )
    assert re.match(r"\d{4}-\d\d-\d\dT", entry["created"]) and entry["count"] == 3
    assert entry["columns"]["高新技术企业数"] == "INTEGER" and entry["columns"]["listed"] == "DATE"
    assert entry["style"]["color"] != mine[points]["style"]["color"]

    # GeoJSON with the built-in layers' parameters; numbers stay numbers, dates come as ISO text
    status, fc = c.json("GET", f"/api/layers/{layer}?ids=330106,330109&zoom=8&datum=gcj02")
    assert status == 200 and fc["datum"] == "gcj02"
    assert [f["id"] for f in fc["features"]] == ["330106", "330109"]
    props = fc["features"][0]["properties"]
    assert props["高新技术企业数"] == 100 and props["listed"] == "2024-05-01" and props["备注"].startswith("<script>")
    status, fc = c.json("GET", f"/api/layers/{points}?bbox=120.15,30.15,120.22,30.25")
    assert [f["properties"]["name"] for f in fc["features"]] == ["滨江实验室"]

    # exports: GDAL reads the GeoPackage; the offline HTML map shows the script as text
    status, _, gpkg = c.request("GET", f"/export/{layer}.gpkg")
    assert status == 200
    path = tmp_path / "layer.gpkg"
    path.write_bytes(gpkg)
    (read,) = ogr_layers(path)
    assert (read["count"], read["epsg4326"]) == (3, True)
    assert "高新技术企业数 (Integer" in ogrinfo("-al", "-q", str(path))
    status, _, html = c.request("GET", f"/export/{layer}.html")
    text = html.decode()
    assert status == 200 and "<script>alert" not in text and "\\u0026lt;script\\u0026gt;alert" in text
    for ext in ("geojson", "csv", "kml", "shp.zip"):
        assert c.request("GET", f"/export/{points}.{ext}")[0] == 200, ext

    # OGC API – Features
    status, body = c.json("GET", "/ogc/collections")
    assert {layer, points} <= {x["id"] for x in body["collections"]}
    status, body = c.json("GET", f"/ogc/collections/{points}/items")
    assert status == 200 and body["numberReturned"] == 2

    # search: by title, by a feature's name, by the text of a row
    found = c.json("GET", "/api/search?q=High-tech%20firms")[1]["results"]
    assert any(r["id"] == layer and r["kind"] == "layer" for r in found)
    found = c.json("GET", "/api/search?q=" + urllib.parse.quote("湘湖实验室"))[1]["results"]
    assert found[0]["layer"] == points and found[0]["name"] == "湘湖实验室"
    found = c.json("GET", "/api/search?q=alert")[1]["results"]
    assert (layer, "330106") in [(r["layer"], r["id"]) for r in found]
    assert all(r["kind"] == "user" and r["id"] == "330106" for r in found)  # only the row holding the text

    # region profiles: the county is in the list; the city holds its listed counties and the sites
    status, profile = c.json("GET", "/api/regions/330109")
    by_layer = {x["layer"]: x for x in profile["user_layers"]}
    assert [f["id"] for f in by_layer[layer]["features"]] == ["330109"]
    assert [f["name"] for f in by_layer[points]["features"]] == ["湘湖实验室"]
    status, profile = c.json("GET", "/api/regions/330100")
    by_layer = {x["layer"]: x for x in profile["user_layers"]}
    assert sorted(f["id"] for f in by_layer[layer]["features"]) == ["330106", "330108", "330109"]
    assert layer not in {x["layer"] for x in c.json("GET", "/api/regions/330200")[1]["user_layers"]}

    # a change made by another process (another store over the same file or database) is seen: at once for
    # the file, within a moment for PostGIS (the other store's NOTIFY)
    other = open_backends(site["settings"])
    try:
        other.store.replace(layer, points_frame(), owner="cli")
    finally:
        other.close()
    deadline = time.monotonic() + 10
    while {x["id"]: x for x in c.json("GET", "/api/layers")[1]["layers"]}[layer]["version"] != 2:
        assert site["backend"] == "postgis" and time.monotonic() < deadline, "the change was not seen"
        time.sleep(0.1)
    assert len(c.json("GET", f"/api/layers/{layer}")[1]["features"]) == 2
    assert layer not in {x["layer"] for x in c.json("GET", "/api/regions/330106")[1]["user_layers"]}

    # a restart: a new app over the same data directory still has both layers, and the session key
    from server import create_app

    again = create_app(site["settings"])
    assert again.config["SECRET_KEY"] == site["app"].config["SECRET_KEY"]
    try:
        with serve(again) as base:
            status, body = Client(base).json("GET", "/api/layers")
            ids = {x["id"]: x for x in body["layers"]}
            assert ids[layer]["version"] == 2 and ids[points]["title"] == "实验室"
    finally:
        again.extensions["backends"].close()


def test_the_store_is_read_by_gdal(site):
    layer = saved(site, "Store check")
    if site["backend"] == "postgis":  # GDAL's PostgreSQL driver reads the version table as QGIS would
        url = site["settings"].database_url
        text = ogrinfo("-so", f"PG:{url}", f"user_layer_data.{layer}_v1")
        assert "Feature Count: 3" in text and "Multi Polygon" in text and 'ID["EPSG",4326]' in text
        return
    store_path = site["app"].extensions["catalog"].user_store.path
    assert store_path == site["settings"].data_dir / "user-layers.gpkg"
    layers = {x["name"]: x for x in ogr_layers(store_path)}
    assert layers["user-store-check_v1"]["count"] == 3 and layers["user-store-check_v1"]["epsg4326"]
    assert layers["user-store-check_v1"]["geometry"] == "Multi Polygon"


@pytest.mark.parametrize("backend", BACKENDS)
def test_users_cli_prints_two_lines_and_lists(request, backend, tmp_path):
    env = {**os.environ, "KECHUANG_DATA_DIR": str(tmp_path)}
    settings = backend_settings(request, tmp_path, backend)
    if settings.database_url:
        env["KECHUANG_DATABASE_URL"] = settings.database_url

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "layers", "users", *args], cwd=ROOT, env=env, capture_output=True, text=True
        )

    out = run("add", "alice", "--role", "editor")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("password: ") and lines[1].startswith("token: kc_")
    password, token = lines[0].removeprefix("password: "), lines[1].removeprefix("token: ")
    backends = open_backends(settings)
    try:
        users = backends.users
        assert users.check_password("alice", password).role == "editor"
        assert users.check_password("alice", password + "x") is None
        assert users.user_for_token(token).name == "alice"
    finally:
        backends.close()
    if backend == "postgis":
        with psycopg.connect(settings.database_url) as con:
            stored = con.execute("SELECT password FROM users").fetchone()[0]
    else:
        stored = sqlite3.connect(tmp_path / "users.sqlite").execute("SELECT password FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$")
    assert run("add", "alice", "--role", "admin").returncode == 1
    assert run("add", "bob", "--role", "owner").returncode == 2  # argparse refuses the role
    assert run("add", "bob", "--role", "admin").returncode == 0
    listed = run("list").stdout.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [["alice", "editor"], ["bob", "admin"]]
