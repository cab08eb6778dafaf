"""Serving for real: waitress behind `make run`, answers from cached bytes (304, gzip q-values, Range for GDAL's
/vsicurl/), hard limits on expensive requests answered at once with a JSON 4xx/503, security headers, and
every HTTP-layer error as JSON. Each hostile request from the issue is sent and its clear answer asserted."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import Http
from tests.gdal import ogr_layers

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_waitress(app, settings):
    """The app under the production server, in a background thread, as `make run` serves it."""
    from waitress.server import create_server

    from server import waitress_options

    server = create_server(app, host="127.0.0.1", port=0, **waitress_options(settings))
    threading.Thread(target=server.run, daemon=True).start()
    return server, f"http://127.0.0.1:{server.effective_port}"


@pytest.fixture(scope="module")
def strict():
    """The app with small limits (one print slot, a short wait, a low id cap) under waitress."""
    from server import create_app
    from settings import Settings

    settings = Settings(
        print_workers=1,
        print_wait_s=0.3,
        max_ids=50,
        basemaps=[{"id": "osm", "title": "OSM", "url": "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"}],
    )
    app = create_app(settings)
    server, base = _serve_waitress(app, settings)
    yield app, Http(base)
    server.close()


def _request(url: str, *, method: str = "GET", data: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _json_error(status_headers_body, status: int) -> str:
    got, headers, body = status_headers_body
    assert got == status, (got, body[:300])
    assert headers["Content-Type"].startswith("application/json"), headers["Content-Type"]
    message = json.loads(body)["error"]
    assert isinstance(message, str) and message
    return message


# ---------------------------------------------------------------- hard limits


def test_repeated_ids_are_deduplicated(http):
    status, _headers, body = http.get("/api/layers/counties?ids=" + ",".join(["330109"] * 2000))
    assert status == 200
    fc = json.loads(body)
    assert [f["id"] for f in fc["features"]] == ["330109"]
    # the 9,000 repetitions: refused for the URL's length before any work
    status, message = http.error("/api/layers/counties?ids=" + ",".join(["330109"] * 9000))
    assert status == 414 and "URL too long" in message


def test_too_many_distinct_ids_is_a_400_naming_the_cap(strict, catalog):
    _, http = strict
    ids = list(catalog.frame("counties").index[:51])
    for path in ("/api/layers/counties?ids=", "/export/counties.geojson?ids=", "/export/counties.png?ids="):
        status, message = http.error(path + ",".join(ids))
        assert status == 400 and "at most 50" in message, message
    assert http.get("/api/layers/counties?ids=" + ",".join(ids[:50]))[0] == 200


def test_unknown_label_field_is_a_400_listing_the_allowed_ones(http):
    status, message = http.error("/export/cities.png?label_field=geometry")
    assert status == 400 and "label_field" in message and "name" in message and "name_en" in message


def test_printout_above_the_pixel_cap_is_a_400(http):
    status, message = http.error("/export/counties.png?size=a3&dpi=300")
    assert status == 400 and "million" in message and "dpi <=" in message
    assert http.get("/export/counties.pdf?size=a3&dpi=300")[0] == 400


def test_busy_print_pool_answers_503_with_retry_after(strict):
    app, http = strict
    slots = app.extensions["print_slots"]
    assert slots.acquire(timeout=30)  # a render in progress holds the only slot
    try:
        status, headers, body = http.get("/export/counties.png?dpi=72&title=busy")
        assert status == 503 and int(headers["Retry-After"]) > 0
        assert "print" in json.loads(body)["error"]
        assert http.get("/export/counties.html?title=busy")[0] == 503
        # the map itself does not wait for the printer
        assert http.get("/healthz")[0] == 200
        assert http.get("/api/layers")[0] == 200
        assert http.get("/api/layers/counties?zoom=8")[0] == 200
        assert http.get("/api/regions/330109")[0] == 200
        assert http.get("/")[0] == 200
    finally:
        slots.release()
    assert http.get("/export/counties.png?dpi=72&title=busy")[0] == 200


def test_map_answers_while_real_prints_saturate_the_pool(strict):
    _, http = strict
    results: list[int] = []
    prints = [
        threading.Thread(target=lambda i=i: results.append(http.get(f"/export/cities.pdf?dpi=72&title=p{i}")[0]))
        for i in range(3)
    ]
    for t in prints:
        t.start()
    during = [http.get(p)[0] for p in ("/healthz", "/api/layers", "/api/search?q=%E7%91%9E%E5%AE%89")]
    for t in prints:
        t.join()
    assert during == [200, 200, 200]
    assert set(results) <= {200, 503} and 200 in results and 503 in results, results


def test_fonts_are_registered_once(catalog):
    from matplotlib import font_manager

    from geo import mapprint

    mapprint.cjk_font()
    before = len(font_manager.fontManager.ttflist)
    layer = mapprint.MapLayer(catalog.frame("cities"), "cities")
    for _ in range(2):
        mapprint.render([layer], fmt="png", title="t", page=mapprint.Page(dpi=72))
    assert len(font_manager.fontManager.ttflist) == before


# ---------------------------------------------------------------- cached bytes: 304, gzip q-values, Range


@pytest.mark.parametrize(
    "path",
    [
        "/api/layers/counties",
        "/api/layers/counties?zoom=7&datum=gcj02",
        "/ogc/collections/counties/items?limit=100",
        "/api/regions/330109",
        "/api/search?q=xiaoshan",
    ],
)
def test_cached_answers_revalidate_with_304(http, path):
    for accept in ({}, {"Accept-Encoding": "gzip"}):
        status, headers, body = http.get(path, accept)
        assert status == 200 and body
        etag = headers["ETag"]
        assert not etag.startswith("W/")  # strong: the bytes are the same every time
        again, headers2, body2 = http.get(path, {**accept, "If-None-Match": etag})
        assert again == 304 and body2 == b"" and headers2["ETag"] == etag
        assert http.get(path, {**accept, "If-None-Match": '"other"'})[0] == 200


def test_accept_encoding_q_values_are_honoured(http):
    for path in ("/api/layers/counties", "/"):
        cases = {
            "gzip": True,
            "gzip;q=0.5, identity": True,
            "*;q=0.1": True,
            "gzip;q=0": False,
            "gzip;q=0, *;q=1": False,
            "identity": False,
            "br": False,
        }
        for accept, gz in cases.items():
            status, headers, body = http.get(path, {"Accept-Encoding": accept})
            assert status == 200
            assert (headers.get("Content-Encoding") == "gzip") is gz, (path, accept)
            if gz:
                gzip.decompress(body)


def test_range_requests_on_layer_geojson(http):
    _, _, full = http.get("/api/layers/counties")
    status, headers, body = http.get("/api/layers/counties", {"Range": "bytes=0-99", "Accept-Encoding": "gzip"})
    assert status == 206 and body == full[:100]
    assert headers["Content-Range"] == f"bytes 0-99/{len(full)}" and "Content-Encoding" not in headers
    assert headers["Accept-Ranges"] == "bytes"
    assert http.get("/api/layers/counties", {"Range": "bytes=100-"})[2] == full[100:]
    assert http.get("/api/layers/counties", {"Range": "bytes=-10"})[2] == full[-10:]
    status, headers, body = http.get("/api/layers/counties", {"Range": f"bytes={len(full) + 5}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(full)}" and json.loads(body)["error"]
    # a stale If-Range gets the whole body
    assert http.get("/api/layers/counties", {"Range": "bytes=0-9", "If-Range": '"stale"'})[0] == 200


def test_range_requests_on_export_downloads(http):
    _, headers, full = http.get("/export/counties.geojson")
    assert headers["Accept-Ranges"] == "bytes" and "attachment" in headers["Content-Disposition"]
    status, headers, body = http.get("/export/counties.geojson", {"Range": "bytes=10-19"})
    assert status == 206 and body == full[10:20] and headers["Content-Range"] == f"bytes 10-19/{len(full)}"


@pytest.mark.gdal
def test_gdal_opens_the_layer_url_through_vsicurl(strict):
    _, http = strict
    layers = ogr_layers(f"/vsicurl/{http.base}/api/layers/counties")
    assert [(lay["count"], lay["geometry"]) for lay in layers] == [(90, "Multi Polygon")]


# ---------------------------------------------------------------- security headers, links, HTTP-layer errors


def test_security_headers(strict):
    _, http = strict
    for path in ("/", "/api/layers", "/no/such/route"):
        _, headers, _ = http.get(path)
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "https://*.tile.openstreetmap.org" in csp  # the configured base map's tiles
        assert "unsafe-inline" not in csp
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert headers["X-Frame-Options"] == "DENY"
        assert "Server" not in headers  # no product, no version


def test_untrusted_host_does_not_leak_into_links(http):
    status, _headers, body = http.get("/ogc", {"Host": "evil.example"})
    assert status == 200 and b"evil.example" not in body
    status, _, page = http.get("/", {"Host": "evil.example"})
    assert status == 200 and b"evil.example" not in page


def test_public_url_is_used_for_links():
    from server import create_app
    from settings import Settings

    app = create_app(Settings(public_url="https://map.example.org"))
    with app.test_client() as client:
        links = client.get("/ogc").get_json()["links"]
        assert all(link["href"].startswith("https://map.example.org/ogc") for link in links)
        assert b"https://map.example.org/ogc" in client.get("/").data


def test_http_layer_errors_are_json(strict):
    _, http = strict
    base = http.base
    message = _json_error(_request(base + "/api/layers", method="POST", data=b"x"), 405)
    assert "GET" in message
    _json_error(_request(base + "/api/layers", method="DELETE"), 405)
    message = _json_error(_request(base + "/api/layers", method="POST", data=b"x" * 200_000), 413)
    assert "bytes" in message
    _json_error(_request(base + "/api/search?q=" + "x" * 20_000), 414)
    _json_error(_request(base + "/api/layers", headers={f"X-Pad-{i}": "y" * 1000 for i in range(40)}), 431)


# ---------------------------------------------------------------- `make run`


def test_make_run_starts_the_production_server():
    port = _free_port()
    env = {**os.environ, "PORT": str(port)}
    proc = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        status, headers = None, {}
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
                    status, headers = resp.status, dict(resp.headers)
                    break
            except OSError:
                time.sleep(0.5)
        assert status == 200, proc.stdout.read().decode() if proc.poll() is not None else "no answer"
        assert "Server" not in headers and "Werkzeug" not in json.dumps(headers)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # graceful stop, as a service manager would
        out, _ = proc.communicate(timeout=60)
    text = out.decode()
    assert "waitress" in text and "stopping" in text, text


# ---------------------------------------------------------------- geo.respcache on its own


def test_response_cache_parts():
    from geo.respcache import Cached, ResponseCache, accepts_gzip, answer, parse_range

    assert parse_range("bytes=0-9", 100) == (0, 9)
    assert parse_range("bytes=90-200", 100) == (90, 99)
    assert parse_range("bytes=-5", 100) == (95, 99)
    assert parse_range("bytes=100-", 100) is None
    with pytest.raises(ValueError):
        parse_range("bytes=0-1,5-9", 100)
    assert accepts_gzip("deflate, gzip;q=0.2") and not accepts_gzip("gzip;q=0.000") and not accepts_gzip(None)
    entry = Cached.build(b'{"a": "' + b"x" * 5000 + b'"}', "application/json")
    assert entry.gz is not None and gzip.decompress(entry.gz) == entry.raw
    status, headers, body = answer(entry, {"Accept-Encoding": "gzip"})
    assert status == 200 and body == entry.gz and headers["ETag"] == entry.etag_gz != entry.etag
    assert answer(entry, {"If-None-Match": entry.etag_gz})[0] == 304
    cache = ResponseCache(max_bytes=3 * entry.size)
    for i in range(5):
        cache.put(i, entry)
    assert len(cache) == 3 and cache.bytes <= 3 * entry.size and cache.get(0) is None
    calls = []
    with pytest.raises(RuntimeError):
        cache.get_or_build("bad", lambda: calls.append(1) or (_ for _ in ()).throw(RuntimeError("x")))
    assert cache.get_or_build("good", lambda: entry) is entry and not cache._key_locks
