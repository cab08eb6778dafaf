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


CHROMIUM = "/usr/bin/chromium"  # Debian's package; never `playwright install`
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright. Missing Chromium is a failure, not a skip:
    `make test` installs it, so a skip would hide a broken set-up."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


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

    def error(self, path: str) -> tuple[int, str]:
        """A request that must fail cleanly: a 4xx with a JSON body {"error": "<non-empty text>"}."""
        status, headers, body = self.get(path)
        assert 400 <= status < 500, (status, body[:300])
        assert headers["Content-Type"].startswith("application/json"), headers["Content-Type"]
        message = json.loads(body)["error"]
        assert isinstance(message, str) and message
        return status, message

    def json(self, path: str):
        status, _headers, body = self.get(path)
        return status, json.loads(body)


@pytest.fixture(scope="session")
def http(live_server) -> Http:
    return Http(live_server)
