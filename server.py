"""The web layer: a Flask app factory whose thin views call the catalog (layers/) and generic handlers (geo/).

Every client error is a geo.errors.ApiError carrying its status; the error handlers in `create_app`
turn it (and anything unexpected) into JSON in one place, so no traceback ever reaches a user.
Compressible answers (pages, assets, JSON) are gzipped in one after-request hook.

Reading is open. Changes to user layers need an editor (`_require`): a session from the sign-in page `/login`
(a server-side session id kept in Flask's signed cookie) or `Authorization: Bearer <token>`. No credentials:
401; signed in without the role: 403. CSRF: Flask-WTF's `CSRFProtect` (a token kept in the signed session,
sent back in the form field `csrf_token` or the `X-CSRFToken` header) guards the sign-in form and every
cookie-authenticated POST/PUT/PATCH/DELETE; it is called by `_require`, so Bearer requests (no cookie, no
ambient authority) need none.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import re
import secrets
import sys
import unicodedata
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, jsonify, redirect, render_template, request, send_file, session
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.exceptions import HTTPException
from werkzeug.http import quote_header_value

from geo import formats, ogc
from geo.errors import ApiError, BadRequest
from geo.geojson import MEDIA_TYPE
from geo.params import int_arg, parse_bbox, parse_ids
from geo.select import select_layers
from layers import Catalog
from layers.editing import LayerEditor
from layers.ogc_provider import CatalogProvider
from layers.search import search
from layers.users import User, UserDirectory, open_users
from settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from geopandas import GeoDataFrame

log = logging.getLogger("kechuang")
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


UPLOAD_LIMIT = 20 * 1024 * 1024  # bytes a request body may have (a GeoJSON replacing a user layer)
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Unauthorized(ApiError):
    """No credentials, or credentials that are not valid (401)."""

    status = 401


class Forbidden(ApiError):
    """Signed in, but without the role the action needs (403)."""

    status = 403


def _secret_key(settings: Settings) -> str:
    """The `secret_key` setting, or one kept in the data directory (made on first start, readable by us only)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.data_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{secrets.token_hex(4)}.part")
        partial.touch(mode=0o600)
        partial.write_text(secrets.token_urlsafe(48))
        partial.replace(path)
    return path.read_text().strip()


def _current_user(users: UserDirectory) -> User | None:
    """Who is asking: a Bearer token's user, a live session's user, or None. A bad token is a 401."""
    if "user" not in g:
        g.via = None
        header = request.headers.get("Authorization", "")
        user = None
        if header[:7].lower() == "bearer ":
            user = users.user_for_token(header[7:].strip())
            if user is None:
                raise Unauthorized("the API token is not valid; `python -m layers users token NAME` makes a new one")
            g.via = "token"
        elif session.get("sid"):
            user = users.session_user(session["sid"])
            g.via = "session" if user else None
        g.user = user
    return g.user


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app for `settings` (default: from the environment). The app owns its catalog,
    `app.extensions["catalog"]`, built here so bad shipped data fails at start-up, listing every problem."""
    settings = settings if settings is not None else load_settings()
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=UPLOAD_LIMIT,
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in `_require` (cookie sessions only) and on the sign-in form
        WTF_CSRF_TIME_LIMIT=None,  # valid as long as the session
    )
    csrf = CSRFProtect(app)
    catalog = Catalog.from_settings(settings)
    users = open_users(settings.data_dir)
    assert catalog.user_store is not None
    editor = LayerEditor(catalog.user_store, users)
    app.extensions["catalog"] = catalog
    app.extensions["settings"] = settings
    app.extensions["users"] = users
    app.extensions["editor"] = editor

    def _require(role: str = "editor") -> User:
        """The user asking, when they hold `role`; else 401 (no or bad credentials) or 403. Cookie-session
        writes must carry the CSRF token (400 without it)."""
        user = _current_user(users)
        if user is None:
            raise Unauthorized(
                f"this needs an {role}: sign in at /login, or send Authorization: Bearer <token> "
                "(`python -m layers users add NAME --role editor` prints one)"
            )
        if not user.can(role):
            raise Forbidden(f"{user.name} is a {user.role}; this needs an {role}")
        if g.via == "session" and request.method in UNSAFE:
            csrf.protect()
        return user

    app.extensions["require"] = _require

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify(exc.to_dict()), exc.status

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        return jsonify(
            {"error": f"{exc.description} Send the csrf_token form field or the X-CSRFToken header (GET /api/me)."}
        ), 400

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.code == 413:
            return jsonify({"error": f"the upload is larger than {UPLOAD_LIMIT // 2**20} MB"}), 413
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
        }
        return render_template("index.html", config=config)

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    @app.get("/api/layers")
    def api_layers():
        return jsonify({"layers": [catalog.summary(catalog.spec(i)) for i in catalog.ids()]})

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

    # --- signing in -----------------------------------------------------------------------------------
    def _login_page(message: str | None = None, status: int = 200):
        user = _current_user(users) if "Authorization" not in request.headers else None
        page = render_template("login.html", user=user, message=message, next=_next_url(), csrf_token=generate_csrf())
        return Response(page, status=status, mimetype="text/html")

    def _next_url() -> str:
        target = request.values.get("next") or "/"
        return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"

    @app.get("/login")
    def login_form():
        return _login_page()

    @app.post("/login")
    def login_submit():
        try:
            csrf.protect()
        except CSRFError:
            return _login_page("The form has expired; please sign in again. / 表单已过期，请重新登录。", 400)
        user = users.check_password(request.form.get("name", "").strip(), request.form.get("password", ""))
        if user is None:
            return _login_page("Wrong name or password. / 用户名或密码错误。", 401)
        old = session.get("sid")
        if old:
            users.end_session(old)
        session.clear()  # a new session (and CSRF token) on sign-in
        session["sid"] = users.start_session(user.name)
        return redirect(_next_url(), code=303)

    @app.get("/logout")
    def logout_form():
        return _login_page()

    @app.post("/logout")
    def logout():
        if session.get("sid"):
            csrf.protect()
            users.end_session(session["sid"])
        session.clear()
        return redirect("/", code=303)

    @app.get("/api/me")
    def api_me():
        user = _current_user(users)
        body: dict[str, Any] = {"user": None}
        if user is not None:
            body = {"user": user.name, "role": user.role, "via": g.via}
        if g.via != "token":
            body["csrf_token"] = generate_csrf()
        return jsonify(body)

    # --- changing user layers ----------------------------------------------------------------------------
    def _user_layer(layer_id: str) -> str:
        catalog.spec(layer_id)  # 404 for an unknown id
        if not catalog.is_user_layer(layer_id):
            raise BadRequest(f"{layer_id!r} is a built-in layer; only user layers (ids user-…) can be changed")
        return layer_id

    def _json_body() -> dict[str, Any]:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequest("send a JSON object (Content-Type: application/json)")
        return body

    def _summary(layer_id: str) -> dict[str, Any]:
        return catalog.summary(catalog.spec(layer_id))

    @app.put("/api/layers/<layer_id>")
    def api_layer_replace(layer_id: str):
        user = _require("editor")
        _user_layer(layer_id)
        upload = request.files.get("file")
        raw = upload.read() if upload is not None else request.get_data()
        source = upload.filename if upload is not None and upload.filename else "GeoJSON upload"
        editor.replace(layer_id, _geojson_frame(raw), actor=user.name, source=source)
        return jsonify(_summary(layer_id))

    @app.patch("/api/layers/<layer_id>")
    def api_layer_rename(layer_id: str):
        user = _require("editor")
        _user_layer(layer_id)
        title = _json_body().get("title")
        if not isinstance(title, str):
            raise BadRequest('send {"title": "<new title>"}')
        editor.rename(layer_id, title, actor=user.name)
        return jsonify(_summary(layer_id))

    @app.delete("/api/layers/<layer_id>")
    def api_layer_delete(layer_id: str):
        user = _require("editor")
        editor.delete(_user_layer(layer_id), actor=user.name)
        return jsonify({"deleted": layer_id})

    @app.get("/api/layers/<layer_id>/versions")
    def api_layer_versions(layer_id: str):
        versions = catalog.user_store.versions(_user_layer(layer_id))  # type: ignore[union-attr]
        return jsonify({"layer": layer_id, "versions": [v.__dict__ for v in versions]})

    @app.post("/api/layers/<layer_id>/restore")
    def api_layer_restore(layer_id: str):
        user = _require("editor")
        _user_layer(layer_id)
        version = _json_body().get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise BadRequest('send {"version": <a kept version number>} (GET …/versions lists them)')
        editor.restore(layer_id, version, actor=user.name)
        return jsonify(_summary(layer_id))

    @app.get("/api/audit")
    def api_audit():
        _require("admin")
        limit = int_arg(request.args, "limit", low=1, high=1000, default=200)
        return jsonify({"entries": [e.__dict__ for e in users.audit(limit)]})

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
            spec.style,
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


def _geojson_frame(raw: bytes) -> GeoDataFrame:
    """A GeoJSON FeatureCollection (WGS-84) as a frame with the features' own properties, or a 400 saying why."""
    import geopandas as gpd

    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"send a GeoJSON FeatureCollection (UTF-8): {exc}") from None
    features = data.get("features") if isinstance(data, dict) and data.get("type") == "FeatureCollection" else None
    if not isinstance(features, list) or not features:
        raise BadRequest("send a GeoJSON FeatureCollection with at least one feature")
    try:
        return gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
    except Exception as exc:  # shapely/geopandas refuse malformed geometries in several ways
        raise BadRequest(f"a feature could not be read: {str(exc)[:200]}") from None


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
