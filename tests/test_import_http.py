"""Importing a list over real HTTP: check a file (POST /api/imports), settle its rows, commit it as a user layer
(POST /api/imports/<id>/commit), see it served like any other layer and after a restart; who may import (401/403);
bad files answered with 4xx JSON; a layer replaced from a CSV through the import engine."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import pytest

from settings import load_settings
from tests.conftest import BACKENDS, backend_settings, serve
from tests.gdal import ogr_layers, ogrinfo
from tests.test_user_layers import Client, bearer

CSV = "区县,高新技术企业数,备注\n萧山去,120,<script>alert(1)</script>\n江干区,80,former\n滨江区,95,ok\n"


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type."""
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for key, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    for key, (filename, data) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def upload(c: Client, path: str, filename: str, data: bytes, token: str | None, method: str = "POST", **fields):
    body, ctype = multipart(fields, {"file": (filename, data)})
    headers = {"Content-Type": ctype, **(bearer(token) if token else {})}
    status, _, raw = c.request(method, path, body, headers)
    return status, json.loads(raw) if raw else None


@pytest.fixture(scope="module", params=BACKENDS)
def site(request, tmp_path_factory):
    """The app on each backend (embedded files, PostGIS) with an editor and a reader."""
    data_dir = tmp_path_factory.mktemp("data")
    settings = backend_settings(request, data_dir, request.param)
    from layers.backends import open_backends
    from server import create_app

    backends = open_backends(settings)  # users made before the app starts, as the CLI would
    try:
        creds = {"ed": backends.users.add("ed", "editor"), "rita": backends.users.add("rita", "reader")}
    finally:
        backends.close()
    app = create_app(settings)
    try:
        with serve(app) as base:
            yield {"app": app, "base": base, "settings": settings, "creds": creds}
    finally:
        app.extensions["backends"].close()


def test_check_settle_commit_and_serve(site, tmp_path):
    c = Client(site["base"])
    token = site["creds"]["ed"].token
    data = CSV.encode("gb18030")

    # who may import
    assert upload(c, "/api/imports", "list.csv", data, None)[0] == 401
    status, body = upload(c, "/api/imports", "list.csv", data, site["creds"]["rita"].token)
    assert status == 403 and "editor" in body["error"]

    status, report = upload(c, "/api/imports", "高企名单.csv", data, token)
    assert status == 200, report
    assert report["rows"] == 3 and report["counts"] == {"matched": 1, "former": 1, "ambiguous": 0, "unmatched": 1}
    items = {i["input"]: i for i in report["items"]}
    assert items["萧山去"]["status"] == "unmatched"
    assert "萧山区" in [s["name"] for s in items["萧山去"]["suggestions"]]
    assert items["江干区"]["status"] == "former" and items["江干区"]["name"] == "上城区" and items["江干区"]["note"]
    assert report["columns"]["name"] == "区县" and report["title"] == "高企名单"
    assert len(report["import_id"]) == 32
    assert len(report["preview"]["features"]) == 2  # what matched so far; nothing saved yet
    assert not [x for x in c.json("GET", "/api/layers")[1]["layers"] if x["kind"] == "user"]

    commit = f"/api/imports/{report['import_id']}/commit"
    status, body = c.json("POST", commit, {"title": "高企 2024", "resolutions": {}}, bearer(token))
    assert status == 409 and body["rows"] == [items["萧山去"]["row"]]
    status, body = c.json("POST", "/api/imports/" + "0" * 32 + "/commit", {"title": "x"}, bearer(token))
    assert status == 404 and "error" in body
    assert c.json("POST", commit, {"title": "x", "resolutions": {}})[0] == 401
    suggestion = items["萧山去"]["suggestions"][0]["adcode"]
    assert suggestion == "330109"
    resolutions = {str(items["萧山去"]["row"]): suggestion}
    status, body = c.json("POST", commit, {"title": "高企 2024", "resolutions": resolutions}, bearer(token))
    assert status == 201, body
    layer = body["layer"]
    assert layer.startswith("user-")
    assert c.json("POST", commit, {"title": "again"}, bearer(token))[0] == 404  # a commit is used once

    listed = {x["id"]: x for x in c.json("GET", "/api/layers")[1]["layers"]}
    assert listed[layer]["kind"] == "user" and listed[layer]["title"] == "高企 2024" and listed[layer]["count"] == 3
    status, fc = c.json("GET", f"/api/layers/{layer}")
    props = {f["properties"]["adcode"]: f["properties"] for f in fc["features"]}
    assert set(props) == {"330109", "330102", "330108"}
    assert props["330109"]["备注"] == "<script>alert(1)</script>" and props["330109"]["高新技术企业数"] == 120

    status, _, gpkg = c.request("GET", f"/export/{layer}.gpkg")
    assert status == 200
    path = tmp_path / "import.gpkg"
    path.write_bytes(gpkg)
    (read,) = ogr_layers(path)
    assert read["count"] == 3 and read["epsg4326"]
    assert "高新技术企业数 (Integer" in ogrinfo("-al", "-q", str(path))
    status, _, html = c.request("GET", f"/export/{layer}.html")
    assert status == 200 and "<script>alert(1)" not in html.decode()

    from server import create_app

    again = create_app(site["settings"])
    try:
        with serve(again) as base:
            listed = {x["id"]: x for x in Client(base).json("GET", "/api/layers")[1]["layers"]}
            assert listed[layer]["title"] == "高企 2024"
    finally:
        again.extensions["backends"].close()


def test_pasted_names_and_replacing_a_layer_from_a_csv(site):
    c = Client(site["base"])
    token = site["creds"]["ed"].token
    status, report = c.json("POST", "/api/imports", {"text": "西湖区\n余杭区\n", "title": "两区"}, bearer(token))
    assert status == 200 and report["counts"]["matched"] == 2
    status, body = c.json("POST", f"/api/imports/{report['import_id']}/commit", {}, bearer(token))
    assert status == 201
    layer = body["layer"]
    assert {x["id"]: x for x in c.json("GET", "/api/layers")[1]["layers"]}[layer]["title"] == "两区"

    status, body = upload(c, f"/api/layers/{layer}", "new.csv", "县,n\n临安区,1\n".encode(), token, method="PUT")
    assert status == 200 and body["version"] == 2 and body["count"] == 1
    status, body = upload(c, f"/api/layers/{layer}", "new.csv", "县\n临安区\n萧山去\n".encode(), token, method="PUT")
    assert status == 409 and body["rows"] == [2]


def shapefile_zip_with_traversal() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("../evil.shp", b"x" * 100)
        z.writestr("../evil.dbf", b"x" * 100)
    return out.getvalue()


@pytest.mark.parametrize(
    "filename,data",
    [
        ("wide.csv", (",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join("1" * 10_000) + "\n").encode()),
        ("empty.csv", b""),
        ("evil.zip", shapefile_zip_with_traversal()),
        ("bad.csv", b"\xff\xfe\x00\xd8\x00\xdc\x81\x30" * 50),
        ("nonames.csv", b"a,b\n1,2\n3,4\n"),
        (
            "xxe.kml",
            b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&x;</name>'
            b"<Point><coordinates>120.1,30.2</coordinates></Point></Placemark></kml>",
        ),
    ],
)
def test_bad_files_are_4xx_json(site, filename, data):
    c = Client(site["base"])
    status, body = upload(c, "/api/imports", filename, data, site["creds"]["ed"].token)
    assert 400 <= status < 500 and body["error"], (status, body)
    assert "passwd" not in json.dumps(body) and "root:" not in json.dumps(body)


def test_too_large_is_413(tmp_path):
    settings = load_settings(data_dir=tmp_path, import_max_bytes=10_000)
    from layers.users import open_users
    from server import create_app

    token = open_users(tmp_path).add("ed", "editor").token
    with serve(create_app(settings)) as base:
        status, body = upload(Client(base), "/api/imports", "big.csv", b"x\n" * 20_000, token)
    assert status == 413 and "error" in body
