"""Boundaries and curated layers in PostGIS (real cluster, real commands, real HTTP): the two load commands are
idempotent and all-or-nothing, an app on PostGIS answers exactly as the embedded app does, a bbox query on the
GiST index chooses the same regions as the frames in memory (also on all of China), a re-load is seen by a
running app, and an app on a database without data refuses to start in one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import psycopg
import pyogrio
import pytest

from geo.select import select
from layers import pgdata, pgdb
from tests.conftest import ROOT, Http, serve
from tests.postgis import free_port

COUNTY = "330106"  # 西湖区
BBOXES = [(120.0, 30.0, 120.5, 30.5), (118.0, 27.0, 123.0, 31.5), (121.9, 29.9, 122.0, 30.0), (100.0, 0.0, 101.0, 1.0)]
CHINA_BBOXES = [
    (73.0, 18.0, 135.0, 54.0),
    (110.0, 20.0, 118.0, 26.0),
    (116.3, 39.8, 116.5, 40.0),
    (87.0, 43.0, 88.5, 44.5),
]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m …` in the project, as a user types it."""
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )


def tables(url: str) -> dict[str, object]:
    """Row counts and a digest of the contents of every data table, and the data version."""
    out: dict[str, object] = {}
    with psycopg.connect(url) as con:
        for table, order in (
            ("boundary_regions", "layer, adcode"),
            ("boundary_metadata", "key"),
            ("curated_records", "kind, position"),
            ("curated_features", "layer, fid"),
        ):
            out[table] = con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY {order}), '')) FROM {table} t"
            ).fetchone()
        out["version"] = con.execute("SELECT value FROM data_state WHERE key = 'version'").fetchone()[0]
    return out


def gpkg_counts(path: Path) -> dict[str, int]:
    return {layer: pyogrio.read_info(path, layer=layer)["features"] for layer in ("province", "cities", "counties")}


def test_both_loads_twice_give_the_same_tables(fresh_postgis):
    from settings import load_settings

    settings = load_settings()
    for n in (1, 2):
        done = run("boundaries", "load", "--database-url", fresh_postgis)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("loaded boundaries from zhejiang.gpkg as data version ")
        if n == 1:
            first_boundaries = tables(fresh_postgis)
    assert {k: v for k, v in tables(fresh_postgis).items() if k != "version"} == {
        k: v for k, v in first_boundaries.items() if k != "version"
    }
    for n in (1, 2):
        done = run("layers", "load", "--database-url", fresh_postgis)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("loaded layers from data as data version ") and " sites" in done.stdout
        if n == 1:
            first_layers = tables(fresh_postgis)
    second = tables(fresh_postgis)
    assert second["version"] == 4  # every load raises the version
    assert {k: v for k, v in second.items() if k != "version"} == {
        k: v for k, v in first_layers.items() if k != "version"
    }

    with psycopg.connect(fresh_postgis) as con:
        counts = dict(con.execute("SELECT layer, count(*) FROM boundary_regions GROUP BY layer").fetchall())
        assert counts == gpkg_counts(settings.boundaries)
        assert con.execute("SELECT Find_SRID('public', 'boundary_regions', 'geom')").fetchone() == (4326,)
        assert con.execute("SELECT Find_SRID('public', 'curated_features', 'geom')").fetchone() == (4326,)
        gist = {r[0] for r in con.execute("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%USING gist%'")}
        assert {"boundary_regions_geom", "curated_features_geom"} <= gist
        assert con.execute("SELECT count(*) FROM curated_records WHERE kind = 'site'").fetchone()[0] > 100
        # facts as JSONB: SQL can reach into them
        with_facts = con.execute(
            "SELECT count(*) FROM curated_features WHERE jsonb_array_length(properties -> 'facts') > 0"
        ).fetchone()[0]
        assert with_facts > 0
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] >= 50
    pool = pgdb.open_pool(fresh_postgis)
    try:
        history = pgdata.loads(pool)
    finally:
        pool.close()
    assert [x["kind"] for x in history] == ["boundaries", "boundaries", "layers", "layers"]
    assert [x["version"] for x in history] == [1, 2, 3, 4]
    assert history[0]["counts"] == gpkg_counts(settings.boundaries) and history[0]["loaded"]
    assert history[0]["digest"] == history[1]["digest"] and history[2]["digest"] == history[3]["digest"]


def test_a_failed_load_leaves_the_previous_tables(loaded_postgis, tmp_path):
    from settings import load_settings

    before = tables(loaded_postgis)
    # a corrupt file: refused before the database is touched
    corrupt = tmp_path / "corrupt.gpkg"
    corrupt.write_bytes(load_settings().boundaries.read_bytes()[:50_000])
    done = run("boundaries", "load", "--database-url", loaded_postgis, "--boundaries", str(corrupt))
    assert done.returncode == 1 and "the database keeps what it had" in done.stderr
    # a file that fails midway, inside the transaction: one county is a Polygon, the table takes MultiPolygons
    midway = tmp_path / "midway.gpkg"
    shutil.copy(load_settings().boundaries, midway)
    counties = gpd.read_file(midway, layer="counties")
    counties.loc[counties.index[-1], "geometry"] = counties.geometry.iloc[-1].geoms[0]
    counties.to_file(midway, layer="counties", driver="GPKG", engine="pyogrio", promote_to_multi=False)
    assert gpd.read_file(midway, layer="counties").geometry.iloc[-1].geom_type == "Polygon"
    done = run("boundaries", "load", "--database-url", loaded_postgis, "--boundaries", str(midway))
    assert done.returncode == 1, done.stdout
    assert "the database keeps what it had" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    # broken curated data: refused, nothing changed
    layers_dir = tmp_path / "data"
    shutil.copytree(load_settings().layers_dir, layers_dir)
    victim = next(p for p in sorted(layers_dir.rglob("*.yaml")) if p.name != "sources.yaml")
    victim.write_text("- {name: [unclosed\n", encoding="utf-8")
    done = run("layers", "load", "--database-url", loaded_postgis, env={"KECHUANG_LAYERS_DIR": str(layers_dir)})
    assert done.returncode == 1 and "the database keeps what it had" in done.stderr
    assert tables(loaded_postgis) == before


def test_unreachable_database_is_one_line_and_exit_2():
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"
    for command in (("boundaries", "load", "--database-url", url), ("layers", "load", "--database-url", url)):
        done = run(*command)
        assert done.returncode == 2
        assert len(done.stderr.strip().splitlines()) == 1 and "unreachable" in done.stderr
    done = run("boundaries", "load", "--database-url", "not a url")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


def test_app_on_an_empty_database_refuses_in_one_line(fresh_postgis, tmp_path):
    env = {"KECHUANG_DATABASE_URL": fresh_postgis, "KECHUANG_DATA_DIR": str(tmp_path), "PORT": str(free_port())}
    done = subprocess.run(
        [sys.executable, "server.py"], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2
    last = [line for line in done.stderr.splitlines() if line.strip()][-1]
    assert last.startswith("cannot start: the database holds no boundaries")
    assert "python -m boundaries load" in last and "python -m layers load" in last


# --- the app on both backends ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def both(pg_cluster, tmp_path_factory):
    """The embedded app and the app on a loaded PostGIS database, each served over HTTP."""
    from server import create_app
    from settings import load_settings

    embedded = create_app(load_settings(data_dir=tmp_path_factory.mktemp("embedded")))
    url = pg_cluster.loaded()
    postgis = create_app(load_settings(data_dir=tmp_path_factory.mktemp("postgis"), database_url=url))
    try:
        with serve(embedded) as a, serve(postgis) as b:
            yield {"embedded": Http(a), "postgis": Http(b), "url": url, "app": postgis}
    finally:
        embedded.extensions["backends"].close()
        postgis.extensions["backends"].close()


ROUTES = [
    "/api/layers",
    "/api/layers/counties",
    "/api/layers/counties?zoom=8",
    "/api/layers/platforms",
    "/api/layers/corridors?datum=gcj02",
    f"/api/regions/{COUNTY}",
    "/api/regions/330000",
    "/api/search?q=杭州",
    "/api/search?q=西湖",
    "/export/counties.geojson",
    "/export/platforms.csv",
    "/export/innovation-bases.geojson?bbox=119,29,121,31",
    *[f"/api/layers/counties?bbox={','.join(map(str, b))}" for b in BBOXES],
    *[f"/api/layers/pilot-counties?bbox={','.join(map(str, b))}" for b in BBOXES],
    *[f"/api/layers/cities?bbox={','.join(map(str, b))}&zoom=14" for b in BBOXES],
    "/api/layers/counties?bbox=1,2,3",
    "/api/layers/counties?bbox=121,31,120,30",
]


@pytest.mark.parametrize("path", ROUTES)
def test_postgis_answers_as_embedded(both, path):
    a_status, a_headers, a_body = both["embedded"].get(path)
    b_status, b_headers, b_body = both["postgis"].get(path)
    assert (b_status, b_headers.get("Content-Type")) == (a_status, a_headers.get("Content-Type"))
    assert b_body == a_body, path


def test_bbox_on_postgis_finds_features(both):
    status, _, body = both["postgis"].get("/api/layers/counties?bbox=120.0,30.0,120.5,30.5")
    assert status == 200
    import json

    ids = [f["id"] for f in json.loads(body)["features"]]
    assert COUNTY in ids and 0 < len(ids) < 90


def test_a_reload_is_seen_by_the_running_app(both):
    from settings import load_settings

    catalog = both["app"].extensions["catalog"]
    revision, version = catalog.revision(), catalog.data_version
    done = run("layers", "load", "--database-url", both["url"])
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 120  # the app builds the new data aside before it swaps it in
    while catalog.data_version == version:
        assert time.monotonic() < deadline, "the running app did not see the new data version"
        time.sleep(0.5)
    assert catalog.revision() != revision
    status, _, _ = both["postgis"].get("/api/layers")
    assert status == 200
    assert load_settings().database_url is None  # the embedded default is untouched


def test_bbox_on_all_china_equals_the_frames(china_gpkg, fresh_postgis):
    """The GiST query and the in-memory test choose the same counties on the all-China build."""
    from boundaries.store import load

    pool = pgdb.open_pool(fresh_postgis)
    try:
        pgdb.migrate(pool)
        report = pgdata.load_boundaries(pool, china_gpkg)
        assert report.counts == {"province": 34, "cities": 370, "counties": 2875}
        counties = load(china_gpkg).counties.set_index("adcode", drop=False)
        for bbox in CHINA_BBOXES:
            expected = set(select(counties, bbox=bbox).index)
            found = pgdata.bbox_ids(pool, "counties", bbox)
            assert len(found) == len(set(found)) and set(found) == expected, bbox
            assert expected
        back = pgdata.read_boundaries(pool)
        assert len(back.counties) == 2875 and list(back.counties["adcode"]) == list(counties["adcode"])
    finally:
        pool.close()
