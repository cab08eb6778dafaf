"""Cited figures for downloads: a region layer's figures as one numeric column per indicator (wide), and the
facts of a layer's features as long tables (one row a fact) with a table describing the wide columns.

Regions take their figures and facts from the region profiles (`/api/regions/<adcode>`), sites from their
records' `facts`. The tables go to `geo.formats` as `Table`s related to the layer; the writers put them
beside the layer (a second table, sheet, .dbf or folder) and, for CSV, on request (`figures=long`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
from geopandas import GeoDataFrame

from geo.formats.layer import Table

if TYPE_CHECKING:
    from .store import Catalog

FIGURES_TABLE = "figures"  # regions: one row per cited figure or fact of a region
FACTS_TABLE = "facts"  # sites: one row per cited fact of a site
FIELDS_TABLE = "figure_fields"  # what each wide figure column of a region layer holds
FACT_COLUMNS = (
    "indicator",
    "indicator_en",
    "value",
    "value_text",
    "unit",
    "unit_en",
    "year",
    "status",
    "period",
    "note",
    "note_en",
    "source",
)
REGION_KEYS = ("adcode", "name", "level", "city")
SITE_KEYS = ("id", "name", "kind", "county_adcode", "county")
FIELD_COLUMNS = ("column", "indicator", "indicator_en", "unit", "unit_en", "year", "status", "regions", "sources")


def source_text(source: Any) -> str | None:
    """A fact's citation as one line: the text as given, or `file Lfirst–last` from {file, lines}."""
    if source is None or isinstance(source, str):
        return source
    if isinstance(source, Mapping):
        for key in ("text", "title"):
            if isinstance(source.get(key), str):
                return str(source[key])
        lines = source.get("lines") or []
        span = f" L{lines[0]}" + (f"–{lines[-1]}" if len(lines) > 1 and lines[-1] != lines[0] else "") if lines else ""
        return f"{source.get('file', '')}{span}".strip() or None
    if isinstance(source, Sequence):
        return "; ".join(t for t in (source_text(s) for s in source) if t) or None
    return str(source)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fact_row(fact: Mapping[str, Any]) -> dict[str, Any]:
    """One fact as a long-table row: `value` when it is a number, `value_text` when it is words."""
    value = fact.get("value")
    return {
        "indicator": fact.get("label"),
        "indicator_en": fact.get("label_en"),
        "value": float(value) if isinstance(value, (int, float)) and is_number(value) else None,
        "value_text": None if is_number(value) or value is None else str(value),
        "unit": fact.get("unit"),
        "unit_en": fact.get("unit_en"),
        "year": fact.get("year"),
        "status": fact.get("status"),
        "period": fact.get("period"),
        "note": fact.get("note"),
        "note_en": fact.get("note_en"),
        "source": source_text(fact.get("source")),
    }


def _long_table(rows: Iterable[dict[str, Any]], keys: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=[*keys, *FACT_COLUMNS])
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    frame["year"] = pd.array([None if pd.isna(y) else int(y) for y in frame["year"]], dtype="Int64")
    return frame


def region_facts(
    catalog: Catalog, adcodes: Sequence[str], profile_of: Callable[[str], Mapping[str, Any]] | None = None
) -> pd.DataFrame:
    """Long table of the regions' figures (numbers) then facts (words), as their profiles cite them (`profile_of`:
    another way to get a region's profile, e.g. as of a year; default the catalog's)."""
    rows: list[dict[str, Any]] = []
    for code in adcodes:
        profile = profile_of(code) if profile_of is not None else catalog.profiles.get(code)
        key = {k: profile.get(k) for k in REGION_KEYS}
        rows.extend({**key, **fact_row(f)} for f in [*profile.get("figures", []), *profile.get("facts", [])])
    return _long_table(rows, REGION_KEYS)


def site_facts(frame: GeoDataFrame) -> pd.DataFrame:
    """Long table of the sites' cited facts (from their `facts` column)."""
    rows: list[dict[str, Any]] = []
    if "facts" in frame.columns:
        for fid, row in zip(frame.index.astype(str), frame.to_dict(orient="records"), strict=True):
            key = {k: row.get(k) for k in SITE_KEYS}
            key["id"] = fid
            rows.extend({**key, **fact_row(f)} for f in row.get("facts") or [])
    return _long_table(rows, SITE_KEYS)


def _column_names(keys: Sequence[tuple[str, str | None, int | None]], taken: set[str]) -> dict[tuple, str]:
    """(label, unit, year) → column name: the label, its year when the label has several, its unit in brackets."""
    years: dict[str, set] = {}
    for label, _unit, year in keys:
        years.setdefault(label, set()).add(year)
    names: dict[tuple, str] = {}
    for label, unit, year in keys:
        name = label
        if len(years[label]) > 1:
            name += f" {year}" if year is not None else " (年份未注)"
        if unit:
            name += f"（{unit}）"
        base, k = name, 2
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        names[(label, unit, year)] = name
    return names


def wide_figures(frame: GeoDataFrame, figures: pd.DataFrame) -> tuple[GeoDataFrame, pd.DataFrame]:
    """The region frame with one numeric column per indicator, and the table describing those columns.

    An indicator is a (label, unit, year) of the long table's numbers; a region citing one twice keeps the first.
    """
    numbers = figures[figures["value"].notna()]
    keys = list(dict.fromkeys(zip(numbers["indicator"], numbers["unit"], numbers["year"], strict=True)))
    keys = [(str(label), unit, None if pd.isna(year) else int(year)) for label, unit, year in keys]
    names = _column_names(keys, set(map(str, frame.columns)))
    values: dict[str, dict[str, float]] = {name: {} for name in names.values()}
    fields: dict[str, dict[str, Any]] = {}
    for row in numbers.to_dict(orient="records"):
        year = None if pd.isna(row["year"]) else int(row["year"])
        name = names[(str(row["indicator"]), row["unit"], year)]
        values[name].setdefault(str(row["adcode"]), float(row["value"]))
        field = fields.setdefault(
            name,
            {
                "column": name,
                "indicator": row["indicator"],
                "indicator_en": row["indicator_en"],
                "unit": row["unit"],
                "unit_en": row["unit_en"],
                "year": year,
                "status": set(),
                "regions": set(),
                "sources": [],
            },
        )
        field["regions"].add(str(row["adcode"]))
        if row["status"]:
            field["status"].add(row["status"])
        cited = f"{row['name']}: {row['source']}" if row["source"] else None
        if cited and cited not in field["sources"]:
            field["sources"].append(cited)
    ids = frame.index.astype(str)
    geom_col = frame.geometry.name
    columns = pd.DataFrame(
        {name: [by_code.get(i, float("nan")) for i in ids] for name, by_code in values.items()},
        index=frame.index,
        dtype=float,
    )
    out = GeoDataFrame(
        pd.concat([frame.drop(columns=[geom_col]), columns, frame[[geom_col]]], axis=1),
        geometry=geom_col,
        crs=frame.crs,
    )
    table = pd.DataFrame(
        [
            {
                **f,
                "status": ", ".join(sorted(f["status"])) or None,
                "regions": len(f["regions"]),
                "sources": "; ".join(f["sources"]),
            }
            for f in fields.values()
        ],
        columns=FIELD_COLUMNS,
    )
    table["year"] = table["year"].astype("Int64")
    return out, table


def with_figures(
    catalog: Catalog,
    layer_id: str,
    frame: GeoDataFrame,
    profile_of: Callable[[str], Mapping[str, Any]] | None = None,
) -> tuple[GeoDataFrame, tuple[Table, ...]]:
    """The frame to download and its related tables: regions gain a column per indicator plus the `figures` and
    `figure_fields` tables (from `profile_of`, default the catalog's profiles); sites bring the `facts` table;
    other layers come as they are."""
    kind = catalog.spec(layer_id).kind
    if kind == "regions":
        figures = region_facts(catalog, list(frame.index.astype(str)), profile_of)
        wide, fields = wide_figures(frame, figures)
        return wide, (
            Table(
                FIGURES_TABLE,
                "区域数据（指标、数值、单位、年份、来源）",
                figures,
                "one row per cited figure (value) or fact (value_text) of a region, keyed by adcode",
            ),
            Table(
                f"{layer_id}_{FIELDS_TABLE}",
                f"{catalog.spec(layer_id).title}：指标列说明",
                fields,
                f"what each numeric figure column of {layer_id} holds: indicator, unit, year, sources",
                kind="fields",
            ),
        )
    if kind == "sites":
        return frame, (
            Table(
                FACTS_TABLE,
                "地点数据（事实、数值、单位、年份、来源）",
                site_facts(frame),
                "one row per cited fact of a site, keyed by the site id",
            ),
        )
    return frame, ()
