"""The user-layer store in PostGIS (`PostGISStore`): the `UserLayerStore` of userstore.py, shared by app instances.

Tables (layers/migrations/001_user_layers.sql): `user_layers` (id, title, owner, times, current version, source),
`user_layer_versions` (every kept version: owner, source, count, geometry type, columns and their types, bbox)
and one table per version in schema `user_layer_data`, named `<layer id>_v<n>`: `fid` (row number from 1),
`geom geometry(<type>, 4326)` with a GiST index, then the rows' own columns typed as PostgreSQL types (bigint,
double precision, boolean, date, timestamptz, text) — QGIS and GDAL open them as they are. Columns are typed by
layers/usertypes.py, as in the embedded store, so a layer comes back the same from either.

Every write is one transaction: it takes a transaction-scoped advisory lock (writers queue, like SQLite's write
lock), creates and fills the version table (COPY), updates the metadata, raises the revision row and sends
`NOTIFY kechuang_user_layers '<revision>'`; PostgreSQL delivers the notification only on commit, and DDL is
transactional, so a failed or interrupted write leaves nothing behind.

`revision()` reads no database: it returns a number kept in memory, raised by this instance's own commits and by
a listener thread that `LISTEN`s on its own connection, so a write on another instance is seen here within a
moment. When the listener loses its connection it reconnects (backing off up to a few seconds) and reads the
revision row again, which covers the notifications it missed. While the database is gone the revision stays
where it was, so the catalog keeps serving the layers it holds; reads that need the database and every write
answer 503 (`geo.errors.Unavailable`, via pgdb.connection). The number only rises: a database restored from
an older backup keeps the instances' caches until its own revision passes theirs, so restart them after that.
"""

from __future__ import annotations

import builtins
import datetime as _dt
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from geo.errors import NotFound

from .pgdb import CONNECTION_OPTIONS, connection, one_line
from .userstore import LayerInfo, VersionInfo
from .usertypes import StoreError, clean_title, new_id, prepare, uncell

log = logging.getLogger(__name__)

CHANNEL = "kechuang_user_layers"
DATA_SCHEMA = "user_layer_data"
MAX_COLUMNS = 1000  # PostgreSQL allows 1,600 columns a table; the same limit as the embedded store
WRITE_LOCK = 7_304_281_625_310_524_002  # pg_advisory_xact_lock key every write takes
REREAD_S = 30.0  # the listener also re-reads the revision this often (a safety net, not the mechanism)
IDENTIFIER_BYTES = 63  # PostgreSQL truncates longer names
PG_TYPES = {
    "INTEGER": "bigint",
    "REAL": "double precision",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "DATETIME": "timestamptz",
    "TEXT": "text",
}
PG_GEOMETRY = {
    "POINT": "Point",
    "LINESTRING": "LineString",
    "POLYGON": "Polygon",
    "MULTIPOINT": "MultiPoint",
    "MULTILINESTRING": "MultiLineString",
    "MULTIPOLYGON": "MultiPolygon",
    "GEOMETRY": "Geometry",
}
LAYER_COLUMNS = ("id", "title", "owner", "created", "updated", "version", "source")


def _iso(moment: _dt.datetime) -> str:
    """A timestamptz as the stores write times: ISO 8601 UTC with milliseconds and Z."""
    return moment.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _physical(names: list[str]) -> list[str]:
    """Table column names: the user's own where PostgreSQL keeps them whole, else `column_<n>`."""
    out: list[str] = []
    for n, name in enumerate(names, start=1):
        chosen = name if len(name.encode("utf-8")) <= IDENTIFIER_BYTES else f"column_{n}"
        while chosen in out or chosen in ("fid", "geom"):
            chosen = f"column_{n}_{len(out)}"
        out.append(chosen)
    return out


def _not_found(layer_id: str) -> NotFound:
    return NotFound(f'no user layer {layer_id!r}; GET /api/layers lists them (kind "user")')


class PostGISStore:
    """`UserLayerStore` in PostGIS (see the module docstring). Thread-safe; `close()` stops the listener."""

    def __init__(self, pool: ConnectionPool, *, listen: bool = True) -> None:
        self.pool = pool
        self._listener_conninfo = make_conninfo(
            str(pool.conninfo), application_name="kechuang-listener", **CONNECTION_OPTIONS
        )
        self._revision_lock = threading.Lock()
        self._revision = self._read_revision()
        self._stop = threading.Event()
        self.listening = threading.Event()  # set while the listener holds a live LISTEN connection
        self._listener: threading.Thread | None = None
        if listen:
            self._listener = threading.Thread(target=self._listen, name="pgstore-listener", daemon=True)
            self._listener.start()

    # --- the revision ---------------------------------------------------------------------------------
    def _read_revision(self) -> int:
        with connection(self.pool) as con:
            row = con.execute("SELECT value FROM user_store_state WHERE key = 'revision'").fetchone()
        return int(row[0]) if row else 0

    def _raise_to(self, value: int) -> None:
        with self._revision_lock:
            if value > self._revision:
                self._revision = value

    def revision(self) -> int:
        return self._revision

    def _listen(self) -> None:
        """Follow other instances' writes: LISTEN, re-read on (re)connect, back off while the database is gone."""
        delay = 0.25
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._listener_conninfo, autocommit=True) as con:
                    con.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    reread = 0.0  # read the row first: it covers whatever was missed while not listening
                    while not self._stop.is_set():
                        if time.monotonic() >= reread:
                            row = con.execute("SELECT value FROM user_store_state WHERE key = 'revision'").fetchone()
                            self._raise_to(int(row[0]) if row else 0)
                            reread = time.monotonic() + REREAD_S
                            self.listening.set()
                            delay = 0.25
                        for note in con.notifies(timeout=0.5):
                            if note.payload.isdigit():
                                self._raise_to(int(note.payload))
            except Exception as exc:  # a lost connection above all; the thread must outlive anything
                if self.listening.is_set():
                    log.warning("user-layer listener lost the database: %s", one_line(exc))
                self.listening.clear()
                self._stop.wait(delay)
                delay = min(delay * 2, 2.0)
        self.listening.clear()

    def close(self) -> None:
        """Stop the listener thread (the pool belongs to whoever opened it)."""
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=5)

    # --- transactions ---------------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[psycopg.Connection]:
        """One write transaction: all of it is committed (and announced) together, or none of it."""
        with connection(self.pool) as con:
            try:
                con.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                yield con
                row = con.execute(
                    "UPDATE user_store_state SET value = value + 1 WHERE key = 'revision' RETURNING value"
                ).fetchone()
                assert row is not None
                con.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(row[0])))
            except psycopg.DataError as exc:
                raise StoreError(f"a value does not fit its column: {one_line(exc)[:200]}") from exc
        self._raise_to(int(row[0]))

    # --- writing --------------------------------------------------------------------------------------
    def _write_version(
        self,
        con: psycopg.Connection,
        layer_id: str,
        version: int,
        frame: gpd.GeoDataFrame,
        *,
        owner: str,
        source: str,
        stamp: _dt.datetime | None = None,
    ) -> _dt.datetime:
        """Create, fill and index the table of one layer version and record it (in the caller's transaction)."""
        ready = prepare(frame, max_columns=MAX_COLUMNS)
        physical = _physical(ready.names)
        table_name = f"{layer_id}_v{version}"
        table = sql.Identifier(DATA_SCHEMA, table_name)
        columns = [
            sql.SQL("{} {}").format(sql.Identifier(p), sql.SQL(PG_TYPES[k]))
            for p, k in zip(physical, ready.kinds, strict=True)
        ]
        con.execute(
            sql.SQL("CREATE TABLE {} (fid bigint PRIMARY KEY, geom geometry({}, 4326){})").format(
                table,
                sql.SQL(PG_GEOMETRY[ready.geometry_type]),
                sql.SQL("").join(sql.SQL(", ") + c for c in columns),
            )
        )
        geoms = shapely.to_wkb(shapely.set_srid(ready.geoms, 4326), hex=True, include_srid=True).tolist()
        names = sql.SQL(", ").join(sql.Identifier(n) for n in ["fid", "geom", *physical])
        with con.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(table, names)) as copy:
            for row in zip(range(1, len(geoms) + 1), geoms, *ready.columns, strict=True):
                copy.write_row(row)
        con.execute(sql.SQL("CREATE INDEX ON {} USING gist (geom)").format(table))
        stamp = stamp or _dt.datetime.now(_dt.UTC)
        con.execute(
            "INSERT INTO user_layer_versions (layer_id, version, table_name, created, owner, source, count,"
            " geometry_type, columns, bbox) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                layer_id,
                version,
                table_name,
                stamp,
                owner,
                source,
                len(geoms),
                ready.geometry_type,
                Jsonb([[n, k, p] for n, k, p in zip(ready.names, ready.kinds, physical, strict=True)]),
                list(ready.bbox) if ready.bbox else None,
            ),
        )
        return stamp

    def save(self, title: str, frame: gpd.GeoDataFrame, *, owner: str, source: str = "") -> LayerInfo:
        title = clean_title(title)
        with self._write() as con:

            def taken(candidate: str) -> bool:
                return con.execute("SELECT 1 FROM user_layers WHERE id = %s", (candidate,)).fetchone() is not None

            layer_id = new_id(title, taken)
            stamp = _dt.datetime.now(_dt.UTC)
            con.execute(
                "INSERT INTO user_layers (id, title, owner, created, updated, version, source)"
                " VALUES (%s, %s, %s, %s, %s, 1, %s)",
                (layer_id, title, owner, stamp, stamp, source),
            )
            self._write_version(con, layer_id, 1, frame, owner=owner, source=source, stamp=stamp)
        return self.info(layer_id)

    def replace(self, layer_id: str, frame: gpd.GeoDataFrame, *, owner: str, source: str = "") -> LayerInfo:
        with self._write() as con:
            self._row(con, layer_id)
            row = con.execute(
                "SELECT max(version) FROM user_layer_versions WHERE layer_id = %s", (layer_id,)
            ).fetchone()
            version = int(row[0]) + 1 if row and row[0] is not None else 1
            stamp = self._write_version(con, layer_id, version, frame, owner=owner, source=source)
            con.execute(
                "UPDATE user_layers SET version = %s, updated = %s, source = %s WHERE id = %s",
                (version, stamp, source, layer_id),
            )
        return self.info(layer_id)

    def rename(self, layer_id: str, title: str) -> LayerInfo:
        title = clean_title(title)
        with self._write() as con:
            self._row(con, layer_id)
            con.execute(
                "UPDATE user_layers SET title = %s, updated = %s WHERE id = %s",
                (title, _dt.datetime.now(_dt.UTC), layer_id),
            )
        return self.info(layer_id)

    def delete(self, layer_id: str) -> None:
        with self._write() as con:
            self._row(con, layer_id)
            tables = con.execute(
                "SELECT table_name FROM user_layer_versions WHERE layer_id = %s", (layer_id,)
            ).fetchall()
            for (table_name,) in tables:
                con.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(DATA_SCHEMA, table_name)))
            con.execute("DELETE FROM user_layers WHERE id = %s", (layer_id,))  # its versions go with it

    def restore(self, layer_id: str, version: int) -> LayerInfo:
        with self._write() as con:
            self._row(con, layer_id)
            self._version_row(con, layer_id, version)
            con.execute(
                "UPDATE user_layers SET version = %s, updated = %s WHERE id = %s",
                (int(version), _dt.datetime.now(_dt.UTC), layer_id),
            )
        return self.info(layer_id)

    # --- reading --------------------------------------------------------------------------------------
    @staticmethod
    def _row(con: psycopg.Connection, layer_id: str) -> dict[str, Any]:
        row = con.execute(
            "SELECT id, title, owner, created, updated, version, source FROM user_layers WHERE id = %s", (layer_id,)
        ).fetchone()
        if row is None:
            raise _not_found(layer_id)
        return dict(zip(LAYER_COLUMNS, row, strict=True))

    @staticmethod
    def _version_row(con: psycopg.Connection, layer_id: str, version: int) -> dict[str, Any]:
        keys = ("version", "table_name", "created", "owner", "source", "count", "geometry_type", "columns", "bbox")
        row = con.execute(
            "SELECT version, table_name, created, owner, source, count, geometry_type, columns, bbox"
            " FROM user_layer_versions WHERE layer_id = %s AND version = %s",
            (layer_id, int(version)),
        ).fetchone()
        if row is None:
            kept = [
                r[0]
                for r in con.execute(
                    "SELECT version FROM user_layer_versions WHERE layer_id = %s ORDER BY version", (layer_id,)
                )
            ]
            raise NotFound(f"layer {layer_id!r} has no version {version}; kept versions: {kept}")
        return dict(zip(keys, row, strict=True))

    @staticmethod
    def _info(row: tuple[Any, ...]) -> LayerInfo:
        layer_id, title, owner, created, updated, version, source, geometry_type, count, columns, bbox = row
        return LayerInfo(
            id=layer_id,
            title=title,
            owner=owner,
            created=_iso(created),
            updated=_iso(updated),
            version=version,
            geometry_type=geometry_type,
            count=count,
            columns={c[0]: c[1] for c in columns},
            source=source,
            bbox=tuple(bbox) if bbox else None,
        )

    INFO_SELECT = (
        "SELECT l.id, l.title, l.owner, l.created, l.updated, l.version, l.source, v.geometry_type, v.count,"
        " v.columns, v.bbox FROM user_layers l"
        " JOIN user_layer_versions v ON v.layer_id = l.id AND v.version = l.version"
    )

    def info(self, layer_id: str) -> LayerInfo:
        with connection(self.pool) as con:
            row = con.execute(self.INFO_SELECT + " WHERE l.id = %s", (layer_id,)).fetchone()
        if row is None:
            raise _not_found(layer_id)
        return self._info(row)

    def list(self) -> list[LayerInfo]:
        with connection(self.pool) as con:
            rows = con.execute(self.INFO_SELECT + " ORDER BY l.seq").fetchall()
        return [self._info(r) for r in rows]

    def versions(self, layer_id: str) -> builtins.list[VersionInfo]:
        with connection(self.pool) as con:
            current = self._row(con, layer_id)["version"]
            rows = con.execute(
                "SELECT version, created, owner, source, count, geometry_type FROM user_layer_versions"
                " WHERE layer_id = %s ORDER BY version",
                (layer_id,),
            ).fetchall()
        return [
            VersionInfo(v, _iso(created), owner, source, count, kind, v == current)
            for v, created, owner, source, count, kind in rows
        ]

    def load(self, layer_id: str, version: int | None = None) -> gpd.GeoDataFrame:
        with connection(self.pool) as con:
            con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            row = self._row(con, layer_id)
            v = self._version_row(con, layer_id, row["version"] if version is None else version)
            columns = [(str(c[0]), str(c[1]), str(c[2])) for c in v["columns"]]
            select = sql.SQL("SELECT fid, ST_AsBinary(geom), {} FROM {} ORDER BY fid").format(
                sql.SQL(", ").join([sql.SQL("NULL"), *(sql.Identifier(p) for _, _, p in columns)]),
                sql.Identifier(DATA_SCHEMA, v["table_name"]),
            )
            try:
                with con.cursor(binary=True) as cur:
                    rows = cur.execute(select).fetchall()
            except psycopg.errors.UndefinedTable:
                raise _not_found(layer_id) from None
        cols = list(zip(*rows, strict=True)) if rows else [()] * (len(columns) + 3)
        data = {}
        for i, (name, kind, _) in enumerate(columns):
            values = list(cols[i + 3])
            if kind in ("DATE", "DATETIME"):
                values = [None if x is None else x.isoformat() for x in values]
            data[name] = uncell(values, kind)
        wkbs = np.array([None if b is None else bytes(b) for b in cols[1]], dtype=object)
        frame = gpd.GeoDataFrame(pd.DataFrame(data), geometry=gpd.GeoSeries(shapely.from_wkb(wkbs)), crs="EPSG:4326")
        frame.index = pd.Index(list(cols[0]), name="fid")
        return frame


__all__ = ["CHANNEL", "DATA_SCHEMA", "PostGISStore"]
