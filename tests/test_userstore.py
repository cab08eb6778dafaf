"""The user-layer store on both backends (a real GeoPackage, a real PostGIS): typed round trips, versions, and
writes that fail or die midway. Tests taking `store` run once per backend with the same assertions."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import pytest
import shapely
from pandas.testing import assert_frame_equal
from psycopg import sql

from geo.errors import NotFound, Unavailable
from layers.pgstore import DATA_SCHEMA, PostGISStore
from layers.userstore import GeoPackageStore, StoreError, UserLayerStore, slug
from tests.conftest import ROOT
from tests.gdal import ogr_layers, ogrinfo


def sites(n: int = 3, text: str = "") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": [f"Site {i}{text}" for i in range(n)],
            "firms": list(range(n)),
            "share": [i / 2 for i in range(n)],
            "listed": [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(n)],
            "open": [i % 2 == 0 for i in range(n)],
        },
        geometry=shapely.points(120 + np.arange(n) * 1e-4, np.full(n, 30.0)),
        crs="EPSG:4326",
    )


@pytest.fixture
def gpkg_store(tmp_path) -> GeoPackageStore:
    return GeoPackageStore(tmp_path / "user-layers.gpkg")


@pytest.fixture(params=["embedded", "postgis"])
def store(request, tmp_path):
    """The store of one backend: the embedded GeoPackage, or PostGIS on a fresh database."""
    if request.param == "embedded":
        yield GeoPackageStore(tmp_path / "user-layers.gpkg")
        return
    pool = request.getfixturevalue("pg_pool")
    pg = PostGISStore(pool)
    try:
        yield pg
    finally:
        pg.close()


def snapshot(store) -> list:
    """Everything a store holds, to compare before and after a failed write (GeoPackage: the SQL dump;
    PostGIS: its version tables with their rows, the layer metadata and the revision)."""
    if isinstance(store, GeoPackageStore):
        return dump(store.path)
    with store.pool.connection() as con:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1", (DATA_SCHEMA,)
            )
        ]
        rows = [
            (t, con.execute(sql.SQL("SELECT * FROM {} ORDER BY fid").format(sql.Identifier(DATA_SCHEMA, t))).fetchall())
            for t in tables
        ]
        meta = [
            con.execute("SELECT * FROM user_layers ORDER BY seq").fetchall(),
            con.execute("SELECT * FROM user_layer_versions ORDER BY layer_id, version").fetchall(),
            con.execute("SELECT * FROM user_store_state").fetchall(),
        ]
    return [tables, rows, meta]


def dump(path: Path) -> list[str]:
    """Every statement that rebuilds the database: equal dumps mean byte-for-byte the same layers and metadata."""
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def test_is_the_protocol_and_keeps_types(store):
    assert isinstance(store, UserLayerStore)
    assert store.list() == [] and store.revision() == 0
    frame = sites()
    frame.loc[1, "name"] = None
    frame["share"] = frame["share"].astype(float)
    frame.loc[2, "share"] = np.nan
    info = store.save("High-tech firms 2024", frame, owner="ann", source="firms.csv")
    assert info.id == "user-high-tech-firms-2024"
    assert (info.title, info.owner, info.version, info.count, info.geometry_type) == (
        "High-tech firms 2024",
        "ann",
        1,
        3,
        "POINT",
    )
    assert info.columns == {"name": "TEXT", "firms": "INTEGER", "share": "REAL", "listed": "DATE", "open": "BOOLEAN"}
    back = store.load(info.id)
    assert back.crs.to_epsg() == 4326
    assert back["firms"].tolist() == [0, 1, 2] and back["firms"].dtype == np.int64
    assert back["share"].iloc[0] == 0.0 and np.isnan(back["share"].iloc[2])
    assert back["listed"].tolist() == [dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 3)]
    assert back["open"].tolist() == [True, False, True]
    assert back["name"].tolist() == ["Site 0", None, "Site 2"]
    assert back.geometry.equals(frame.geometry.set_axis(back.index))
    assert store.revision() == 1


def test_ids_titles_and_unknown_layers(store):
    chinese = store.save("高新技术企业名单", sites(), owner="ann")
    assert chinese.id.startswith("user-") and len(chinese.id) == len("user-") + 8
    again = store.save("Labs", sites(), owner="ann")
    twice = store.save("Labs", sites(), owner="ann")
    assert again.id == "user-labs" and twice.id.startswith("user-labs-") and twice.id != again.id
    assert slug("2024") == "" and slug("Pilot counties (2021)") == "pilot-counties-2021"
    with pytest.raises(StoreError):
        store.save("   ", sites(), owner="ann")
    with pytest.raises(NotFound):
        store.load("user-nothing")
    with pytest.raises(NotFound):
        store.delete("user-nothing")
    assert [i.id for i in store.list()] == [chinese.id, again.id, twice.id]


def test_replace_keeps_versions_and_restores(store):
    first = store.save("Labs", sites(3), owner="ann", source="a.csv")
    second = store.replace(first.id, sites(5), owner="bob", source="b.csv")
    assert (second.version, second.count, second.owner, second.created) == (2, 5, "ann", first.created)
    versions = store.versions(first.id)
    assert [(v.version, v.owner, v.source, v.count, v.current) for v in versions] == [
        (1, "ann", "a.csv", 3, False),
        (2, "bob", "b.csv", 5, True),
    ]
    assert len(store.load(first.id)) == 5 and len(store.load(first.id, 1)) == 3
    restored = store.restore(first.id, 1)
    assert restored.version == 1 and len(store.load(first.id)) == 3
    third = store.replace(first.id, sites(2), owner="ann")
    assert third.version == 3
    with pytest.raises(NotFound, match="kept versions"):
        store.restore(first.id, 9)
    renamed = store.rename(first.id, "Research labs")
    assert renamed.title == "Research labs" and store.info(first.id).title == "Research labs"
    store.delete(first.id)
    assert store.list() == []


def test_exception_on_a_bad_row_midway_leaves_nothing(store):
    store.save("Labs", sites(), owner="ann")
    before, revision = snapshot(store), store.revision()
    bad = sites(1000)
    bad["firms"] = bad["firms"].astype(object)
    bad.loc[600, "firms"] = 2**70  # an integer neither store can hold: fails on row 601, after 600 were written
    with pytest.raises((OverflowError, StoreError)):
        store.save("Broken", bad, owner="ann")
    with pytest.raises((OverflowError, StoreError)):
        store.replace("user-labs", bad, owner="ann")
    assert snapshot(store) == before and store.revision() == revision
    assert [i.id for i in store.list()] == ["user-labs"]


def size(path: Path) -> int:
    """A file's size; 0 while it does not exist (SQLite removes the WAL when its last connection closes)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


WRITER = """
import sys, numpy as np, geopandas as gpd, shapely
from layers.userstore import GeoPackageStore
n = 400_000
frame = gpd.GeoDataFrame({"name": ["x" * 120 + str(i) for i in range(n)], "v": np.arange(n)},
                         geometry=shapely.points(120 + np.arange(n) * 1e-6, np.full(n, 30.0)), crs="EPSG:4326")
print("writing", flush=True)
GeoPackageStore(sys.argv[1]).save("Huge", frame, owner="killed")
print("done", flush=True)
"""


@pytest.mark.gdal
def test_writer_killed_midway_leaves_the_store_as_it_was(gpkg_store):
    store = gpkg_store
    store.save("Labs", sites(), owner="ann")
    store.save("Pilots", sites(7), owner="bob")
    before, layers, revision = dump(store.path), store.list(), store.revision()
    frames = {i.id: store.load(i.id) for i in layers}
    wal = Path(str(store.path) + "-wal")
    start = size(wal)
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(store.path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "writing"
    # wait until the transaction has spilled well over 8 MB into the WAL: the writer is midway
    while child.poll() is None and size(wal) < start + 8 * 2**20:
        pass
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL, "the writer finished before it was killed"
    assert dump(store.path) == before
    assert store.list() == layers and store.revision() == revision
    for layer_id, frame in frames.items():
        assert_frame_equal(store.load(layer_id), frame)
    assert [(x["name"], x["count"], x["epsg4326"]) for x in ogr_layers(store.path)] == [
        ("user-labs_v1", 3, True),
        ("user-pilots_v1", 7, True),
        ("user_layers", 2, False),
    ]
    # and the store still takes writes
    assert store.save("After", sites(), owner="ann").id == "user-after"


def test_readers_are_served_while_a_layer_is_written(store):
    existing = store.save("Labs", sites(50), owner="ann")
    expected = store.load(existing.id)
    big = sites(150_000)
    writing = threading.Event()
    stop = threading.Event()
    seen: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                during = writing.is_set()
                count = len(store.list())
                assert_frame_equal(store.load(existing.id), expected)
                seen.append((count, during and writing.is_set()))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        writing.set()
        store.save("Big", big, owner="bob")
        writing.clear()
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    assert any(during for _, during in seen), "no read finished while the layer was being written"
    assert {count for count, during in seen if during} <= {1, 2}
    assert len(store.load("user-big")) == 150_000


@pytest.mark.gdal
def test_the_store_is_a_geopackage_gdal_reads(gpkg_store, tmp_path):
    store = gpkg_store
    regions = gpd.GeoDataFrame(
        {"adcode": ["330106", "330109"], "name": ["西湖区", "萧山区"], "note": ["<b>x</b>", "y"]},
        geometry=[shapely.box(120, 30, 120.1, 30.1), shapely.MultiPolygon([shapely.box(120.2, 30, 120.3, 30.1)])],
        crs="EPSG:4326",
    )
    info = store.save("Pilot list", regions, owner="ann")
    assert info.geometry_type == "MULTIPOLYGON"  # one declared type: polygons promoted
    store.replace(info.id, sites(), owner="ann")
    layers = {x["name"]: x for x in ogr_layers(store.path)}
    assert layers["user-pilot-list_v1"]["geometry"] == "Multi Polygon" and layers["user-pilot-list_v1"]["epsg4326"]
    assert layers["user-pilot-list_v2"]["geometry"] == "Point" and layers["user-pilot-list_v2"]["count"] == 3
    assert layers["user_layers"]["count"] == 1
    text = ogrinfo("-al", "-q", str(store.path), "user-pilot-list_v2")
    assert "listed (Date) = 2024/01/01" in text and "firms (Integer64) = 2" in text
    assert "open (Integer(Boolean)) = 1" in text
    pragma = sqlite3.connect(store.path).execute("PRAGMA application_id").fetchone()[0]
    assert pragma == 0x47504B47
    # GDAL's own reader (pyogrio) gets the typed columns back
    import pyogrio

    read = pyogrio.read_dataframe(store.path, layer="user-pilot-list_v1")
    assert read["name"].tolist() == ["西湖区", "萧山区"] and read.crs.to_epsg() == 4326
    assert read["note"].tolist() == ["<b>x</b>", "y"]


def postgis_store(url: str) -> tuple[PostGISStore, object]:
    """A PostGIS store on its own pool, as one app instance holds it."""
    from layers import pgdb

    pool = pgdb.open_pool(url)
    pgdb.migrate(pool)
    return PostGISStore(pool), pool


def wait_for(check, what: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_postgis_revision_follows_other_instances_and_a_database_restart(pg_cluster, fresh_postgis):
    a, pool_a = postgis_store(fresh_postgis)
    b, pool_b = postgis_store(fresh_postgis)
    try:
        wait_for(b.listening.is_set, "instance B never listened")
        info = a.save("Labs", sites(), owner="ann")
        assert a.revision() == 1  # the writer sees its own write at once
        wait_for(lambda: b.revision() == 1, "instance B never heard of A's write")
        assert [i.id for i in b.list()] == [info.id]

        pg_cluster.stop()
        try:
            assert b.revision() == 1  # kept in memory: no database needed to answer
            wait_for(lambda: not b.listening.is_set(), "the listener did not notice the database went away")
            with pytest.raises(Unavailable):
                a.delete(info.id)
        finally:
            pg_cluster.start()
        wait_for(b.listening.is_set, "the listener did not reconnect")

        def deleted() -> bool:
            try:
                a.delete(info.id)
            except Unavailable:
                return False
            return True

        wait_for(deleted, "writes did not come back", seconds=60)
        wait_for(lambda: b.revision() == 2, "instance B never heard of the delete after the restart")
        assert b.list() == []
    finally:
        for store, pool in ((a, pool_a), (b, pool_b)):
            store.close()
            pool.close()


PG_WRITER = """
import sys, numpy as np, geopandas as gpd, shapely
from layers import pgdb
from layers.pgstore import PostGISStore
n = 400_000
frame = gpd.GeoDataFrame({"name": ["x" * 120 + str(i) for i in range(n)], "v": np.arange(n)},
                         geometry=shapely.points(120 + np.arange(n) * 1e-6, np.full(n, 30.0)), crs="EPSG:4326")
store = PostGISStore(pgdb.open_pool(sys.argv[1]), listen=False)
print("writing", flush=True)
store.save("Huge", frame, owner="killed")
print("done", flush=True)
"""


def test_postgis_writer_killed_midway_leaves_the_store_as_it_was(pg_pool):
    store = PostGISStore(pg_pool)
    try:
        store.save("Labs", sites(), owner="ann")
        before, revision = snapshot(store), store.revision()
        url = str(pg_pool.conninfo)
        child = subprocess.Popen([sys.executable, "-c", PG_WRITER, url], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline().strip() == "writing"
        # wait until the COPY of the new version has sent well over 50,000 rows: the writer is midway
        with psycopg.connect(url, autocommit=True) as con:
            while child.poll() is None:
                row = con.execute("SELECT max(tuples_processed) FROM pg_stat_progress_copy").fetchone()
                if row and row[0] and row[0] > 50_000:
                    break
                time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL, "the writer finished before it was killed"
        # the server ends the dead client's transaction: everything it wrote is rolled back
        with psycopg.connect(url, autocommit=True) as con:
            wait_for(
                lambda: (
                    not con.execute(
                        "SELECT 1 FROM pg_stat_activity WHERE state <> 'idle' AND pid <> pg_backend_pid()"
                        " AND backend_type = 'client backend' AND query ILIKE 'COPY%'"
                    ).fetchone()
                ),
                "the killed writer's session never ended",
            )
        assert snapshot(store) == before and store.revision() == revision
        assert store.save("After", sites(), owner="ann").id == "user-after"
    finally:
        store.close()
