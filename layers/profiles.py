"""Region profiles: a county's or city's designations, cited figures, summary and the sites inside it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from geo.errors import NotFound
from geo.shapes import bbox as geom_bbox
from geo.shapes import label_point

from .catalog import SITE_LAYERS

if TYPE_CHECKING:
    from .store import Catalog


def _site_ref(row: Any, layer: str) -> dict[str, Any]:
    # row is a pandas Series: its .name is the index label, so read columns by key
    return {
        "id": row["id"],
        "layer": layer,
        "name": row["name"],
        "name_en": row["name_en"],
        "kind": row["kind"],
        "center": list(label_point(row.geometry)),
    }


class Profiles:
    """Profiles of every province, city and county, computed once (spatial join of every site layer)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        regions = catalog.boundaries.regions
        for column in ("name_en", "city_en"):  # English names exist for Zhejiang only: elsewhere null, not NaN
            regions[column] = regions[column].astype(object).where(regions[column].notna(), None)
        self._regions = regions
        written: dict[str, dict] = {}
        for rec in catalog.data.regions:  # several files may write about one region: merge them
            mine = written.setdefault(rec["adcode"], {"facts": [], "conflicts": [], "summary_source_refs": []})
            mine["facts"] = mine["facts"] + rec["facts"]
            mine["conflicts"] = mine["conflicts"] + rec["conflicts"]
            if rec.get("summary_source_ref"):
                mine["summary_source_refs"] = [*mine["summary_source_refs"], rec["summary_source_ref"]]
            for key, glue in (
                ("summary", ""),
                ("summary_en", " "),
                ("summary_source", "; "),
                ("location_note", " "),
                ("location_note_en", " "),
            ):
                parts = [p for p in (mine.get(key), rec.get(key)) if p]
                mine[key] = glue.join(parts) or None
        pilots = {p["adcode"]: p for p in catalog.data.pilots}
        counties = catalog.frame("counties")
        inside: dict[str, dict[str, list[dict]]] = {}
        for layer in SITE_LAYERS:
            frame = catalog.frame(layer)
            if not len(frame):
                continue
            for region_layer in ("counties", "cities", "province"):
                polys = catalog.frame(region_layer)
                hits = polys.sindex.query(frame.geometry.values, predicate="intersects")
                for site_i, region_i in zip(*hits, strict=False):
                    code = polys.index[region_i]
                    inside.setdefault(code, {}).setdefault(layer, []).append(_site_ref(frame.iloc[site_i], layer))
        self._profiles: dict[str, dict[str, Any]] = {}
        for row in regions.itertuples(index=False):
            text = written.get(row.adcode, {})
            facts = text.get("facts", [])
            designations = []
            if row.adcode in pilots:
                p = pilots[row.adcode]
                designations.append(
                    {
                        "programme": p["programme"],
                        "programme_en": p.get("programme_en"),
                        "year": p["year"],
                        "source": p["source"],
                        "source_ref": p.get("source_ref"),
                        "listed_as": p["listed_as"],
                    }
                )
            profile = {
                "adcode": row.adcode,
                "name": row.name,
                "name_en": row.name_en,
                "level": row.level,
                "city": row.city,
                "city_en": row.city_en,
                "city_adcode": row.city_adcode,
                "province": row.province,
                "designations": designations,
                "figures": [
                    f for f in facts if isinstance(f["value"], (int, float)) and not isinstance(f["value"], bool)
                ],
                "facts": [f for f in facts if not isinstance(f["value"], (int, float)) or isinstance(f["value"], bool)],
                "summary": text.get("summary"),
                "summary_en": text.get("summary_en"),
                "summary_source": text.get("summary_source") or None,
                "summary_source_refs": text.get("summary_source_refs", []),
                "conflicts": text.get("conflicts", []),
                "location_note": text.get("location_note"),
                "location_note_en": text.get("location_note_en"),
                "sites": {
                    layer: sorted(items, key=lambda s: s["name"])
                    for layer, items in sorted(inside.get(row.adcode, {}).items())
                },
                "center": list(label_point(row.geometry)),
                "bbox": geom_bbox(row.geometry),
            }
            if row.level in ("city", "province"):
                if row.level == "city":
                    members = counties[counties["city_adcode"] == row.adcode]
                else:  # a province's counties share the first two digits of its adcode
                    members = counties[counties["adcode"].str[:2] == row.adcode[:2]]
                profile["counties"] = [
                    {"adcode": c.adcode, "name": c.name, "name_en": c.name_en, "pilot": bool(c.pilot)}
                    for c in members.itertuples()
                ]
                profile["pilot_counties"] = [c["name"] for c in profile["counties"] if c["pilot"]]
            self._profiles[row.adcode] = profile

    def get(self, adcode: str) -> dict[str, Any]:
        try:
            return self._profiles[adcode]
        except KeyError:
            raise NotFound(
                f"no region with adcode {adcode!r}; give the 6-digit code of a county, city or province "
                "(e.g. 330109 for 萧山区)"
            ) from None

    def __len__(self) -> int:
        return len(self._profiles)

    def __iter__(self):
        return iter(self._profiles.values())
