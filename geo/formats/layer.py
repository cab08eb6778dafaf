"""What a writer receives (`ExportLayer`) and the flat table every file format is written from.

`flat_frame` turns a GeoDataFrame into one GDAL and CSV can store: the feature id as a leading `id`
column, nested values as JSON text, one type per column, rounded and RFC 7946-oriented geometry in EPSG:4326.
A layer may bring `related` tables (no geometry, e.g. a long table of figures keyed by feature id);
`related_tables` gathers them over the layers written to one file, merging tables of the same name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from geopandas import GeoDataFrame

from ..errors import BadRequest
from ..geojson import jsonable, prepare_geometries

PRECISION = 6  # decimals of a degree kept in every file (about 0.1 m)
ID_FIELD = "id"
META_KEYS = ("source", "data_date", "datum", "licence")


@dataclass(frozen=True)
class Table:
    """A table without geometry written beside the layers: `name` is its machine name (table/file name),
    `title` the human one, `description` one line saying what a row is. `kind` is `data` (rows of their own)
    or `fields` (it describes the columns of a layer; left out where only the data tables are asked for)."""

    name: str
    title: str
    frame: pd.DataFrame
    description: str = ""
    kind: str = "data"


@dataclass(frozen=True)
class ExportLayer:
    """One layer to write: `name` is the machine name (layer/file name), `title` the human one.

    `frame` is WGS-84 with the feature ids as its index. `background` layers are context drawn under the data
    on maps (html, png, pdf) and skipped by data formats. `style` is a small dict (`color`, `fill`, `weight`,
    `symbol`, `dash`) used by maps. `related` are tables written beside the layer by the formats that hold
    several tables (GeoPackage, Shapefile zip, KML) and on request by CSV.
    """

    name: str
    title: str
    frame: GeoDataFrame
    metadata: Mapping[str, Any] = field(default_factory=dict)
    style: Mapping[str, Any] = field(default_factory=dict)
    background: bool = False
    related: tuple[Table, ...] = ()


def related_tables(layers: Sequence[ExportLayer]) -> list[Table]:
    """The related tables of the data layers, those of the same name merged into one (repeated rows once),
    in the order first met."""
    merged: dict[str, list[Table]] = {}
    for layer in layers:
        if not layer.background:
            for table in layer.related:
                merged.setdefault(table.name, []).append(table)
    out = []
    for name, tables in merged.items():
        frames = [t.frame for t in tables if len(t.frame.columns)]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else (frames[0] if frames else pd.DataFrame())
        if len(tables) > 1:
            frame = frame[~frame.astype(str).duplicated()].reset_index(drop=True)
        out.append(Table(name, tables[0].title, frame, tables[0].description, tables[0].kind))
    return out


def flat_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A related table ready for GDAL and CSV: flat attribute types (nested values as JSON text), no index."""
    out = pd.DataFrame(frame).reset_index(drop=True).copy()
    for col in out.columns:
        out[col] = _flat_column(out[col])
    return out


def data_layers(layers: Sequence[ExportLayer]) -> list[ExportLayer]:
    """The layers that are data (not background); BadRequest when there is none."""
    data = [lay for lay in layers if not lay.background]
    if not data:
        raise BadRequest("nothing to export: no data layer given")
    return data


def choice(options: Mapping[str, Any], key: str, accepted: Sequence[str]) -> str:
    """The option `key` (default: the first accepted value); BadRequest naming the accepted values."""
    value = str(options.get(key) or accepted[0]).strip().lower()
    if value not in accepted:
        raise BadRequest(f"{key} must be one of {', '.join(accepted)}; got {value!r}")
    return value


def one_layer(layers: Sequence[ExportLayer], ext: str) -> ExportLayer:
    """The single data layer of a one-layer format; BadRequest naming the formats that combine layers."""
    data = data_layers(layers)
    if len(data) != 1:
        raise BadRequest(f"{ext} holds one layer; ask for gpkg, shp.zip, kml or html to combine layers")
    return data[0]


def meta_text(layer: ExportLayer) -> dict[str, str]:
    """The layer's title, name, metadata (plain values only), datum and feature count, as text."""
    meta = {"title": layer.title, "name": layer.name}
    meta.update(
        {str(k): str(v) for k, v in layer.metadata.items() if v is not None and not isinstance(v, (dict, list))}
    )
    meta.setdefault("datum", "WGS-84 (EPSG:4326)")
    meta["feature_count"] = str(len(layer.frame))
    return meta


def _with_id(frame: GeoDataFrame) -> GeoDataFrame:
    """Index (feature id) as a leading `id` column; an existing `id` column equal to it is dropped."""
    frame = frame.copy()
    ids = frame.index.astype(str)
    if ID_FIELD in frame.columns:
        if list(frame[ID_FIELD].astype(str)) == list(ids):
            frame = frame.drop(columns=[ID_FIELD])
        else:
            frame = frame.rename(columns={ID_FIELD: f"{ID_FIELD}_1"})
    frame.insert(0, ID_FIELD, list(ids))
    return frame.reset_index(drop=True)


def _flat_column(values: pd.Series) -> pd.Series:
    """A column GDAL can store: nested → JSON strings; mixed types → strings; numbers/str/bool kept."""
    if values.dtype != object:
        return values
    cleaned = [jsonable(v, stringify_nested=True) for v in values]
    present = [v for v in cleaned if v is not None]
    if not present:
        return pd.Series([None] * len(values), index=values.index, dtype=object)
    if all(isinstance(v, str) for v in present):
        return pd.Series(cleaned, index=values.index, dtype=object)
    if all(isinstance(v, bool) for v in present) and len(present) == len(cleaned):
        return pd.Series(cleaned, index=values.index, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pd.Series(cleaned, index=values.index, dtype="Int64")
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pd.Series([np.nan if v is None else float(v) for v in cleaned], index=values.index, dtype=float)
    return pd.Series(
        [None if v is None else (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)) for v in cleaned],
        index=values.index,
        dtype=object,
    )


def flat_frame(frame: GeoDataFrame, precision: int = PRECISION) -> GeoDataFrame:
    """The frame ready for GDAL: `id` column, flat attribute types, rounded/oriented geometry, EPSG:4326."""
    if frame.crs is None:
        frame = frame.set_crs(4326)
    elif frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    out = _with_id(frame)
    geom_col = out.geometry.name
    for col in out.columns:
        if col != geom_col:
            out[col] = _flat_column(out[col])
    out[geom_col] = prepare_geometries(out.geometry.values, precision)
    return out
