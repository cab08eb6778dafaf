"""Choose the features a request asks for — by bbox, by ids, by property values — with one error text per mistake.

Every route that filters features (the JSON API, the downloads, OGC API – Features) goes through `select` (one
layer) or `select_layers` (several layers sharing one `ids` list). Frames are WGS-84 GeoDataFrames whose index
holds the feature ids; the frame's order is kept and no feature is repeated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely
from geopandas import GeoDataFrame

from .errors import BadRequest, NotFound
from .params import check_bbox

MAX_NAMED = 20  # unknown ids named in an error


def select(
    frame: GeoDataFrame,
    *,
    bbox: Sequence[float] | None = None,
    ids: Sequence[str] | None = None,
    properties: Mapping[str, str] | None = None,
    max_ids: int | None = None,
    layer: str | None = None,
) -> GeoDataFrame:
    """The features of `frame` that match every filter given (none given: the whole frame).

    `bbox` (minx, miny, maxx, maxy, WGS-84): geometry intersects it. `ids`: feature id (the index, as text) is
    listed; an unknown id is a NotFound naming it. `properties`: each named column equals the text (numbers
    compared as numbers, booleans as true/false). `max_ids` caps the length of `ids` (BadRequest above it).
    `layer` names the layer in error texts.
    """
    key = layer or ""  # an empty name is left out of error texts
    return select_layers({key: frame}, bbox=bbox, ids=ids, properties=properties, max_ids=max_ids)[key]


def select_layers(
    frames: Mapping[str, GeoDataFrame],
    *,
    bbox: Sequence[float] | None = None,
    ids: Sequence[str] | None = None,
    properties: Mapping[str, str] | None = None,
    max_ids: int | None = None,
) -> dict[str, GeoDataFrame]:
    """`select` over several named layers at once: each id must belong to at least one of them."""
    if bbox is not None:
        bbox = check_bbox(bbox)
    if ids is not None:
        ids = _check_ids(ids, max_ids)
        known: set[str] = set()
        for frame in frames.values():
            known.update(frame.index.astype(str))
        unknown = [i for i in dict.fromkeys(ids) if i not in known]
        if unknown:
            raise unknown_ids(unknown, [name for name in frames if name])
    out = {}
    for name, frame in frames.items():
        keep = np.ones(len(frame), dtype=bool)
        if ids is not None:
            keep &= frame.index.astype(str).isin(list(ids))
        if bbox is not None:
            keep &= np.asarray(frame.geometry.intersects(shapely.box(*bbox)), dtype=bool)
        for column, wanted in (properties or {}).items():
            if column not in frame.columns:
                raise BadRequest(f"unknown property {column!r}; properties are: {', '.join(map(str, frame.columns))}")
            keep &= np.fromiter((equals(v, wanted) for v in frame[column]), dtype=bool, count=len(frame))
        out[name] = frame if keep.all() else frame[keep]
    return out


def unknown_ids(unknown: Sequence[str], layers: Sequence[str] = ()) -> NotFound:
    """The one error for ids that name no feature (404), listing up to MAX_NAMED of them in `unknown`."""
    where = f" in {', '.join(layers)}" if layers else ""
    named = list(unknown[:MAX_NAMED])
    more = f" (and {len(unknown) - MAX_NAMED} more)" if len(unknown) > MAX_NAMED else ""
    return NotFound(
        f"unknown feature id(s){where}: {', '.join(named)}{more}; ids are the features' `id` values",
        unknown=named,
    )


def _check_ids(ids: Sequence[str], max_ids: int | None) -> list[str]:
    if isinstance(ids, str):  # a bare string would be taken letter by letter
        ids = [ids]
    clean = [str(i).strip() for i in ids if str(i).strip()]
    if not clean:
        raise BadRequest("ids must be a comma-separated list of feature ids")
    if max_ids is not None and len(clean) > max_ids:
        raise BadRequest(f"ids may list at most {max_ids} feature ids, got {len(clean)}")
    return clean


def equals(value: Any, wanted: str) -> bool:
    """Whether a property value equals the text of a query parameter (missing values never match)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return False
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower() == wanted.lower()
    if isinstance(value, (int, float, np.integer, np.floating)):
        try:
            return float(value) == float(wanted)
        except ValueError:
            return False
    return str(value) == wanted
