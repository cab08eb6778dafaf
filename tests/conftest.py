"""Shared fixtures: the real catalog, the Flask app served over HTTP on a free local port, and test output.

Also marks tests by what they run: `browser` for every test that uses the Chromium fixture, `gdal` for every
test that calls GDAL's ogrinfo (tests/gdal.py), so `make test-fast` (-m "not browser and not gdal") leaves both out.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import inspect
import json
import os
import shutil
import threading
import types
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "test-output"
CACHE = ROOT / ".cache" / "tests"  # git-ignored; safe to delete at any time

# ------------------------------------------------------------------ markers from what a test runs
GDAL_HELPERS = frozenset({"ogrinfo", "ogr_layers", "ogr_feature_geometries"})


def _code_names(code: types.CodeType) -> set[str]:
    """Global and attribute names a code object uses, including its nested functions and lambdas."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _calls_gdal(func, module: types.ModuleType, seen: set) -> bool:
    """Whether `func` (or a helper of its own test module that it calls) runs one of tests/gdal.py's helpers."""
    code = getattr(func, "__code__", None)
    if code is None or func in seen:
        return False
    seen.add(func)
    names = _code_names(code)
    if names & GDAL_HELPERS:
        return True
    helpers = (getattr(module, n, None) for n in names)
    return any(
        _calls_gdal(h, module, seen) for h in helpers if inspect.isfunction(h) and h.__module__ == module.__name__
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if "browser" in fixtures:
            item.add_marker(pytest.mark.browser)
        func = getattr(item, "function", None)
        module = getattr(item, "module", None)
        if func is not None and module is not None and _calls_gdal(func, module, set()):
            item.add_marker(pytest.mark.gdal)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tell tests/gdal.py whether the running test is marked `gdal` (it refuses to run ogrinfo otherwise)."""
    from tests import gdal

    gdal.ALLOWED = item.get_closest_marker("gdal") is not None


# ------------------------------------------------------------------ the app over HTTP
@contextlib.contextmanager
def serve(app) -> Iterator[str]:
    """Serve a Flask app with werkzeug in a background thread on a free local port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


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
    with serve(app) as base:
        yield base


# ------------------------------------------------------------------ all of China, built once per content
CHINA_COUNTS = {"province": 34, "cities": 370, "counties": 2875}
# Everything the build's output depends on: a change to any of these files builds it again.
BUILD_CODE = ("boundaries/__init__.py", "boundaries/build.py", "boundaries/source.py", "geo/datum.py")
BUILD_LIBRARIES = ("shapely", "pyogrio", "geopandas", "numpy")


def china_build_key(wheel: Path) -> str:
    """Content key of the all-China build: the cnmaps wheel, the build code and the libraries that write it."""
    h = hashlib.sha256()
    h.update(hashlib.sha256(wheel.read_bytes()).digest())
    for rel in BUILD_CODE:
        h.update(rel.encode() + b"\0" + (ROOT / rel).read_bytes())
    for lib in BUILD_LIBRARIES:
        h.update(f"{lib}=={importlib.metadata.version(lib)}".encode())
    import pyogrio
    import shapely

    h.update(f"GDAL {pyogrio.__gdal_version_string__} GEOS {shapely.geos_version_string}".encode())
    return h.hexdigest()[:20]


def _layer_counts(path: Path) -> dict[str, int]:
    import pyogrio

    # the boundary layers (a large build also carries their simplified tables, `<layer>_simplified`)
    return {
        name: pyogrio.read_info(path, layer=name)["features"]
        for name, _ in pyogrio.list_layers(path)
        if not name.endswith("_simplified")
    }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@pytest.fixture(scope="session")
def china_gpkg(tmp_path_factory) -> Path:
    """All of China (2,875 counties), built from the cnmaps wheel, kept in .cache/tests/ under a content key:
    it is built again only when the wheel, the build code or the geometry libraries change, or when the
    cached file no longer has the digest it was stored with. The Zhejiang build test (test_boundaries.py)
    runs the build itself every session."""
    from boundaries.build import build
    from boundaries.source import fetch_wheel

    cached = CACHE / f"china-{china_build_key(fetch_wheel())}.gpkg"
    digest = cached.with_name(cached.name + ".sha256")
    if not (cached.exists() and digest.exists() and digest.read_text() == _sha256(cached)):
        report = build("all", tmp_path_factory.mktemp("china") / "china.gpkg")
        assert report.counts == CHINA_COUNTS
        CACHE.mkdir(parents=True, exist_ok=True)
        for stale in CACHE.glob("china-*"):  # builds under older keys
            stale.unlink(missing_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.part")
        shutil.copyfile(report.path, partial)
        digest.write_text(_sha256(partial))
        partial.replace(cached)  # atomic: a concurrent or interrupted session never sees half a file
    assert _layer_counts(cached) == CHINA_COUNTS
    return cached


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


# ------------------------------------------------------------------ PostgreSQL + PostGIS (tests/postgis.py)
@pytest.fixture(scope="session")
def pg_cluster():
    """A throw-away PostgreSQL 15 cluster for the session (stop()/start() it for fault tests). Missing
    binaries are a failure, not a skip: `make test` installs them."""
    from tests.postgis import Cluster

    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def postgis_url(pg_cluster) -> str:
    """URL of a database with the PostGIS extension, shared by the session."""
    return pg_cluster.fresh("session")


@pytest.fixture
def fresh_postgis(pg_cluster) -> str:
    """URL of a new, empty PostGIS database for one test (a copy of the cluster's template)."""
    if not pg_cluster.running():
        pg_cluster.start()  # a fault test that failed midway left it stopped
    return pg_cluster.fresh()


@pytest.fixture
def loaded_postgis(pg_cluster) -> str:
    """URL of a new PostGIS database holding the embedded boundaries and curated layers (what an app on
    PostGIS starts from: the two load commands have run)."""
    if not pg_cluster.running():
        pg_cluster.start()
    return pg_cluster.loaded()


@pytest.fixture
def pg_pool(fresh_postgis):
    """A connection pool on a fresh, migrated PostGIS database (closed after the test)."""
    from layers import pgdb

    pool = pgdb.open_pool(fresh_postgis)
    pgdb.migrate(pool)
    try:
        yield pool
    finally:
        pool.close()


BACKENDS = ("embedded", "postgis")


def backend_settings(request, data_dir: Path, backend: str, **overrides):
    """Settings of an app over `data_dir` on one backend: the embedded files, or a fresh PostGIS database of the
    session's cluster holding the boundaries and curated layers (`KECHUANG_DATABASE_URL`). For fixtures parametrised over `BACKENDS`."""
    from settings import load_settings

    if backend == "postgis":
        overrides["database_url"] = request.getfixturevalue("pg_cluster").loaded()
    return load_settings(data_dir=data_dir, **overrides)


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
