"""The user-layer store: layers people import, kept with their versions, behind one interface (`UserLayerStore`).

The PostGIS implementation is layers/pgstore.py; both type columns through layers/usertypes.py.

The embedded implementation, `GeoPackageStore`, keeps every user layer in ONE GeoPackage file (default
`<data_dir>/user-layers.gpkg`) that QGIS and GDAL open directly:

- one feature table per layer version, named `<layer id>_v<n>` (an `fid` key, a `geom` column of GeoPackage
  geometry blobs in EPSG:4326, then the row's own typed columns: INTEGER, REAL, BOOLEAN, DATE, DATETIME, TEXT),
  registered in `gpkg_contents` and `gpkg_geometry_columns`;
- `user_layers` (registered as an attribute table, so QGIS shows it): layer id, title, owner, created, updated,
  current version, source;
- `user_layer_versions`: every kept version with its owner, source, feature count, geometry type, bbox and its
  columns and their types;
- `user_store_state`: the store's revision, a counter raised by every change, so caches can invalidate.

Why sqlite3 on the GeoPackage tables directly rather than GDAL (pyogrio/fiona) writing into a temporary file that
is then copied: a write (feature table, its registration, the metadata and the revision) is then ONE SQLite
transaction (`BEGIN IMMEDIATE … COMMIT`; SQLite's DDL is transactional), so an exception on a bad row or a
writer killed midway rolls back to exactly the store as it was, and no second copy of a large layer is made.
GDAL's GPKG writer manages its own transactions and would have needed the copy step anyway. The cost is the
geometry blob (GeoPackage §2.1.3: a small header, an envelope, then WKB), written here with shapely's WKB.
The file runs in WAL mode: readers in other threads and processes keep reading the last committed state while a
writer writes. No R-tree spatial index is created (its triggers need GDAL's SQL functions); the catalog keeps
layers in memory and indexes them there.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import sqlite3
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import NotFound

from .usertypes import (
    StoreError,
    clean_title,
    new_id,
    now,
    prepare,
    slug,
    uncell,
)

FILE_NAME = "user-layers.gpkg"
MAX_COLUMNS = 1000  # SQLite allows 2,000 columns a table; leave room and refuse clearly above this
GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
GPKG_USER_VERSION = 10300  # GeoPackage 1.3 (GDAL 3.6 warns on 1.4)
WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],'
    'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,'
    'AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)


@dataclass(frozen=True)
class LayerInfo:
    """One user layer as listed: its current version's shape and who made it when (times are ISO 8601 UTC)."""

    id: str
    title: str
    owner: str
    created: str
    updated: str
    version: int
    geometry_type: str
    count: int
    columns: dict[str, str] = field(default_factory=dict)  # name -> INTEGER|REAL|BOOLEAN|DATE|DATETIME|TEXT
    source: str = ""
    bbox: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class VersionInfo:
    """One kept version of a user layer."""

    version: int
    created: str
    owner: str
    source: str
    count: int
    geometry_type: str
    current: bool


@runtime_checkable
class UserLayerStore(Protocol):
    """Where user layers live. The embedded `GeoPackageStore` implements it; a PostGIS store will too.

    Every write is all-or-nothing and raises the store's `revision()`. Unknown ids raise `NotFound`,
    unwritable frames `StoreError` (both `geo.errors.ApiError`s carrying their HTTP status).
    """

    def save(self, title: str, frame: gpd.GeoDataFrame, *, owner: str, source: str = "") -> LayerInfo:
        """Keep `frame` as a new layer (version 1) with a new id `user-<slug or short uuid>`."""
        ...

    def replace(self, layer_id: str, frame: gpd.GeoDataFrame, *, owner: str, source: str = "") -> LayerInfo:
        """Make `frame` the layer's new current version; earlier versions stay restorable."""
        ...

    def rename(self, layer_id: str, title: str) -> LayerInfo: ...

    def delete(self, layer_id: str) -> None:
        """Remove the layer and every version of it."""
        ...

    def list(self) -> list[LayerInfo]:
        """Every layer, oldest first."""
        ...

    def info(self, layer_id: str) -> LayerInfo: ...

    def load(self, layer_id: str, version: int | None = None) -> gpd.GeoDataFrame:
        """The features of the current (or the given) version, EPSG:4326, index = feature number from 1."""
        ...

    def versions(self, layer_id: str) -> builtins.list[VersionInfo]: ...

    def restore(self, layer_id: str, version: int) -> LayerInfo:
        """Make a kept version current again (the versions in between stay kept)."""
        ...

    def revision(self) -> int:
        """A number raised by every change to the store (any layer): key caches on it."""
        ...


# ---------------------------------------------------------------------------------------------- helpers
def _identifier(title: str, layer_id: str, version: int) -> str:
    """The name QGIS shows for a version table (unique in gpkg_contents, as the spec requires)."""
    return f"{title} · v{version} · {layer_id}"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def gpkg_blobs(geoms: np.ndarray, srs_id: int = 4326) -> list[bytes | None]:
    """GeoPackage geometry blobs (header with an xy envelope, then little-endian WKB); None stays NULL."""
    wkbs = shapely.to_wkb(geoms, byte_order=1, include_srid=False).tolist()
    envelopes = shapely.bounds(geoms)[:, [0, 2, 1, 3]]  # minx, maxx, miny, maxy
    empty = shapely.is_empty(geoms).tolist()
    srs = struct.pack("<i", srs_id)
    full, hollow = b"GP\x00\x03" + srs, b"GP\x00\x11" + srs
    packed = envelopes.astype("<f8").tobytes()
    return [
        None if wkb is None else (hollow + wkb if is_empty else full + packed[32 * i : 32 * i + 32] + wkb)
        for i, (wkb, is_empty) in enumerate(zip(wkbs, empty, strict=True))
    ]


ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def geometries(blobs: list[bytes | None] | tuple[bytes | None, ...]) -> np.ndarray:
    """Shapely geometries of GeoPackage geometry blobs (NULL → None)."""
    wkbs = [None if b is None else b[8 + ENVELOPE_BYTES[(b[3] >> 1) & 0x07] :] for b in blobs]
    return shapely.from_wkb(np.array(wkbs, dtype=object))


# ---------------------------------------------------------------------------------------------- the file store
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE IF NOT EXISTS gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
  ('WGS 84 geodetic', 4326, 'EPSG', 4326, '{WGS84_WKT}', 'longitude/latitude coordinates in decimal degrees');
CREATE TABLE IF NOT EXISTS user_layers (
  fid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL, owner TEXT NOT NULL,
  created TEXT NOT NULL, updated TEXT NOT NULL, version INTEGER NOT NULL, source TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS user_layer_versions (
  layer_id TEXT NOT NULL, version INTEGER NOT NULL, table_name TEXT NOT NULL, created TEXT NOT NULL,
  owner TEXT NOT NULL, source TEXT NOT NULL DEFAULT '', count INTEGER NOT NULL, geometry_type TEXT NOT NULL,
  columns TEXT NOT NULL, bbox TEXT, PRIMARY KEY (layer_id, version));
CREATE TABLE IF NOT EXISTS user_store_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO user_store_state VALUES ('revision', 0);
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change)
  VALUES ('user_layers', 'attributes', 'user_layers', 'User layers: id, title, owner, current version',
          strftime('%Y-%m-%dT%H:%M:%fZ','now'));
"""


class GeoPackageStore:
    """`UserLayerStore` in one GeoPackage file (see the module docstring). Safe across threads and processes:
    each call opens its own connection; writers queue on SQLite's write lock (`busy_timeout`)."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._init_lock = threading.Lock()
        self._initialised = False

    # --- connections ----------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False)
        con.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        return con

    def _ensure(self) -> None:
        """Create the GeoPackage (WAL mode, GPKG application id and version, the tables) on first write."""
        with self._init_lock:
            if self._initialised:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = self._connect()
            try:
                con.execute("PRAGMA journal_mode = WAL")
                con.execute("BEGIN IMMEDIATE")
                con.execute(f"PRAGMA application_id = {GPKG_APPLICATION_ID}")
                con.execute(f"PRAGMA user_version = {GPKG_USER_VERSION}")
                for statement in SCHEMA.split(";\n"):
                    if statement.strip():
                        con.execute(statement)
                con.execute("COMMIT")
            finally:
                con.close()
            self._initialised = True

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection | None]:
        """A connection reading one consistent snapshot, or None while the store file does not exist yet."""
        if not self.path.exists():
            yield None
            return
        con = self._connect()
        try:
            con.execute("BEGIN")
            yield con
            con.execute("COMMIT")
        finally:
            con.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything in it is committed together or not at all."""
        self._ensure()
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("UPDATE user_store_state SET value = value + 1 WHERE key = 'revision'")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            with contextlib.suppress(sqlite3.OperationalError):
                con.execute("PRAGMA wal_checkpoint(PASSIVE)")  # keep the main file current for plain copies
        finally:
            con.close()

    # --- writing ----------------------------------------------------------------------------------------
    def _write_version(
        self, con: sqlite3.Connection, layer_id: str, title: str, version: int, frame: gpd.GeoDataFrame, **meta: str
    ) -> dict[str, Any]:
        """Create and fill the table of one layer version and register it (inside the caller's transaction)."""
        ready = prepare(frame, max_columns=MAX_COLUMNS)
        names, kinds, geoms, declared, bbox = ready.names, ready.kinds, ready.geoms, ready.geometry_type, ready.bbox
        table = f"{layer_id}_v{version}"
        cols = ", ".join(f"{_quote(n)} {k}" for n, k in zip(names, kinds, strict=True))
        con.execute(
            f"CREATE TABLE {_quote(table)} (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom {declared}"
            + (f", {cols}" if cols else "")
            + ")"
        )
        rows = zip(gpkg_blobs(geoms), *ready.columns, strict=True)
        marks = ", ".join("?" * (len(names) + 1))
        quoted = ", ".join(["geom", *(_quote(n) for n in names)])
        con.executemany(f"INSERT INTO {_quote(table)} ({quoted}) VALUES ({marks})", rows)
        stamp = now()
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change,"
            " min_x, min_y, max_x, max_y, srs_id) VALUES (?, 'features', ?, ?, ?, ?, ?, ?, ?, 4326)",
            (table, _identifier(title, layer_id, version), meta.get("source", ""), stamp, *(bbox or (None,) * 4)),
        )
        con.execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, 4326, 0, 0)",
            (table, declared),
        )
        con.execute(
            "INSERT INTO user_layer_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                layer_id,
                version,
                table,
                stamp,
                meta["owner"],
                meta.get("source", ""),
                len(frame),
                declared,
                ready.columns_json(),
                json.dumps(bbox) if bbox else None,
            ),
        )
        return {"stamp": stamp}

    def _new_id(self, con: sqlite3.Connection, title: str) -> str:
        taken = {r[0] for r in con.execute("SELECT id FROM user_layers")}
        return new_id(title, taken.__contains__)

    @staticmethod
    def _title(title: str) -> str:
        return clean_title(title)

    def save(self, title: str, frame: gpd.GeoDataFrame, *, owner: str, source: str = "") -> LayerInfo:
        title = self._title(title)
        with self._write() as con:
            layer_id = self._new_id(con, title)
            stamp = self._write_version(con, layer_id, title, 1, frame, owner=owner, source=source)["stamp"]
            con.execute(
                "INSERT INTO user_layers (id, title, owner, created, updated, version, source)"
                " VALUES (?, ?, ?, ?, ?, 1, ?)",
                (layer_id, title, owner, stamp, stamp, source),
            )
        return self.info(layer_id)

    def replace(self, layer_id: str, frame: gpd.GeoDataFrame, *, owner: str, source: str = "") -> LayerInfo:
        with self._write() as con:
            title = self._row(con, layer_id)["title"]
            (latest,) = con.execute(
                "SELECT max(version) FROM user_layer_versions WHERE layer_id = ?", (layer_id,)
            ).fetchone()
            version = int(latest) + 1
            stamp = self._write_version(con, layer_id, title, version, frame, owner=owner, source=source)["stamp"]
            con.execute(
                "UPDATE user_layers SET version = ?, updated = ?, source = ? WHERE id = ?",
                (version, stamp, source, layer_id),
            )
        return self.info(layer_id)

    def rename(self, layer_id: str, title: str) -> LayerInfo:
        title = self._title(title)
        with self._write() as con:
            self._row(con, layer_id)
            con.execute("UPDATE user_layers SET title = ?, updated = ? WHERE id = ?", (title, now(), layer_id))
            for version, table in con.execute(
                "SELECT version, table_name FROM user_layer_versions WHERE layer_id = ?", (layer_id,)
            ).fetchall():
                con.execute(
                    "UPDATE gpkg_contents SET identifier = ? WHERE table_name = ?",
                    (_identifier(title, layer_id, version), table),
                )
        return self.info(layer_id)

    def delete(self, layer_id: str) -> None:
        with self._write() as con:
            self._row(con, layer_id)
            tables = [
                r[0] for r in con.execute("SELECT table_name FROM user_layer_versions WHERE layer_id = ?", (layer_id,))
            ]
            for table in tables:
                con.execute("DELETE FROM gpkg_geometry_columns WHERE table_name = ?", (table,))
                con.execute("DELETE FROM gpkg_contents WHERE table_name = ?", (table,))
                con.execute(f"DROP TABLE IF EXISTS {_quote(table)}")
            con.execute("DELETE FROM user_layer_versions WHERE layer_id = ?", (layer_id,))
            con.execute("DELETE FROM user_layers WHERE id = ?", (layer_id,))

    def restore(self, layer_id: str, version: int) -> LayerInfo:
        with self._write() as con:
            self._row(con, layer_id)
            self._version_row(con, layer_id, version)
            con.execute("UPDATE user_layers SET version = ?, updated = ? WHERE id = ?", (version, now(), layer_id))
        return self.info(layer_id)

    # --- reading ----------------------------------------------------------------------------------------
    @staticmethod
    def _row(con: sqlite3.Connection | None, layer_id: str) -> dict[str, Any]:
        row = None
        if con is not None:
            cur = con.execute(
                "SELECT id, title, owner, created, updated, version, source FROM user_layers WHERE id = ?", (layer_id,)
            )
            row = cur.fetchone()
        if row is None:
            raise NotFound(f'no user layer {layer_id!r}; GET /api/layers lists them (kind "user")')
        return dict(zip(("id", "title", "owner", "created", "updated", "version", "source"), row, strict=True))

    @staticmethod
    def _version_row(con: sqlite3.Connection, layer_id: str, version: int) -> dict[str, Any]:
        cur = con.execute(
            "SELECT version, table_name, created, owner, source, count, geometry_type, columns, bbox"
            " FROM user_layer_versions WHERE layer_id = ? AND version = ?",
            (layer_id, int(version)),
        )
        row = cur.fetchone()
        if row is None:
            kept = [
                r[0] for r in con.execute("SELECT version FROM user_layer_versions WHERE layer_id = ?", (layer_id,))
            ]
            raise NotFound(f"layer {layer_id!r} has no version {version}; kept versions: {kept}")
        keys = ("version", "table_name", "created", "owner", "source", "count", "geometry_type", "columns", "bbox")
        return dict(zip(keys, row, strict=True))

    def _info(self, con: sqlite3.Connection, row: dict[str, Any]) -> LayerInfo:
        v = self._version_row(con, row["id"], row["version"])
        return LayerInfo(
            id=row["id"],
            title=row["title"],
            owner=row["owner"],
            created=row["created"],
            updated=row["updated"],
            version=row["version"],
            geometry_type=v["geometry_type"],
            count=v["count"],
            columns=dict(json.loads(v["columns"])),
            source=row["source"],
            bbox=tuple(json.loads(v["bbox"])) if v["bbox"] else None,
        )

    def info(self, layer_id: str) -> LayerInfo:
        with self._read() as con:
            return self._info(con, self._row(con, layer_id))  # type: ignore[arg-type]  # _row raised if None

    def list(self) -> list[LayerInfo]:
        with self._read() as con:
            if con is None:
                return []
            keys = ("id", "title", "owner", "created", "updated", "version", "source")
            rows = con.execute(f"SELECT {', '.join(keys)} FROM user_layers ORDER BY created, fid").fetchall()
            return [self._info(con, dict(zip(keys, r, strict=True))) for r in rows]

    def versions(self, layer_id: str) -> builtins.list[VersionInfo]:
        with self._read() as con:
            current = self._row(con, layer_id)["version"]
            assert con is not None
            rows = con.execute(
                "SELECT version, created, owner, source, count, geometry_type FROM user_layer_versions"
                " WHERE layer_id = ? ORDER BY version",
                (layer_id,),
            ).fetchall()
        return [
            VersionInfo(v, created, owner, source, count, kind, v == current)
            for v, created, owner, source, count, kind in rows
        ]

    def load(self, layer_id: str, version: int | None = None) -> gpd.GeoDataFrame:
        with self._read() as con:
            row = self._row(con, layer_id)
            assert con is not None
            v = self._version_row(con, layer_id, row["version"] if version is None else version)
            columns = [(str(n), str(k)) for n, k in json.loads(v["columns"])]
            select = ", ".join(["fid", "geom", *(_quote(n) for n, _ in columns)])
            rows = con.execute(f"SELECT {select} FROM {_quote(v['table_name'])} ORDER BY fid").fetchall()
        cols = list(zip(*rows, strict=True)) if rows else [()] * (len(columns) + 2)
        fids = list(cols[0])
        data = {name: uncell(cols[i + 2], kind) for i, (name, kind) in enumerate(columns)}
        frame = gpd.GeoDataFrame(pd.DataFrame(data), geometry=gpd.GeoSeries(geometries(cols[1])), crs="EPSG:4326")
        frame.index = pd.Index(fids, name="fid")
        return frame

    def revision(self) -> int:
        with self._read() as con:
            if con is None:
                return 0
            (value,) = con.execute("SELECT value FROM user_store_state WHERE key = 'revision'").fetchone()
            return int(value)


def open_store(data_dir: Path) -> UserLayerStore:
    """The embedded user-layer store of a data directory (the file is created on the first write)."""
    return GeoPackageStore(Path(data_dir) / FILE_NAME)


__all__ = [
    "FILE_NAME",
    "GeoPackageStore",
    "LayerInfo",
    "StoreError",
    "UserLayerStore",
    "VersionInfo",
    "open_store",
    "slug",
]
