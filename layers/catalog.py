"""The layer catalog as data: every layer the product serves, its group, geometry and style."""

from __future__ import annotations

from dataclasses import dataclass, field

from .styles import LayerStyle, layer_style

# The date of the curated layer data (layers/data): bump it with every change to those files
# (a test compares it with the git history).
DATA_DATE = "2026-12-02"
PROVINCE = "浙江省"  # names in the curated data are resolved within this province

GROUPS: dict[str, tuple[str, str]] = {
    "boundaries": ("行政区划", "Boundaries"),
    "programmes": ("科创中国试点与基地", "Programmes"),
    "science-cities": ("科技城与空间布局", "Science cities & layouts"),
    "high-tech-zones": ("高新区", "High-tech zones"),
    "platforms": ("走廊与平台", "Corridors & platforms"),
    "reference": ("底图参考", "Reference"),
    "user": ("我的图层", "My layers"),
}
# Colours of user layers, in the order they were created: Okabe & Ito's colour-blind-safe set
# (its yellow and black last: the least visible on the light map).
USER_PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")


@dataclass(frozen=True)
class LayerSpec:
    id: str
    title: str
    title_en: str
    group: str
    kind: str  # "regions" (boundary polygons), "sites" (curated records in data/<id>/) or "reference" (sea, lakes)
    geometry_type: str
    description: str
    default_visible: bool = False
    schematic: bool = False
    boundary_layer: str | None = None  # regions: which boundary layer it comes from
    style: LayerStyle = field(default_factory=lambda: LayerStyle())
    # The context layer drawn under this one on a printed map (PNG/PDF) unless the request names one
    # with `over=`; None draws none. Sites sit on the cities; each region layer on the level above it.
    print_over: str | None = "cities"


CATALOG: tuple[LayerSpec, ...] = (
    LayerSpec(
        "province",
        "浙江省",
        "Zhejiang province",
        "boundaries",
        "regions",
        "MultiPolygon",
        "省级行政区边界（高德，WGS-84）",
        True,
        print_over=None,
        boundary_layer="province",
        style=layer_style("province"),
    ),
    LayerSpec(
        "cities",
        "设区市",
        "Prefecture cities",
        "boundaries",
        "regions",
        "MultiPolygon",
        "11个设区市边界",
        True,
        print_over="province",
        boundary_layer="cities",
        style=layer_style("cities"),
    ),
    LayerSpec(
        "counties",
        "县（市、区）",
        "Counties & districts",
        "boundaries",
        "regions",
        "MultiPolygon",
        "90个县级行政区边界",
        True,
        print_over="cities",
        boundary_layer="counties",
        style=layer_style("counties"),
    ),
    LayerSpec(
        "pilot-counties",
        "“科创中国”试点县（2021）",
        "S&T China pilot counties (2021)",
        "programmes",
        "regions",
        "MultiPolygon",
        "2021“科创中国”浙江省级试点县（市、区），按名单与县界关联",
        True,
        print_over="counties",
        boundary_layer="counties",
        style=layer_style("pilot-counties"),
    ),
    LayerSpec(
        "innovation-bases",
        "“科创中国”创新基地（2021）",
        "S&T China innovation bases (2021)",
        "programmes",
        "sites",
        "Point",
        "2021“科创中国”浙江创新基地",
        True,
        style=layer_style("innovation-bases"),
    ),
    LayerSpec(
        "science-cities",
        "科技城 / 科学城",
        "Science cities",
        "science-cities",
        "sites",
        "Point",
        "材料中提到的浙江科技城、科学城",
        True,
        style=layer_style("science-cities"),
    ),
    LayerSpec(
        "science-city-zones",
        "科技城空间布局",
        "Science-city layouts",
        "science-cities",
        "sites",
        "Polygon",
        "科技城的核心区、功能区与园区（示意范围）",
        False,
        schematic=True,
        style=layer_style("science-city-zones"),
    ),
    LayerSpec(
        "high-tech-zones",
        "高新区",
        "High-tech zones",
        "high-tech-zones",
        "sites",
        "Point",
        "国家级与省级高新技术产业开发区",
        True,
        style=layer_style("high-tech-zones"),
    ),
    LayerSpec(
        "corridors",
        "科创走廊",
        "Innovation corridors",
        "platforms",
        "sites",
        "LineString",
        "科创大走廊（示意走向）",
        False,
        schematic=True,
        style=layer_style("corridors"),
    ),
    LayerSpec(
        "platforms",
        "平台与小镇",
        "Platforms & towns",
        "platforms",
        "sites",
        "Point",
        "万亩千亿平台、产业创新服务综合体、特色小镇、园区等",
        False,
        style=layer_style("platforms"),
    ),
    LayerSpec(
        "reference",
        "水域参考",
        "Reference: sea and lakes",
        "reference",
        "reference",
        "MultiPolygon",
        "海域与湖泊（Natural Earth 1:10m，公有领域），浅色绘于各图层之下，仅供定位",
        True,
        print_over=None,
        style=layer_style("reference"),
    ),
)

SITE_LAYERS = tuple(s.id for s in CATALOG if s.kind == "sites")
KINDS = {
    "innovation-base",
    "science-city",
    "science-city-zone",
    "high-tech-zone",
    "national-high-tech-zone",
    "provincial-high-tech-zone",
    "corridor",
    "platform",
    "service-complex",
    "characteristic-town",
    "park",
    "new-area",
    "cbd",
    "other",
    "pilot-county",
}
PRECISIONS = ("site", "town", "district", "county", "approximate")
ROLES = ("core", "zone", "park", "block", "axis", "node")
