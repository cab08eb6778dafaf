"""The web layer: a Flask app factory whose thin views call the catalog (layers/) and generic handlers (geo/).

Every client error is a geo.errors.ApiError carrying its status; the error handlers in `create_app`
turn it (and anything unexpected, and every HTTP-layer error) into JSON in one place, so no traceback
ever reaches a user. Cacheable answers (layers, OGC pages, profiles, search, exports) are computed once
and served from bytes by geo.respcache (gzip, ETag/304, Range); other compressible answers (the page,
assets) are gzipped in one after-request hook, which also sets the security headers. Prints run in a
bounded pool. `main` serves the app with waitress (see `serve`). User layers, users and pending imports
come from layers/backends.py: the data directory's files, or PostGIS when `database_url` is set (a database
that cannot be reached stops start-up with one line; one lost while running answers writes with 503).

Reading is open. Changes to user layers need an editor (`_require`): a session from the sign-in page `/login`
(a server-side session id kept in Flask's signed cookie) or `Authorization: Bearer <token>`. No credentials:
401; signed in without the role: 403. CSRF: Flask-WTF's `CSRFProtect` (a token kept in the signed session,
sent back in the form field `csrf_token` or the `X-CSRFToken` header) guards the sign-in form and every
cookie-authenticated POST/PUT/PATCH/DELETE; it is called by `_require`, so Bearer requests (no cookie, no
ambient authority) need none.
"""

from __future__ import annotations

import gzip
import json
import logging
import mimetypes
import re
import secrets
import signal
import sys
import threading
import time
import unicodedata
import urllib.parse
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, jsonify, redirect, render_template, request, session
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.exceptions import HTTPException
from werkzeug.http import quote_header_value

from geo import formats, mapprint, ogc
from geo.errors import ApiError, BadRequest, Busy, Unavailable
from geo.geojson import MEDIA_TYPE
from geo.maptext import map_lang
from geo.params import int_arg, parse_bbox, parse_ids
from geo.respcache import Cached, ResponseCache, accepts_gzip, answer
from geo.select import select_layers
from layers import Catalog, thematic
from layers.backends import Backends, open_backends
from layers.catalog import DATA_DATE
from layers.compare import compare, parse_compare_ids
from layers.compare_print import COMPARE_LANGS, compare_pdf
from layers.editing import LayerEditor
from layers.figures import with_figures
from layers.importing import ImportOptions, read_upload, reconcile
from layers.ogc_provider import CatalogProvider
from layers.pgdb import DatabaseStartError
from layers.printing import document_title, print_sources
from layers.query import answer as query_answer
from layers.query import answer_frame as query_frame
from layers.query import describe as describe_query
from layers.query import parse as parse_query
from layers.query import query_layers
from layers.search import search
from layers.styles import print_style, style_table
from layers.timeline import as_of_note, frame_as_of, geojson_as_of, parse_as_of, profile_as_of, profiles_as_of
from layers.timeline import years as timeline_years
from layers.users import User, UserDirectory
from settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from geopandas import GeoDataFrame

log = logging.getLogger("kechuang")
# Browsers refuse ES modules served with a non-JavaScript type; some systems' tables say text/plain.
mimetypes.add_type("text/javascript", ".js")
VERSION = "0.1.0"


SERVED_DATUMS = ("wgs84", "gcj02")
HTML_CONTEXT = ("counties", "cities")  # outlines drawn under an offline HTML map unless `over=` says otherwise
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
        or getattr(resp, "from_cache", False)  # served from geo.respcache, which chose the encoding itself
        or not accepts_gzip(request.headers.get("Accept-Encoding"))
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


def _disposition(name: str, fallback: str) -> str:
    """A download's Content-Disposition (RFC 6266): Flask's ASCII `filename` would drop every Chinese character
    (“科创中国”试点县（2021）.kml → (2021).kml) and is unquoted; ours is the quoted file name made of layer ids,
    with the real name in `filename*=UTF-8''…`.
    """
    ascii_name = unicodedata.normalize("NFKD", fallback).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name).strip("_.") or "download"
    value = f"attachment; filename={quote_header_value(ascii_name, allow_token=False)}"
    if name != ascii_name:
        value += f"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"
    return value


def _tile_sources(basemaps: tuple) -> list[str]:
    """CSP sources for the configured tile base maps: scheme://host, `{s}` subdomains as a `*.` wildcard."""
    out = []
    for bm in basemaps:
        url = bm.url
        parts = urllib.parse.urlsplit(url.replace("{s}", "s-sub"))
        if parts.scheme in ("http", "https") and parts.hostname:
            host = parts.netloc.replace("s-sub.", "*.")
            out.append(f"{parts.scheme}://{host}")
    return list(dict.fromkeys(out))


def security_headers(settings: Settings, frame_ancestors: str | None = None) -> dict[str, str]:
    """Headers sent with every answer: the page loads only from this origin (plus configured tile hosts).
    `frame_ancestors` (default: the `frame_ancestors` setting) says who may frame it; X-Frame-Options is sent
    only when it is 'none' or 'self'."""
    img = " ".join(["'self'", "data:", *_tile_sources(settings.basemaps)])
    framing = (frame_ancestors if frame_ancestors is not None else settings.frame_ancestors).strip()
    csp = (
        f"default-src 'self'; img-src {img}; script-src 'self'; style-src 'self'; object-src 'none'; "
        f"base-uri 'self'; form-action 'self'; frame-ancestors {framing}"
    )
    headers = {
        "Content-Security-Policy": csp,
        "Referrer-Policy": "strict-origin-when-cross-origin",  # tile hosts see the origin, never the path
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if framing in ("'none'", "'self'"):  # the older header for browsers without CSP frame-ancestors
        headers["X-Frame-Options"] = "DENY" if framing == "'none'" else "SAMEORIGIN"
    return headers


UPLOAD_ENDPOINTS = {"api_layer_replace", "api_import_check", "api_import_commit"}  # big bodies; others: max_body_bytes
IMPORT_TTL_SECONDS = 3600  # a checked import waits this long for its commit
IMPORT_PENDING_CAP = 32  # most checked imports kept in memory at once (the oldest go first)
PREVIEW_FEATURES = 2000  # most features in an import's map preview
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The sign-in page's words: in both languages (no `lang`), or in the map page's language (`lang=zh|en`).
LOGIN_TEXT: dict[str, dict[str, str]] = {
    "both": {
        "html_lang": "zh-CN",
        "title": "登录 / Sign in",
        "signed_in_as": "已登录 / Signed in as",
        "sign_out": "退出登录 / Sign out",
        "back": "返回地图 / Back to the map",
        "name": "用户名 / Name",
        "password": "密码 / Password",
        "sign_in": "登录 / Sign in",
        "hint": "阅读地图无需登录；导入与编辑图层需要编辑者账号。 "
        "Reading the map needs no account; importing and editing layers needs an editor.",
        "expired": "The form has expired; please sign in again. / 表单已过期，请重新登录。",
        "wrong": "Wrong name or password. / 用户名或密码错误。",
    },
    "zh": {
        "html_lang": "zh-CN",
        "title": "登录",
        "signed_in_as": "已登录",
        "sign_out": "退出登录",
        "back": "返回地图",
        "name": "用户名",
        "password": "密码",
        "sign_in": "登录",
        "hint": "阅读地图无需登录；导入与编辑图层需要编辑者账号。",
        "expired": "表单已过期，请重新登录。",
        "wrong": "用户名或密码错误。",
    },
    "en": {
        "html_lang": "en",
        "title": "Sign in",
        "signed_in_as": "Signed in as",
        "sign_out": "Sign out",
        "back": "Back to the map",
        "name": "Name",
        "password": "Password",
        "sign_in": "Sign in",
        "hint": "Reading the map needs no account; importing and editing layers needs an editor.",
        "expired": "The form has expired; please sign in again.",
        "wrong": "Wrong name or password.",
    },
}


def _login_lang() -> str:
    """The sign-in page's language: `lang=zh|en` (a query or form field), else both."""
    lang = request.values.get("lang", "")
    return lang if lang in ("zh", "en") else "both"


class Unauthorized(ApiError):
    """No credentials, or credentials that are not valid (401)."""

    status = 401


class Forbidden(ApiError):
    """Signed in, but without the role the action needs (403)."""

    status = 403


def _secret_key(settings: Settings, backends: Backends) -> str:
    """The `secret_key` setting, else the one the instances on a database share, else one kept in the data
    directory (made on first start, readable by us only)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    shared = backends.shared_secret()
    if shared is not None:
        return shared
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
    backends = open_backends(settings)  # the embedded files, or PostGIS (DatabaseStartError when unreachable)
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.config.update(
        SECRET_KEY=_secret_key(settings, backends),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=settings.import_max_bytes,  # uploads; other routes are held to max_body_bytes
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in `_require` (cookie sessions only) and on the sign-in form
        WTF_CSRF_TIME_LIMIT=None,  # valid as long as the session
    )
    csrf = CSRFProtect(app)
    catalog = Catalog.from_settings(settings, backends)
    users = backends.users
    editor = LayerEditor(backends.store, users)
    app.extensions["backends"] = backends
    app.extensions["catalog"] = catalog
    app.extensions["settings"] = settings
    cache = ResponseCache(settings.response_cache_mb * 1024 * 1024)
    app.extensions["response_cache"] = cache
    print_slots = threading.BoundedSemaphore(max(settings.print_workers, 1))
    app.extensions["print_slots"] = print_slots
    secure = security_headers(settings)
    trusted = {h.strip().lower() for h in settings.trusted_hosts if h.strip()}

    def base_url() -> str:
        """Public base URL for links: the configured one, else the request's host only when it is trusted."""
        if settings.public_url:
            return settings.public_url
        if request.host.lower().rsplit(":", 1)[0] in trusted or request.host.lower() in trusted:
            return request.host_url.rstrip("/")
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        return f"http://{host}:{settings.port}"

    def send(key: Hashable, build: Callable[[], Cached]) -> Response:
        """Answer from the cache, building the entry once; 304 / 206 / 416 / gzip chosen per request."""
        entry = cache.get_or_build((catalog.revision(), key), build)  # a user-layer write renews every answer
        status, headers, body = answer(entry, request.headers, method=request.method)
        if status == 416:
            body = json.dumps({"error": f"range not satisfiable; {headers['Content-Range']}"}).encode()
            headers["Content-Type"] = "application/json"
        resp = Response(body, status=status, headers=headers)
        resp.from_cache = True  # type: ignore[attr-defined]
        return resp

    def json_entry(payload: object) -> Cached:
        return Cached.build(app.json.dumps(payload).encode("utf-8"), "application/json")

    app.extensions["users"] = users
    app.extensions["editor"] = editor
    pending = backends.pending_imports(
        catalog.gazetteer, catalog.boundaries, ttl=IMPORT_TTL_SECONDS, cap=IMPORT_PENDING_CAP
    )
    app.extensions["pending_imports"] = pending

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
        resp = jsonify(exc.to_dict())
        if isinstance(exc, Busy):
            resp.headers["Retry-After"] = str(exc.retry_after)
        return resp, exc.status

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        return jsonify(
            {"error": f"{exc.description} Send the csrf_token form field or the X-CSRFToken header (GET /api/me)."}
        ), 400

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.code == 404:
            message = (
                f"no such route {request.path!r}; see /api/layers, /api/regions/<adcode>, /api/search?q=, "
                "/export/<id>.<ext>, /ogc"
            )
        elif exc.code == 405:
            allowed = [v for k, v in exc.get_headers() if k == "Allow"]
            message = f"method {request.method} is not allowed here; allowed: {', '.join(allowed) or 'GET'}"
        elif exc.code == 413:
            message = f"request body too large; at most {_body_limit()} bytes are accepted here"
        else:
            message = exc.description
        resp = jsonify({"error": message})
        for k, v in exc.get_headers():
            if k.lower() not in ("content-type", "content-length"):
                resp.headers[k] = v
        return resp, exc.code

    @app.before_request
    def _limits():
        raw_uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
        if len(raw_uri) > settings.max_url_length:
            return jsonify({"error": f"URL too long; at most {settings.max_url_length} characters"}), 414
        header_bytes = sum(len(k) + len(v) + 4 for k, v in request.headers.items())
        if header_bytes > settings.max_header_bytes:
            return jsonify({"error": f"request headers too large; at most {settings.max_header_bytes} bytes"}), 431
        if (request.content_length or 0) > _body_limit():
            return jsonify({"error": f"request body too large; at most {_body_limit()} bytes are accepted here"}), 413
        return None

    def _body_limit() -> int:
        """Uploads may be large (`import_max_bytes`); every other route takes at most `max_body_bytes`."""
        return settings.import_max_bytes if request.endpoint in UPLOAD_ENDPOINTS else settings.max_body_bytes

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error on %s", request.path)
        return jsonify({"error": "internal error; it has been logged"}), 500

    embed_secure = security_headers(settings, settings.embed_frame_ancestors)

    @app.after_request
    def _headers(resp: Response) -> Response:
        # The embeddable view may be framed as `embed_frame_ancestors` says; every other answer as `frame_ancestors`.
        for k, v in (embed_secure if request.endpoint == "embed" else secure).items():
            resp.headers.setdefault(k, v)
        return _gzip(resp)

    # every module of the page, announced up front (modulepreload): fetched at once, not import by import
    modules = sorted(p.name for p in (Path(app.static_folder or "static") / "app" / "js").glob("*.js"))

    def _page(embed: bool) -> str:
        config = {
            "basemaps": [b.model_dump(exclude_none=True) for b in settings.basemaps],
            "ogc_url": base_url() + "/ogc",
            "version": VERSION,
            "unverified": catalog.unverified,
            "data_date": DATA_DATE,
            "revision": catalog.revision(),
            "embed": embed,
            "catalog": layers_payload(),
        }
        return render_template("index.html", config=config, embed=embed, modules=modules)

    @app.get("/")
    def index():
        return _page(embed=False)

    @app.get("/embed")
    def embed():
        """The map without the side panel, for an <iframe> on another site (framing: `embed_frame_ancestors`)."""
        return _page(embed=True)

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    styles = app.config["KECHUANG_STYLES"] = style_table()  # the one table: web map, printed map, HTML export

    def layers_payload() -> dict[str, Any]:
        """The answer of /api/layers; the page carries it too, so the map starts without asking for it."""
        return {
            "unverified": catalog.unverified,
            "home": catalog.home(),
            "layers": [catalog.summary(catalog.spec(i)) for i in catalog.ids()],
            "styles": styles,
        }

    @app.get("/api/layers")
    def api_layers():
        return send(("layers",), lambda: json_entry(layers_payload()))

    @app.get("/api/layers/<layer_id>")
    def api_layer(layer_id: str):
        catalog.spec(layer_id)  # unknown layer: 404 before anything is kept
        bbox = parse_bbox(request.args.get("bbox"))
        zoom = int_arg(request.args, "zoom", low=0, high=18)
        datum = _datum_arg()
        ids = parse_ids(request.args.get("ids"), max_count=settings.max_ids)
        as_of = parse_as_of(request.args.get("as_of"))
        bucket = zoom if zoom is not None and zoom < 12 else None
        clip = request.args.get("clip", "").lower() in ("1", "true")  # a map view: cut to the bbox
        key = ("layer", layer_id, bbox, bucket, datum, tuple(ids or ()), as_of, clip)

        def build() -> Cached:
            query: dict[str, Any] = {"bbox": bbox, "zoom": zoom, "datum": datum, "ids": ids, "clip": clip}
            if as_of is None:
                body = catalog.geojson(layer_id, **query)
            else:
                body = geojson_as_of(catalog, layer_id, as_of, **query)
            return Cached.build(body, MEDIA_TYPE, {"Access-Control-Allow-Origin": "*"})

        return send(key, build)

    @app.get("/api/thematic/<layer_id>")
    def api_thematic(layer_id: str):
        """Without `field`: the layer's numeric fields. With it: the classified thematic map (layers/thematic.py)."""
        catalog.spec(layer_id)
        least = settings.thematic_min_regions
        if not any(request.args.get(k) for k in ("field", "method", "k", "palette")):
            return send(("thematic", layer_id), lambda: json_entry(thematic.fields(catalog, layer_id, min_count=least)))
        options = thematic.parse_options(request.args, styles)
        return send(("thematic", layer_id, options), lambda: json_entry(_thematic(layer_id, options)))

    def _thematic(layer_id: str, options: thematic.Options) -> dict[str, Any]:
        return thematic.thematic(
            catalog,
            layer_id,
            options,
            styles,
            min_count=settings.thematic_min_regions,
            natural_breaks_max=settings.thematic_natural_breaks_max,
        )

    @app.get("/api/regions/<adcode>")
    def api_region(adcode: str):
        as_of = parse_as_of(request.args.get("as_of"))
        if as_of is None:
            return send(("region", adcode), lambda: json_entry(catalog.profiles.get(adcode)))
        return send(
            ("region", adcode, as_of), lambda: json_entry(profile_as_of(catalog, catalog.profiles.get(adcode), as_of))
        )

    @app.get("/api/timeline")
    def api_timeline():
        """The years the data carries (for a year control) and, per dated layer, its years and undated count."""
        return send(("timeline",), lambda: json_entry(timeline_years(catalog)))

    @app.get("/api/query")
    def api_query():
        """Which counties/cities are in these region layers, contain these sites, meet these figures (layers/query)."""
        question = parse_query(catalog, request.args.to_dict(flat=False))
        return send(("query", tuple(question.params())), lambda: json_entry(query_answer(catalog, question)))

    @app.get("/api/query/layers")
    def api_query_layers():
        """What a question can name: region layers with their numeric fields, site layers."""
        return send(("query-layers",), lambda: json_entry(query_layers(catalog)))

    @app.get("/api/compare")
    def api_compare():
        ids = parse_compare_ids(request.args.get("ids"))
        return send(("compare", tuple(ids)), lambda: json_entry(compare(catalog, ids)))

    @app.get("/export/compare.pdf")
    def export_compare_pdf():
        ids = parse_compare_ids(request.args.get("ids"))
        lang = request.args.get("lang", "zh")
        if lang not in COMPARE_LANGS:
            raise BadRequest(f"lang must be {' or '.join(COMPARE_LANGS)}, got {lang!r}")
        comparison = compare(catalog, ids)  # unknown adcode: 404 before any drawing
        link = f"{base_url()}/#cmp={','.join(ids)}&cmpv=1"  # the page with this comparison open

        def build() -> Cached:
            _print_slot()
            try:
                body = compare_pdf(comparison, lang=lang, link=link)
            finally:
                print_slots.release()
            name = "-".join(
                r["name_en" if lang == "en" and r.get("name_en") else "name"] for r in comparison["regions"]
            )
            headers = {"Content-Disposition": _disposition(f"{name}.pdf", f"compare-{'-'.join(ids)}.pdf")}
            return Cached.build(body, "application/pdf", headers, compress=False)

        return send(("compare.pdf", tuple(ids), lang, link), build)

    @app.get("/api/search")
    def api_search():
        q = request.args.get("q")
        limit = int_arg(request.args, "limit", low=1, high=50, default=12)
        return send(("search", q, limit), lambda: json_entry({"results": search(catalog, q, limit=limit)}))

    # --- signing in -----------------------------------------------------------------------------------
    def _login_page(message: str | None = None, status: int = 200):
        user = _current_user(users) if "Authorization" not in request.headers else None
        lang = _login_lang()
        page = render_template(
            "login.html",
            user=user,
            message=LOGIN_TEXT[lang][message] if message else None,
            next=_next_url(),
            csrf_token=generate_csrf(),
            T=LOGIN_TEXT[lang],
            lang="" if lang == "both" else lang,
        )
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
            return _login_page("expired", 400)
        user = users.check_password(request.form.get("name", "").strip(), request.form.get("password", ""))
        if user is None:
            return _login_page("wrong", 401)
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

    def _reconcile_upload():
        """The uploaded file (multipart `file`) or pasted `text` (form or JSON) reconciled with the boundaries,
        with the options of the same names as the CLI's; also the source's name for the audit log."""
        body = request.get_json(silent=True) if request.is_json else None
        fields = body if isinstance(body, dict) else request.form
        options = ImportOptions.from_form(fields)
        upload = request.files.get("file")
        text = fields.get("text")
        if text is not None and not isinstance(text, str):
            raise BadRequest("text must be the pasted names, one a line")
        if upload is not None:
            table = read_upload(upload.stream, upload.filename or "upload", options, settings)
            source = upload.filename or "upload"
        else:
            if not text or not text.strip():
                raise BadRequest("send a file (multipart field `file`) or pasted names (field `text`)")
            table = read_upload(None, None, options, settings, text=text)
            source = "pasted names"
        return options, reconcile(table, catalog.gazetteer, catalog.boundaries, options), source

    @app.post("/api/imports")
    def api_import_check():
        user = _require("editor")
        options, result, source = _reconcile_upload()
        title = options.title or Path(source).stem or "imported list"
        import_id = pending.add(result, owner=user.name, source=source, title=title)
        report = result.report()
        report["import_id"] = import_id
        report["title"] = title
        report["file_columns"] = [str(c) for c in result.table.columns]
        report["preview"] = _preview(result)
        return app.response_class(app.json.dumps(report, default=str), mimetype="application/json")

    @app.post("/api/imports/<import_id>/commit")
    def api_import_commit(import_id: str):
        user = _require("editor")
        checked = pending.get(import_id)
        body = _json_body()
        title = body.get("title") or checked.title
        resolutions = body.get("resolutions") or {}
        if not isinstance(title, str) or not title.strip():
            raise BadRequest('send {"title": "<layer title>", "resolutions": {"<row>": "<adcode>" or "skip"}}')
        if not isinstance(resolutions, dict):
            raise BadRequest('resolutions maps a row number to an adcode or "skip": {"3": "330109", "5": "skip"}')
        frame = checked.result.features(resolutions)
        info = editor.save(title.strip(), frame, actor=user.name, source=f"import of {checked.source}")
        pending.drop(import_id)
        return jsonify({"layer": info.id, "title": info.title, "count": info.count}), 201

    @app.put("/api/layers/<layer_id>")
    def api_layer_replace(layer_id: str):
        """A new version of a user layer: a GeoJSON body or file as it is, any other file through the import
        engine (with the import options as form fields; rows left unresolved: 409, or `skip_unresolved`)."""
        user = _require("editor")
        _user_layer(layer_id)
        upload = request.files.get("file")
        body = request.get_json(silent=True) if request.is_json else None
        pasted = "text" in request.form or (isinstance(body, dict) and "text" in body)
        geojson = upload.filename.lower().endswith((".geojson", ".json")) if upload and upload.filename else False
        if (upload is None and not pasted) or geojson:
            raw = upload.read() if upload is not None else request.get_data()
            source = upload.filename if upload is not None and upload.filename else "GeoJSON upload"
            editor.replace(layer_id, _geojson_frame(raw), actor=user.name, source=source)
            return jsonify(_summary(layer_id))
        _options, result, source = _reconcile_upload()
        skip = request.form.get("skip_unresolved", "").lower() in ("1", "true", "yes", "on")
        frame = result.features(skip_unresolved=skip)
        editor.replace(layer_id, frame, actor=user.name, source=f"import of {source}")
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
        layer_id: str,
        frame: GeoDataFrame | None = None,
        background: bool = False,
        figures: bool = False,
        lang: str = "zh",
        as_of: int | None = None,
    ) -> formats.ExportLayer:
        spec = catalog.spec(layer_id)
        frame = catalog.frame(layer_id) if frame is None else frame
        related: tuple[formats.Table, ...] = ()
        if figures:
            profile_of = None if as_of is None else profiles_as_of(catalog, as_of)
            frame, related = with_figures(catalog, layer_id, frame, profile_of)
        return formats.ExportLayer(
            layer_id,
            spec.title_en or spec.title if lang == "en" else spec.title,
            frame,
            catalog.metadata(layer_id),
            print_style(styles, layer_id, lang),
            background,
            related,
        )

    def _print_slot() -> None:
        """Take one of the print pool's slots, waiting at most `print_wait_s`; else a 503 with Retry-After."""
        if not print_slots.acquire(timeout=settings.print_wait_s):
            raise Busy(
                f"all {settings.print_workers} print slots are busy; retry in a few seconds",
                retry_after=max(int(settings.print_wait_s), 1) * 2,
            )

    @app.get("/export/<filename>")
    def export_download(filename: str):
        layer_id, fmt = formats.split_ext(filename)
        extra = [x for x in (p.strip() for p in request.args.get("layers", "").split(",")) if x]
        if layer_id == formats.VIEW_ID:  # /export/view.<ext>?layers=a,b: the named layers (those on screen)
            if not extra:
                raise BadRequest(
                    f"/export/{formats.VIEW_ID}.<ext> needs layers=a,b (layer ids); the ids are in /api/layers"
                )
            layer_id = extra[0]
        layer_ids = list(dict.fromkeys([layer_id, *extra]))
        for i in layer_ids:
            catalog.spec(i)  # unknown layer: 404 before any work
        ids = parse_ids(request.args.get("ids"), max_count=settings.max_ids)  # the cap, before any work
        if fmt.is_print:
            mapprint.page_from_options(request.args, max_pixels=settings.print_max_pixels)
            mapprint.check_label_field(request.args.get("label_field"), settings.print_label_fields)
        bbox = parse_bbox(request.args.get("bbox"))
        as_of = parse_as_of(request.args.get("as_of"))
        lang = map_lang(request.args.get("lang"))  # maps: their own words (legend, scale, footer) in zh or en
        options: dict[str, Any] = {
            k: request.args[k] for k in (*formats.MAP_OPTIONS, *formats.DATA_OPTIONS) if request.args.get(k)
        }
        figures = not fmt.is_map and formats.choice(options, "figures", formats.FIGURES_MODES) != "none"
        over = request.args.get("over")
        if over is None and fmt.is_print:
            over = catalog.spec(layer_id).print_over
        elif over is None and fmt.is_map:  # the offline map: county and city outlines under the data
            over = ",".join(HTML_CONTEXT)
        over_ids = [x.strip() for x in dict.fromkeys((over or "").split(",")) if x.strip() and x not in layer_ids]
        for i in over_ids:
            catalog.spec(i)
        theme = thematic.parse_text(request.args["thematic"], styles) if request.args.get("thematic") else None
        theme_layer = request.args.get("thematic_layer") or layer_id
        if theme is not None and (not fmt.is_map or theme_layer not in layer_ids):
            raise BadRequest(
                "thematic=<field>:<method>:<k>:<palette> draws html, png and pdf maps of a layer exported "
                f"(thematic_layer: one of {', '.join(layer_ids)})"
            )
        key = ("export", filename, tuple(sorted(request.args.items(multi=True))))

        def build() -> Cached:
            frames = {i: catalog.frame(i) for i in layer_ids}
            if as_of is not None:  # what existed as of the year: later features left out, undated ones marked
                frames = {i: frame_as_of(catalog, i, f, as_of)[0] for i, f in frames.items()}
            context = [_export_layer(i, background=True, lang=lang) for i in over_ids] if fmt.is_map else []
            chosen = select_layers(frames, bbox=bbox, ids=ids or None)
            if as_of is not None and fmt.is_print and not options.get("subtitle"):  # the map says its year
                options["subtitle"] = as_of_note(as_of, chosen.values(), lang)
            layers = context + [_export_layer(i, chosen[i], figures=figures, lang=lang, as_of=as_of) for i in layer_ids]
            cited: list[str] = []
            if theme is not None:  # the thematic layer: classed from the whole layer, drawn from its chosen part
                answer = _thematic(theme_layer, theme)
                cited = [document_title(src, lang) for src in answer["sources"]]
                layers = [
                    thematic.themed(lay, answer, styles) if lay.name == theme_layer and not lay.background else lay
                    for lay in layers
                ]
            if bbox is not None:
                options["bbox"] = bbox
            options["leaflet_dir"] = leaflet_dir
            regions = any(catalog.spec(lay.name).kind == "regions" for lay in layers)
            return _export_entry(fmt, layers, options, regions, lang, cited)

        return send(key, build)

    def _export_entry(
        fmt: formats.Format,
        layers: list[formats.ExportLayer],
        options: dict,
        regions: bool,
        lang: str = "zh",
        cited: list[str] | None = None,
    ) -> Cached:
        """Write `layers` in `fmt` as a download; drawn maps cite their sources (`cited` first: the documents
        of a thematic map's figures, each named once) and run in the print pool."""
        if fmt.is_map:  # maps cite documents by title and the boundary data by name
            drawn = print_sources(
                [lay.frame for lay in layers if not lay.background],
                boundary_source=catalog.boundaries.metadata.get("source", "") if regions else None,
                lang=lang,
            )
            sep = "; " if lang == "en" else "；"
            options["sources"] = sep.join(dict.fromkeys([*(cited or []), *filter(None, drawn.split(sep))]))
            _print_slot()  # drawn maps run in the bounded print pool
            try:
                body = fmt.write(layers, options)
            finally:
                print_slots.release()
        else:
            body = fmt.write(layers, options)
        headers = {"Content-Disposition": _disposition(*fmt.download_name(layers))}
        return Cached.build(body, fmt.media_type, headers, compress=False)

    @app.get("/export/query.<path:ext>")
    def export_query(ext: str):
        """The answer of /api/query (same parameters) as a download: the matched regions with their boundaries."""
        _name, fmt = formats.split_ext(f"query.{ext}")
        question = parse_query(
            catalog, request.args.to_dict(flat=False), extra=(*formats.MAP_OPTIONS, *formats.DATA_OPTIONS)
        )
        if fmt.is_print:
            mapprint.page_from_options(request.args, max_pixels=settings.print_max_pixels)
            mapprint.check_label_field(request.args.get("label_field"), settings.print_label_fields)
        options: dict[str, Any] = {
            k: request.args[k] for k in (*formats.MAP_OPTIONS, "geometry") if request.args.get(k)
        }
        over = HTML_CONTEXT if fmt.is_map else ()
        lang = map_lang(request.args.get("lang"))
        key = ("export-query", fmt.ext, tuple(question.params()), tuple(sorted(options.items())))
        title = options.get("title") or "筛选结果"
        options.setdefault("subtitle", describe_query(catalog, question))

        def build() -> Cached:
            frame = query_frame(catalog, question)
            layer = formats.ExportLayer(
                "query",
                title,
                frame,
                {**catalog.metadata("counties"), "title": title, "description": describe_query(catalog, question)},
                print_style(styles, "query"),
            )
            context = [_export_layer(i, background=True, lang=lang) for i in over]
            options["leaflet_dir"] = leaflet_dir
            return _export_entry(fmt, [*context, layer], options, True, lang)

        return send(key, build)

    ogc_provider = CatalogProvider(catalog)
    ogc_title = "科创地图 OGC API – Features"

    def _ogc(handler, *path_args, **kw) -> Response:
        base = base_url() + "/ogc"
        key = ("ogc", request.endpoint, base, path_args, tuple(sorted(request.args.items(multi=True))))

        def build() -> Cached:
            r = handler(ogc_provider, base, *path_args, request.args, {}, **kw)
            extra = {k: v for k, v in r.headers.items() if k not in ("Content-Type", "ETag", "Last-Modified")}
            return Cached.build(r.body, r.headers["Content-Type"], extra, last_modified=ogc_provider.last_modified)

        return send(key, build)

    app.add_url_rule("/ogc", "ogc_landing", lambda: _ogc(ogc.landing, title=ogc_title))
    app.add_url_rule("/ogc/", "ogc_landing_slash", lambda: _ogc(ogc.landing, title=ogc_title))
    app.add_url_rule("/ogc/conformance", "ogc_conformance", lambda: _ogc(ogc.conformance))
    app.add_url_rule("/ogc/api", "ogc_api", lambda: _ogc(ogc.api, title=ogc_title))
    app.add_url_rule("/ogc/collections", "ogc_collections", lambda: _ogc(ogc.collections))
    app.add_url_rule("/ogc/collections/<cid>", "ogc_collection", lambda cid: _ogc(ogc.collection, cid))
    app.add_url_rule("/ogc/collections/<cid>/items", "ogc_items", lambda cid: _ogc(ogc.items, cid))
    app.add_url_rule("/ogc/collections/<cid>/items/<fid>", "ogc_item", lambda cid, fid: _ogc(ogc.item, cid, fid))

    return app


def waitress_options(settings: Settings) -> dict[str, object]:
    """The waitress adjustments `make run` uses (the bench serves its baseline with the same)."""
    return {
        "threads": settings.threads,
        "connection_limit": settings.connection_limit,
        "channel_timeout": settings.channel_timeout,
        "cleanup_interval": max(min(settings.channel_timeout // 2, 30), 1),
        "max_request_header_size": settings.max_request_header_size,
        "max_request_body_size": settings.max_request_body_size,
        "ident": settings.server_ident,
        "send_bytes": settings.send_bytes,
        "outbuf_overflow": 4 * 1024 * 1024,  # answers up to 4 MB stay in memory, not in a temporary file
        "asyncore_use_poll": True,  # select() stops at 1024 descriptors
        "clear_untrusted_proxy_headers": True,
    }


def _raise_open_files(wanted: int) -> None:
    """Let the process hold `connection_limit` sockets (the soft limit is often 1024)."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(
                resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard)
            )
    except (ImportError, ValueError, OSError):
        pass


def serve(app: Flask, settings: Settings) -> None:
    """Serve `app` with waitress until SIGTERM/SIGINT, then stop accepting and let running requests finish.

    Why waitress rather than gunicorn: the catalog (boundaries, simplified coverages, cached answers) is
    built once and shared by every thread of one process, so memory stays one copy and the response cache
    is hit by every request; gunicorn's pre-fork workers would each hold their own copy and warm their own
    cache. Waitress has no C dependency, runs on every platform, and bounds what matters here: worker
    threads, open connections, idle-connection time, header and body sizes. Answers come from cached bytes
    (the GIL is released while sockets write), and the expensive path (printing) has its own bounded pool.
    """
    from waitress import wasyncore
    from waitress.channel import HTTPChannel
    from waitress.server import create_server

    _raise_open_files(settings.connection_limit + 64)
    server = create_server(app, host=settings.host, port=settings.port, **waitress_options(settings))
    stop: dict[str, str] = {}

    def _stop(signum: int, _frame: object) -> None:
        stop.setdefault("signal", signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(
        f"科创地图 serving http://{settings.host}:{settings.port}/ (waitress, {settings.threads} threads)",
        file=sys.stderr,
        flush=True,
    )
    socket_map = server._map

    def busy() -> bool:
        return any(
            ch.requests or ch.total_outbufs_len for ch in list(socket_map.values()) if isinstance(ch, HTTPChannel)
        )

    while not stop:
        wasyncore.loop(timeout=0.5, map=socket_map, use_poll=True, count=1)
    print(
        f"{stop['signal']}: stopping; running requests get {settings.shutdown_timeout} s", file=sys.stderr, flush=True
    )
    wasyncore.dispatcher.close(server)  # stop accepting; keep serving the requests already in
    deadline = time.monotonic() + settings.shutdown_timeout
    while busy() and time.monotonic() < deadline:
        wasyncore.loop(timeout=0.1, map=socket_map, use_poll=True, count=1)
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
    wasyncore.close_all(socket_map)
    print("stopped", file=sys.stderr, flush=True)


def _preview(result: Any) -> dict[str, Any]:
    """What matched so far, as a GeoJSON FeatureCollection for the check's map preview (simplified, limited)."""
    try:
        frame = result.features(skip_unresolved=True)
    except ApiError:  # nothing matched yet
        return {"type": "FeatureCollection", "features": []}
    frame = frame.iloc[:PREVIEW_FEATURES].copy()
    frame["geometry"] = frame.geometry.simplify(0.001, preserve_topology=True)
    keep = [c for c in ("adcode", "name", "city", "county_adcode") if c in frame.columns]
    frame = frame[[*keep, "geometry"]]
    return json.loads(frame.to_json(default=str, drop_id=True))


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
    except (DatabaseStartError, Unavailable) as exc:  # unreachable at start-up, or gone while starting
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    except (DataError, BoundaryDataError) as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1
    serve(app, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
