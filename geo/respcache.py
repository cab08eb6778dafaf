"""Answers computed once and served from bytes: raw + gzip + strong ETag, 304s, Accept-Encoding q-values, Range.

`Cached.build` turns a body into an immutable entry (identity bytes, gzip bytes when worth it, one ETag per
representation). `ResponseCache` keeps entries in a thread-safe LRU bounded by total bytes and computes each
key once even when many requests ask for it at the same moment. `answer` picks the representation for one
request and returns (status, headers, body): 304 on a matching `If-None-Match` / `If-Modified-Since`,
206 / 416 for a single `Range` (ranges apply to the identity bytes, so `/vsicurl/` readers see stable
offsets), gzip only when the client's `Accept-Encoding` gives it a non-zero q-value.
Knows nothing about any web framework.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import gzip
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field

MIN_GZIP = 1024  # smaller bodies are sent as they are
COMPRESSIBLE_PREFIXES = ("text/", "application/json", "application/geo+json", "application/javascript")
COMPRESSIBLE_EXTRA = ("application/vnd.oai.openapi+json", "image/svg+xml", "application/vnd.google-earth.kml+xml")
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def compressible(media_type: str) -> bool:
    base = media_type.split(";")[0].strip().lower()
    return base.startswith(COMPRESSIBLE_PREFIXES) or base in COMPRESSIBLE_EXTRA


@dataclass(frozen=True)
class Cached:
    """One answer as bytes: `raw` (identity), `gz` (gzip of raw, or None) and their strong ETags."""

    raw: bytes
    gz: bytes | None
    etag: str  # '"<sha256 prefix>"' of raw
    media_type: str
    headers: Mapping[str, str] = field(default_factory=dict)  # extra headers sent with every answer
    last_modified: _dt.datetime | None = None

    @property
    def etag_gz(self) -> str:
        return self.etag[:-1] + '-gz"'

    @property
    def size(self) -> int:
        return len(self.raw) + len(self.gz or b"")

    @classmethod
    def build(
        cls,
        raw: bytes,
        media_type: str,
        headers: Mapping[str, str] | None = None,
        *,
        last_modified: _dt.datetime | None = None,
        compress: bool | None = None,
    ) -> Cached:
        if compress is None:
            compress = compressible(media_type)
        gz = gzip.compress(raw, compresslevel=6, mtime=0) if compress and len(raw) >= MIN_GZIP else None
        if gz is not None and len(gz) >= len(raw):
            gz = None
        etag = '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'
        return cls(raw, gz, etag, media_type, dict(headers or {}), last_modified)


class ResponseCache:
    """A thread-safe LRU of `Cached` entries bounded by their total bytes; each key is computed once."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, Cached] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    def get(self, key: Hashable) -> Cached | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, entry: Cached) -> None:
        if entry.size > self.max_bytes:
            return  # too big to keep; still served
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[key] = entry
            self._bytes += entry.size
            while self._bytes > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.size

    def get_or_build(self, key: Hashable, build: Callable[[], Cached]) -> Cached:
        """The entry for `key`, built by `build()` once; concurrent askers of the same key wait for it.
        An exception from `build` propagates and nothing is kept."""
        entry = self.get(key)
        if entry is not None:
            return entry
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        try:
            with key_lock:
                entry = self.get(key)
                if entry is None:
                    entry = build()
                    self.put(key, entry)
        finally:
            with self._lock:
                self._key_locks.pop(key, None)
        return entry


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether `Accept-Encoding` allows gzip: listed (or `*`) with q > 0; `gzip;q=0` refuses it."""
    if not accept_encoding:
        return False
    star: float | None = None
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip().lower()
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name in ("gzip", "x-gzip"):
            return q > 0
        if name == "*":
            star = q
    return star is not None and star > 0


def _etag_matches(header: str, etags: tuple[str, ...]) -> bool:
    if header.strip() == "*":
        return True
    bare = {e.removeprefix("W/") for e in etags}
    return any(t.strip().removeprefix("W/") in bare for t in header.split(","))


def not_modified_since(header: str | None, last_modified: _dt.datetime | None) -> bool:
    if not header or last_modified is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    if since is None:
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=_dt.UTC)
    lm = last_modified if last_modified.tzinfo else last_modified.replace(tzinfo=_dt.UTC)
    return lm.replace(microsecond=0) <= since


def http_date(when: _dt.datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return email.utils.format_datetime(when.astimezone(_dt.UTC), usegmt=True)


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """A single `bytes=a-b`, `bytes=a-` or `bytes=-n` → inclusive (start, end); None when unsatisfiable.
    Raises ValueError when the header is not a single byte range (the caller then ignores it)."""
    m = _RANGE.match(header)
    if not m or (m.group(1) == "" and m.group(2) == ""):
        raise ValueError(header)
    first, last = m.group(1), m.group(2)
    if first == "":  # suffix: the last n bytes
        n = int(last)
        if n == 0 or size == 0:
            return None
        return max(size - n, 0), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if last != "" and int(last) < start:
        raise ValueError(header)
    if start >= size:
        return None
    return start, end


def answer(
    entry: Cached, request_headers: Mapping[str, str], *, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) for one request of a cached answer. Headers are looked up case-insensitively
    through `request_headers.get` (pass a framework's header object or a dict with canonical names)."""
    get = request_headers.get
    headers: dict[str, str] = {**entry.headers, "Content-Type": entry.media_type, "Accept-Ranges": "bytes"}
    if entry.last_modified is not None:
        headers["Last-Modified"] = http_date(entry.last_modified)
    if entry.gz is not None:
        headers["Vary"] = "Accept-Encoding"
    range_header = get("Range")
    use_gz = entry.gz is not None and not range_header and accepts_gzip(get("Accept-Encoding"))
    etag = entry.etag_gz if use_gz else entry.etag
    headers["ETag"] = etag
    inm = get("If-None-Match")
    if method in ("GET", "HEAD") and (
        (inm and _etag_matches(inm, (entry.etag, entry.etag_gz)))
        or (not inm and not_modified_since(get("If-Modified-Since"), entry.last_modified))
    ):
        headers.pop("Content-Type", None)
        return 304, headers, b""
    body = entry.gz if use_gz and entry.gz is not None else entry.raw
    if range_header and method == "GET":
        if_range = get("If-Range")
        if not if_range or if_range.strip() == entry.etag:
            try:
                span = parse_range(range_header, len(entry.raw))
            except ValueError:
                span = (0, len(entry.raw) - 1) if entry.raw else None
                range_header = None  # malformed or several ranges: send the whole identity body
            if range_header is not None:
                if span is None:
                    headers["Content-Range"] = f"bytes */{len(entry.raw)}"
                    headers.pop("ETag", None)
                    return 416, headers, b""
                start, end = span
                headers["Content-Range"] = f"bytes {start}-{end}/{len(entry.raw)}"
                return 206, headers, entry.raw[start : end + 1]
    if use_gz:
        headers["Content-Encoding"] = "gzip"
    return 200, headers, body
