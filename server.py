"""The web layer: a Flask app factory whose thin views call the catalog (layers/) and generic handlers (geo/).

Every client error is a geo.errors.ApiError carrying its status; the error handlers in `create_app`
turn it (and anything unexpected) into JSON in one place, so no traceback ever reaches a user.
Compressible answers (pages, assets, JSON) are gzipped in one after-request hook.
"""

from __future__ import annotations

import gzip
import logging
import mimetypes
import sys

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from geo import export, ogc
from geo.errors import ApiError, BadRequest
from geo.geojson import MEDIA_TYPE
from geo.params import int_arg, parse_bbox, parse_ids
from layers import get_catalog
from layers.search import search
from layers.styles import print_style, style_table
from settings import SETTINGS, Settings

log = logging.getLogger("kechuang")
# Browsers refuse ES modules served with a non-JavaScript type; some systems' tables say text/plain.
mimetypes.add_type("text/javascript", ".js")
VERSION = "0.1.0"


SERVED_DATUMS = ("wgs84", "gcj02")
COMPRESSIBLE = {
    "application/json",
    "application/geo+json",
    "text/html",
    "text/css",
    "application/javascript",
    "text/javascript",
    "image/svg+xml",
}


def _datum_arg() -> str:
    datum = request.args.get("datum", "wgs84").lower()
    if datum not in SERVED_DATUMS:
        raise BadRequest(f"datum must be {' or '.join(SERVED_DATUMS)}, got {datum!r}")
    return datum


def _gzip(resp: Response) -> Response:
    """Gzip a compressible 200 answer when the client accepts it (downloads are sent as they are).

    A compressed answer's ETag becomes weak (W/"…"): the same content, another encoding (RFC 9110 §8.8.1);
    If-None-Match compares weakly, so revalidation still answers 304.
    """
    if (
        resp.status_code != 200
        or resp.mimetype not in COMPRESSIBLE
        or "Content-Encoding" in resp.headers
        or "gzip" not in request.headers.get("Accept-Encoding", "")
        or "attachment" in resp.headers.get("Content-Disposition", "")
    ):
        return resp
    resp.direct_passthrough = False  # static files stream; read them to compress
    body = resp.get_data()
    if len(body) > 1024:
        resp.set_data(gzip.compress(body, compresslevel=6))
        resp.headers["Content-Encoding"] = "gzip"
        resp.headers["Vary"] = "Accept-Encoding"
        etag = resp.headers.get("ETag")
        if etag and not etag.startswith("W/"):
            resp.headers["ETag"] = "W/" + etag
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
            message = (
                f"no such route {request.path!r}; see /api/layers, /api/regions/<adcode>, /api/search?q=, "
                "/export/<id>.<ext>, /ogc"
            )
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
        return _gzip(resp)

    @app.get("/")
    def index():
        config = {
            "basemaps": list(settings.basemaps),
            "ogc_url": request.host_url.rstrip("/") + "/ogc",
            "version": VERSION,
        }
        return render_template("index.html", config=config)

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    styles = app.config["KECHUANG_STYLES"] = style_table()  # the one table: web map, printed map, HTML export

    @app.get("/api/layers")
    def api_layers():
        return jsonify({"layers": [catalog.summary(catalog.spec(i)) for i in catalog.ids()], "styles": styles})

    @app.get("/api/layers/<layer_id>")
    def api_layer(layer_id: str):
        body = catalog.geojson(
            layer_id,
            bbox=parse_bbox(request.args.get("bbox")),
            zoom=int_arg(request.args, "zoom", low=0, high=18),
            datum=_datum_arg(),
            ids=parse_ids(request.args.get("ids")),
        )
        return Response(body, mimetype=MEDIA_TYPE)

    @app.get("/api/regions/<adcode>")
    def api_region(adcode: str):
        return jsonify(catalog.profiles.get(adcode))

    @app.get("/api/search")
    def api_search():
        return jsonify(
            {
                "results": search(
                    catalog, request.args.get("q"), limit=int_arg(request.args, "limit", low=1, high=50, default=12)
                )
            }
        )

    export_over = {"pilot-counties": "counties", "counties": "cities", "cities": "province"}  # printed-map context

    def _export_layer(layer_id: str, background: bool = False) -> export.ExportLayer:
        spec = catalog.spec(layer_id)
        return export.ExportLayer(
            layer_id,
            spec.title,
            catalog.frame(layer_id),
            catalog.metadata(layer_id),
            print_style(styles, layer_id),
            background,
        )

    @app.get("/export/<filename>")
    def export_download(filename: str):
        layer_id, ext = export.split_ext(filename)
        extra = [x for x in (p.strip() for p in request.args.get("layers", "").split(",")) if x]
        layers = [_export_layer(i) for i in dict.fromkeys([layer_id, *extra])]
        over = request.args.get("over")
        if over is None and ext in ("png", "pdf"):
            over = export_over.get(layer_id) if catalog.spec(layer_id).kind == "regions" else "cities"
        if over and ext in ("png", "pdf", "html"):
            layers.insert(0, _export_layer(over, background=True))
        body, headers = export.build_download(layers, ext, request.args)
        return Response(body, headers=headers)

    ogc_provider = ogc.CatalogProvider(catalog)
    ogc_title = "科创地图 OGC API – Features"

    def _ogc(handler, *path_args, **kw) -> Response:
        base = request.host_url.rstrip("/") + "/ogc"
        r = handler(ogc_provider, base, *path_args, request.args, request.headers, **kw)
        return Response(r.body, status=r.status, headers=r.headers)

    app.add_url_rule("/ogc", "ogc_landing", lambda: _ogc(ogc.landing, title=ogc_title))
    app.add_url_rule("/ogc/", "ogc_landing_slash", lambda: _ogc(ogc.landing, title=ogc_title))
    app.add_url_rule("/ogc/conformance", "ogc_conformance", lambda: _ogc(ogc.conformance))
    app.add_url_rule("/ogc/api", "ogc_api", lambda: _ogc(ogc.api, title=ogc_title))
    app.add_url_rule("/ogc/collections", "ogc_collections", lambda: _ogc(ogc.collections))
    app.add_url_rule("/ogc/collections/<cid>", "ogc_collection", lambda cid: _ogc(ogc.collection, cid))
    app.add_url_rule("/ogc/collections/<cid>/items", "ogc_items", lambda cid: _ogc(ogc.items, cid))
    app.add_url_rule("/ogc/collections/<cid>/items/<fid>", "ogc_item", lambda cid, fid: _ogc(ogc.item, cid, fid))

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
