"""Shared fixtures: the real catalog, the Flask app served over HTTP on a free local port, and test output."""
from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "test-output"


@pytest.fixture(scope="session")
def app():
    from server import create_app
    return create_app()


@pytest.fixture(scope="session")
def catalog(app):
    return app.extensions["catalog"]


@pytest.fixture(scope="session")
def live_server(app):
    """Base URL of the real app served by werkzeug in a background thread."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture(scope="session")
def china_gpkg(tmp_path_factory) -> Path:
    """All of China (2,875 counties), built from the cnmaps wheel once per test session."""
    from boundaries.build import build
    report = build("all", tmp_path_factory.mktemp("china") / "china.gpkg")
    assert report.counts == {"province": 34, "cities": 370, "counties": 2875}
    return report.path


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


class Http:
    """A tiny HTTP client for tests: real requests, no mocks."""

    def __init__(self, base: str) -> None:
        self.base = base

    def get(self, path: str, headers: dict | None = None):
        url = self.base + urllib.parse.quote(path, safe="/?=&,:;%+")
        req = urllib.request.Request(url, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def json(self, path: str):
        status, headers, body = self.get(path)
        return status, json.loads(body)


@pytest.fixture(scope="session")
def http(live_server) -> Http:
    return Http(live_server)
