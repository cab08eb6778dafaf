"""Search across regions (through the gazetteer), sites (name, English name, aliases) and user layers (title, text)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from geo.errors import BadRequest

from .catalog import SITE_LAYERS
from .store import feature_names

if TYPE_CHECKING:
    from .store import Catalog

LAYER_OF_LEVEL = {"province": "province", "city": "cities", "county": "counties"}


def _region(profile: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": profile["adcode"],
        "layer": LAYER_OF_LEVEL[profile["level"]],
        "name": profile["name"],
        "name_en": profile.get("name_en"),
        "adcode": profile["adcode"],
        "city": profile["city"],
        "kind": profile["level"],
        "center": profile["center"],
        "bbox": profile["bbox"],
    }


def search(catalog: Catalog, query: str | None, limit: int = 12) -> list[dict[str, Any]]:
    text = (query or "").strip()
    if not text:
        raise BadRequest("q is required: a county, city or site name (full, short or alias), or an adcode")
    if len(text) > 100:
        raise BadRequest("q is too long (at most 100 characters)")
    results: list[tuple[int, dict[str, Any]]] = []
    for rank, place in enumerate(catalog.gazetteer.search(text, limit=limit)):
        results.append(
            (0 if place.name.startswith(text) or rank == 0 else 2, _region(catalog.profiles.get(place.adcode)))
        )
    needle = text.lower()
    found = {r["id"] for _, r in results}
    for profile in catalog.profiles:  # regions by English name
        english = (profile.get("name_en") or "").lower()
        if needle in english and profile["adcode"] not in found:
            results.append((0 if english.startswith(needle) else 2, _region(profile)))
    seen: set[str] = set()
    for layer in SITE_LAYERS:
        frame = catalog.frame(layer)
        for fid, row in frame.iterrows():
            if fid in seen:
                continue
            names = [row["name"], *(row["aliases"] or [])]
            english = (row["name_en"] or "").lower()
            if any(text == n for n in names):
                rank = 0
            elif any(text in n for n in names):
                rank = 1
            elif needle in english:
                rank = 2
            else:
                continue
            seen.add(fid)
            center, bbox = catalog.centre(layer, fid)
            results.append(
                (
                    rank,
                    {
                        "id": fid,
                        "layer": layer,
                        "name": row["name"],
                        "name_en": row["name_en"],
                        "kind": row["kind"],
                        "adcode": row["county_adcode"],
                        "city": row["city"],
                        "center": center,
                        "bbox": bbox,
                    },
                )
            )
    results.extend(_user_hits(catalog, text, limit))
    results.sort(key=lambda r: r[0])
    return [r for _, r in results[:limit]]


def _user_hits(catalog: Catalog, text: str, limit: int) -> list[tuple[int, dict[str, Any]]]:
    """User layers whose title holds the text, and their features with a text cell holding it (rank 0 for a
    whole-cell match, 1 for a part of the name, 2 for a part of another cell); at most `limit` per layer."""
    needle = text.lower()
    hits: list[tuple[int, dict[str, Any]]] = []
    for layer_id, info in catalog.user_layers().items():
        if needle in info.title.lower():
            bbox = list(info.bbox) if info.bbox else None
            center = [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2] if bbox else None
            hits.append(
                (
                    1,
                    {
                        "id": layer_id,
                        "layer": layer_id,
                        "name": info.title,
                        "kind": "layer",
                        "center": center,
                        "bbox": bbox,
                    },
                )
            )
        frame = catalog.frame(layer_id)
        texts = [c for c in frame.columns if c != frame.geometry.name and frame[c].dtype == object]
        if not texts:
            continue
        names = feature_names(frame)
        found = 0
        for n, values in enumerate(zip(*(frame[c].tolist() for c in texts), strict=True)):
            cells = [v.lower() for v in values if isinstance(v, str)]
            if needle in cells:
                rank = 0
            elif needle in names[n].lower():
                rank = 1
            elif any(needle in v for v in cells):
                rank = 2
            else:
                continue
            fid = str(frame.index[n])
            center, bbox = catalog.centre(layer_id, fid)
            row = frame.iloc[n]
            hits.append(
                (
                    rank,
                    {
                        "id": fid,
                        "layer": layer_id,
                        "name": names[n],
                        "kind": "user",
                        "adcode": row.get("adcode") or row.get("county_adcode"),
                        "city": row.get("city"),
                        "center": center,
                        "bbox": bbox,
                    },
                )
            )
            found += 1
            if found >= limit:
                break
    return hits
