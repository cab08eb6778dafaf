"""Benchmark (`make bench`): the map page shows a new 3,000-row imported layer as fast as a built-in one.

A throw-away data directory gets two user layers saved through the real store: 3,000 points spread over the
province's counties, and a list of all 90 counties (a region list). The map page is opened in headless Chromium
and each layer is switched on through the page's own API, timing from the switch to the features being on the
map (three runs each, median), beside the built-in layers of the same kinds (platforms, counties). Bytes are the
gzip bytes of each layer's answer as the page asks for it. Printed and written to bench/results/userlayer.json.
"""

from __future__ import annotations

import gzip
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
POINTS = 3000
ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
SHOW = """async (id) => {
  const k = window.kechuang;
  const t = performance.now();
  await k.setLayerVisible(id, true);
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const ms = performance.now() - t;
  const n = k.store.get(id).group.getLayers().length;
  await k.setLayerVisible(id, false);
  return { ms, n };
}"""


def make_layers(data_dir: Path) -> dict[str, str]:
    """Save the two user layers into the store of `data_dir`; their ids."""
    from layers.store import Catalog
    from layers.userstore import open_store
    from settings import load_settings

    settings = load_settings(data_dir=data_dir)
    catalog = Catalog.from_settings(settings)
    counties = catalog.frame("counties")
    rng = np.random.default_rng(7)
    picks = rng.integers(0, len(counties), POINTS)
    points = [
        shapely.Point(*shapely.get_coordinates(counties.geometry.iloc[i].representative_point())[0]) for i in picks
    ]
    jitter = rng.normal(0, 0.01, (POINTS, 2))
    sites = gpd.GeoDataFrame(
        {
            "name": [f"企业{i:04d}" for i in range(POINTS)],
            "employees": rng.integers(10, 5000, POINTS),
        },
        geometry=[shapely.Point(p.x + dx, p.y + dy) for p, (dx, dy) in zip(points, jitter, strict=True)],
        crs="EPSG:4326",
    )
    regions = gpd.GeoDataFrame(
        {"adcode": list(counties.index), "name": list(counties["name"]), "企业数": list(range(len(counties)))},
        geometry=list(counties.geometry.values),
        crs="EPSG:4326",
    )
    store = open_store(data_dir)
    return {
        "points": store.save("三千家企业", sites, owner="bench").id,
        "regions": store.save("全省县区名单", regions, owner="bench").id,
    }


def main() -> int:
    import logging

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from server import create_app
    from settings import load_settings

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        ids = make_layers(Path(tmp))
        app = create_app(load_settings(data_dir=Path(tmp)))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        base = f"http://127.0.0.1:{server.server_port}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        layers = {
            "user points (3,000)": ids["points"],
            "built-in points: platforms": "platforms",
            "user region list (90 counties)": ids["regions"],
            "built-in regions: counties": "counties",
        }
        report: dict[str, dict] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for name, layer in layers.items():
                runs, count = [], 0
                for _ in range(3):
                    page = browser.new_page(viewport={"width": 1280, "height": 800})
                    page.goto(base + "/#l=province", wait_until="load")
                    page.wait_for_selector("body[data-ready='true']", state="attached", timeout=30000)
                    out = page.evaluate(SHOW, layer)
                    runs.append(out["ms"] / 1000)
                    count = out["n"]
                    page.close()
                req = urllib.request.Request(
                    f"{base}/api/layers/{layer}?zoom=7&datum=wgs84", headers={"Accept-Encoding": "gzip"}
                )
                with urllib.request.urlopen(req) as resp:
                    body = resp.read()
                    if resp.headers.get("Content-Encoding") != "gzip":
                        body = gzip.compress(body)
                report[name] = {
                    "features_drawn": count,
                    "shown_median_s": round(statistics.median(runs), 3),
                    "gzip_bytes": len(body),
                }
            browser.close()
        server.shutdown()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "userlayer.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"{'layer':34} {'features':>9} {'shown (median s)':>17} {'gzip bytes':>11}")
    for name, row in report.items():
        print(f"{name:34} {row['features_drawn']:>9} {row['shown_median_s']:>17} {row['gzip_bytes']:>11}")
    return 0


if __name__ == "__main__":
    t0 = time.perf_counter()
    code = main()
    print(f"({time.perf_counter() - t0:.0f} s)")
    sys.exit(code)
