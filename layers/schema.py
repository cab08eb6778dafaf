"""The typed schema of every curated file in data/: pydantic models, one per file kind, that forbid unknown keys.

Each model checks one record on its own (types, required keys, allowed values). Checks that need more than
one record, the gazetteer or the seed texts (unique ids, parents, counties, cited figures) live in checks.py.
`json_schema()` publishes the same models as a JSON Schema for editors (layers/schema.json).
"""

from __future__ import annotations

import datetime
import json
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from .catalog import KINDS, PRECISIONS, ROLES, SITE_LAYERS

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
STATUSES = ("reported", "estimate", "plan", "target", "cumulative")


# The kinds are data (layers/catalog.py KINDS); the schema checks membership, the JSON Schema lists them.
def _known_kind(value: str) -> str:
    if value not in KINDS:
        raise ValueError(f"kind {value!r} is not one of {', '.join(sorted(KINDS))}")
    return value


Kind = Annotated[str, AfterValidator(_known_kind), Field(json_schema_extra={"enum": sorted(KINDS)})]
Precision = Literal[PRECISIONS]  # type: ignore[valid-type]
Role = Literal[ROLES]  # type: ignore[valid-type]
Status = Literal[STATUSES]  # type: ignore[valid-type]
LayerId = Literal[SITE_LAYERS]  # type: ignore[valid-type]
Text = Annotated[str, Field(min_length=1)]


def _value(v: Any) -> int | float | str:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ValueError(f"a value must be a number or a text, got {type(v).__name__}")
    if isinstance(v, str) and not v.strip():
        raise ValueError("a text value must not be empty")
    return v


# A figure (number) or a short text; one clear error instead of one per union member.
Value = Annotated[
    int | float | str,
    PlainValidator(_value),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "minLength": 1}]}),
]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Source(Record):
    """A citation: a seed file and its 1-based line span, as `sed -n` prints them."""

    file: Text
    lines: Annotated[list[int], Field(min_length=2, max_length=2)] = Field(
        description="[first, last], 1-based; [n, n] for one line"
    )

    @field_validator("lines")
    @classmethod
    def _span(cls, lines: list[int]) -> list[int]:
        if lines[0] < 1 or lines[1] < lines[0]:
            raise ValueError(f"lines must be [first, last] with 1 ≤ first ≤ last, got {lines}")
        return lines


class Alternative(Record):
    """Another source's value for the same figure."""

    value: Value
    unit: str | None = None
    unit_en: str | None = None
    year: int | None = None
    source: Source
    note: Text
    note_en: Text


class Fact(Record):
    """A cited figure or short text about a site or region."""

    label: Text
    label_en: str | None = None
    value: Value
    unit: str | None = None
    unit_en: str | None = None
    year: int | None = Field(None, description="the year the figure refers to (null if the text gives none)")
    status: Status = Field("reported", description="what kind of figure: reported, estimate, plan, target, cumulative")
    period: str | None = Field(None, description="the span a cumulative total covers, e.g. 2016–2020")
    note: str | None = None
    note_en: str | None = None
    source: Source
    alternatives: list[Alternative] = Field(default_factory=list)


class Conflict(Record):
    """A disagreement between sources that is not one figure."""

    topic: Text
    topic_en: Text
    note: Text
    note_en: Text
    sources: Annotated[list[Source], Field(min_length=1)]


class Designation(Record):
    programme: Text
    programme_en: str | None = None
    year: int | None = None
    source: Source


class _Described(Record):
    summary: str | None = None
    summary_en: str | None = None
    summary_source: Source | None = None
    location_note: str | None = None
    location_note_en: str | None = None
    facts: list[Fact] = Field(default_factory=list)
    conflicts: list[Conflict] = Field(default_factory=list)

    @model_validator(mode="after")
    def _summary_cited(self) -> _Described:
        if self.summary and self.summary_source is None:
            raise ValueError("summary has no summary_source")
        return self


def _in_china(point: list[float]) -> list[float]:
    lon, lat = point
    if not (73 <= lon <= 136 and 3 <= lat <= 54):
        raise ValueError(f"[lon, lat] must lie in China (lon 73–136, lat 3–54), got {point}")
    return point


LonLat = Annotated[
    list[Annotated[float, Field(allow_inf_nan=False)]],
    Field(min_length=2, max_length=2, description="WGS-84 [lon, lat]"),
    AfterValidator(_in_china),
]


class _Site(_Described):
    id: Annotated[str, Field(pattern=SLUG, description="stable lowercase ascii slug, unique across all layers")]
    name: Text
    name_en: str | None = None
    aliases: list[Text] = Field(default_factory=list)
    kind: Kind
    county: Text
    precision: Precision
    designation: Designation | None = None
    layout: str | None = None
    layout_source: Source | None = None
    also_in: list[LayerId] = Field(default_factory=list)
    within: str | None = None


class PointSite(_Site):
    """A site drawn as a point (innovation bases, science cities, high-tech zones, platforms)."""

    location: LonLat
    radius_m: Annotated[float, Field(gt=0)] | None = None


class ZoneSite(PointSite):
    """A named part of a science city's layout, drawn as a schematic circle."""

    parent: Text
    role: Role
    order: int


class CorridorSite(_Site):
    """A corridor, drawn as a schematic line through `path`."""

    path: Annotated[list[LonLat], Field(min_length=2, description="at least two [lon, lat] points")]


class PointFile(Record):
    sites: Annotated[list[PointSite], Field(min_length=1)]


class ZoneFile(Record):
    sites: Annotated[list[ZoneSite], Field(min_length=1)]


class CorridorFile(Record):
    sites: Annotated[list[CorridorSite], Field(min_length=1)]


class PilotCounty(Record):
    name: Text
    source: Source


class PilotFile(Record):
    """A programme's list of pilot counties."""

    programme: Text
    programme_en: str | None = None
    year: int
    source: Source
    counties: Annotated[list[PilotCounty], Field(min_length=1)]


class Region(_Described):
    name: Text


class RegionFile(Record):
    """Texts and figures about counties and cities (region profiles)."""

    regions: Annotated[list[Region], Field(min_length=1)]


class SourceEntry(Record):
    """One seed document as readers see it cited."""

    title: Text
    title_en: str | None = None
    issuer: str | None = None
    issuer_en: str | None = None
    date: Annotated[
        str,
        Field(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$", description="YYYY, YYYY-MM or YYYY-MM-DD"),
        BeforeValidator(lambda v: v.isoformat() if isinstance(v, datetime.date) else v),  # unquoted YAML dates
    ]
    doc_number: str | None = None
    kind: str | None = None
    kind_en: str | None = None


class SourcesFile(Record):
    """data/sources.yaml: the table of seed documents that citations may name."""

    sources: Annotated[dict[Text, SourceEntry], Field(min_length=1)]


SITE_FILES: dict[str, type[Record]] = {
    layer: ZoneFile if layer == "science-city-zones" else CorridorFile if layer == "corridors" else PointFile
    for layer in SITE_LAYERS
}
FILE_MODELS: dict[str, type[Record]] = {
    **SITE_FILES,
    "pilot-counties": PilotFile,
    "regions": RegionFile,
}
SOURCES_FILE = "sources.yaml"


def json_schema() -> dict[str, Any]:
    """One JSON Schema for every data file: the root accepts any of the file kinds; `$defs` holds each one."""
    from pydantic.json_schema import models_json_schema

    models: list[type[BaseModel]] = [PointFile, ZoneFile, CorridorFile, PilotFile, RegionFile, SourcesFile]
    pairs: list[tuple[type[BaseModel], Literal["validation"]]] = [(m, "validation") for m in models]
    _, top = models_json_schema(pairs, ref_template="#/$defs/{model}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "科创地图 curated layer data (layers/data/**/*.yaml)",
        "description": (
            "A file in data/<layer-id>/ holds `sites` (PointFile; ZoneFile in science-city-zones; CorridorFile in "
            "corridors); data/pilot-counties/ a PilotFile; data/regions/ a RegionFile; data/sources.yaml a "
            "SourcesFile. Cross-record checks (ids, parents, counties, cited figures) run in `python -m layers check`."
        ),
        "anyOf": [{"$ref": f"#/$defs/{m.__name__}"} for m in models],
        "$defs": top["$defs"],
    }


def json_schema_text() -> str:
    return json.dumps(json_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
