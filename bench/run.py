"""Benchmarks (`make bench`): payload budget and render time of the initial view, plus ratios against peers
measured in the same run. Speed is reported here, never asserted in tests."""

from __future__ import annotations

import gzip
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo import datum  # noqa: E402
from geo.simplify import simplify_coverage, tolerance_for_zoom  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BUDGET_GZ = 600 * 1024
BUDGET_PROVINCE_ROUND_TRIP_S = 1.0  # WGS-84 → GCJ-02 → WGS-84 of the whole province (moved here from the tests)


def timed(fn, repeat: int = 5) -> float:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def bench_datum(province) -> dict:
    coords = shapely.get_coordinates(province)
    lon, lat = coords[:, 0], coords[:, 1]
    vec = timed(lambda: datum.gcj02_to_wgs84(lon, lat))
    sample = coords[:2000]
    loop = timed(lambda: [datum.gcj02_to_wgs84(x, y) for x, y in sample], repeat=3) * len(coords) / len(sample)
    glon, glat = datum.wgs84_to_gcj02(lon, lat)
    dlon, dlat = datum.wgs84_to_gcj02(glon, glat)
    one_step = np.hypot((2 * glon - dlon - lon) * 96_000, (2 * glat - dlat - lat) * 110_574)
    iterated = datum.gcj02_to_wgs84(glon, glat)
    it_err = np.hypot((iterated[0] - lon) * 96_000, (iterated[1] - lat) * 110_574)

    def round_trip() -> None:
        gcj = datum.transform_geometry(province, datum.wgs84_to_gcj02)
        datum.transform_geometry(gcj, datum.gcj02_to_wgs84)

    trip = timed(round_trip)
    return {
        "vertices": len(coords),
        "province_round_trip_s": round(trip, 4),
        "province_round_trip_budget_s": BUDGET_PROVINCE_ROUND_TRIP_S,
        "province_round_trip_within_budget": trip < BUDGET_PROVINCE_ROUND_TRIP_S,
        "vectorised_s": round(vec, 4),
        "per_point_loop_s_estimated": round(loop, 2),
        "speed-up": round(loop / vec, 1),
        "one_step_inverse_max_error_m": round(float(one_step.max()), 3),
        "iterated_inverse_max_error_m": float(f"{it_err.max():.2e}"),
    }


def bench_simplify(counties) -> dict:
    geoms = np.asarray(counties.geometry.values)
    out = {}
    for zoom in (7, 8, 9):
        tol = tolerance_for_zoom(zoom)
        cov = simplify_coverage(geoms, tol)
        naive = shapely.simplify(geoms, tol, preserve_topology=True)
        area = shapely.union_all(geoms).area

        def holes(union) -> float:
            return sum(shapely.Polygon(r).area for p in getattr(union, "geoms", [union]) for r in p.interiors)

        base_holes = holes(shapely.union_all(geoms))

        def defects(gs, base_holes=base_holes, area=area):
            """Overlaps between neighbours plus gaps (holes the original coverage does not have), % of area."""
            union = shapely.union_all(gs)
            overlap = sum(g.area for g in gs) - union.area
            return abs(overlap + max(holes(union) - base_holes, 0.0)) / area * 100

        out[f"z{zoom}"] = {
            "vertices_full": int(shapely.get_num_coordinates(geoms).sum()),
            "vertices_coverage": int(shapely.get_num_coordinates(cov).sum()),
            "vertices_per_polygon": int(shapely.get_num_coordinates(naive).sum()),
            "gaps_and_overlaps_%_coverage": round(defects(cov), 5),
            "gaps_and_overlaps_%_per_polygon": round(defects(naive), 5),
        }
    return out


def bench_http(base: str) -> dict:
    import urllib.request

    def get(path: str) -> tuple[int, int]:
        req = urllib.request.Request(base + path, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req) as resp:
            body = resp.read()
        raw = gzip.decompress(body) if resp.headers.get("Content-Encoding") == "gzip" else body
        return len(raw), len(body) if resp.headers.get("Content-Encoding") == "gzip" else len(gzip.compress(raw))

    out = {}
    for path in (
        "/api/layers/counties",
        "/api/layers/counties?zoom=7",
        "/api/layers/counties?zoom=9",
        "/api/layers/platforms",
        "/api/regions/330109",
        "/api/search?q=%E7%91%9E%E5%AE%89",
    ):
        raw, gz = get(path)
        out[path] = {"bytes": raw, "gzip_bytes": gz, "median_s": round(timed(lambda path=path: get(path), 5), 4)}
    full = out["/api/layers/counties"]["gzip_bytes"]
    out["counties_z7_vs_full_gzip_ratio"] = round(out["/api/layers/counties?zoom=7"]["gzip_bytes"] / full, 3)
    return out


def bench_browser(base: str) -> dict | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path("/usr/bin/chromium").exists():
        return None
    sizes: dict[str, int] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        runs = []
        for i in range(3):
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            if i == 0:

                def on_response(resp):
                    try:
                        sizes[resp.url] = len(gzip.compress(resp.body()))
                    except Exception:
                        pass

                page.on("response", on_response)
            t = time.perf_counter()
            page.goto(base + "/", wait_until="load")
            page.wait_for_selector("body[data-ready='true']", state="attached", timeout=15000)
            runs.append(time.perf_counter() - t)
            page.wait_for_load_state("networkidle")
            page.close()
        browser.close()
    total = sum(sizes.values())
    return {
        "initial_view_gzip_bytes": total,
        "budget_bytes": BUDGET_GZ,
        "within_budget": total <= BUDGET_GZ,
        "requests": len(sizes),
        "render_ready_median_s": round(statistics.median(runs), 3),
        "largest": sorted(((v, k.replace(base, "")) for k, v in sizes.items()), reverse=True)[:6],
    }


def main() -> int:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from server import create_app

    t = time.perf_counter()
    app = create_app()
    startup = time.perf_counter() - t
    catalog = app.extensions["catalog"]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    report = {
        "startup_s": round(startup, 3),
        "datum": bench_datum(catalog.boundaries.province.geometry.iloc[0]),
        "simplify": bench_simplify(catalog.boundaries.counties),
        "http": bench_http(base),
        "browser": bench_browser(base),
    }
    server.shutdown()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
