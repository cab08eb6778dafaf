"""Settings, declared once: every value has a default and an environment override (KECHUANG_*)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _env(name: str, default: str) -> str:
    return os.environ.get(f"KECHUANG_{name.upper()}", default)


@dataclass(frozen=True)
class Settings:
    host: str = field(default_factory=lambda: os.environ.get("HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(os.environ.get("PORT", "5000")))
    boundaries: Path = field(
        default_factory=lambda: Path(_env("boundaries", str(ROOT / "boundaries" / "data" / "zhejiang.gpkg")))
    )
    layers_dir: Path = field(default_factory=lambda: Path(_env("layers_dir", str(ROOT / "layers" / "data"))))
    seeds_dir: Path = field(default_factory=lambda: Path(_env("seeds_dir", str(ROOT.parent / "shared" / "seeds"))))
    data_dir: Path = field(default_factory=lambda: Path(_env("data_dir", str(ROOT / "data"))))
    # Optional tile base maps: JSON list of {"id", "title", "url", "attribution", "datum", "max_zoom"}.
    # Empty by default: the map needs no external host.
    basemaps: tuple = field(default_factory=lambda: tuple(json.loads(_env("basemaps", "[]"))))
    # Production server (waitress): worker threads, open connections, idle-connection timeout (s), header and
    # body size limits (bytes), seconds in-flight requests get to finish on SIGTERM, the Server header, and
    # bytes sent per socket write (large answers leave in few writes; 18000, waitress's default, halves req/s).
    threads: int = field(default_factory=lambda: int(_env("threads", "8")))
    connection_limit: int = field(default_factory=lambda: int(_env("connection_limit", "1000")))
    channel_timeout: int = field(default_factory=lambda: int(_env("channel_timeout", "30")))
    max_request_header_size: int = field(default_factory=lambda: int(_env("max_request_header_size", "262144")))
    max_request_body_size: int = field(default_factory=lambda: int(_env("max_request_body_size", "1048576")))
    shutdown_timeout: int = field(default_factory=lambda: int(_env("shutdown_timeout", "10")))
    server_ident: str = field(default_factory=lambda: _env("server_ident", ""))
    send_bytes: int = field(default_factory=lambda: int(_env("send_bytes", "1048576")))
    # Limits the app enforces with a JSON 414 / 431 / 413 before any work (below waitress's hard limits).
    max_url_length: int = field(default_factory=lambda: int(_env("max_url_length", "16384")))
    max_header_bytes: int = field(default_factory=lambda: int(_env("max_header_bytes", "32768")))
    max_body_bytes: int = field(default_factory=lambda: int(_env("max_body_bytes", "65536")))
    # Answers kept as raw + gzip bytes (layers, OGC pages, profiles, search, exports): total size, in MB.
    response_cache_mb: int = field(default_factory=lambda: int(_env("response_cache_mb", "256")))
    # Most distinct feature ids one request may list (`ids=`); duplicates are dropped first.
    max_ids: int = field(default_factory=lambda: int(_env("max_ids", "1000")))
    # Printed maps (PNG/PDF/HTML exports): renders at once, seconds a request waits for a free slot before a
    # 503 with Retry-After, the largest page in pixels (width × height at the dpi), and the label fields allowed.
    print_workers: int = field(default_factory=lambda: int(_env("print_workers", "2")))
    print_wait_s: float = field(default_factory=lambda: float(_env("print_wait_s", "2")))
    print_max_pixels: int = field(default_factory=lambda: int(_env("print_max_pixels", "12000000")))
    print_label_fields: tuple = field(
        default_factory=lambda: tuple(_env("print_label_fields", "name,name_en,adcode,city,city_en").split(","))
    )
    # Security: the public base URL used in links (e.g. https://map.example.org; empty: the request's own
    # host when it is a trusted host, else http://HOST:PORT), the trusted Host names, and who may frame the
    # page (a CSP frame-ancestors value: 'none', 'self' or a list of origins).
    public_url: str = field(default_factory=lambda: _env("public_url", "").rstrip("/"))
    trusted_hosts: tuple = field(
        default_factory=lambda: tuple(_env("trusted_hosts", "localhost,127.0.0.1,[::1]").split(","))
    )
    frame_ancestors: str = field(default_factory=lambda: _env("frame_ancestors", "'none'"))

    def describe(self) -> dict[str, str]:
        return {f.name: str(getattr(self, f.name)) for f in fields(self)}


SETTINGS = Settings()
