"""Boundaries and curated layers in PostGIS: the two loads (`python -m boundaries load`, `python -m layers load`),
the reader the catalog builds its frames from (`PostGISData`), and the bbox query answered on the GiST index.

Tables (layers/migrations/050_boundaries_and_curated.sql): `boundary_regions` (one row per region, typed columns,
`geom geometry(MultiPolygon, 4326)` with a GiST index) and `boundary_metadata`; `curated_records` (every checked
record as JSON, facts and citations resolved, key order kept) and `curated_features` (the site layers' features
as the catalog builds them, properties as JSONB, GiST-indexed geometry, for SQL clients); `data_loads` (what
was loaded, when, with counts and a content digest) and `data_state` (the data version).

A load is one transaction: it takes an advisory lock (loads queue), empties the tables it owns, fills them with
COPY (geometries as EWKB), records the load, raises the data version and sends `NOTIFY kechuang_data
'<version>'`, delivered on commit only. A load that fails at any point rolls back and leaves the previous data
as it was; running a load twice gives the same tables.

`PostGISData` is the catalog's data source on PostGIS (the embedded one is `layers.curated.FileData`): it reads
the boundaries and records once (the catalog keeps the frames in memory, so reads are as fast as embedded),
refuses in one line when nothing was loaded, and follows the data version with a LISTEN thread so a re-load on
any instance is seen. `bbox_ids` answers "which regions of a layer meet this box" with `&&` and `ST_Intersects`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import psycopg
import shapely
from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from boundaries import LAYERS
from boundaries.store import Boundaries, from_frames
from boundaries.store import load as load_gpkg
from geo.geojson import feature_collection

from .pgdb import CONNECT_TIMEOUT_S, DatabaseStartError, connection, one_line
from .records import LayerData, Problems

if TYPE_CHECKING:
    from settings import Settings

    from .store import Catalog

log = logging.getLogger(__name__)

CHANNEL = "kechuang_data"
LOAD_LOCK = 7_304_281_625_310_524_003  # pg_advisory_xact_lock key every load takes
SRID = 4326
BOUNDARY_COLUMNS = (
    "adcode",
    "name",
    "name_en",
    "level",
    "city",
    "city_en",
    "city_adcode",
    "province",
    "province_adcode",
)
GPKG_ORDER = ("adcode", "name", "level", "city", "city_adcode", "province", "province_adcode")  # as read from a file
NOT_LOADED = (
    "the database holds no {what}: load them with `python -m boundaries load --database-url URL` "
    "and `python -m layers load --database-url URL`"
)


@dataclass
class LoadReport:
    """What one load wrote: the data version it made, counts per table or layer, and the content digest."""

    kind: str
    version: int
    source: str
    counts: dict[str, int] = field(default_factory=dict)
    digest: str = ""

    def line(self) -> str:
        """One line for the command line."""
        counts = ", ".join(f"{n} {k}" for k, n in self.counts.items())
        return f"loaded {self.kind} from {self.source} as data version {self.version}: {counts}"


def _ewkb(geoms: np.ndarray) -> list[str | None]:
    """Hex EWKB with SRID 4326 (what COPY's text format takes for a typed geometry column)."""
    with_srid = shapely.set_srid(geoms, SRID)
    return [None if g is None else str(shapely.to_wkb(g, hex=True, include_srid=True)) for g in with_srid]


def _begin_load(con: psycopg.Connection) -> None:
    con.execute("SELECT pg_advisory_xact_lock(%s)", (LOAD_LOCK,))


def _finish_load(con: psycopg.Connection, kind: str, source: str, counts: dict[str, int], digest: str) -> int:
    """Raise the data version, record the load and announce it (on commit); the new version."""
    row = con.execute("UPDATE data_state SET value = value + 1 WHERE key = 'version' RETURNING value").fetchone()
    version = int(row[0]) if row else 0
    con.execute(
        "INSERT INTO data_loads (kind, version, source, counts, digest) VALUES (%s, %s, %s, %s, %s)",
        (kind, version, source, Jsonb(counts), digest),
    )
    con.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(version)))
    return version


def _digest_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --- the boundary load ----------------------------------------------------------------------------------
def load_boundaries(pool: ConnectionPool, path: Path) -> LoadReport:
    """Read and check the GeoPackage at `path` (boundaries.store.load), then replace the boundary tables with it
    in one transaction (see the module docstring)."""
    boundaries = load_gpkg(path)  # BoundaryDataError (every problem listed) before the database is touched
    counts = {layer: len(boundaries.layer(layer)) for layer in LAYERS}
    digest = _digest_file(Path(path))
    with connection(pool) as con:
        _begin_load(con)
        con.execute("DELETE FROM boundary_regions")
        con.execute("DELETE FROM boundary_metadata")
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in (*BOUNDARY_COLUMNS, "layer", "position", "geom"))
        with con.cursor() as cur:
            with cur.copy(sql.SQL("COPY boundary_regions ({}) FROM STDIN").format(columns)) as copy:
                for layer in LAYERS:
                    frame = boundaries.layer(layer)
                    blank = [None] * len(frame)
                    values = {c: frame[c].tolist() if c in frame.columns else blank for c in BOUNDARY_COLUMNS}
                    geoms = _ewkb(np.asarray(shapely.force_2d(frame.geometry.values), dtype=object))
                    for i in range(len(frame)):
                        copy.write_row([*(_text(values[c][i]) for c in BOUNDARY_COLUMNS), layer, i, geoms[i]])
            cur.executemany(
                "INSERT INTO boundary_metadata (key, value) VALUES (%s, %s)",
                [(str(k), str(v)) for k, v in boundaries.metadata.items()],
            )
        version = _finish_load(con, "boundaries", Path(path).name, counts, digest)
    return LoadReport("boundaries", version, Path(path).name, counts, digest)


def _text(value: Any) -> str | None:
    """A text cell: None (and NaN) stay NULL."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)


# --- the curated load -----------------------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    """Records as JSON: tuples become lists (the reader turns `location` back into a tuple)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def load_layers(pool: ConnectionPool, catalog: Catalog, source: str) -> LoadReport:
    """Write the checked records of `catalog` (built from the YAML against the boundaries in the database) and
    the features of its site layers, in one transaction (see the module docstring)."""
    data = catalog.data
    rows: list[tuple[str, str, int, Any]] = []
    for kind, items in (("site", data.sites), ("pilot", data.pilots), ("region", data.regions)):
        for n, rec in enumerate(items):
            rows.append((kind, str(rec.get("id") or rec.get("adcode") or n), n, _jsonable(rec)))
    meta = {"pilot_meta": data.pilot_meta, "sources": data.sources, "unverified": data.unverified}
    for n, (key, value) in enumerate(meta.items()):
        rows.append(("meta", key, n, _jsonable(value)))
    digest = hashlib.sha256(json.dumps([r[3] for r in rows], ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    counts = {"sites": len(data.sites), "pilots": len(data.pilots), "regions": len(data.regions)}
    features: list[tuple[str, str, int, Any, str | None]] = []
    for spec in catalog.specs.values():
        if spec.kind in ("regions", "reference"):
            continue
        frame = catalog.frame(spec.id)
        collection = feature_collection(frame, precision=9)
        geoms = _ewkb(np.asarray(frame.geometry.values, dtype=object))
        for n, (feature, geom) in enumerate(zip(collection["features"], geoms, strict=True)):
            features.append((spec.id, str(feature["id"]), n, feature["properties"], geom))
        counts[spec.id] = len(frame)
    with connection(pool) as con:
        _begin_load(con)
        has_boundaries = con.execute("SELECT EXISTS (SELECT 1 FROM boundary_regions)").fetchone()
        if not has_boundaries or not has_boundaries[0]:
            raise DatabaseStartError(NOT_LOADED.format(what="boundaries") + " (the boundaries first)")
        con.execute("DELETE FROM curated_records")
        con.execute("DELETE FROM curated_features")
        with con.cursor() as cur:
            with cur.copy("COPY curated_records (kind, key, position, record) FROM STDIN") as copy:
                for kind, key, n, record in rows:
                    copy.write_row([kind, key, n, json.dumps(record, ensure_ascii=False)])
            with cur.copy("COPY curated_features (layer, fid, position, properties, geom) FROM STDIN") as copy:
                for layer, fid, n, props, geom in features:
                    copy.write_row([layer, fid, n, json.dumps(props, ensure_ascii=False), geom])
        version = _finish_load(con, "layers", source, counts, digest)
    return LoadReport("layers", version, source, counts, digest)


# --- reading --------------------------------------------------------------------------------------------
def read_version(pool: ConnectionPool) -> int:
    """The data version in the database (0 before the first load)."""
    with connection(pool) as con:
        row = con.execute("SELECT value FROM data_state WHERE key = 'version'").fetchone()
    return int(row[0]) if row else 0


def loads(pool: ConnectionPool) -> list[dict[str, Any]]:
    """Every load recorded, oldest first: kind, version, loaded (ISO time), source, counts, digest."""
    with connection(pool) as con:
        found = con.execute(
            "SELECT kind, version, loaded, source, counts, digest FROM data_loads ORDER BY id"
        ).fetchall()
    return [
        {"kind": k, "version": v, "loaded": t.astimezone(_dt.UTC).isoformat(), "source": s, "counts": c, "digest": d}
        for k, v, t, s, c, d in found
    ]


def read_boundaries(pool: ConnectionPool) -> Boundaries:
    """The boundaries as `boundaries.store.load` gives them from the GeoPackage (same columns, order, checks)."""
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in (*BOUNDARY_COLUMNS, "layer"))
    with connection(pool) as con:
        found = con.execute(
            sql.SQL("SELECT {}, ST_AsBinary(geom) FROM boundary_regions ORDER BY layer, position").format(columns)
        ).fetchall()
        metadata = dict(con.execute("SELECT key, value FROM boundary_metadata ORDER BY key").fetchall())
    if not found:
        raise DatabaseStartError(NOT_LOADED.format(what="boundaries"))
    frames: dict[str, gpd.GeoDataFrame] = {}
    for layer in LAYERS:
        mine = [r for r in found if r[len(BOUNDARY_COLUMNS)] == layer]
        table = {c: [r[i] for r in mine] for i, c in enumerate(BOUNDARY_COLUMNS)}
        geoms = shapely.from_wkb([bytes(r[-1]) for r in mine]) if mine else np.empty(0, dtype=object)
        data = {c: table[c] for c in GPKG_ORDER}
        frame = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=f"EPSG:{SRID}"), crs=f"EPSG:{SRID}")
        frame["name_en"] = table["name_en"]
        frame["city_en"] = table["city_en"]
        frames[layer] = frame
    return from_frames(frames, metadata, Path("postgis:boundary_regions"), "database table boundary_regions")


def read_records(pool: ConnectionPool) -> LayerData:
    """The curated records as `records.read` gave them when they were loaded (already checked)."""
    with connection(pool) as con:
        found = con.execute("SELECT kind, key, record FROM curated_records ORDER BY kind, position").fetchall()
    if not found:
        raise DatabaseStartError(NOT_LOADED.format(what="curated layers"))
    by_kind: dict[str, list[Any]] = {"site": [], "pilot": [], "region": []}
    meta: dict[str, Any] = {}
    for kind, key, record in found:
        if kind == "meta":
            meta[key] = record
        else:
            by_kind[kind].append(record)
    for site in by_kind["site"]:  # points are tuples in the records read from YAML
        if isinstance(site.get("location"), list):
            site["location"] = tuple(site["location"])
        if isinstance(site.get("path"), list):
            site["path"] = [tuple(p) for p in site["path"]]
    return LayerData(
        by_kind["site"],
        by_kind["pilot"],
        meta.get("pilot_meta") or {},
        by_kind["region"],
        meta.get("sources") or {},
        bool(meta.get("unverified")),
    )


def bbox_ids(pool: ConnectionPool, layer: str, bbox: tuple[float, float, float, float]) -> list[str]:
    """Adcodes of the regions of a boundary layer whose geometry meets `bbox` (`&&` on the GiST index, then
    `ST_Intersects`), in no particular order."""
    with connection(pool) as con:
        found = con.execute(
            "SELECT adcode FROM boundary_regions WHERE layer = %s"
            " AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
            " AND ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
            (layer, *bbox, *bbox),
        ).fetchall()
    return [str(r[0]) for r in found]


class PostGISData:
    """The catalog's data source on PostGIS (see the module docstring). `close()` stops the listener."""

    kind = "postgis"

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self._version = read_version(pool)
        self._stop = threading.Event()
        self._changed: list[Callable[[int], None]] = []
        self._listener: threading.Thread | None = None

    def boundaries(self) -> Boundaries:
        return read_boundaries(self.pool)

    def records(self, resolve: Callable[[str], Any]) -> tuple[LayerData, Problems]:
        """The loaded records (checked when they were loaded: no problems to report); `resolve` is not needed."""
        return read_records(self.pool), Problems()

    def version(self) -> int:
        """The data version last seen (no database read: the listener keeps it)."""
        return self._version

    def bbox_ids(self, layer: str, bbox: tuple[float, float, float, float]) -> list[str] | None:
        return bbox_ids(self.pool, layer, bbox)

    def on_change(self, callback: Callable[[int], None]) -> None:
        """Call `callback(version)` (on the listener thread, started by the first call) whenever a load raises
        the version."""
        self._changed.append(callback)
        if self._listener is None:
            self._listener = threading.Thread(target=self._listen, name="pgdata-listener", daemon=True)
            self._listener.start()

    def _seen(self, version: int) -> None:
        if version <= self._version:
            return
        self._version = version
        for callback in list(self._changed):
            try:
                callback(version)
            except Exception:
                log.exception("reloading data version %s failed; the old data keeps serving", version)

    def _listen(self) -> None:
        """LISTEN for loads; read the version again on every (re)connect (covers what was missed)."""
        delay = 0.25
        conninfo = str(self.pool.conninfo)
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as con:
                    con.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    row = con.execute("SELECT value FROM data_state WHERE key = 'version'").fetchone()
                    self._seen(int(row[0]) if row else 0)
                    delay = 0.25
                    while not self._stop.is_set():
                        for note in con.notifies(timeout=0.5):
                            if note.payload.isdigit():
                                self._seen(int(note.payload))
            except psycopg.Error as exc:
                log.debug("data listener lost the database: %s", one_line(exc))
                self._stop.wait(delay)
                delay = min(delay * 2, 2.0)

    def close(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=5)


# --- the two load commands ----------------------------------------------------------------------------
def cli_load(kind: str, settings: Settings, url: str | None, path: Path | None = None) -> int:
    """`python -m boundaries load` (kind "boundaries", GeoPackage `path`, default the configured one) and
    `python -m layers load` (kind "layers"): migrate, load, print one line; the exit code (2: no database or
    unreachable, 1: bad data or a failed load, which leaves the previous data in place)."""
    import sys

    from boundaries.store import BoundaryDataError
    from geo.errors import ApiError

    from .pgdb import migrate, open_pool
    from .records import DataError

    url = url or settings.database_url
    if not url:
        print("cannot load: no database; give --database-url URL or set KECHUANG_DATABASE_URL", file=sys.stderr)
        return 2
    try:
        pool = open_pool(url, min_size=1, max_size=2)
    except DatabaseStartError as exc:
        print(f"cannot load: {exc}", file=sys.stderr)
        return 2
    try:
        migrate(pool)
        if kind == "boundaries":
            report = load_boundaries(pool, Path(path or settings.boundaries))
        else:
            from .curated import FileData
            from .store import Catalog

            files = FileData(read_boundaries(pool), settings.layers_dir, settings.seeds_dir, settings.allow_unverified)
            report = load_layers(pool, Catalog(None, source=files), settings.layers_dir.name)
    except DatabaseStartError as exc:
        print(f"cannot load: {exc}", file=sys.stderr)
        return 2
    except (BoundaryDataError, DataError) as exc:
        print(f"cannot load {kind}, the database keeps what it had: {exc}", file=sys.stderr)
        return 1
    except (ApiError, psycopg.Error) as exc:
        print(f"cannot load {kind}, the database keeps what it had: {one_line(exc)}", file=sys.stderr)
        return 1
    finally:
        pool.close()
    print(report.line())
    return 0


__all__ = [
    "CHANNEL",
    "LoadReport",
    "PostGISData",
    "bbox_ids",
    "cli_load",
    "load_boundaries",
    "load_layers",
    "loads",
    "read_boundaries",
    "read_records",
    "read_version",
]
