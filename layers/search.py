"""Search across regions (through the gazetteer) and sites (name, English name, aliases)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from geo.errors import BadRequest

from .catalog import SITE_LAYERS

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
    results.sort(key=lambda r: r[0])
    return [r for _, r in results[:limit]]
