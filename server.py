"""The web layer: a Flask app factory whose thin views call the catalog (layers/) and generic handlers (geo/).

Every client error is a geo.errors.ApiError carrying its status; the error handlers in `create_app`
turn it (and anything unexpected) into JSON in one place, so no traceback ever reaches a user.
Compressible answers (pages, assets, JSON) are gzipped in one after-request hook.
"""

from __future__ import annotations

import gzip
import io
import logging
import mimetypes
import re
import sys
import unicodedata
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, render_template, request, send_file
from werkzeug.exceptions import HTTPException
from werkzeug.http import quote_header_value

from geo import formats, ogc
from geo.errors import ApiError, BadRequest
from geo.geojson import MEDIA_TYPE
from geo.params import int_arg, parse_bbox, parse_ids
from geo.select import select_layers
from layers import Catalog
from layers.ogc_provider import CatalogProvider
from layers.search import search
from layers.styles import print_style, style_table
from settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from geopandas import GeoDataFrame

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


def _leaflet_dir(static_folder: str | None) -> Path:
    """The vendored Leaflet (leaflet.js, leaflet.css, images) that standalone HTML maps inline."""
    found = sorted(Path(static_folder or "static").glob("vendor/leaflet*/leaflet.js"))
    if not found:
        raise RuntimeError(f"no vendored Leaflet under {static_folder}/vendor")
    return found[-1].parent


def _attachment(body: bytes, fmt: formats.Format, name: str, fallback: str) -> Response:
    """A download answered by Flask's `send_file` (length, Range, conditional requests).

    Its Content-Disposition (RFC 6266) is rewritten: Flask's ASCII `filename` drops every Chinese character
    (“科创中国”试点县（2021）.kml → (2021).kml) and is unquoted; ours is the quoted file name made of layer ids,
    with the real name in `filename*=UTF-8''…`.
    """
    resp = send_file(io.BytesIO(body), mimetype=fmt.media_type, as_attachment=True, download_name=name)
    ascii_name = unicodedata.normalize("NFKD", fallback).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name).strip("_.") or "download"
    value = f"attachment; filename={quote_header_value(ascii_name, allow_token=False)}"
    if name != ascii_name:
        value += f"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"
    resp.headers["Content-Disposition"] = value
    resp.headers["Content-Type"] = fmt.media_type  # as registered (Flask would add a charset to KML)
    return resp


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app for `settings` (default: from the environment). The app owns its catalog,
    `app.extensions["catalog"]`, built here so bad shipped data fails at start-up, listing every problem."""
    settings = settings if settings is not None else load_settings()
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    catalog = Catalog.from_settings(settings)
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
            "basemaps": [b.model_dump(exclude_none=True) for b in settings.basemaps],
            "ogc_url": request.host_url.rstrip("/") + "/ogc",
            "version": VERSION,
            "unverified": catalog.unverified,
        }
        return render_template("index.html", config=config)

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    styles = app.config["KECHUANG_STYLES"] = style_table()  # the one table: web map, printed map, HTML export

    @app.get("/api/layers")
    def api_layers():
        return jsonify(
            {
                "unverified": catalog.unverified,
                "home": catalog.home(),
                "layers": [catalog.summary(catalog.spec(i)) for i in catalog.ids()],
                "styles": styles,
            }
        )

    @app.get("/api/layers/<layer_id>")
    def api_layer(layer_id: str):
        body = catalog.geojson(
            layer_id,
            bbox=parse_bbox(request.args.get("bbox")),
            zoom=int_arg(request.args, "zoom", low=0, high=18),
            datum=_datum_arg(),
            ids=parse_ids(request.args.get("ids")),
            clip=request.args.get("clip", "").lower() in ("1", "true"),
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

    leaflet_dir = _leaflet_dir(app.static_folder)

    def _export_layer(
        layer_id: str, frame: GeoDataFrame | None = None, background: bool = False
    ) -> formats.ExportLayer:
        spec = catalog.spec(layer_id)
        return formats.ExportLayer(
            layer_id,
            spec.title,
            catalog.frame(layer_id) if frame is None else frame,
            catalog.metadata(layer_id),
            print_style(styles, layer_id),
            background,
        )

    @app.get("/export/<filename>")
    def export_download(filename: str):
        layer_id, fmt = formats.split_ext(filename)
        extra = [x for x in (p.strip() for p in request.args.get("layers", "").split(",")) if x]
        layer_ids = list(dict.fromkeys([layer_id, *extra]))
        over = request.args.get("over")
        if over is None and fmt.is_print:
            over = catalog.spec(layer_id).print_over
        frames = {i: catalog.frame(i) for i in layer_ids}
        context = [_export_layer(over, background=True)] if over and fmt.is_map else []  # drawn underneath
        bbox = parse_bbox(request.args.get("bbox"))
        chosen = select_layers(frames, bbox=bbox, ids=parse_ids(request.args.get("ids")))
        layers = context + [_export_layer(i, chosen[i]) for i in layer_ids]
        options: dict[str, Any] = {k: request.args[k] for k in formats.MAP_OPTIONS if request.args.get(k)}
        if bbox is not None:
            options["bbox"] = bbox
        options["leaflet_dir"] = leaflet_dir
        body = fmt.write(layers, options)
        return _attachment(body, fmt, *fmt.download_name(layers))

    ogc_provider = CatalogProvider(catalog)
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
        settings = load_settings()
    except SettingsError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    try:
        app = create_app(settings)
    except (DataError, BoundaryDataError) as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1
    print(f"科创地图 serving http://{settings.host}:{settings.port}/", file=sys.stderr)
    app.run(host=settings.host, port=settings.port, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
