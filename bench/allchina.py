"""Benchmark of the map on all of China's boundaries (2,875 counties), against plain GeoJSON in Leaflet.

Measures, in headless Chromium (Debian's /usr/bin/chromium through Playwright): the first view's time to ready
and its bytes over the wire (gzip, response bodies as sent), and pan/zoom responsiveness — the longest
main-thread task (PerformanceObserver "longtask") and the time until the new view's data is drawn, over five
pans and a zoom in and out. The peer is the obvious alternative: one page that fetches the whole county layer
(simplified for zoom 7 by the same server) and adds it to Leaflet as an SVG GeoJSON layer.

Usage: `python bench/allchina.py [--boundaries china.gpkg]` (default: $KECHUANG_BOUNDARIES if it names an
all-China build, else data/boundaries-china.gpkg, built first with `python -m boundaries build --province all`
when missing). Writes bench/results/allchina.json and prints a table. Speed is reported here, never asserted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-quic", "--no-first-run"]
TARGET_READY_S = 2.0
TARGET_GZIP_BYTES = 1_500_000
VIEWPORT = {"width": 1280, "height": 800}
PANS = [(-500, 0), (0, -350), (500, 0), (500, 0), (0, 350)]  # screen pixels per drag
WARM_RUNS = 3

# Records long main-thread tasks from the first moment of the page (before any script of the page runs).
LONGTASKS = """
window.__longtasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longtasks.push(e.duration);
}).observe({ entryTypes: ["longtask"] });
"""

PEER_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>peer: plain GeoJSON</title>
<link rel="stylesheet" href="/static/vendor/leaflet-1.9.4/leaflet.css">
<link rel="stylesheet" href="/bench-peer.css">
<script src="/static/vendor/leaflet-1.9.4/leaflet.js"></script></head>
<body><div id="map"></div><script src="/bench-peer.js"></script></body></html>"""
PEER_CSS = "html, body, #map { margin: 0; height: 100%; }"
# The obvious page: fetch every county, add it to Leaflet as GeoJSON (SVG), fit Zhejiang's view as the product.
PEER_JS = """
const map = L.map("map", { minZoom: 5 });
map.fitBounds([[27.0, 118.0], [31.2, 123.2]], { padding: [10, 10], animate: false });
let inflight = 0;
window.kechuang = { map, get busy() { return inflight; } };
inflight++;
fetch("/api/layers/counties?zoom=7").then((r) => r.json()).then((fc) => {
  L.geoJSON(fc, { style: { color: "#555", weight: 1, fillOpacity: 0.1 } })
    .bindTooltip((l) => l.feature.properties.name).addTo(map);
  inflight--;
  requestAnimationFrame(() => { document.body.dataset.ready = "true"; });
});
"""


def china_boundaries(arg: str | None) -> Path:
    """The all-China GeoPackage to measure, built when missing."""
    path = Path(arg or os.environ.get("KECHUANG_BOUNDARIES") or ROOT / "data" / "boundaries-china.gpkg")
    if not path.exists():
        from boundaries.build import build

        print(f"building all-China boundaries into {path} (a few minutes) …", file=sys.stderr)
        build("all", path)
    return path


class _Waitress:
    """The production server `make run` uses (waitress, with the app's own options), on a free port."""

    def __init__(self, app) -> None:
        from waitress.server import create_server

        from server import waitress_options

        options = waitress_options(app.extensions["settings"])
        self.server = create_server(app, host="127.0.0.1", port=0, **options)
        self.port = self.server.effective_port  # type: ignore[union-attr]
        threading.Thread(target=self.server.run, daemon=True).start()

    def shutdown(self) -> None:
        self.server.close()


def serve(app):
    server = _Waitress(app)
    return server, f"http://127.0.0.1:{server.port}"


def add_peer(app) -> None:
    """The peer page, served by the same app (same server, same bytes for the counties)."""
    from flask import Response

    app.add_url_rule("/bench-peer", "bench_peer", lambda: Response(PEER_HTML, mimetype="text/html"))
    app.add_url_rule("/bench-peer.js", "bench_peer_js", lambda: Response(PEER_JS, mimetype="text/javascript"))
    app.add_url_rule("/bench-peer.css", "bench_peer_css", lambda: Response(PEER_CSS, mimetype="text/css"))


def settled(page, timeout: float = 60_000) -> None:
    """Wait until the page is ready, has no request under way, and has painted twice since."""
    page.wait_for_function(
        "() => document.body && document.body.dataset.ready === 'true'"
        " && window.kechuang && window.kechuang.busy === 0",
        timeout=timeout,
    )
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def first_view(browser, url: str) -> dict:
    """Time to ready and bytes over the wire (encoded body sizes) of one fresh page load."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    page.add_init_script(LONGTASKS)
    sizes: dict[str, int] = {}

    def on_finished(request) -> None:
        try:
            sizes[request.url] = request.sizes()["responseBodySize"]
        except Exception:
            pass

    page.on("requestfinished", on_finished)
    t = time.perf_counter()
    page.goto(url, wait_until="commit")
    settled(page)
    ready = time.perf_counter() - t
    page.wait_for_load_state("networkidle")
    longest = page.evaluate("() => Math.max(0, ...window.__longtasks)")
    first = dict(sizes)  # the first view only (the handler goes on counting what panning loads)
    return {"page": page, "context": context, "ready_s": ready, "bytes": first, "load_longest_task_ms": longest}


def pan_and_zoom(page) -> dict:
    """Five drags and a zoom in and out: the longest main-thread task and the time until each view is drawn."""
    page.evaluate("() => { window.__longtasks = []; }")
    cx, cy = VIEWPORT["width"] // 2, VIEWPORT["height"] // 2
    waits = []
    for dx, dy in PANS:
        t = time.perf_counter()
        page.mouse.move(cx, cy)
        page.mouse.down()
        page.mouse.move(cx + dx / 2, cy + dy / 2, steps=5)
        page.mouse.move(cx + dx, cy + dy, steps=5)
        page.mouse.up()
        page.wait_for_timeout(50)
        settled(page)
        waits.append(time.perf_counter() - t)
    for step in ("zoomIn", "zoomOut"):
        t = time.perf_counter()
        page.evaluate(f"() => {{ window.kechuang.map.{step}(1, {{ animate: false }}); }}")
        page.wait_for_timeout(50)
        settled(page)
        waits.append(time.perf_counter() - t)
    tasks = page.evaluate("() => window.__longtasks")
    return {
        "longest_task_ms": round(max(tasks, default=0.0), 1),
        "long_tasks": len(tasks),
        "slowest_view_s": round(max(waits), 3),
        "median_view_s": round(statistics.median(waits), 3),
    }


def measure(browser, url: str) -> dict:
    cold = first_view(browser, url)  # the server computes (and keeps) its simplified geometries here
    cold["context"].close()
    runs = []
    for _ in range(WARM_RUNS):
        run = first_view(browser, url)
        runs.append(run)
    last = runs[-1]
    panning = pan_and_zoom(last["page"])
    counts = last["page"].evaluate(
        "() => window.kechuang && window.kechuang.store ? "
        "Object.fromEntries([...window.kechuang.store].map(([k, e]) => [k, e.features.length])) : null"
    )
    for run in runs:
        run["context"].close()
    nbytes = sum(last["bytes"].values())
    return {
        "cold_ready_s": round(cold["ready_s"], 3),
        "ready_median_s": round(statistics.median(r["ready_s"] for r in runs), 3),
        "first_view_bytes": nbytes,
        "requests": len(last["bytes"]),
        "largest": sorted(((v, "/" + k.split("//", 1)[-1].split("/", 1)[-1]) for k, v in last["bytes"].items()))[::-1][
            :5
        ],
        "load_longest_task_ms": round(last["load_longest_task_ms"], 1),
        "features_drawn": counts,
        **panning,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boundaries", help="all-China boundary GeoPackage")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from playwright.sync_api import sync_playwright

    from server import create_app
    from settings import load_settings

    path = china_boundaries(args.boundaries)
    t = time.perf_counter()
    app = create_app(load_settings(boundaries=path))
    startup = time.perf_counter() - t
    add_peer(app)
    server, base = serve(app)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            product = measure(browser, base + "/")
            peer = measure(browser, base + "/bench-peer")
            browser.close()
    finally:
        server.shutdown()
    report = {
        "boundaries": str(path),
        "counties": len(app.extensions["catalog"].frame("counties")),
        "startup_s": round(startup, 2),
        "targets": {"ready_s": TARGET_READY_S, "first_view_bytes": TARGET_GZIP_BYTES},
        "product": product,
        "peer_plain_geojson": peer,
        "ratios": {
            "ready": round(peer["ready_median_s"] / product["ready_median_s"], 1),
            "bytes": round(peer["first_view_bytes"] / max(product["first_view_bytes"], 1), 1),
            "longest_task": round(peer["longest_task_ms"] / max(product["longest_task_ms"], 1), 1),
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "allchina.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    rows = [
        ("first view ready, median of 3 (s)", "ready_median_s"),
        ("first view ready, cold server (s)", "cold_ready_s"),
        ("first view bytes (gzip as sent)", "first_view_bytes"),
        ("longest task during load (ms)", "load_longest_task_ms"),
        ("longest task, 5 pans + zoom (ms)", "longest_task_ms"),
        ("slowest pan/zoom until drawn (s)", "slowest_view_s"),
    ]
    print(f"all of China: {report['counties']} counties; app start {report['startup_s']} s")
    print(f"{'':40} {'product':>12} {'plain GeoJSON':>14}")
    for label, key in rows:
        print(f"{label:40} {product[key]:>12} {peer[key]:>14}")
    ok_ready = product["ready_median_s"] <= TARGET_READY_S
    ok_bytes = product["first_view_bytes"] <= TARGET_GZIP_BYTES
    print(f"targets: ready ≤ {TARGET_READY_S} s {'met' if ok_ready else 'MISSED'}; ", end="")
    print(f"bytes ≤ {TARGET_GZIP_BYTES:,} {'met' if ok_bytes else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
