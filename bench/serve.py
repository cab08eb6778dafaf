"""Serving benchmark (`make bench`): the product as `make run` serves it, against its peers, in one run.

Peers, each on loopback with a production server: pygeoapi (OGR provider reading the same 90 counties from a
GeoPackage, under waitress), a naive Flask + folium page (the whole county layer rendered per request), and
the practical limit of our stack (the same gzip bytes from a trivial WSGI app on the same server). Load comes
from wrk (Debian; installed when missing). One table: bytes, median latency and req/s at c=8, errors at c=64
for 30 s, ratios to pygeoapi; then a small hostile sweep and the product's RSS after it.

Also the entry point of the peer servers: `python bench/serve.py limit|folium PORT FILE`.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PY = sys.executable
THREADS = 8
C8_SECONDS = int(os.environ.get("BENCH_C8_SECONDS", "10"))
C64_SECONDS = int(os.environ.get("BENCH_C64_SECONDS", "30"))


# ---------------------------------------------------------------- peer servers (run in their own process)


def serve_limit(port: int, path: str) -> None:
    """The same gzip bytes from a trivial WSGI app: what waitress can do with no work per request."""
    from waitress import serve

    body = Path(path).read_bytes()
    headers = [
        ("Content-Type", "application/geo+json"),
        ("Content-Encoding", "gzip"),
        ("Content-Length", str(len(body))),
    ]

    def app(environ, start_response):
        start_response("200 OK", headers)
        return [body]

    from server import waitress_options
    from settings import Settings

    serve(app, host="127.0.0.1", port=port, _quiet=True, **waitress_options(Settings()))


def serve_folium(port: int, gpkg: str) -> None:
    """The naive peer: Flask renders a folium page with the whole county layer on every request."""
    import folium
    import geopandas as gpd
    from flask import Flask, Response
    from waitress import serve

    app = Flask("folium-peer")

    @app.get("/")
    def page():
        frame = gpd.read_file(gpkg, layer="counties")
        m = folium.Map(location=[29.2, 120.5], zoom_start=7, tiles=None)
        folium.GeoJson(frame.to_json(), name="counties", tooltip=folium.GeoJsonTooltip(["name"])).add_to(m)
        return Response(m.get_root().render(), mimetype="text/html")

    serve(app, host="127.0.0.1", port=port, threads=THREADS, ident="", _quiet=True)


# ---------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                resp.read()
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


def start(cmd: list[str], env: dict | None = None, log: Path | None = None) -> subprocess.Popen:
    out = open(log, "wb") if log else subprocess.DEVNULL
    return subprocess.Popen(
        cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def get(url: str, headers: dict | None = None, timeout: float = 120) -> tuple[int, dict, bytes, float]:
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip", **(headers or {})})
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read(), time.perf_counter() - t
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read(), time.perf_counter() - t


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=False, env=env)
    if not shutil.which("wrk"):
        subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    return shutil.which("wrk") or "wrk"


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[m.group(2)]


def wrk(url: str, connections: int, seconds: int, timeout_s: int = 10) -> dict:
    """req/s, median latency (ms) and errors (socket errors, timeouts, non-2xx/3xx) of one wrk run."""
    threads = min(2, connections)
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            f"--timeout={timeout_s}s",
            "--latency",
            "-H",
            "Accept-Encoding: gzip",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    median = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non2xx.group(1)) if non2xx else 0
    return {"rps": rps, "median_ms": _ms(median.group(1)) if median else float("nan"), "errors": errors, "total": total}


def python_c8(url: str, n: int = 16) -> dict:
    """req/s and median of `n` requests, 8 at a time, for servers too slow for a wrk window (a few req/s at
    most, so Python is not the bottleneck)."""
    from concurrent.futures import ThreadPoolExecutor

    t = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _i: get(url, timeout=300), range(n)))
    elapsed = time.perf_counter() - t
    ok = [r for r in results if r[0] == 200]
    times = sorted(r[3] for r in ok)
    median = times[len(times) // 2] * 1000 if times else float("nan")
    return {"rps": len(ok) / elapsed, "median_ms": median, "errors": n - len(ok), "total": n}


def rss_mb(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
    peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024
    return {"rss_mb": round(rss, 1), "peak_rss_mb": round(peak, 1)}


def server_pid(make_pid: int) -> int:
    """The python process `make run` started (a descendant of make, through a shell)."""
    todo = [make_pid]
    while todo:
        pid = todo.pop()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"python" in Path(argv[0].decode()).name.encode() and b"server.py" in argv:
            return pid
        for task in Path(f"/proc/{pid}/task").iterdir():
            todo += [int(c) for c in (task / "children").read_text().split()]
    raise RuntimeError("the server process of `make run` was not found")


# ---------------------------------------------------------------- hostile sweep


def hostile_sweep(base: str) -> list[dict]:
    """The cheap requests that took the old server down, each with its status and slowest answer."""
    rows: list[dict] = []

    def one(name: str, path: str, headers: dict | None = None, n: int = 1) -> None:
        results: list[tuple[int, float]] = []

        def go(i: int) -> None:
            p = path.replace("{i}", str(i))
            status, _, _, dt = get(base + p, headers)
            results.append((status, dt))

        threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses: dict[int, int] = {}
        for s, _ in results:
            statuses[s] = statuses.get(s, 0) + 1
        rows.append({"request": name, "statuses": statuses, "slowest_s": round(max(dt for _, dt in results), 3)})

    one("ids=330109 × 9000", "/api/layers/counties?ids=" + ",".join(["330109"] * 9000))
    one("ids=330109 × 2000 (under the URL cap)", "/api/layers/counties?ids=" + ",".join(["330109"] * 2000))
    one("cities.png?label_field=geometry", "/export/cities.png?label_field=geometry")
    one("16 parallel A3 300-dpi prints", "/export/counties.png?size=a3&dpi=300&title=h{i}", n=16)
    one("16 parallel A4 150-dpi prints (pool)", "/export/counties.png?dpi=150&title=h{i}", n=16)
    one("Accept-Encoding: gzip;q=0", "/api/layers/counties", {"Accept-Encoding": "gzip;q=0"})
    one("Host: evil.example on /ogc", "/ogc", {"Host": "evil.example"})
    one("URL of 100 kB", "/api/search?q=" + "x" * 100_000)

    # 300 half-sent requests: the server must keep answering others
    host, port = base.removeprefix("http://").split(":")
    socks = []
    for _ in range(300):
        s = socket.create_connection((host, int(port)))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    status, _, _, dt = get(base + "/healthz", timeout=60)
    rows.append(
        {"request": "/healthz with 300 half-sent requests open", "statuses": {status: 1}, "slowest_s": round(dt, 3)}
    )
    for s in socks:
        s.close()
    return rows


# ---------------------------------------------------------------- the run


def write_pygeoapi(tmp: Path, gpkg: Path, port: int) -> dict:
    config = f"""
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  gzip: true
  languages: [en-US]
  limits: {{default_items: 10, max_items: 1000}}
  map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: "OSM"}}
logging:
  level: ERROR
metadata:
  identification:
    title: counties
    description: bench peer
    keywords: [bench]
    keywords_type: theme
    terms_of_service: https://example.org
    url: https://example.org
  license: {{name: CC-BY 4.0, url: "https://creativecommons.org/licenses/by/4.0/"}}
  provider: {{name: bench, url: "https://example.org"}}
  contact: {{name: bench, position: bench, address: x, city: x, stateorprovince: x, postalcode: x,
            country: x, phone: x, fax: x, email: x@example.org, url: "https://example.org",
            hours: x, instructions: x, role: pointOfContact}}
resources:
  counties:
    type: collection
    title: counties
    description: the 90 counties of Zhejiang
    keywords: [counties]
    links: []
    extents:
      spatial: {{bbox: [118, 27, 123, 31.5], crs: "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}
    providers:
      - type: feature
        name: OGR
        data:
          source_type: GPKG
          source: {gpkg}
          source_srs: EPSG:4326
          target_srs: EPSG:4326
          source_capabilities: {{paging: true}}
        id_field: adcode
        layer: counties
"""
    (tmp / "pygeoapi.yml").write_text(config, encoding="utf-8")
    shim = tmp / "gdal-bindings"  # Debian's python3-gdal for the OGR provider, and nothing else of dist-packages
    shim.mkdir(exist_ok=True)
    for name in ("osgeo",):
        src = Path("/usr/lib/python3/dist-packages") / name
        if src.exists() and not (shim / name).exists():
            (shim / name).symlink_to(src)
    env = {
        "PYGEOAPI_CONFIG": str(tmp / "pygeoapi.yml"),
        "PYGEOAPI_OPENAPI": str(tmp / "openapi.yml"),
        "PYTHONPATH": str(shim),
    }
    pygeoapi = str(Path(PY).parent / "pygeoapi")
    subprocess.run(
        [pygeoapi, "openapi", "generate", str(tmp / "pygeoapi.yml"), "--output-file", str(tmp / "openapi.yml")],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    return env


def main() -> int:
    ensure_wrk()
    tmp = Path(tempfile.mkdtemp(prefix="kechuang-bench-"))
    procs: list[subprocess.Popen] = []
    report: dict = {"rows": {}, "hostile": [], "notes": []}
    try:
        # the product, exactly as `make run` serves it
        port = free_port()
        product = start(
            ["make", "--no-print-directory", "run", f"PORT={port}"], {"PORT": str(port)}, tmp / "product.log"
        )
        procs.append(product)
        base = f"http://127.0.0.1:{port}"
        wait_ready(base + "/healthz", product)
        pid = server_pid(product.pid)

        targets = {
            "product: /api/layers/counties": base + "/api/layers/counties",
            "product: /ogc/…/counties/items?limit=100": base + "/ogc/collections/counties/items?limit=100",
        }
        _, _, gz_counties, _ = get(targets["product: /api/layers/counties"])
        (tmp / "counties.json.gz").write_bytes(gz_counties)
        lport = free_port()
        limit = start([PY, "bench/serve.py", "limit", str(lport), str(tmp / "counties.json.gz")])
        procs.append(limit)
        wait_ready(f"http://127.0.0.1:{lport}/", limit)
        targets["limit: same gzip bytes, trivial WSGI app"] = f"http://127.0.0.1:{lport}/"

        def measure(name: str, url: str) -> None:
            status, headers, body, _ = get(url)
            raw = gzip.decompress(body) if headers.get("Content-Encoding") == "gzip" else body
            get(url)  # warm
            c8 = wrk(url, 8, C8_SECONDS)
            if c8["total"] < 20:  # slower than wrk's window can see: 16 whole requests at c=8 from Python
                c8 = python_c8(url)
            c64 = wrk(url, 64, C64_SECONDS)
            report["rows"][name] = {
                "status": status,
                "bytes": len(body),
                "raw_bytes": len(raw),
                "gzip": headers.get("Content-Encoding") == "gzip",
                "median_ms": c8["median_ms"],
                "rps_c8": c8["rps"],
                "errors_c64": c64["errors"],
                "requests_c64": c64["total"],
            }
            print(f"  measured {name}: {report['rows'][name]}", file=sys.stderr, flush=True)

        for name, url in targets.items():
            measure(name, url)
        stop(limit)

        report["hostile"] = hostile_sweep(base)
        time.sleep(1)
        report["product_memory_after_sweep"] = rss_mb(pid)

        # pygeoapi, same counties from a GeoPackage
        import geopandas as gpd

        from settings import Settings

        gpkg = tmp / "counties.gpkg"
        gpd.read_file(Settings().boundaries, layer="counties").to_file(gpkg, layer="counties", driver="GPKG")
        pport = free_port()
        env = write_pygeoapi(tmp, gpkg, pport)
        pygeoapi = start(
            [
                PY,
                "-m",
                "waitress",
                "--host=127.0.0.1",
                f"--port={pport}",
                f"--threads={THREADS}",
                "pygeoapi.flask_app:APP",
            ],
            env,
            tmp / "pygeoapi.log",
        )
        procs.append(pygeoapi)
        purl = f"http://127.0.0.1:{pport}/collections/counties/items?limit=100&f=json"
        wait_ready(purl, pygeoapi)
        _, _, body, _ = get(purl)
        n = len(json.loads(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)["features"])
        report["notes"].append(f"pygeoapi returned {n} features per items page")
        measure("pygeoapi: /collections/counties/items?limit=100", purl)
        stop(pygeoapi)

        fport = free_port()
        fol = start([PY, "bench/serve.py", "folium", str(fport), str(gpkg)])
        procs.append(fol)
        wait_ready(f"http://127.0.0.1:{fport}/", fol)
        measure("naive Flask + folium page", f"http://127.0.0.1:{fport}/")
        stop(fol)
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)

    print_table(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "serve.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


def print_table(report: dict) -> None:
    rows = report["rows"]
    peer = rows.get("pygeoapi: /collections/counties/items?limit=100", {}).get("rps_c8") or float("nan")
    limit = rows.get("limit: same gzip bytes, trivial WSGI app", {}).get("rps_c8") or float("nan")
    print(
        f"\n| server | bytes | median ms (c=8) | req/s (c=8) | c=64 {C64_SECONDS}s: errors / completed | × pygeoapi |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(
            f"| {name} | {r['bytes']:,}{' gz' if r['gzip'] else ''} | {r['median_ms']:.2f} | {r['rps_c8']:,.1f} | "
            f"{r['errors_c64']} / {r['requests_c64']:,} | {r['rps_c8'] / peer:,.1f} |"
        )
    counties = rows.get("product: /api/layers/counties", {}).get("rps_c8", float("nan"))
    print(f"\ncounties GeoJSON at {counties / limit * 100:.0f} % of the pre-compressed-bytes limit")
    print("\n| hostile request | statuses | slowest s |\n|---|---|---:|")
    for h in report["hostile"]:
        print(f"| {h['request']} | {h['statuses']} | {h['slowest_s']} |")
    mem = report.get("product_memory_after_sweep", {})
    print(f"\nproduct RSS after the sweep: {mem.get('rss_mb')} MB (peak {mem.get('peak_rss_mb')} MB)")
    for note in report["notes"]:
        print(note)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "limit":
        serve_limit(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "folium":
        serve_folium(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(main())
