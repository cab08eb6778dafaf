"""OGC API – Features Part 1 Core, as plain handler functions over any `CollectionProvider`.

A provider (a protocol, like pygeoapi's feature providers) lists collections and answers `items` (bbox,
property filters, limit, offset) and `item`; `frame_page`, `frame_item` and `frame_bbox` help providers that
hold GeoDataFrames. Nothing here knows which data is served.

Every handler takes the provider, the public base URL of the API (e.g. `http://host/ogc`), the request's
query arguments and headers, and returns an `OgcResponse` (body bytes, status, headers) that a web layer
sends as-is. Encodings: JSON for resources, GeoJSON for features (`?f=json`/`?f=geojson`). Responses carry
a strong `ETag` (hash of the body) and `Last-Modified`; `If-None-Match` / `If-Modified-Since` give 304.
Client mistakes raise `geo.errors.BadRequest` / `NotFound`.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import hashlib
import json
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from geopandas import GeoDataFrame

from .errors import BadRequest, NotFound
from .geojson import MEDIA_TYPE as GEOJSON
from .geojson import feature_collection, to_bytes
from .params import int_arg, parse_bbox
from .respcache import not_modified_since  # one reading of If-Modified-Since for every cached answer
from .select import select

JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
)
DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
ITEMS_PARAMS = {"limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "f"}
FORMAT_VALUES = {None, "", "json", "geojson"}


WORLD = (-180.0, -90.0, 180.0, 90.0)


@dataclass(frozen=True)
class CollectionInfo:
    """What the API says about one collection: id, title, description, extent (CRS84) and plain metadata."""

    id: str
    title: str
    description: str = ""
    bbox: tuple[float, float, float, float] = WORLD
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ItemsPage:
    """One page of a collection's features (WGS-84, index = feature id) and how many matched in all."""

    features: GeoDataFrame
    number_matched: int


@runtime_checkable
class CollectionProvider(Protocol):
    """Where the features come from (after pygeoapi's feature providers: one interface, any backend).

    `collection` answers None for an unknown id and `item` None for an unknown feature; the handlers turn
    those into 404s. `queryables` are the properties a client may filter on by equality (`?name=…`).
    """

    @property
    def last_modified(self) -> _dt.datetime: ...
    def collections(self) -> Sequence[CollectionInfo]: ...
    def collection(self, collection_id: str) -> CollectionInfo | None: ...
    def queryables(self, collection_id: str) -> Sequence[str]: ...
    def items(
        self,
        collection_id: str,
        *,
        bbox: tuple[float, float, float, float] | None,
        properties: Mapping[str, str],
        limit: int,
        offset: int,
    ) -> ItemsPage: ...
    def item(self, collection_id: str, feature_id: str) -> GeoDataFrame | None: ...


# ---------------------------------------------------------------- for providers that hold GeoDataFrames


def frame_bbox(frame: GeoDataFrame) -> tuple[float, float, float, float]:
    """A frame's extent rounded to 6 decimals (the whole world when it is empty)."""
    if len(frame) == 0:
        return WORLD
    minx, miny, maxx, maxy = (round(float(v), 6) for v in frame.total_bounds)
    return (minx, miny, maxx, maxy)


def frame_page(
    frame: GeoDataFrame,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    properties: Mapping[str, str] | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> ItemsPage:
    """A page of the features of `frame` matching `bbox` and the property filters (geo.select)."""
    matched = select(frame, bbox=bbox, properties=properties)
    return ItemsPage(matched.iloc[offset : offset + limit], len(matched))


def frame_item(frame: GeoDataFrame, feature_id: str) -> GeoDataFrame | None:
    """The one-row frame of feature `feature_id`, or None."""
    hit = frame[frame.index.astype(str) == str(feature_id)]
    return hit if len(hit) else None


@dataclass(frozen=True)
class OgcResponse:
    body: bytes
    status: int
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


# ---------------------------------------------------------------- helpers


def _http_date(when: _dt.datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return email.utils.format_datetime(when.astimezone(_dt.UTC), usegmt=True)


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = [t.strip() for t in header.split(",")]
    bare = etag.removeprefix("W/")
    return any(t.removeprefix("W/") == bare for t in tags)


def _respond(
    payload: Any,
    media_type: str,
    provider: CollectionProvider,
    request_headers: Mapping[str, str] | None,
    *,
    encoded: bytes | None = None,
) -> OgcResponse:
    body = (
        encoded
        if encoded is not None
        else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    )
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    last_modified = provider.last_modified
    headers = {
        "Content-Type": media_type,
        "ETag": etag,
        "Last-Modified": _http_date(last_modified),
        "Cache-Control": "no-cache",
        "Access-Control-Allow-Origin": "*",
    }
    if media_type == GEOJSON:
        headers["Content-Crs"] = f"<{CRS84}>"
    req = {k.lower(): v for k, v in (request_headers or {}).items()}
    inm = req.get("if-none-match")
    if _etag_matches(inm, etag) or (inm is None and not_modified_since(req.get("if-modified-since"), last_modified)):
        return OgcResponse(b"", 304, {k: v for k, v in headers.items() if k != "Content-Type"})
    return OgcResponse(body, 200, headers)


def _args(args: Mapping[str, Any] | None) -> dict[str, str]:
    if not args:
        return {}
    out = {}
    for k in args:
        v = args.get(k)
        out[str(k)] = v if isinstance(v, str) else str(v)
    return out


def _check_format(args: Mapping[str, str]) -> None:
    f = args.get("f")
    if f not in FORMAT_VALUES:
        raise BadRequest(f"f must be json or geojson (HTML is not offered), got {f!r}")


def _check_known(args: Mapping[str, str], allowed: set[str]) -> None:
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise BadRequest(f"unknown query parameter(s) {', '.join(unknown)}; accepted: {', '.join(sorted(allowed))}")


def _link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


def _collection(provider: CollectionProvider, collection_id: str) -> CollectionInfo:
    info = provider.collection(collection_id)
    if info is None:
        known = ", ".join(c.id for c in provider.collections())
        raise NotFound(f"unknown collection {collection_id!r}; known: {known}")
    return info


# ---------------------------------------------------------------- resources


def landing(
    provider: CollectionProvider,
    base: str,
    args: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    title: str = "OGC API – Features",
    description: str = "",
) -> OgcResponse:
    a = _args(args)
    _check_format(a)
    payload = {
        "title": title,
        "description": description or "Vector layers as OGC API – Features (Part 1 Core, GeoJSON).",
        "links": [
            _link(f"{base}?f=json", "self", JSON, "this document"),
            _link(f"{base}/api", "service-desc", OPENAPI, "the API definition (OpenAPI 3.0)"),
            _link(f"{base}/api", "service-doc", OPENAPI, "the API documentation"),
            _link(f"{base}/conformance", "conformance", JSON, "conformance classes implemented"),
            _link(f"{base}/collections", "data", JSON, "the feature collections"),
        ],
    }
    return _respond(payload, JSON, provider, headers)


def conformance(
    provider: CollectionProvider,
    base: str,
    args: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> OgcResponse:
    _check_format(_args(args))
    return _respond({"conformsTo": list(CONFORMANCE)}, JSON, provider, headers)


def _collection_doc(info: CollectionInfo, base: str) -> dict:
    cid = info.id
    bbox = [float(v) for v in info.bbox]
    meta = {k: v for k, v in info.metadata.items() if isinstance(v, (str, int, float)) and v is not None}
    doc = {
        "id": cid,
        "title": info.title,
        "description": info.description,
        "itemType": "feature",
        "extent": {"spatial": {"bbox": [bbox], "crs": CRS84}, "temporal": {"interval": [[None, None]]}},
        "crs": [CRS84],
        "storageCrs": CRS84,
        "links": [
            _link(f"{base}/collections/{_q(cid)}", "self", JSON, "this collection"),
            _link(f"{base}/collections/{_q(cid)}/items", "items", GEOJSON, "the features (GeoJSON)"),
        ],
    }
    if meta:
        doc["metadata"] = meta
        if meta.get("licence") or meta.get("license"):
            doc["license"] = str(meta.get("licence") or meta.get("license"))
    return doc


def _q(value: str) -> str:
    return urllib.parse.quote(str(value), safe="")


def collections(
    provider: CollectionProvider,
    base: str,
    args: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> OgcResponse:
    _check_format(_args(args))
    payload = {
        "links": [_link(f"{base}/collections", "self", JSON, "the collections")],
        "crs": [CRS84],
        "collections": [_collection_doc(info, base) for info in provider.collections()],
    }
    return _respond(payload, JSON, provider, headers)


def collection(
    provider: CollectionProvider,
    base: str,
    collection_id: str,
    args: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> OgcResponse:
    _check_format(_args(args))
    return _respond(_collection_doc(_collection(provider, collection_id), base), JSON, provider, headers)


def items(
    provider: CollectionProvider,
    base: str,
    collection_id: str,
    args: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> OgcResponse:
    """`/collections/{id}/items`: `limit` (1..10000, default 10), `offset`, `bbox` (CRS84), `datetime`
    (accepted; the collections carry no time, so it does not filter), plus equality filters on
    string/number properties (`?name=…`)."""
    a = _args(args)
    _check_format(a)
    _collection(provider, collection_id)
    props = set(provider.queryables(collection_id))
    _check_known(a, ITEMS_PARAMS | props)
    limit = int_arg(a, "limit", low=1, high=MAX_LIMIT, default=DEFAULT_LIMIT, clamp=True) or DEFAULT_LIMIT
    offset = int_arg(a, "offset", low=0, default=0) or 0
    for name in ("bbox-crs", "crs"):
        crs = a.get(name)
        if crs and crs.strip("<>") not in (CRS84, "CRS84", "OGC:CRS84"):
            raise BadRequest(f"{name} must be {CRS84} (only CRS84 is served), got {crs!r}")
    found = provider.items(
        collection_id,
        bbox=parse_bbox(a.get("bbox")),
        properties={prop: a[prop] for prop in sorted(props & set(a))},
        limit=limit,
        offset=offset,
    )
    number_matched = found.number_matched
    page = found.features
    self_href = f"{base}/collections/{_q(collection_id)}/items"
    links = [
        _link(_with_query(self_href, a, {"f": "json"} if "f" in a else {}), "self", GEOJSON, "this page"),
        _link(f"{base}/collections/{_q(collection_id)}", "collection", JSON, "the collection"),
    ]
    if offset + len(page) < number_matched:
        links.append(
            _link(
                _with_query(self_href, a, {"offset": str(offset + limit), "limit": str(limit)}),
                "next",
                GEOJSON,
                "next page",
            )
        )
    if offset > 0:
        links.append(
            _link(
                _with_query(self_href, a, {"offset": str(max(offset - limit, 0)), "limit": str(limit)}),
                "prev",
                GEOJSON,
                "previous page",
            )
        )
    fc = feature_collection(page, extra={"numberMatched": number_matched, "numberReturned": len(page), "links": links})
    return _respond(None, GEOJSON, provider, headers, encoded=to_bytes(fc))


def _with_query(href: str, args: Mapping[str, str], overrides: Mapping[str, str]) -> str:
    merged = {**args, **overrides}
    return href + ("?" + urllib.parse.urlencode(merged) if merged else "")


def item(
    provider: CollectionProvider,
    base: str,
    collection_id: str,
    feature_id: str,
    args: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> OgcResponse:
    _check_format(_args(args))
    _collection(provider, collection_id)
    hit = provider.item(collection_id, str(feature_id))
    if hit is None or len(hit) == 0:
        raise NotFound(f"no feature {feature_id!r} in collection {collection_id!r}")
    feature = feature_collection(hit)["features"][0]
    feature["links"] = [
        _link(f"{base}/collections/{_q(collection_id)}/items/{_q(feature_id)}", "self", GEOJSON, "this feature"),
        _link(f"{base}/collections/{_q(collection_id)}", "collection", JSON, "the collection"),
    ]
    return _respond(None, GEOJSON, provider, headers, encoded=to_bytes(feature))


# ---------------------------------------------------------------- OpenAPI 3.0


def openapi_document(
    provider: CollectionProvider, base: str, *, title: str = "OGC API – Features", version: str = "1.0.0"
) -> dict:
    """The API definition: every path, its parameters and responses (OpenAPI 3.0.3)."""

    def ref(name: str) -> dict:
        return {"$ref": f"#/components/parameters/{name}"}

    def ok(desc: str, media: str, schema: str) -> dict:
        content = {media: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
        return {"200": {"description": desc, "content": content}, "400": {"$ref": "#/components/responses/BadRequest"}}

    cid_param = {
        "name": "collectionId",
        "in": "path",
        "required": True,
        "description": "collection id",
        "schema": {"type": "string", "enum": [c.id for c in provider.collections()]},
    }
    paths = {
        "/": {
            "get": {
                "summary": "landing page",
                "operationId": "getLandingPage",
                "tags": ["Capabilities"],
                "parameters": [ref("f")],
                "responses": ok("links to the API", JSON, "landingPage"),
            }
        },
        "/conformance": {
            "get": {
                "summary": "conformance classes",
                "operationId": "getConformanceDeclaration",
                "tags": ["Capabilities"],
                "parameters": [ref("f")],
                "responses": ok("conformance classes", JSON, "confClasses"),
            }
        },
        "/api": {
            "get": {
                "summary": "this API definition",
                "operationId": "getAPI",
                "tags": ["Capabilities"],
                "responses": {
                    "200": {"description": "OpenAPI 3.0 document", "content": {OPENAPI: {"schema": {"type": "object"}}}}
                },
            }
        },
        "/collections": {
            "get": {
                "summary": "feature collections",
                "operationId": "getCollections",
                "tags": ["Capabilities"],
                "parameters": [ref("f")],
                "responses": ok("the collections", JSON, "collections"),
            }
        },
        "/collections/{collectionId}": {
            "get": {
                "summary": "one feature collection",
                "operationId": "describeCollection",
                "tags": ["Capabilities"],
                "parameters": [cid_param, ref("f")],
                "responses": {
                    **ok("the collection", JSON, "collection"),
                    "404": {"$ref": "#/components/responses/NotFound"},
                },
            }
        },
        "/collections/{collectionId}/items": {
            "get": {
                "summary": "features of a collection",
                "operationId": "getFeatures",
                "tags": ["Data"],
                "parameters": [
                    cid_param,
                    ref("limit"),
                    ref("offset"),
                    ref("bbox"),
                    ref("bbox-crs"),
                    ref("datetime"),
                    ref("f"),
                ],
                "responses": {
                    **ok("a page of features", GEOJSON, "featureCollectionGeoJSON"),
                    "404": {"$ref": "#/components/responses/NotFound"},
                },
            }
        },
        "/collections/{collectionId}/items/{featureId}": {
            "get": {
                "summary": "one feature",
                "operationId": "getFeature",
                "tags": ["Data"],
                "parameters": [
                    cid_param,
                    {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}},
                    ref("f"),
                ],
                "responses": {
                    **ok("the feature", GEOJSON, "featureGeoJSON"),
                    "404": {"$ref": "#/components/responses/NotFound"},
                },
            }
        },
    }
    link = {
        "type": "object",
        "required": ["href"],
        "properties": {
            "href": {"type": "string"},
            "rel": {"type": "string"},
            "type": {"type": "string"},
            "title": {"type": "string"},
        },
    }
    links = {"type": "array", "items": {"$ref": "#/components/schemas/link"}}
    geometry = {"type": "object", "nullable": True, "required": ["type"], "properties": {"type": {"type": "string"}}}
    feature = {
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "geometry": {"$ref": "#/components/schemas/geometryGeoJSON"},
            "properties": {"type": "object", "nullable": True},
            "links": links,
        },
    }
    error = {"type": "object", "properties": {"error": {"type": "string"}}}
    error_content = {JSON: {"schema": {"$ref": "#/components/schemas/error"}}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": title,
            "version": version,
            "description": "OGC API – Features Part 1 Core; GeoJSON encoding; CRS84 coordinates.",
            "license": {"name": "see each collection's metadata"},
        },
        "servers": [{"url": base}],
        "tags": [{"name": "Capabilities"}, {"name": "Data"}],
        "paths": paths,
        "components": {
            "parameters": {
                "f": {
                    "name": "f",
                    "in": "query",
                    "required": False,
                    "description": "encoding",
                    "schema": {"type": "string", "enum": ["json", "geojson"]},
                },
                "limit": {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "style": "form",
                    "explode": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                },
                "offset": {
                    "name": "offset",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 0, "default": 0},
                },
                "bbox": {
                    "name": "bbox",
                    "in": "query",
                    "required": False,
                    "style": "form",
                    "explode": False,
                    "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
                },
                "bbox-crs": {
                    "name": "bbox-crs",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "format": "uri", "enum": [CRS84]},
                },
                "datetime": {
                    "name": "datetime",
                    "in": "query",
                    "required": False,
                    "style": "form",
                    "explode": False,
                    "schema": {"type": "string"},
                    "description": "accepted; the collections have no temporal extent",
                },
            },
            "schemas": {
                "link": link,
                "landingPage": {
                    "type": "object",
                    "required": ["links"],
                    "properties": {"title": {"type": "string"}, "description": {"type": "string"}, "links": links},
                },
                "confClasses": {
                    "type": "object",
                    "required": ["conformsTo"],
                    "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
                },
                "collection": {
                    "type": "object",
                    "required": ["id", "links"],
                    "properties": {
                        "id": {"type": "string"},
                        "title": {"type": "string"},
                        "description": {"type": "string"},
                        "links": links,
                        "extent": {"type": "object"},
                        "itemType": {"type": "string"},
                        "crs": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "collections": {
                    "type": "object",
                    "required": ["links", "collections"],
                    "properties": {
                        "links": links,
                        "collections": {"type": "array", "items": {"$ref": "#/components/schemas/collection"}},
                    },
                },
                "geometryGeoJSON": geometry,
                "featureGeoJSON": feature,
                "featureCollectionGeoJSON": {
                    "type": "object",
                    "required": ["type", "features"],
                    "properties": {
                        "type": {"type": "string", "enum": ["FeatureCollection"]},
                        "features": {"type": "array", "items": {"$ref": "#/components/schemas/featureGeoJSON"}},
                        "links": links,
                        "numberMatched": {"type": "integer", "minimum": 0},
                        "numberReturned": {"type": "integer", "minimum": 0},
                    },
                },
                "error": error,
            },
            "responses": {
                "BadRequest": {"description": "a parameter is malformed", "content": error_content},
                "NotFound": {"description": "unknown collection or feature", "content": error_content},
            },
        },
    }


def api(
    provider: CollectionProvider,
    base: str,
    args: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    title: str = "OGC API – Features",
) -> OgcResponse:
    a = _args(args)
    if a.get("f") not in (None, "", "json"):
        raise BadRequest(f"f must be json for the API definition, got {a.get('f')!r}")
    return _respond(openapi_document(provider, base, title=title), OPENAPI, provider, headers)
