"""Settings, declared once: a typed model read from the environment (KECHUANG_*, plus HOST and PORT).

The entry points (`server.py`, `python -m boundaries`, `python -m layers`) build one `Settings` with
`load_settings()` and pass it down; nothing below them reads the environment. A bad value stops start-up with
one line naming every problem (`SettingsError`).

To add a knob, append a field at the end of `Settings` as `name: type = default` (its environment override is
`KECHUANG_<NAME>`); give it a `Field(description=...)` when you can.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from boundaries.source import DEFAULT_CACHE

ROOT = Path(__file__).resolve().parent
ENV_PREFIX = "KECHUANG_"
PLAIN_ENV = {"host": "HOST", "port": "PORT"}  # read without the prefix, as hosting platforms set them


class Basemap(BaseModel):
    """One optional tile base map offered in the map's base-map control."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$", description="Short id, used in the page's URL state.")
    title: str = Field(min_length=1, description="Name shown in the base-map control (Chinese).")
    title_en: str | None = Field(None, description="Name shown in the English interface; the title when absent.")
    url: str = Field(
        pattern=r"^https?://",
        description="Tile URL template (http or https) with {z}, {x} and {y} or {-y} in any order, {s} for subdomains.",
    )
    subdomains: str | None = Field(None, description="Letters or digits filled in for {s} (Leaflet's subdomains).")
    attribution: str = Field("", description="Attribution shown on the map (text, never HTML).")
    datum: Literal["wgs84", "gcj02"] = Field(
        "wgs84", description="Datum of the tiles: gcj02 for Chinese providers (AMap, Tencent); overlays follow it."
    )
    max_zoom: int = Field(18, ge=0, le=22, description="Highest zoom level the provider serves.")

    @field_validator("url")
    @classmethod
    def _tile_template(cls, url: str) -> str:
        missing = [p for p in ("{z}", "{x}") if p not in url] + ([] if "{y}" in url or "{-y}" in url else ["{y}"])
        if missing:
            raise ValueError(f"tile URL lacks {', '.join(missing)}")
        return url


class Settings(BaseSettings):
    """Every knob of the application. Paths are `Path`s; basemaps are validated `Basemap`s."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        validate_default=True,
    )

    host: str = Field(
        "127.0.0.1",
        validation_alias=AliasChoices("host", "HOST"),
        description="Interface the development server listens on (environment: HOST).",
    )
    port: int = Field(
        5000,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("port", "PORT"),
        description="TCP port the development server listens on (environment: PORT).",
    )
    boundaries: Path = Field(
        ROOT / "boundaries" / "data" / "zhejiang.gpkg",
        description="Boundary GeoPackage (layers province, cities, counties, EPSG:4326) the map is drawn on.",
    )
    layers_dir: Path = Field(ROOT / "layers" / "data", description="Directory of the curated YAML records.")
    seeds_dir: Path = Field(
        ROOT.parent / "shared" / "seeds",
        description="Directory of the source documents every fact is checked against at start-up.",
    )
    data_dir: Path = Field(
        ROOT / "data", description="Where on-demand builds go (e.g. `python -m boundaries build --province all`)."
    )
    cache: Path = Field(
        DEFAULT_CACHE,
        description="Download cache: the cnmaps wheel the boundaries are built from is kept here.",
    )
    basemaps: Annotated[list[Basemap], NoDecode] = Field(
        default_factory=list,
        description=(
            "Optional tile base maps, a JSON list of objects with id, title, title_en, url, attribution, "
            "datum (wgs84|gcj02), max_zoom. Empty by default: the map needs no external host."
        ),
    )

    secret_key: SecretStr | None = Field(
        None,
        description=(
            "Key that signs session cookies and CSRF tokens. Unset: one is generated into the data directory "
            "(file secret_key) on first start, so sessions survive a restart."
        ),
    )
    import_max_bytes: int = Field(
        20 * 1024 * 1024, ge=1, description="Largest file accepted by an import (bytes); larger uploads are refused."
    )
    import_max_rows: int = Field(100_000, ge=1, description="Most data rows an imported list may have.")
    import_max_columns: int = Field(500, ge=1, description="Most columns an imported list may have.")
    import_max_unzipped_bytes: int = Field(
        100 * 1024 * 1024, ge=1, description="Most bytes a zipped upload (Shapefile zip, .xlsx) may unpack to."
    )

    @field_validator("basemaps", mode="before")
    @classmethod
    def _basemaps_json(cls, value: Any) -> Any:
        """The environment gives a JSON string; anything but a JSON list is refused with what was found."""
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else []
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg} at character {exc.pos})") from None
        if not isinstance(value, list | tuple):
            kind = {dict: "object", str: "string", bool: "boolean", int: "number", float: "number"}.get(type(value))
            raise ValueError(f"must be a JSON list of base maps, got {'a JSON ' + kind if kind else repr(value)}")
        return value

    allow_unverified: bool = Field(
        False,
        description="Serve data whose citations cannot be checked (seeds directory missing); the page then says so.",
    )

    # --- production server (waitress) ------------------------------------------------------------------
    threads: int = Field(8, ge=1, le=256, description="Worker threads of the production server.")
    connection_limit: int = Field(1000, ge=1, description="Open connections accepted at once.")
    channel_timeout: int = Field(30, ge=1, description="Seconds an idle or half-sent connection is kept.")
    max_request_header_size: int = Field(262144, ge=1024, description="waitress's hard limit on header bytes.")
    max_request_body_size: int = Field(
        32 * 1024 * 1024, ge=0, description="waitress's hard limit on body bytes (above the upload limit)."
    )
    shutdown_timeout: int = Field(10, ge=0, description="Seconds running requests get to finish on SIGTERM.")
    server_ident: str = Field("", description="The Server header (empty: none, so no version is announced).")
    send_bytes: int = Field(
        1048576, ge=1, description="Bytes per socket write; waitress's default 18000 halves req/s on large answers."
    )
    # --- limits answered with a JSON error before any work ---------------------------------------------
    max_url_length: int = Field(16384, ge=256, description="Longest URL (path and query) accepted; longer: 414.")
    max_header_bytes: int = Field(32768, ge=1024, description="Largest total of request headers; larger: 431.")
    max_body_bytes: int = Field(65536, ge=0, description="Largest request body for non-upload routes; larger: 413.")
    response_cache_mb: int = Field(
        256, ge=1, description="Answers kept as raw + gzip bytes (layers, OGC pages, profiles, search, exports), MB."
    )
    max_ids: int = Field(1000, ge=1, description="Most distinct feature ids one request may list (`ids=`).")
    # --- printed maps (PNG/PDF/HTML exports) -----------------------------------------------------------
    print_workers: int = Field(2, ge=1, le=32, description="Printed maps rendered at once.")
    print_wait_s: float = Field(
        2.0, ge=0, description="Seconds a print waits for a free slot before 503 with Retry-After."
    )
    print_max_pixels: int = Field(12_000_000, ge=10_000, description="Largest page in pixels (width × height at dpi).")
    print_label_fields: Annotated[tuple[str, ...], NoDecode] = Field(
        ("name", "name_en", "adcode", "city", "city_en"),
        description="Fields a printed map may label features with (comma-separated in the environment).",
    )
    # --- security ----------------------------------------------------------------------------------------
    public_url: str = Field(
        "",
        description=(
            "Public base URL used in links (/ogc, the page), e.g. https://map.example.org; empty: the request's "
            "host when it is a trusted host, else http://HOST:PORT."
        ),
    )
    trusted_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        ("localhost", "127.0.0.1", "[::1]"),
        description="Host names echoed back in links (comma-separated in the environment).",
    )
    frame_ancestors: str = Field(
        "'none'", description="Who may frame the page: a CSP frame-ancestors value ('none', 'self' or origins)."
    )
    database_url: str | None = Field(
        None,
        description=(
            "postgresql://… : PostGIS holds boundaries, layers, user layers and users, shared by several app "
            "instances. Unset: the embedded files (the GeoPackages and YAML under the project and data directory)."
        ),
    )
    thematic_min_regions: int = Field(
        3, ge=1, description="A curated figure is offered for a thematic map when at least this many features have it."
    )
    thematic_natural_breaks_max: int = Field(
        500,
        ge=10,
        description="Most values natural breaks classify (exact Fisher–Jenks: time grows with the square); more: 400.",
    )
    embed_frame_ancestors: str = Field(
        "*",
        description=(
            "Who may frame the embeddable view /embed (a CSP frame-ancestors value: *, 'self', origins or 'none'); "
            "every other page follows frame_ancestors."
        ),
    )

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (or be unset for the embedded store)")
        return value

    @field_validator("print_label_fields", "trusted_hosts", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return value

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class SettingsError(ValueError):
    """The configuration is unusable; the message names every bad variable on one line."""


def env_name(field: str) -> str:
    """The environment variable that sets a field."""
    return PLAIN_ENV.get(field, ENV_PREFIX + field.upper())


def _one_line(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        where = env_name(loc[0]) if loc else "settings"
        for part in loc[1:]:
            where += f"[{part}]" if part.isdigit() else f".{part}"
        message = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) or err["type"] == "missing" else f" (got {str(got)[:60]!r})"
        problems.append(f"{where}: {message}{shown}")
    return "bad settings: " + "; ".join(problems)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (and keyword overrides), or SettingsError listing every problem on one line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None
