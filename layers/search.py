"""Search across regions (through the gazetteer) and sites (name, English name, aliases).

Regions are found by name (full, short, prefixed with their province or city), adcode and English name; a
former name answers today's unit with a note saying what became of it; when nothing matches, the gazetteer's
closest names come back flagged `suggestion` ("did you mean")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from geo.errors import BadRequest

from .catalog import PROVINCE, SITE_LAYERS

if TYPE_CHECKING:
    from .store import Catalog

LAYER_OF_LEVEL = {"province": "province", "city": "cities", "county": "counties"}
SUGGESTIONS = 5  # "did you mean" answers when nothing matches


def _region(
    profile: dict[str, Any], note: str | None = None, note_en: str | None = None, suggestion: bool = False
) -> dict[str, Any]:
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
        "note": note,
        "note_en": note_en,
        "suggestion": suggestion,
    }


def _former(catalog: Catalog, text: str) -> list[dict[str, Any]]:
    """Today's units for a former name (江干区 → 上城区), each with a note on what became of the old one."""
    out = []
    for entry, now in catalog.gazetteer.former.get(text, []):
        profile = catalog.profiles.get(now.adcode)
        now_en = profile.get("name_en") or now.name
        year = entry.get("year")
        when_en = f" in {year}" if year else ""
        note = f"{entry['name']}是旧名（{entry['note']}），今属{now.name}"
        note_en = f"A former name (changed{when_en}); the area is now {now_en}."
        out.append(_region(profile, note, note_en))
    return out


def _suggestions(catalog: Catalog, text: str) -> list[dict[str, Any]]:
    """The closest region names to a mistyped query, flagged as suggestions, those of the home province first."""
    places = catalog.gazetteer.suggest(text, limit=SUGGESTIONS * 2)
    places.sort(key=lambda p: p.province != PROVINCE)  # stable: keeps the gazetteer's order within each group
    out = []
    for place in places[:SUGGESTIONS]:
        profile = catalog.profiles.get(place.adcode)
        name_en = profile.get("name_en") or place.name
        out.append(_region(profile, f"您是不是要找：{place.name}", f"Did you mean {name_en}?", suggestion=True))
    return out


def search(catalog: Catalog, query: str | None, limit: int = 12) -> list[dict[str, Any]]:
    text = (query or "").strip()
    if not text:
        raise BadRequest("q is required: a county, city or site name (full, short or alias), or an adcode")
    if len(text) > 100:
        raise BadRequest("q is too long (at most 100 characters)")
    results: list[tuple[int, dict[str, Any]]] = []
    if text.isdigit() and len(text) == 6 and text in catalog.gazetteer.places:  # an adcode
        results.append((0, _region(catalog.profiles.get(text))))
    results += [(0, r) for r in _former(catalog, text)]
    for rank, place in enumerate(catalog.gazetteer.search(text, limit=limit)):
        if any(r["id"] == place.adcode for _, r in results):
            continue
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
                        "note": None,
                        "note_en": None,
                        "suggestion": False,
                    },
                )
            )
    results.sort(key=lambda r: r[0])
    if not results:
        return _suggestions(catalog, text)[:limit]
    return [r for _, r in results[:limit]]
