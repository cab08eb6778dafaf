"""The web layer: a Flask app factory whose thin views call the catalog (layers/) and generic handlers (geo/).

Every client error is a geo.errors.ApiError carrying its status; `_error` turns it (and anything
unexpected) into JSON in one place, so no traceback ever reaches a user.
"""
from __future__ import annotations

import gzip
import logging
import sys

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from geo.datum import DATUMS
from geo.errors import ApiError, BadRequest
from geo.geojson import MEDIA_TYPE
from layers import get_catalog, parse_bbox
from layers.search import search
from settings import SETTINGS, Settings

log = logging.getLogger("kechuang")
VERSION = "0.1.0"


def _int_arg(name: str, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}, got {raw!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be from {low} to {high}, got {value}")
    return value


def _datum_arg() -> str:
    datum = request.args.get("datum", "wgs84").lower()
    if datum not in DATUMS[:2]:
        raise BadRequest(f"datum must be wgs84 or gcj02, got {datum!r}")
    return datum


def _ids_arg() -> list[str] | None:
    raw = request.args.get("ids")
    return [i for i in raw.split(",") if i] if raw else None


def _maybe_gzip(resp: Response) -> Response:
    if "gzip" in request.headers.get("Accept-Encoding", "") and len(resp.get_data()) > 1024:
        resp.set_data(gzip.compress(resp.get_data(), compresslevel=6))
        resp.headers["Content-Encoding"] = "gzip"
        resp.headers["Vary"] = "Accept-Encoding"
    return resp


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app; loading the catalog here makes bad shipped data fail at start-up, listing every problem."""
    settings = settings or SETTINGS
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    catalog = get_catalog(str(settings.boundaries), str(settings.layers_dir), str(settings.seeds_dir))
    app.extensions["catalog"] = catalog
    app.extensions["settings"] = settings

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify(exc.to_dict()), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.code == 404:
            message = f"no such route {request.path!r}; see /api/layers, /api/regions/<adcode>, /api/search?q=, /export/<id>.<ext>, /ogc"
        else:
            message = exc.description
        return jsonify({"error": message}), exc.code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error on %s", request.path)
        return jsonify({"error": "internal error; it has been logged"}), 500

    @app.after_request
    def _headers(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        return resp

    @app.get("/")
    def index():
        config = {"basemaps": list(settings.basemaps), "ogc_url": request.host_url.rstrip("/") + "/ogc",
                  "version": VERSION}
        return render_template("index.html", config=config)

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    @app.get("/api/layers")
    def api_layers():
        return jsonify({"layers": [catalog.summary(catalog.spec(i)) for i in catalog.ids()]})

    @app.get("/api/layers/<layer_id>")
    def api_layer(layer_id: str):
        body = catalog.geojson(layer_id, bbox=parse_bbox(request.args.get("bbox")), zoom=_int_arg("zoom", 0, 18),
                               datum=_datum_arg(), ids=_ids_arg())
        return _maybe_gzip(Response(body, mimetype=MEDIA_TYPE))

    @app.get("/api/regions/<adcode>")
    def api_region(adcode: str):
        return jsonify(catalog.profiles.get(adcode))

    @app.get("/api/search")
    def api_search():
        return jsonify({"results": search(catalog, request.args.get("q"), limit=_int_arg("limit", 1, 50) or 12)})

    return app


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from boundaries.store import BoundaryDataError
    from layers import DataError
    try:
        app = create_app()
    except (DataError, BoundaryDataError) as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1
    print(f"科创地图 serving http://{SETTINGS.host}:{SETTINGS.port}/", file=sys.stderr)
    app.run(host=SETTINGS.host, port=SETTINGS.port, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
