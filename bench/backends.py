"""Benchmark of the two backends side by side (`make bench`, or `python bench/backends.py [--database-url URL]`):
the app on the embedded files and the app on PostGIS, both with the all-China boundaries, answer the same
routes — the county layer (first and cached), bbox queries on the county layer (each box new, so nothing comes
from the response cache), the query API when the tree has one — and each store saves a 100,000-point layer.
Also timed: the two load commands, start-up, and point-in-county for the 100,000 points (the import's R-tree in
memory against one SQL join on the GiST index). Without --database-url a throw-away cluster is started (the test
suite's, tests/postgis.py) and removed. One table is printed; figures go to bench/results/backends.json."""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imports import china_gpkg  # noqa: E402  (bench/imports.py: the all-China build, cached)

RESULTS = ROOT / "bench" / "results"
POINTS = 100_000
REPEAT = 15
BBOX_CENTRES = 12  # distinct boxes per size: every request is a cache miss


def median_ms(fn: Callable[[], Any], repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return round(statistics.median(times) * 1000, 2)


def once_s(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    value = fn()
    return round(time.perf_counter() - t, 2), value


def progress(text: str) -> None:
    """A line on stderr while the bench runs (the table comes at the end)."""
    print(text, file=sys.stderr, flush=True)


def boxes(size: float, seed: int) -> list[str]:
    """`BBOX_CENTRES` distinct boxes of `size` degrees inside China."""
    rng = np.random.default_rng(seed)
    out = []
    for lon, lat in zip(rng.uniform(100, 118, BBOX_CENTRES), rng.uniform(24, 40, BBOX_CENTRES), strict=True):
        out.append(f"{lon:.4f},{lat:.4f},{lon + size:.4f},{lat + size:.4f}")
    return out


def bench_app(app: Any) -> dict[str, Any]:
    client = app.test_client()

    def get(path: str) -> bytes:
        resp = client.get(path)
        assert resp.status_code == 200, (path, resp.status_code, resp.data[:200])
        return resp.data

    out: dict[str, Any] = {}
    out["counties first ms"] = round(once_s(lambda: get("/api/layers/counties"))[0] * 1000, 1)
    out["counties cached ms"] = median_ms(lambda: get("/api/layers/counties"))
    # Each box is new (no response cache); a big box's time is mostly GeoJSON writing, the same on both backends,
    # so the selection alone (catalog.query) is timed too.
    catalog = app.extensions["catalog"]
    for size, label, repeat in ((0.5, "0.5°", BBOX_CENTRES), (4.0, "4°", BBOX_CENTRES), (40.0, "40°", 3)):
        paths = iter([f"/api/layers/counties?bbox={b}" for b in boxes(size, 7)][:repeat])
        out[f"GET counties bbox {label} ms"] = median_ms(lambda paths=paths: get(next(paths)), repeat=repeat)
        found = iter([tuple(float(v) for v in b.split(",")) for b in boxes(size, 11)])
        out[f"catalog.query bbox {label} ms"] = median_ms(
            lambda found=found: catalog.query("counties", bbox=next(found)), repeat=BBOX_CENTRES
        )
    rules = {r.rule for r in app.url_map.iter_rules()}
    out["query API ms"] = median_ms(lambda: get("/api/query")) if "/api/query" in rules else None
    return out


def bench_store(store: Any) -> dict[str, Any]:
    rng = np.random.default_rng(3)
    frame = gpd.GeoDataFrame(
        {"name": [f"点{i}" for i in range(POINTS)], "value": rng.integers(0, 1000, POINTS)},
        geometry=shapely.points(rng.uniform(75, 134, POINTS), rng.uniform(19, 53, POINTS)),
        crs="EPSG:4326",
    )
    seconds, info = once_s(lambda: store.save("Bench points", frame, owner="bench"))
    read_s, back = once_s(lambda: store.load(info.id))
    assert len(back) == POINTS
    store.delete(info.id)
    return {"save 100k points s": seconds, "read 100k points s": read_s}


def point_in_county(pool: Any, boundaries: Any) -> dict[str, float]:
    """100,000 points to counties: the import's R-tree (layers.importing._assign) and one SQL join."""
    from layers.importing import _assign

    rng = np.random.default_rng(5)
    xs, ys = rng.uniform(75, 134, POINTS), rng.uniform(19, 53, POINTS)
    points = shapely.points(xs, ys)
    memory_s, (found, _) = once_s(lambda: _assign(points, boundaries))

    def sql() -> int:
        with pool.connection() as con:
            con.execute("CREATE TEMP TABLE bench_points (n integer, geom geometry(Point, 4326)) ON COMMIT DROP")
            with con.cursor().copy("COPY bench_points (n, geom) FROM STDIN") as copy:
                for n, (x, y) in enumerate(zip(xs, ys, strict=True)):
                    copy.write_row([n, f"SRID=4326;POINT({x} {y})"])
            con.execute("CREATE INDEX ON bench_points USING gist (geom)")
            rows = con.execute(
                "SELECT count(DISTINCT p.n) FROM bench_points p JOIN boundary_regions c"
                " ON c.layer = 'counties' AND c.geom && p.geom AND ST_Intersects(c.geom, p.geom)"
            ).fetchone()
            return int(rows[0]) if rows else 0

    sql_s, hits = once_s(sql)
    assert hits == int((found >= 0).sum()), (hits, int((found >= 0).sum()))
    return {"embedded": memory_s, "postgis": sql_s, "hits": hits}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="an empty PostGIS database to use (default: a throw-away cluster)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from layers import pgdata
    from server import create_app
    from settings import load_settings

    cluster = None
    url = args.database_url
    if url is None:
        from tests.postgis import Cluster

        cluster = Cluster()
        url = cluster.fresh("bench")
    gpkg = china_gpkg()
    report: dict[str, Any] = {"boundaries": gpkg.name}
    rows: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory() as emb_dir, tempfile.TemporaryDirectory() as pg_dir:
            embedded_settings = load_settings(data_dir=Path(emb_dir), boundaries=gpkg)
            postgis_settings = load_settings(data_dir=Path(pg_dir), boundaries=gpkg, database_url=url)
            for kind in ("boundaries", "layers"):
                seconds, code = once_s(lambda kind=kind: pgdata.cli_load(kind, postgis_settings, url))
                assert code == 0, f"loading the {kind} failed"
                rows[f"load {kind} s"] = {"postgis": seconds}
                progress(f"load {kind}: {seconds} s")
            start_emb, embedded = once_s(lambda: create_app(embedded_settings))
            start_pg, postgis = once_s(lambda: create_app(postgis_settings))
            rows["start-up s"] = {"embedded": start_emb, "postgis": start_pg}
            progress(f"start-up: embedded {start_emb} s, postgis {start_pg} s")
            try:
                for name, app in (("embedded", embedded), ("postgis", postgis)):
                    for key, value in (*bench_app(app).items(), *bench_store(app.extensions["backends"].store).items()):
                        rows.setdefault(key, {})[name] = value
                        progress(f"{name}: {key} {value}")
                pool = postgis.extensions["backends"].pool
                pic = point_in_county(pool, postgis.extensions["catalog"].boundaries)
                rows["point-in-county 100k s"] = {"embedded": pic["embedded"], "postgis": pic["postgis"]}
            finally:
                embedded.extensions["backends"].close()
                postgis.extensions["backends"].close()
    finally:
        if cluster is not None:
            cluster.close()
    report["rows"] = rows
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "backends.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    width = max(len(k) for k in rows)
    print(f"backends on {gpkg.name} (all China)")
    print(f"{'':<{width}}  {'embedded':>10}  {'postgis':>10}")
    for key, values in rows.items():
        cells = ["n/a" if values.get(n) is None else str(values[n]) for n in ("embedded", "postgis")]
        print(f"{key:<{width}}  {cells[0]:>10}  {cells[1]:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
