"""Query parameters shared by every route: bounding boxes, id lists and bounded integers, with clear 400s."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import overload

import numpy as np

from .errors import BadRequest


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """`minx,miny,maxx,maxy` in WGS-84 degrees → tuple; None when absent; BadRequest when malformed."""
    if text is None or text.strip() == "":
        return None
    parts = text.split(",")
    if len(parts) not in (4, 6):
        raise BadRequest(f"bbox must be minx,miny,maxx,maxy in WGS-84 degrees, got {text!r}")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise BadRequest(f"bbox must be four numbers minx,miny,maxx,maxy, got {text!r}") from None
    if len(nums) == 6:  # minx,miny,minz,maxx,maxy,maxz (OGC API allows 3-D boxes)
        nums = [nums[0], nums[1], nums[3], nums[4]]
    return check_bbox(nums, text)


def check_bbox(values: Sequence[float], text: str | None = None) -> tuple[float, float, float, float]:
    """A bbox given as numbers, checked like a parsed one (`text`: how the client wrote it, for errors)."""
    raw = text if text is not None else ",".join(map(str, values))
    try:
        nums = [float(v) for v in values]
    except (TypeError, ValueError):
        raise BadRequest(f"bbox must be four numbers minx,miny,maxx,maxy, got {raw!r}") from None
    if len(nums) != 4:
        raise BadRequest(f"bbox must be minx,miny,maxx,maxy in WGS-84 degrees, got {raw!r}")
    minx, miny, maxx, maxy = nums
    if not all(np.isfinite(nums)):
        raise BadRequest(f"bbox values must be finite numbers, got {raw!r}")
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise BadRequest(f"bbox out of range: longitudes must lie in [-180, 180], latitudes in [-90, 90], got {raw!r}")
    if miny > maxy or minx > maxx:
        raise BadRequest(f"bbox must have minx <= maxx and miny <= maxy, got {raw!r}")
    return minx, miny, maxx, maxy


DEFAULT_MAX_IDS = 1000


def parse_ids(text: str | None, *, max_count: int = DEFAULT_MAX_IDS) -> list[str] | None:
    """`a,b,a,c` → ['a','b','c'] (first occurrence kept, duplicates dropped); None when absent;
    BadRequest when only commas or when more than `max_count` distinct ids are listed."""
    if text is None or text.strip() == "":
        return None
    ids = list(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    if not ids:
        raise BadRequest("ids must be a comma-separated list of feature ids")
    if len(ids) > max_count:
        raise BadRequest(
            f"ids lists {len(ids)} distinct feature ids; at most {max_count} are accepted per request "
            "(download the whole layer instead)",
            max_ids=max_count,
        )
    return ids


@overload
def int_arg(
    args: Mapping[str, str], name: str, *, low: int, high: int | None = None, default: int, clamp: bool = False
) -> int: ...
@overload
def int_arg(
    args: Mapping[str, str], name: str, *, low: int, high: int | None = None, default: None = None, clamp: bool = False
) -> int | None: ...
def int_arg(
    args: Mapping[str, str],
    name: str,
    *,
    low: int,
    high: int | None = None,
    default: int | None = None,
    clamp: bool = False,
) -> int | None:
    """A whole-number parameter in [low, high]; above `high` it is cut to `high` when `clamp`, else a 400."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be a whole number {bounds}, got {raw!r}") from None
    if value < low or (high is not None and value > high and not clamp):
        raise BadRequest(f"{name} must be {bounds}, got {value}")
    return min(value, high) if high is not None else value
