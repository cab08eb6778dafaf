"""How a user layer's frame becomes typed columns and comes back, shared by both user-layer stores.

`prepare(frame)` checks a frame and gives what a store writes: unique column names, each column's type
(INTEGER, REAL, BOOLEAN, DATE, DATETIME, TEXT: numbers stay numbers, dates dates, everything else text), the
cells of each column, one declared geometry type (single parts promoted to multi when a layer mixes both) and
the bounding box. `uncell` turns a column read back into the type it was written as. The embedded
GeoPackage store (userstore.py) and the PostGIS store (pgstore.py) both write through here, so a layer comes
back the same from either.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import ApiError

ID_PREFIX = "user-"
RESERVED = ("fid", "geom")
TYPES = ("INTEGER", "REAL", "BOOLEAN", "DATE", "DATETIME", "TEXT")
MAX_TITLE = 200


class StoreError(ApiError):
    """A user layer cannot be written as given (400); the message says what is accepted."""

    status = 400


def now() -> str:
    """The current UTC time as ISO 8601 with milliseconds and Z (how the stores write times)."""
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def slug(title: str) -> str:
    """ASCII slug of a title; '' when it has no ASCII letter (Chinese titles, bare years)."""
    text = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-")
    return text if re.search(r"[a-z]", text) else ""


def column_type(values: pd.Series) -> str:
    """The type a column is stored as: numbers stay numbers, dates dates, everything else text."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "INTEGER"
    if pd.api.types.is_float_dtype(dtype):
        return "REAL"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "DATETIME"
    present = [v for v in values if not missing(v)]
    if not present:
        return "TEXT"
    if all(isinstance(v, bool | np.bool_) for v in present):
        return "BOOLEAN"
    if all(isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) for v in present):
        return "INTEGER"
    if all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) for v in present):
        return "REAL"
    if all(isinstance(v, _dt.datetime) for v in present):
        return "DATETIME"
    if all(isinstance(v, _dt.date) and not isinstance(v, _dt.datetime) for v in present):
        return "DATE"
    return "TEXT"


def missing(value: Any) -> bool:
    """Whether a cell is empty (None, NA, NaT or NaN)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def cell(value: Any, kind: str) -> Any:
    """One value as the stores write it for a column of `kind` (booleans 0/1, dates and times ISO 8601)."""
    if missing(value):
        return None
    if kind == "BOOLEAN":
        return 1 if bool(value) else 0
    if kind == "INTEGER":
        return int(value)
    if kind == "REAL":
        return float(value)
    if kind == "DATE":
        return value.isoformat()[:10]
    if kind == "DATETIME":
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_convert("UTC") if stamp.tzinfo else stamp
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def cells(values: pd.Series, kind: str) -> list[Any]:
    """A whole column as the stores write it (`_cell` per value, with fast paths for plain numbers and text)."""
    if kind == "INTEGER" and pd.api.types.is_integer_dtype(values.dtype) and not values.hasnans:
        return [int(v) for v in values.to_numpy()] if values.dtype == object else values.astype("int64").tolist()
    if kind == "REAL" and pd.api.types.is_float_dtype(values.dtype):
        return [None if v != v else v for v in values.astype("float64").tolist()]  # NaN → NULL
    if kind == "BOOLEAN" and values.dtype == bool:
        return values.astype("int64").tolist()
    items = values.astype(object).tolist()
    if kind == "TEXT":
        return [v if type(v) is str else cell(v, kind) for v in items]
    return [cell(v, kind) for v in items]


def uncell(values: list[Any] | tuple[Any, ...], kind: str) -> pd.Series:
    """A column read back as the type it was written as (dates and times as ISO 8601 text)."""
    values = list(values)
    if kind == "INTEGER":
        return pd.Series(values, dtype="Int64" if None in values else "int64")
    if kind == "REAL":
        return pd.Series([np.nan if v is None else v for v in values], dtype=float)
    if kind == "BOOLEAN":
        if None in values:
            return pd.Series([None if v is None else bool(v) for v in values], dtype="boolean")
        return pd.Series([bool(v) for v in values], dtype=bool)
    if kind == "DATE":
        return pd.Series([None if v is None else _dt.date.fromisoformat(v[:10]) for v in values], dtype=object)
    if kind == "DATETIME":
        return pd.Series(pd.to_datetime(values, utc=True, format="ISO8601"))
    return pd.Series(values, dtype=object)


def geometry_type(geoms: np.ndarray) -> str:
    """The one geometry type a layer declares: POINT, …, MULTIPOLYGON when parts mix, else GEOMETRY."""
    kinds = {t for t in shapely.get_type_id(geoms).tolist() if t >= 0}
    names = {0: "POINT", 1: "LINESTRING", 3: "POLYGON", 4: "MULTIPOINT", 5: "MULTILINESTRING", 6: "MULTIPOLYGON"}
    found = {names.get(k, "GEOMETRY") for k in kinds}
    if len(found) == 1:
        return found.pop()
    families = {n.removeprefix("MULTI") for n in found}
    if len(families) == 1 and "GEOMETRY" not in families:
        return "MULTI" + families.pop()
    return "GEOMETRY"


def to_multi(geoms: np.ndarray, geometry_type: str) -> np.ndarray:
    """Single parts promoted to multi when the layer mixes both (one declared type for GDAL and QGIS)."""
    if not geometry_type.startswith("MULTI"):
        return geoms
    single = {"MULTIPOINT": 0, "MULTILINESTRING": 1, "MULTIPOLYGON": 3}[geometry_type]
    out = geoms.copy()
    mask = shapely.get_type_id(geoms) == single
    if mask.any():
        maker = {0: shapely.multipoints, 1: shapely.multilinestrings, 3: shapely.multipolygons}[single]
        out[mask] = [maker([g]) for g in geoms[mask]]
    return out


def clean_title(title: str) -> str:
    """A title with its white space folded; StoreError when it is empty or longer than 200 characters."""
    text = " ".join(str(title or "").split())
    if not text:
        raise StoreError(f"a user layer needs a title (any text, at most {MAX_TITLE} characters)")
    if len(text) > MAX_TITLE:
        raise StoreError(f"a title may have at most {MAX_TITLE} characters, this one has {len(text)}")
    return text


def new_id(title: str, taken: Callable[[str], bool]) -> str:
    """A new layer id: `user-<slug>` when free, else the slug (or nothing, for Chinese titles) with a short
    random suffix; `taken(id)` says whether an id is in use."""
    base = slug(title)
    if base and not taken(ID_PREFIX + base):
        return ID_PREFIX + base
    while True:
        candidate = ID_PREFIX + (f"{base}-" if base else "") + uuid.uuid4().hex[: 4 if base else 8]
        if not taken(candidate):
            return candidate


@dataclass(frozen=True)
class Prepared:
    """A frame as a store writes it: names and types of its columns, their cells, its geometries."""

    names: list[str]
    kinds: list[str]
    columns: list[list[Any]]  # one list of cells per column (see `cells`)
    geoms: np.ndarray  # shapely geometries (None where missing), promoted to the declared type
    geometry_type: str
    bbox: tuple[float, float, float, float] | None

    def columns_json(self, physical: list[str] | None = None) -> str:
        """The [[name, type], …] list kept with a version ([[name, type, column], …] with table columns)."""
        rows: list[list[str]] = [[n, k] for n, k in zip(self.names, self.kinds, strict=True)]
        if physical is not None:
            rows = [[*r, p] for r, p in zip(rows, physical, strict=True)]
        return json.dumps(rows, ensure_ascii=False)


def prepare(frame: gpd.GeoDataFrame, *, max_columns: int) -> Prepared:
    """Check a frame and type its columns (see the module docstring); StoreError when it cannot be written."""
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise StoreError("a user layer needs a GeoDataFrame with a geometry column")
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    data = [c for c in frame.columns if c != frame.geometry.name]
    if len(data) > max_columns:
        raise StoreError(f"a user layer may have at most {max_columns} columns, this one has {len(data)}")
    names: list[str] = []
    for col in data:
        name = str(col).strip() or "column"
        base, n = name, 1
        while name.lower() in {*(x.lower() for x in names), *RESERVED}:
            n += 1
            name = f"{base}_{n}"
        names.append(name)
    kinds = [column_type(frame[c]) for c in data]
    geoms = np.asarray(frame.geometry.values, dtype=object)
    declared = geometry_type(geoms)
    geoms = to_multi(geoms, declared)
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    bbox = tuple(float(v) for v in shapely.total_bounds(present)) if len(present) else None
    columns = [cells(frame[c], k) for c, k in zip(data, kinds, strict=True)]
    return Prepared(names, kinds, columns, geoms, declared, bbox)  # type: ignore[arg-type]
