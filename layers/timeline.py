"""What existed, or was known, as of a year: the years the data carries, and layers and profiles as of one of them.

Where a year comes from:
- a feature of a layer: its `year` column (the pilot-county list), the year of its `designation` (sites), or, in a
  user layer, a column named like a year (`year`, `年份`, `年度`, `批次`…; "2021", "2021年", 2021.0 and
  "2016–2020" (its last year) are read);
- a region's designation: its `year`;
- a figure or fact: its `year`, except a plan or target figure, known from the date of the document that set it
  (a 2025 target set in 2021 was known in 2021), and a total over a `period`, known at the period's end.

As of a year, a feature, designation, figure or fact whose year is later is left out; one without a year is kept
and marked `year_known: false`, and the answer says how many there are. Base geography (region layers without
any year, the reference layer) is the same in every year and is not marked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from geo.errors import BadRequest, NotFound
from geo.geojson import feature_collection, to_bytes

if TYPE_CHECKING:
    import geopandas as gpd

    from .store import Catalog

EARLIEST_YEAR = 1949  # `as_of` is accepted in [EARLIEST_YEAR, LATEST_YEAR]
LATEST_YEAR = 2100
# Column names of a user layer read as its features' year (lower case; a name that contains one of these).
YEAR_COLUMN_NAMES = ("year", "年份", "年度", "批次", "batch")
KNOWN_WHEN_SET = ("plan", "target")  # figure statuses whose year lies ahead of the document that set them
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d|2100)(?!\d)")


def parse_as_of(raw: str | None) -> int | None:
    """The `as_of` parameter: None when absent or empty, else a whole year in range, or a 400 that says so."""
    if raw is None or raw.strip() == "" or raw.strip().lower() == "all":
        return None
    accepted = f"a year from {EARLIEST_YEAR} to {LATEST_YEAR} (or leave it out for all years)"
    try:
        year = int(raw.strip())
    except ValueError:
        raise BadRequest(f"as_of must be {accepted}, got {raw!r}") from None
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise BadRequest(f"as_of must be {accepted}, got {year}")
    return year


def read_year(value: Any) -> int | None:
    """A year from a cell: a whole number, or the last four-digit year written in a text; else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            if pd.isna(value):
                return None
        except (TypeError, ValueError):
            return None
        year = int(value)
        return year if float(value) == year and EARLIEST_YEAR <= year <= LATEST_YEAR else None
    if isinstance(value, str):
        found = _YEAR.findall(value)
        return int(found[-1]) if found else None
    if hasattr(value, "year") and isinstance(value.year, int):  # a date or timestamp
        return int(value.year)
    return None


def year_column(frame: pd.DataFrame) -> str | None:
    """The column a layer's features take their year from: `year`, a designation, or a year-like name."""
    names = [str(c) for c in frame.columns if str(c) != "geometry"]
    if "year" in names:
        return "year"
    if "designation" in names:
        return "designation"
    for c in names:
        low = str(c).lower()
        if any(key in low for key in YEAR_COLUMN_NAMES):
            return c
    return None


def feature_years(frame: pd.DataFrame) -> pd.Series | None:
    """Each feature's year (None where it has none), indexed like `frame`; None when the layer carries no year."""
    column = year_column(frame)
    if column is None:
        return None
    if column == "designation":
        values = [read_year(d.get("year")) if isinstance(d, Mapping) else None for d in frame[column]]
    else:
        values = [read_year(v) for v in frame[column]]
    return pd.Series(values, index=frame.index, dtype=object)


def is_dated(kind: str, frame: pd.DataFrame) -> bool:
    """Whether a layer's features are dated records (sites, user lists, year-carrying lists), not base geography."""
    return year_column(frame) is not None or kind in ("sites", "user")


def known_year(item: Mapping[str, Any]) -> int | None:
    """When a figure or fact was known: its year; a plan's or target's when its document was dated; a period's end."""
    status = item.get("status")
    if status in KNOWN_WHEN_SET:
        dated = read_year((item.get("source_ref") or {}).get("date"))
        if dated is not None:
            return dated
    year = read_year(item.get("year"))
    return year if year is not None else read_year(item.get("period"))


def _keep(year: int | None, as_of: int) -> bool:
    return year is None or year <= as_of


def frame_as_of(
    catalog: Catalog, layer_id: str, frame: gpd.GeoDataFrame, as_of: int
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """`frame` (all or part of layer `layer_id`) as of `as_of`, and what the answer says about it.

    Dated layers lose the features of later years and gain `year_known`; a region layer listing designations
    (`designations`, `pilot`) keeps those of `as_of` or before; features' `facts` keep the latest known by then.
    The summary: {as_of, dated, year_field, features, no_year, left_out}.
    """
    spec = catalog.spec(layer_id)
    whole = catalog.frame(layer_id)
    dated = is_dated(spec.kind, whole)
    years = feature_years(frame)
    info: dict[str, Any] = {"as_of": as_of, "dated": dated, "year_field": year_column(whole)}
    out = frame
    left_out = 0
    if dated:
        if years is None:
            years = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        keep = [_keep(y, as_of) for y in years]
        left_out = len(keep) - sum(keep)
        out = frame.loc[keep].copy()
        out["year_known"] = [y is not None for y in years[keep]]
    if "facts" in out.columns:  # a site's facts: the latest known by then, undated ones marked
        out = out.copy() if out is frame else out
        out["facts"] = [_latest(fs, as_of)[0] if isinstance(fs, list) else fs for fs in out["facts"]]
    if "designations" in out.columns and spec.kind == "regions":
        out = out.copy() if out is frame else out
        kept = [_designations_as_of(catalog, str(code), as_of) for code in out.index]
        out["designations"] = [[d["programme"] for d in ds] for ds in kept]
        if "pilot" in out.columns:
            out["pilot"] = [bool(p) and bool(ds) for p, ds in zip(out["pilot"], kept, strict=True)]
    info["features"] = len(out)
    info["no_year"] = int((~out["year_known"]).sum()) if "year_known" in out.columns else 0
    info["left_out"] = left_out
    return out, info


def _designations_as_of(catalog: Catalog, adcode: str, as_of: int) -> list[dict[str, Any]]:
    try:
        designations = catalog.profiles.get(adcode)["designations"]
    except NotFound:  # not a region the profiles know
        return []
    return [d for d in designations if _keep(read_year(d.get("year")), as_of)]


def _latest(items: Iterable[dict[str, Any]], as_of: int) -> tuple[list[dict[str, Any]], int, int]:
    """Figures or facts as of a year: per label the latest known by then (an alternative value of an earlier year
    stands in for a later one); those without a year kept and marked. Also how many were left out and undated."""
    chosen: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    left_out = 0
    undated: list[dict[str, Any]] = []
    for item in items:
        candidates = [item] + [
            {**item, **alt, "alternatives": [], "alternative_of": item.get("value")}
            for alt in item.get("alternatives") or []
        ]
        usable = [(known_year(c), c) for c in candidates]
        if all(y is None for y, _ in usable):
            undated.append({**item, "year_known": False})
            continue
        dated = [(y, c) for y, c in usable if y is not None and y <= as_of]
        if not dated:
            left_out += 1
            continue
        year, best = max(dated, key=lambda yc: yc[0])
        label = str(item.get("label"))
        entry = {**best, "year_known": True}
        if label not in chosen:
            order.append(label)
            chosen[label] = entry
        else:
            left_out += 1  # an older figure of the same thing
            if (known_year(chosen[label]) or 0) < year:
                chosen[label] = entry
    return [chosen[k] for k in order] + undated, left_out, len(undated)


def profile_as_of(catalog: Catalog, profile: dict[str, Any], as_of: int) -> dict[str, Any]:
    """A region's profile as of a year: designations, figures, facts and sites of later years left out (the
    designations left out are listed under `timeline.later_designations`), undated ones kept and marked."""
    out = dict(profile)
    designations, later = [], []
    for d in profile.get("designations", []):
        year = read_year(d.get("year"))
        if _keep(year, as_of):
            designations.append({**d, "year_known": year is not None})
        else:
            later.append({k: d.get(k) for k in ("programme", "programme_en", "year")})
    out["designations"] = designations
    figures, figures_out, figures_undated = _latest(profile.get("figures", []), as_of)
    facts, facts_out, facts_undated = _latest(profile.get("facts", []), as_of)
    out["figures"], out["facts"] = figures, facts
    sites: dict[str, list[dict[str, Any]]] = {}
    sites_out = sites_undated = 0
    for layer, items in profile.get("sites", {}).items():
        years = feature_years(catalog.frame(layer))
        kept = []
        for s in items:
            year = years.get(s["id"]) if years is not None else None
            if _keep(year, as_of):
                kept.append({**s, "year_known": year is not None})
                sites_undated += year is None
            else:
                sites_out += 1
        if kept:
            sites[layer] = kept
    out["sites"] = sites
    if "counties" in profile:
        out["counties"] = [
            {**c, "pilot": bool(c["pilot"]) and bool(_designations_as_of(catalog, c["adcode"], as_of))}
            for c in profile["counties"]
        ]
        out["pilot_counties"] = [c["name"] for c in out["counties"] if c["pilot"]]
    out["timeline"] = {
        "as_of": as_of,
        "later_designations": later,
        "left_out": {"designations": len(later), "figures": figures_out, "facts": facts_out, "sites": sites_out},
        "no_year": {
            "designations": sum(not d["year_known"] for d in designations),
            "figures": figures_undated,
            "facts": facts_undated,
            "sites": sites_undated,
        },
    }
    return out


def profiles_as_of(catalog: Catalog, as_of: int) -> Callable[[str], dict[str, Any]]:
    """A region's profile as of `as_of`, by adcode (for the figures of a download as of a year)."""
    return lambda adcode: profile_as_of(catalog, catalog.profiles.get(adcode), as_of)


def years(catalog: Catalog) -> dict[str, Any]:
    """The years present in the data (for a year control's range) and, per dated layer, its years and how many of
    its features have none."""
    found: set[int] = set()
    per_layer: dict[str, dict[str, Any]] = {}
    for layer_id in catalog.ids():
        frame = catalog.frame(layer_id)
        if not is_dated(catalog.spec(layer_id).kind, frame):
            continue
        ys = feature_years(frame)
        values = [] if ys is None else [y for y in ys if y is not None]
        found.update(values)
        per_layer[layer_id] = {
            "years": sorted(set(values)),
            "no_year": len(frame) - len(values),
            "year_field": year_column(frame),
        }
    for profile in catalog.profiles:
        found.update(y for d in profile.get("designations", []) if (y := read_year(d.get("year"))) is not None)
        for item in [*profile.get("figures", []), *profile.get("facts", [])]:
            if (y := known_year(item)) is not None:
                found.add(y)
    ordered = sorted(found)
    return {
        "years": ordered,
        "min": ordered[0] if ordered else None,
        "max": ordered[-1] if ordered else None,
        "layers": per_layer,
    }


def as_of_note(as_of: int, frames: Iterable[pd.DataFrame], lang: str = "zh") -> str:
    """A printed map's subtitle when it shows what existed as of a year: the year and how many records have none."""
    undated = sum(int((~f["year_known"].astype(bool)).sum()) for f in frames if "year_known" in f.columns)
    if lang == "en":
        return f"As of {as_of}" + (f" ({undated} records without a year, drawn dashed and pale)" if undated else "")
    return f"截至 {as_of} 年" + (f"（{undated} 条记录没有年份，以虚线、浅色绘出）" if undated else "")


def geojson_as_of(catalog: Catalog, layer_id: str, as_of: int, **query: Any) -> bytes:
    """Layer `layer_id` as GeoJSON bytes as of a year (`query`: bbox, zoom, datum, ids as `Catalog.query` takes);
    the collection carries the summary as `timeline`."""
    frame = catalog.query(layer_id, **query)
    frame, info = frame_as_of(catalog, layer_id, frame, as_of)
    return to_bytes(feature_collection(frame, extra={"datum": query.get("datum", "wgs84"), "timeline": info}))
