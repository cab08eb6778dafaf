"""Load a boundary GeoPackage (province, cities, counties) into memory, checking it on the way in."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from . import LAYERS

NAMES_EN = Path(__file__).parent / "names_en.csv"

REQUIRED = ["adcode", "name", "level", "city", "city_adcode", "province", "province_adcode"]


class BoundaryDataError(RuntimeError):
    """The shipped boundary data is unusable; the message lists every problem."""


@dataclass(frozen=True)
class Boundaries:
    province: gpd.GeoDataFrame
    cities: gpd.GeoDataFrame
    counties: gpd.GeoDataFrame
    path: Path
    metadata: dict[str, str]
    # the `<layer>_simplified` tables a large build carries (none in the embedded Zhejiang build)
    simplified_tables: frozenset[str] = frozenset()
    _outlines: dict[tuple[str, int], dict[str, object] | None] = field(default_factory=dict, repr=False)

    def layer(self, name: str) -> gpd.GeoDataFrame:
        return getattr(self, name)

    def simplified(self, layer: str, zoom: int) -> dict[str, object] | None:
        """A layer's outlines simplified at build time for `zoom` ({adcode: geometry}), read from the file the
        first time they are asked for; None when the build has none for it."""
        key = (layer, zoom)
        if key not in self._outlines:
            found = None
            if f"{layer}_simplified" in self.simplified_tables:
                frame = gpd.read_file(
                    self.path, layer=f"{layer}_simplified", engine="pyogrio", where=f"zoom = {int(zoom)}"
                )
                found = dict(zip(frame["adcode"], frame.geometry.values, strict=True)) if len(frame) else None
            self._outlines[key] = found
        return self._outlines[key]

    @property
    def regions(self) -> gpd.GeoDataFrame:
        """Cities and counties (and provinces) in one frame indexed by adcode."""
        return pd.concat([self.province, self.cities, self.counties]).set_index("adcode", drop=False)


def load(path: str | Path) -> Boundaries:
    """Read and check a boundary GeoPackage (every call reads the file: the caller keeps the result)."""
    path = Path(path)
    if not path.exists():
        raise BoundaryDataError(f"boundary GeoPackage not found: {path} (build it with `python -m boundaries build`)")
    problems: list[str] = []
    frames: dict[str, gpd.GeoDataFrame] = {}
    for layer in LAYERS:
        try:
            frames[layer] = gpd.read_file(path, layer=layer, engine="pyogrio")
        except Exception as exc:
            problems.append(f"{path}: layer {layer!r} unreadable: {exc}")
    if problems:
        raise BoundaryDataError("bad boundary data:\n- " + "\n- ".join(problems))
    metadata = pyogrio.read_info(path, layer="counties").get("layer_metadata") or {}
    tables = frozenset(name for name, _ in pyogrio.list_layers(path) if name.endswith("_simplified"))
    return from_frames(frames, metadata, path, str(path), tables)


def from_frames(
    frames: dict[str, gpd.GeoDataFrame],
    metadata: dict[str, str],
    path: Path,
    where: str,
    simplified_tables: frozenset[str] = frozenset(),
) -> Boundaries:
    """Check the three layers (read from a GeoPackage or a database, named `where` in messages) and add the
    English names (unless the frames carry them already): the same checks whatever the data came from.
    `simplified_tables`: the build's `<layer>_simplified` tables in the GeoPackage `path`, if any."""
    problems: list[str] = []
    for layer in LAYERS:
        frame = frames.get(layer)
        if frame is None:
            problems.append(f"{where}: layer {layer!r} is missing")
            continue
        missing = [c for c in REQUIRED if c not in frame.columns]
        if missing:
            problems.append(f"{where}: layer {layer!r} lacks fields {missing}")
        if frame.crs is None or frame.crs.to_epsg() != 4326:
            problems.append(f"{where}: layer {layer!r} is not EPSG:4326 ({frame.crs})")
        if len(frame) == 0:
            problems.append(f"{where}: layer {layer!r} is empty")
        bad = frame[~frame.geometry.is_valid] if len(frame) else frame
        problems += [f"{where}: {layer} {r.adcode} {r.name}: invalid geometry" for r in bad.itertuples()]
    if not problems and not all("name_en" in f.columns for f in frames.values()):
        _add_english_names(frames, problems)
    if problems:
        raise BoundaryDataError("bad boundary data:\n- " + "\n- ".join(problems))
    return Boundaries(frames["province"], frames["cities"], frames["counties"], path, metadata, simplified_tables)


def _add_english_names(frames: dict[str, gpd.GeoDataFrame], problems: list[str]) -> None:
    """Columns name_en and city_en from names_en.csv (adcode,name,name_en); its names must match the data."""
    english: dict[str, str] = {}
    if NAMES_EN.exists():
        known = {a: n for f in frames.values() for a, n in zip(f["adcode"], f["name"], strict=False)}
        with NAMES_EN.open(encoding="utf-8", newline="") as table:
            for row in csv.DictReader(table):
                adcode, name = row["adcode"], row["name"]
                if adcode in known and known[adcode] != name:
                    problems.append(f"{NAMES_EN.name}: {adcode} is {known[adcode]}, not {name}")
                english[adcode] = row["name_en"]
    for frame in frames.values():
        frame["name_en"] = [english.get(a) for a in frame["adcode"]]
        frame["city_en"] = [english.get(a) for a in frame["city_adcode"]]
