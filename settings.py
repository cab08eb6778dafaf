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
    # Serve data whose citations cannot be checked (seeds directory missing); the page then says so.
    allow_unverified: bool = field(default_factory=lambda: _env("allow_unverified", "0").lower() in ("1", "true"))

    def describe(self) -> dict[str, str]:
        return {f.name: str(getattr(self, f.name)) for f in fields(self)}


SETTINGS = Settings()
