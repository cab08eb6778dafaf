"""Reconcile an imported list with the boundaries: each row's region name (or point) → a county, with an audit
report (matched / former / ambiguous / unmatched) and, once settled, the features of a user layer.

Reading the file is `geo.tables`' job; names are resolved by the gazetteer (`boundaries.gazetteer`); this module
guesses which columns hold names or coordinates, reconciles every row and builds the GeoDataFrame a store saves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from boundaries.gazetteer import Gazetteer, Place, normalise
from boundaries.store import Boundaries
from geo import datum as datums
from geo.errors import ApiError, BadRequest
from geo.tables import Limits, Table, UnreadableTable, read_table, read_text

if TYPE_CHECKING:
    from settings import Settings

Status = Literal["matched", "former", "ambiguous", "unmatched"]
STATUSES: tuple[Status, ...] = ("matched", "former", "ambiguous", "unmatched")
DATUMS = ("wgs84", "gcj02", "bd09")
SAMPLE_ROWS = 50  # rows sampled per column when guessing the name column
MIN_NAME_SHARE = 0.3  # share of sampled values that must resolve for a column to count as names
PROVINCE_HEADERS = {"省", "省份", "省名", "所属省份", "省区", "province"}
CITY_HEADERS = {"市", "地市", "城市", "设区市", "所属城市", "所属地市", "地级市", "city", "prefecture"}
NAME_HINTS = re.compile(r"(区县|县区|县市区|县\(市、区\)|名称|地区|区域|行政区|county|district|region|name)", re.I)
LON_HEADER = re.compile(r"^(经度|东经|lon|lng|long|longitude|x)(?![a-z])", re.I)
LAT_HEADER = re.compile(r"^(纬度|北纬|lat|latitude|y)(?![a-z])", re.I)
RESERVED = ("adcode", "name", "city", "county_adcode", "geometry")


class Unresolved(ApiError):
    """Rows are still ambiguous or unmatched, so nothing can be saved yet (409)."""

    status = 409


class UserLayerStore(Protocol):
    """What the importer needs from the user-layer store (implemented in layers/userstore.py)."""

    def save(self, title: str, frame: gpd.GeoDataFrame, *, owner: str, source: str) -> str: ...


@dataclass(frozen=True)
class ImportOptions:
    """The choices a person makes about a list (CLI flags, HTTP form fields of the same names)."""

    name_column: str | None = None
    province: str | None = None
    city: str | None = None
    lon: str | None = None
    lat: str | None = None
    datum: str = "wgs84"
    sheet: str | None = None
    title: str | None = None

    def __post_init__(self) -> None:
        if self.datum not in DATUMS:
            raise BadRequest(f"unknown datum {self.datum!r}: use one of {', '.join(DATUMS)}")
        if (self.lon is None) != (self.lat is None):
            raise BadRequest("give both the longitude and the latitude column (lon and lat), or neither")

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> ImportOptions:
        """Options from HTTP form or JSON fields (name_column, province, city, lon, lat, datum, sheet, title);
        blank fields count as not given."""
        values = {}
        for key in ("name_column", "province", "city", "lon", "lat", "datum", "sheet", "title"):
            value = form.get(key)
            if value is not None and not isinstance(value, str):
                raise BadRequest(f"{key} must be text")
            if value is not None and value.strip():
                values[key] = value.strip()
        if "datum" in values:
            values["datum"] = values["datum"].lower().replace("-", "").replace("_", "")
        return cls(**values)


def limits(settings: Settings) -> Limits:
    """The import limits declared in the settings."""
    return Limits(
        max_bytes=settings.import_max_bytes,
        max_rows=settings.import_max_rows,
        max_columns=settings.import_max_columns,
        max_unzipped_bytes=settings.import_max_unzipped_bytes,
    )


def read_upload(
    source: str | Path | bytes | BinaryIO | None,
    filename: str | None,
    options: ImportOptions,
    settings: Settings,
    *,
    text: str | None = None,
) -> Table:
    """The uploaded file (or pasted `text`) as a typed table, within the settings' limits."""
    if text is not None and source is None:
        return read_text(text, limits=limits(settings))
    if source is None:
        raise BadRequest("send a file (multipart field `file`) or pasted names (field `text`)")
    return read_table(source, filename, sheet=options.sheet, limits=limits(settings))


@dataclass(slots=True)
class Item:
    """One row of the reconciliation report."""

    row: int
    input: str
    status: Status
    adcode: str | None = None
    name: str | None = None
    note: str | None = None
    candidates: list[dict[str, str | None]] = field(default_factory=list)
    suggestions: list[dict[str, str | None]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "input": self.input,
            "status": self.status,
            "adcode": self.adcode,
            "name": self.name,
            "note": self.note,
            "candidates": self.candidates,
            "suggestions": self.suggestions,
        }


# --------------------------------------------------------------------------- guessing the columns
def _header(col: str) -> str:
    return normalise(col).lower()


def scope_columns(table: Table) -> tuple[str | None, str | None]:
    """The province and city columns of a table (headers like 省/省份, 市/地市/城市), if any."""
    province = next((c for c in table.columns if _header(c) in PROVINCE_HEADERS and table.kinds[c] == "text"), None)
    city = next((c for c in table.columns if _header(c) in CITY_HEADERS and table.kinds[c] == "text"), None)
    return province, city


def _cell_text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def coordinate_columns(table: Table) -> tuple[str, str] | None:
    """Longitude and latitude columns, by header (经度/纬度, lon/lat, lng, x/y …) or else by range."""
    numeric = [c for c in table.columns if table.kinds[c] in ("int", "float")]

    def in_range(col: str, low: float, high: float) -> bool:
        values = table.data[col].dropna()
        return len(values) > 0 and bool(((values >= low) & (values <= high)).all())

    # by header, a numeric column will do: rows out of range are reported one by one (e.g. swapped)
    lon = next((c for c in numeric if LON_HEADER.match(_header(c))), None)
    lat = next((c for c in numeric if LAT_HEADER.match(_header(c)) and c != lon), None)
    if lon and lat:
        return lon, lat
    floats = [c for c in numeric if table.kinds[c] == "float"]
    lons = [c for c in floats if in_range(c, 73, 136)]
    lats = [c for c in floats if in_range(c, 3, 54) and c not in lons]
    if len(lons) == 1 and len(lats) == 1:
        return lons[0], lats[0]
    return None


def name_column(table: Table, gazetteer: Gazetteer, options: ImportOptions) -> str | None:
    """The column whose values best resolve as region names (sampled through the gazetteer), or None."""
    province_col, city_col = scope_columns(table)
    scope_cols = {province_col, city_col} - {None}
    best: tuple[float, str] | None = None
    for col in table.columns:
        if table.kinds[col] not in ("text", "int"):
            continue
        values = [v for v in (_cell_text(x) for x in table.data[col].head(SAMPLE_ROWS * 4)) if v][:SAMPLE_ROWS]
        if not values:
            continue
        hits = sum(
            bool(gazetteer.candidates(v, province=options.province, city=options.city)) for v in dict.fromkeys(values)
        )
        share = hits / len(dict.fromkeys(values))
        score = share + (0.05 if NAME_HINTS.search(col) else 0) - (0.5 if col in scope_cols else 0)
        if share >= MIN_NAME_SHARE and (best is None or score > best[0]):
            best = (score, col)
    return best[1] if best else None


# --------------------------------------------------------------------------- reconciliation
class Reconciliation:
    """Every row of a table reconciled: `report()` for the audit, `features(resolutions)` for the layer."""

    def __init__(
        self,
        table: Table,
        gazetteer: Gazetteer,
        boundaries: Boundaries,
        options: ImportOptions,
        mode: Literal["regions", "points", "shapes"],
        items: list[Item],
        *,
        name_column: str | None = None,
        coordinates: tuple[str, str] | None = None,
        points: gpd.GeoSeries | None = None,
    ) -> None:
        self.table = table
        self.gazetteer = gazetteer
        self.boundaries = boundaries
        self.options = options
        self.mode = mode
        self.items = items
        self.name_column = name_column
        self.coordinates = coordinates
        self.points = points

    @property
    def unresolved(self) -> list[int]:
        """Rows (from 1) still ambiguous or unmatched."""
        return [i.row for i in self.items if i.status in ("ambiguous", "unmatched")]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for item in self.items:
            counts[item.status] += 1
        return counts

    def report(self) -> dict[str, Any]:
        """The reconciliation report as interface.md shows it (plus `mode` and the columns used)."""
        lon, lat = self.coordinates or (None, None)
        return {
            "rows": len(self.items),
            "counts": self.counts(),
            "items": [item.to_dict() for item in self.items],
            "mode": self.mode,
            "columns": {"name": self.name_column, "lon": lon, "lat": lat, "datum": self.options.datum},
        }

    def features(
        self, resolutions: Mapping[str, str] | Mapping[int, str] | None = None, *, skip_unresolved: bool = False
    ) -> gpd.GeoDataFrame:
        """The user layer's features (EPSG:4326): the row's own typed columns plus `adcode`, `name`, `city` and
        the region's polygon for a list of regions, or the point (own geometry for vector files) plus
        `county_adcode`. `resolutions` maps a row number to an adcode or "skip"; rows left ambiguous or
        unmatched raise Unresolved (409) unless `skip_unresolved`."""
        chosen = self._settle(resolutions or {}, skip_unresolved)
        rows = [row for row, code in chosen.items() if code is not None]
        if not rows:
            raise UnreadableTable("nothing to save: every row was skipped")
        index = [r - 1 for r in rows]
        own = self.table.data.iloc[index].reset_index(drop=True)
        own = own.rename(columns={c: f"{c}_input" for c in own.columns if c in RESERVED})
        codes = [chosen[r] for r in rows]
        if self.mode == "regions":
            places = [self.gazetteer.places[c] for c in codes]  # type: ignore[index]
            regions = self._regions()
            own["adcode"] = codes
            own["name"] = [p.name for p in places]
            own["city"] = [p.city if p.level != "province" else None for p in places]
            geometry = gpd.GeoSeries(regions.loc[codes].geometry.to_numpy(), crs=4326)
        else:
            assert self.points is not None
            own["county_adcode"] = codes
            geometry = gpd.GeoSeries(self.points.iloc[index].to_numpy(), crs=4326)
        return gpd.GeoDataFrame(own, geometry=geometry, crs=4326)

    def _regions(self) -> gpd.GeoDataFrame:
        if not hasattr(self, "_region_frame"):
            self._region_frame = self.boundaries.regions
        return self._region_frame

    def _settle(self, resolutions: Mapping[Any, str], skip_unresolved: bool) -> dict[int, str | None]:
        """Row → adcode (None to skip) after applying the resolutions; Unresolved when rows are left open."""
        counties = set(self.boundaries.counties["adcode"])
        decided: dict[int, str | None] = {}
        for key, value in resolutions.items():
            try:
                row = int(key)
            except (TypeError, ValueError):
                raise BadRequest(f"resolution keys are row numbers (from 1), got {key!r}") from None
            if not 1 <= row <= len(self.items):
                raise BadRequest(f"no row {row}: the list has rows 1 to {len(self.items)}")
            code = str(value).strip() if value is not None else ""
            if code == "skip":
                decided[row] = None
            elif code in self.gazetteer.places and (self.mode == "regions" or code in counties):
                decided[row] = code
            else:
                kind = "region" if self.mode == "regions" else "county"
                raise BadRequest(f"row {row}: {value!r} is not a {kind} adcode of the loaded boundaries nor 'skip'")
        chosen: dict[int, str | None] = {}
        open_rows: list[int] = []
        for item in self.items:
            if item.row in decided:
                chosen[item.row] = decided[item.row]
            elif item.status in ("matched", "former"):
                chosen[item.row] = item.adcode
            elif skip_unresolved:
                chosen[item.row] = None
            else:
                open_rows.append(item.row)
        if open_rows:
            shown = ", ".join(map(str, open_rows[:10])) + (" …" if len(open_rows) > 10 else "")
            raise Unresolved(
                f"{len(open_rows)} rows are still ambiguous or unmatched (rows {shown}): "
                "pick a candidate or skip each one",
                rows=open_rows,
            )
        return chosen


def _place(p: Place, *, province: bool) -> dict[str, str | None]:
    out: dict[str, str | None] = {"adcode": p.adcode, "name": p.name, "city": p.city if p.level != "province" else None}
    if province:
        out["province"] = p.province
    return out


def reconcile(table: Table, gazetteer: Gazetteer, boundaries: Boundaries, options: ImportOptions) -> Reconciliation:
    """Reconcile every row of `table`. With `options.name_column`, by the region names in it; else by
    coordinates when longitude/latitude columns are given or found, by the file's own geometry for vector
    files, and else by the names in the guessed name column."""
    for col in (options.name_column, options.lon, options.lat):
        if col is not None and col not in table.columns:
            raise BadRequest(f"no column {col!r} in the file; its columns are: {', '.join(table.columns)}")
    if options.name_column is None:
        coords = (options.lon, options.lat) if options.lon and options.lat else coordinate_columns(table)
        if coords is not None:
            return _reconcile_points(table, gazetteer, boundaries, options, coords)
        if table.geometry is not None and table.geometry.notna().any():
            return _reconcile_shapes(table, gazetteer, boundaries, options)
        column = name_column(table, gazetteer, options)
        if column is None:
            raise UnreadableTable(
                f"no column looks like region names or coordinates (columns: {', '.join(table.columns)}): "
                "pick the name column with --name-column (name_column), or the coordinates with --lon/--lat"
            )
    else:
        column = options.name_column
    return _reconcile_names(table, gazetteer, boundaries, options, column)


def _reconcile_names(
    table: Table, gazetteer: Gazetteer, boundaries: Boundaries, options: ImportOptions, column: str
) -> Reconciliation:
    province_col, city_col = scope_columns(table)
    provinces = table.data[province_col] if province_col and province_col != column else None
    cities = table.data[city_col] if city_col and city_col != column else None
    cache: dict[tuple[str, str | None, str | None], Item] = {}
    items: list[Item] = []
    for i, value in enumerate(table.data[column]):
        text = _cell_text(value).strip()
        province = (_cell_text(provinces.iloc[i]) if provinces is not None else "") or options.province
        city = (_cell_text(cities.iloc[i]) if cities is not None else "") or options.city
        key = (text, province, city)
        item = cache.get(key)
        if item is None:
            item = cache[key] = _resolve_name(text, gazetteer, province, city)
        items.append(Item(i + 1, text, item.status, item.adcode, item.name, item.note, item.candidates,
                          item.suggestions))  # fmt: skip
    return Reconciliation(table, gazetteer, boundaries, options, "regions", items, name_column=column)


def _resolve_name(text: str, gazetteer: Gazetteer, province: str | None, city: str | None) -> Item:
    if not normalise(text):
        return Item(0, text, "unmatched", note="empty name")
    found = gazetteer.candidates(text, province=province, city=city)
    if len(found) == 1:
        p = found[0]
        return Item(0, text, "former" if p.note else "matched", p.adcode, p.name, p.note)
    if found:
        return Item(0, text, "ambiguous", note=f"{len(found)} regions have this name; pick one",
                    candidates=[_place(p, province=True) for p in found])  # fmt: skip
    note = "no region of this name"
    if province or city:
        elsewhere = gazetteer.candidates(text)
        if elsewhere:
            where = "、".join(sorted({p.full_name for p in elsewhere}))
            note = f"no region of this name in {'/'.join(s for s in (province, city) if s)} (there is {where})"
    suggestions = gazetteer.suggest(text, province=province, city=city)
    return Item(0, text, "unmatched", note=note, suggestions=[_place(p, province=False) for p in suggestions])


def _assign(points: np.ndarray, boundaries: Boundaries) -> tuple[np.ndarray, gpd.GeoDataFrame]:
    """For each point, the index of the county it falls in (-1 outside): candidate pairs from the counties'
    R-tree, then one vectorised point-in-polygon test against the prepared county polygons."""
    counties = boundaries.counties.reset_index(drop=True)
    polygons = np.asarray(counties.geometry.to_numpy())
    shapely.prepare(polygons)  # once per polygon object: later imports reuse the prepared geometry
    found = np.full(len(points), -1, dtype=np.int64)
    valid = ~shapely.is_missing(points)
    if valid.any():
        where = np.flatnonzero(valid)
        hit, county = shapely.STRtree(polygons).query(points[where])
        inside = shapely.intersects(polygons[county], points[where][hit])
        hit, county = hit[inside], county[inside]
        first = np.unique(hit, return_index=True)
        found[where[first[0]]] = county[first[1]]
    return found, counties


def _outside_note(boundaries: Boundaries) -> str:
    names = "、".join(boundaries.province["name"].head(3)) + ("…" if len(boundaries.province) > 3 else "")
    return f"outside the loaded boundaries ({names})"


def _point_items(
    table: Table, boundaries: Boundaries, inputs: list[str], points: np.ndarray, notes: list[str | None]
) -> list[Item]:
    found, counties = _assign(points, boundaries)
    inside = found >= 0
    safe = np.where(inside, found, 0)
    codes: list[str | None] = np.where(inside, counties["adcode"].to_numpy(dtype=object)[safe], None).tolist()  # type: ignore[attr-defined]
    names: list[str | None] = np.where(inside, counties["name"].to_numpy(dtype=object)[safe], None).tolist()  # type: ignore[attr-defined]
    outside = _outside_note(boundaries)
    return [
        Item(i, text, "matched", code, name) if code is not None else Item(i, text, "unmatched", note=note or outside)
        for i, text, code, name, note in zip(range(1, len(inputs) + 1), inputs, codes, names, notes, strict=True)
    ]


def _as_text(values: pd.Series) -> pd.Series:
    """A column's cells as text (integral floats without .0, blanks empty), vectorised."""
    if pd.api.types.is_float_dtype(values):
        return pd.Series(
            ["" if x != x else f"{x:.10g}" for x in values.to_numpy(dtype=float).tolist()], index=values.index
        )
    return values.astype("string").fillna("").astype(object)


def _reconcile_points(
    table: Table, gazetteer: Gazetteer, boundaries: Boundaries, options: ImportOptions, coords: tuple[str, str]
) -> Reconciliation:
    lon_col, lat_col = coords
    raw_lon, raw_lat = table.data[lon_col], table.data[lat_col]
    lon = pd.to_numeric(raw_lon, errors="coerce").to_numpy(dtype=float, na_value=np.nan, copy=True)
    lat = pd.to_numeric(raw_lat, errors="coerce").to_numpy(dtype=float, na_value=np.nan, copy=True)
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    transform = datums.get_transform(options.datum, "wgs84")
    if transform is not None and ok.any():
        lon[ok], lat[ok] = transform(lon[ok], lat[ok])
    points = np.full(len(lon), None, dtype=object)
    points[ok] = shapely.points(lon[ok], lat[ok])
    swapped = (np.abs(lon) <= 90) & (np.abs(lat) > 90)
    notes: list[str | None] = [
        None if good else ("longitude and latitude look swapped" if sw else "no valid longitude/latitude")
        for good, sw in zip(ok.tolist(), swapped.tolist(), strict=True)
    ]
    inputs = (_as_text(raw_lon) + ", " + _as_text(raw_lat)).tolist()
    items = _point_items(table, boundaries, inputs, points, notes)
    return Reconciliation(
        table, gazetteer, boundaries, options, "points", items, coordinates=coords,
        points=gpd.GeoSeries(points, crs=4326),
    )  # fmt: skip


def _reconcile_shapes(
    table: Table, gazetteer: Gazetteer, boundaries: Boundaries, options: ImportOptions
) -> Reconciliation:
    """A vector file without region names: each feature keeps its geometry (in `options.datum`, converted to
    WGS-84) and is assigned to the county holding its point (or a point on its surface)."""
    assert table.geometry is not None
    geoms = table.geometry.to_numpy()
    transform = datums.get_transform(options.datum, "wgs84")
    if transform is not None:
        geoms = datums.transform_geometry(geoms, transform)
    probe = np.array(geoms, dtype=object)
    present = ~shapely.is_missing(probe) & ~shapely.is_empty(probe)
    probe[present] = shapely.point_on_surface(probe[present])
    probe[~present] = None
    notes: list[str | None] = [None if p else "the feature has no geometry" for p in present.tolist()]
    inputs = [
        f"{g.geom_type} {g.x:.6f}, {g.y:.6f}"
        if g is not None and g.geom_type == "Point"
        else (g.geom_type if g else "")
        for g in geoms
    ]
    items = _point_items(table, boundaries, inputs, probe, notes)
    return Reconciliation(table, gazetteer, boundaries, options, "shapes", items, points=gpd.GeoSeries(geoms, crs=4326))


__all__ = [
    "DATUMS",
    "ImportOptions",
    "Item",
    "Reconciliation",
    "Unresolved",
    "UserLayerStore",
    "coordinate_columns",
    "limits",
    "name_column",
    "read_upload",
    "reconcile",
    "scope_columns",
]
