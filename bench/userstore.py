"""Benchmark of the two user-layer stores (`python bench/userstore.py`): saving and loading a layer of 100,000
points with typed columns, in the embedded GeoPackage and in PostGIS (a throw-away local cluster, as the tests
start one), and what `revision()` costs per request. Figures are printed and written to
bench/results/userstore.json. No budget is enforced: this compares, it does not judge."""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layers import pgdb  # noqa: E402
from layers.pgstore import PostGISStore  # noqa: E402
from layers.userstore import GeoPackageStore  # noqa: E402
from tests.postgis import Cluster  # noqa: E402

RESULTS = ROOT / "bench" / "results"
POINTS = 100_000
ROUNDS = 3


def frame(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    return gpd.GeoDataFrame(
        {
            "name": [f"企业 {i}" for i in range(n)],
            "staff": rng.integers(1, 5000, n),
            "revenue": rng.random(n) * 1e6,
            "listed": [dt.date(2020, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 1500, n)],
        },
        geometry=shapely.points(118 + rng.random(n) * 4, 27 + rng.random(n) * 4),
        crs="EPSG:4326",
    )


def timed(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    """Median seconds of `rounds` calls."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(store, data: gpd.GeoDataFrame) -> dict[str, float]:
    layer = store.save("Bench", data, owner="bench").id
    return {
        "save_s": timed(lambda: store.replace(layer, data, owner="bench")),
        "load_s": timed(lambda: store.load(layer)),
        "list_ms": timed(store.list, 20) * 1000,
        "revision_us": timed(store.revision, 200) * 1e6,
    }


def main() -> int:
    data = frame(POINTS)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["embedded"] = measure(GeoPackageStore(Path(tmp) / "user-layers.gpkg"), data)
    cluster = Cluster()
    try:
        pool = pgdb.open_pool(cluster.fresh("bench"))
        pgdb.migrate(pool)
        store = PostGISStore(pool)
        try:
            results["postgis"] = measure(store, data)
        finally:
            store.close()
            pool.close()
    finally:
        cluster.close()
    print(f"user-layer store, {POINTS:,} points with 4 typed columns (median of {ROUNDS})")
    print(f"{'':10} {'save s':>8} {'load s':>8} {'list ms':>8} {'revision µs':>12}")
    for name, r in results.items():
        print(f"{name:10} {r['save_s']:8.2f} {r['load_s']:8.2f} {r['list_ms']:8.1f} {r['revision_us']:12.1f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "userstore.json").write_text(json.dumps({"points": POINTS, **results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
