"""Several app processes on one PostGIS database (real `python server.py` processes, a real cluster): a layer
imported on one is served by the other within moments; a database that stops mid-run leaves reads answering
and writes refused with a 503 until it is back; a database that is not there refuses start-up in one line."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.postgis import free_port
from tests.test_user_layers import Client

NAMES = "西湖区\n滨江区\n萧山区\n"
START_S = 180  # building the catalog takes a while on a loaded machine
SEEN_S = 10  # the other instance sees a write within a second; poll a little longer before failing


def request(base: str, method: str, path: str, payload=None, token: str | None = None, timeout: float = 30):
    """One real HTTP request; (status, headers, JSON body or None)."""
    body = None if payload is None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw, status, hdrs = resp.read(), resp.status, dict(resp.headers)
    except urllib.error.HTTPError as err:
        raw, status, hdrs = err.read(), err.code, dict(err.headers)
    return status, hdrs, json.loads(raw) if raw else None


def env_for(database_url: str, data_dir: Path, port: int | None = None) -> dict[str, str]:
    env = {**os.environ, "KECHUANG_DATABASE_URL": database_url, "KECHUANG_DATA_DIR": str(data_dir)}
    if port is not None:
        env.update(HOST="127.0.0.1", PORT=str(port), KECHUANG_THREADS="8")
    return env


@contextlib.contextmanager
def instance(database_url: str, data_dir: Path) -> Iterator[str]:
    """`python server.py` on a free port with its own data directory and the shared database; its base URL."""
    port = free_port()
    log = (data_dir / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "server.py"], cwd=ROOT, env=env_for(database_url, data_dir, port), stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_S
        while True:
            assert proc.poll() is None, (data_dir / "server.log").read_text()
            with contextlib.suppress(OSError):
                if request(base, "GET", "/healthz", timeout=2)[0] == 200:
                    break
            assert time.monotonic() < deadline, "the instance did not start"
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def add_editor(database_url: str, data_dir: Path, with_password: bool = False):
    """An editor made with the users CLI on the database; its API token (and password when asked)."""
    out = subprocess.run(
        [sys.executable, "-m", "layers", "users", "add", "ed", "--role", "editor"],
        cwd=ROOT,
        env=env_for(database_url, data_dir),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    password, token = (line.split(": ", 1)[1] for line in out.stdout.splitlines()[:2])
    return (token, password) if with_password else token


def user_layers(base: str) -> dict[str, dict]:
    status, _, body = request(base, "GET", "/api/layers")
    assert status == 200
    return {x["id"]: x for x in body["layers"] if x["kind"] == "user"}


def eventually(check, what: str):
    """Poll `check()` until it returns something true (at most SEEN_S seconds)."""
    deadline = time.monotonic() + SEEN_S
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def import_names(base: str, token: str, title: str) -> str:
    """Check pasted names on one instance; the pending import's id."""
    status, _, report = request(base, "POST", "/api/imports", {"text": NAMES, "title": title}, token)
    assert status == 200, report
    assert report["counts"]["matched"] == 3
    return report["import_id"]


def test_two_instances_share_layers_and_pending_imports(loaded_postgis, tmp_path):
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir()
    b_dir.mkdir()
    token, password = add_editor(loaded_postgis, a_dir, with_password=True)
    with instance(loaded_postgis, a_dir) as a, instance(loaded_postgis, b_dir) as b:
        assert user_layers(a) == {} and user_layers(b) == {}

        # import on A; B lists it and serves its features
        import_id = import_names(a, token, "高企名单")
        status, _, body = request(a, "POST", f"/api/imports/{import_id}/commit", {"title": "高企名单"}, token)
        assert status == 201, body
        layer = body["layer"]
        seen = eventually(lambda: user_layers(b).get(layer), "instance B never listed the layer saved on A")
        assert seen["title"] == "高企名单" and seen["count"] == 3
        status, _, fc = request(b, "GET", f"/api/layers/{layer}")
        assert status == 200 and sorted(f["properties"]["name"] for f in fc["features"]) == [
            "滨江区",
            "萧山区",
            "西湖区",
        ]

        # a list checked on B is committed on A (pending imports live in the database)
        other = import_names(b, token, "第二份")
        status, _, body = request(a, "POST", f"/api/imports/{other}/commit", {"title": "第二份"}, token)
        assert status == 201, body
        second = body["layer"]
        assert request(b, "POST", f"/api/imports/{other}/commit", {"title": "again"}, token)[0] == 404

        # delete on B; gone on A
        status, _, body = request(b, "DELETE", f"/api/layers/{layer}", token=token)
        assert status == 200 and body == {"deleted": layer}
        eventually(lambda: layer not in user_layers(a), "instance A still lists the layer deleted on B")
        assert request(a, "GET", f"/api/layers/{layer}")[0] == 404
        assert set(user_layers(a)) == set(user_layers(b)) == {second}

        # a sign-in on A is a session on B (sessions and the cookie key live in the database)
        browser = Client(a)
        page = browser.request("GET", "/login")[2].decode()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        status, _, _ = browser.form("/login", {"name": "ed", "password": password, "csrf_token": csrf})
        assert status == 303
        browser.base = b
        status, me = browser.json("GET", "/api/me")
        assert status == 200 and (me["user"], me["via"]) == ("ed", "session")


def test_database_stopping_mid_run(pg_cluster, loaded_postgis, tmp_path):
    token = add_editor(loaded_postgis, tmp_path)
    with instance(loaded_postgis, tmp_path) as base:
        import_id = import_names(base, token, "Fault list")
        status, _, body = request(base, "POST", f"/api/imports/{import_id}/commit", {"title": "Fault list"}, token)
        assert status == 201, body
        layer = body["layer"]
        status, _, before = request(base, "GET", f"/api/layers/{layer}")
        assert status == 200 and len(before["features"]) == 3

        pg_cluster.stop()
        try:
            # reads answer from what the instance holds
            for path in (f"/api/layers/{layer}", "/api/layers"):
                status, _, body = request(base, "GET", path, timeout=20)
                assert status == 200, (path, body)
            assert request(base, "GET", f"/api/layers/{layer}")[2] == before
            # writes are refused with a 503 JSON error that says to retry (no 500, no hang)
            geojson = {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {"n": 1}, "geometry": {"type": "Point", "coordinates": [120, 30]}}
                ],
            }
            for method, payload in (("PUT", geojson), ("DELETE", None), ("PATCH", {"title": "x"})):
                status, headers, body = request(base, method, f"/api/layers/{layer}", payload, token, timeout=20)
                assert status == 503, (method, status, body)
                assert "database" in body["error"] and int(headers["Retry-After"]) > 0
        finally:
            pg_cluster.start()

        # the database is back: writes work again without a restart
        def replaced():
            status, _, body = request(base, "PUT", f"/api/layers/{layer}", geojson, token, timeout=20)
            return body if status == 200 else None

        deadline = time.monotonic() + 60  # the pool reconnects with a back-off of a few seconds
        while (body := replaced()) is None:
            assert time.monotonic() < deadline, "writes did not come back after the database returned"
            time.sleep(0.5)
        assert body["version"] == 2 and body["count"] == 1
        status, _, fc = request(base, "GET", f"/api/layers/{layer}")
        assert status == 200 and len(fc["features"]) == 1


@pytest.mark.parametrize(
    "command",
    [["server.py"], ["-m", "layers", "users", "list"], ["-m", "layers", "check"]],
    ids=["server", "users-cli", "check-cli"],
)
def test_unreachable_database_refuses_to_start_in_one_line(command, tmp_path):
    url = f"postgresql://kechuang@127.0.0.1:{free_port()}/kechuang"
    out = subprocess.run(
        [sys.executable, *command],
        cwd=ROOT,
        env=env_for(url, tmp_path, free_port()),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cannot start: database 127.0.0.1:")
    assert "unreachable" in lines[0]
