"""The one style table: every colour, symbol, dash, weight, fill and label rule the maps are drawn with.

The web map (served with /api/layers), the printed map and the HTML export all read it from here.
Colours are CSS hex strings, dashes SVG dash arrays ("6 4"), weights CSS pixels, opacities 0..1.
"""

from __future__ import annotations

import copy
from typing import Any, TypedDict


class LayerStyle(TypedDict, total=False):
    color: str  # outline / line / symbol colour
    weight: float  # outline or line width
    fill: str | None  # fill colour; None: no fill
    fill_opacity: float  # fill opacity on the web map without a tile base map
    fill_opacity_tiles: float  # fill opacity over a tile base map (default: fill_opacity)
    hover_fill: str  # fill colour under the pointer when there is no tile base map
    opacity: float  # outline opacity
    dash: str  # SVG dash array
    symbol: str  # point layers: the layer's own symbol (a key of SYMBOLS)
    kind: str  # point layers: the site kind the layer's legend swatch shows
    role_styled: bool  # polygons styled per feature by their `role` (ROLES)
    kind_styled: bool  # points drawn per feature with their `kind`'s symbol (KINDS)


class KindStyle(TypedDict):
    symbol: str  # a key of SYMBOLS
    hollow: bool  # outline only (white inside)
    size: int  # marker size in CSS pixels


class RoleStyle(TypedDict, total=False):
    color: str
    fill: str
    fill_opacity: float
    dash: str  # "" draws a solid line
    weight: float
    front: bool  # drawn on top of the other zones of its layout


class SymbolShape(TypedDict):
    svg: str  # SVG element drawn in a 20×20 box
    attrs: dict[str, float | str]
    marker: str  # matplotlib marker for printed maps


# Shapes of point symbols: an SVG element in a 0..20 box (web) and the nearest matplotlib marker (print).
SYMBOLS: dict[str, SymbolShape] = {
    "circle": {"svg": "circle", "attrs": {"cx": 10, "cy": 10, "r": 6.5}, "marker": "o"},
    "square": {"svg": "rect", "attrs": {"x": 4, "y": 4, "width": 12, "height": 12, "rx": 1}, "marker": "s"},
    "diamond": {"svg": "polygon", "attrs": {"points": "10,1.5 18.5,10 10,18.5 1.5,10"}, "marker": "D"},
    "star": {
        "svg": "polygon",
        "attrs": {"points": "10,1 12.6,7.2 19.2,7.6 14.1,11.8 15.8,18.3 10,14.7 4.2,18.3 5.9,11.8 0.8,7.6 7.4,7.2"},
        "marker": "*",
    },
    "hexagon": {
        "svg": "polygon",
        "attrs": {"points": "10,1.5 17.5,5.8 17.5,14.2 10,18.5 2.5,14.2 2.5,5.8"},
        "marker": "h",
    },
    "triangle": {"svg": "polygon", "attrs": {"points": "10,2 18.5,17 1.5,17"}, "marker": "^"},
    "triangle-down": {"svg": "polygon", "attrs": {"points": "1.5,3 18.5,3 10,18"}, "marker": "v"},
    "pentagon": {"svg": "polygon", "attrs": {"points": "10,1.8 18.3,7.8 15.1,17.6 4.9,17.6 1.7,7.8"}, "marker": "p"},
}

# Symbol per site kind (layers/catalog.py KINDS); the layer gives the colour.
KINDS: dict[str, KindStyle] = {
    "innovation-base": {"symbol": "star", "hollow": False, "size": 19},
    "science-city": {"symbol": "hexagon", "hollow": False, "size": 22},
    "science-city-zone": {"symbol": "circle", "hollow": False, "size": 19},
    "corridor": {"symbol": "circle", "hollow": False, "size": 19},
    "high-tech-zone": {"symbol": "diamond", "hollow": False, "size": 19},
    "national-high-tech-zone": {"symbol": "diamond", "hollow": False, "size": 22},
    "provincial-high-tech-zone": {"symbol": "diamond", "hollow": True, "size": 19},
    "platform": {"symbol": "square", "hollow": False, "size": 19},
    "service-complex": {"symbol": "triangle", "hollow": False, "size": 19},
    "characteristic-town": {"symbol": "circle", "hollow": False, "size": 19},
    "park": {"symbol": "square", "hollow": True, "size": 19},
    "new-area": {"symbol": "pentagon", "hollow": False, "size": 19},
    "cbd": {"symbol": "triangle-down", "hollow": False, "size": 19},
    "pilot-county": {"symbol": "circle", "hollow": True, "size": 19},
    "other": {"symbol": "circle", "hollow": True, "size": 19},
}

# Zones of a science-city layout by their role (layers/catalog.py ROLES).
ROLES: dict[str, RoleStyle] = {
    "core": {"color": "#08306b", "fill": "#2166ac", "fill_opacity": 0.3, "dash": "", "weight": 3.4, "front": True},
    "zone": {"color": "#1f77b4", "fill": "#6baed6", "fill_opacity": 0.24, "dash": "6 4", "weight": 1.8},
    "park": {"color": "#0e7c86", "fill": "#7fd1c8", "fill_opacity": 0.22, "dash": "2 4", "weight": 1.8},
    "block": {"color": "#6a3d9a", "fill": "#cab2d6", "fill_opacity": 0.26, "dash": "8 3 2 3", "weight": 1.8},
    "axis": {"color": "#b15928", "fill": "#fdbf6f", "fill_opacity": 0.2, "dash": "10 4", "weight": 1.8},
    "node": {"color": "#33a02c", "fill": "#b2df8a", "fill_opacity": 0.25, "dash": "3 3", "weight": 1.8},
}

# Each layer's own style (served as the layer's `style` in /api/layers).
LAYERS: dict[str, LayerStyle] = {
    "province": {"color": "#333333", "weight": 2.5, "fill": None, "opacity": 0.9},
    "cities": {"color": "#555555", "weight": 1.6, "fill": None, "opacity": 0.9},
    "counties": {
        "color": "#8a8a8a",
        "weight": 0.8,
        "fill": "#f4f1ea",
        "fill_opacity": 0.92,
        "fill_opacity_tiles": 0.08,
        "hover_fill": "#fff6d6",
        "opacity": 0.95,
    },
    "pilot-counties": {"color": "#c0392b", "weight": 2, "fill": "#e74c3c", "fill_opacity": 0.42, "opacity": 1},
    "innovation-bases": {"color": "#8e44ad", "symbol": "star", "kind": "innovation-base", "kind_styled": True},
    "science-cities": {"color": "#1f77b4", "symbol": "hexagon", "kind": "science-city", "kind_styled": True},
    "science-city-zones": {
        "color": "#1f77b4",
        "dash": "6 4",
        "fill": "#aec7e8",
        "fill_opacity": 0.24,
        "weight": 1.8,
        "role_styled": True,
    },
    "high-tech-zones": {"color": "#d35400", "symbol": "diamond", "kind": "high-tech-zone", "kind_styled": True},
    "corridors": {"color": "#16a085", "dash": "10 6", "weight": 4, "fill": None, "opacity": 0.9},
    "platforms": {"color": "#2c7a2c", "symbol": "square", "kind": "platform", "kind_styled": True},
    # The answer of a question across layers (/api/query): the matching regions, over the dimmed others.
    "query": {"color": "#6a1b9a", "weight": 2.6, "fill": "#ffb300", "fill_opacity": 0.55, "opacity": 1},
    # The light reference under everything: water and sea (Natural Earth), drawn per feature by its `kind`.
    "reference": {"color": "#9ecae1", "weight": 0.8, "fill": "#d6eaf8", "fill_opacity": 0.9, "opacity": 0.9},
}

# Features of the reference layer by their `kind` (boundaries/reference.py): fill and outline.
REFERENCE: dict[str, dict[str, Any]] = {
    "sea": {"color": "#b7d7ea", "weight": 0.6, "fill": "#e3f0f8", "fill_opacity": 1},
    "lake": {"color": "#8cbfdf", "weight": 0.8, "fill": "#cfe5f4", "fill_opacity": 1},
    "river": {"color": "#8cbfdf", "weight": 1.2, "fill": None, "fill_opacity": 0},
    "road": {"color": "#c9b99a", "weight": 1.0, "fill": None, "fill_opacity": 0},
}

# Which region labels the web map shows from which zoom, and from which field and layers.
LABELS: dict[str, dict[str, Any]] = {
    "cities": {"min_zoom": 7, "field": "name"},
    "counties": {"min_zoom": 9, "field": "name", "layers": ["counties", "pilot-counties"]},
    # Zones of a science-city layout: "role: name"; the core's label sits on its top edge so that it clears
    # the parts drawn inside it. The layout's slogan goes on the parent from `slogan_min_zoom`.
    "science-city-zones": {
        "min_zoom": 11,
        "field": "name",
        "role_prefix": True,
        "anchor": {"core": "top"},
        "slogan_field": "parent_layout",
        "slogan_min_zoom": 10,
    },
}

# Styles that belong to no layer: the selection and hover highlights, the land under everything.
STATES: dict[str, Any] = {
    "selected": {"color": "#0b57d0", "weight_add": 2.4, "size": 28},
    "hover": {"weight_add": 1.6, "fill_opacity_add": 0.18},
    "symbol_stroke": {"outline": "#ffffff", "solid_width": 1.6, "hollow_width": 3},
    "land": {"fill": "#f4f1ea"},
    # While a question is answered on the web map: the regions that do not match are veiled with this.
    "query_dim": {"color": "#ffffff", "weight": 0, "fill": "#ffffff", "fill_opacity": 0.65},
    "schematic_dash": "6 4",
    # A record without a year on a map shown as of a year (?as_of=): dashed outline, paler fill and symbol.
    "undated": {"dash": "2 4", "fill_opacity_scale": 0.45, "opacity_scale": 0.8, "marker_opacity": 0.55},
    "fallback": {"color": "#555555", "weight": 1, "fill_opacity": 0.2},
    # Point markers of all site layers are clustered together: markers whose centres are closer than
    # `radius_px` (enough that two of the largest symbols never overlap) join one cluster, up to `max_zoom`;
    # there a click spreads them out (spiderfy) `spread` times Leaflet's default distance apart.
    "cluster": {"radius_px": 34, "max_zoom": 18, "spread": 1.4, "size": 34},
}


# Thematic maps (layers/thematic.py): colour-blind-safe sequential palettes per number of classes (ColorBrewer
# YlGnBu, Blues, Oranges, Purples as published for 3–7 classes; viridis sampled evenly, light to dark), the
# look of features without a value, the fill of classed regions and the radii of graduated circles by class.
THEMATIC: dict[str, Any] = {
    "palettes": {
        "YlGnBu": {
            "3": ["#edf8b1", "#7fcdbb", "#2c7fb8"],
            "4": ["#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"],
            "5": ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"],
            "6": ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494"],
            "7": ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"],
        },
        "Blues": {
            "3": ["#deebf7", "#9ecae1", "#3182bd"],
            "4": ["#eff3ff", "#bdd7e7", "#6baed6", "#2171b5"],
            "5": ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"],
            "6": ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"],
            "7": ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594"],
        },
        "Oranges": {
            "3": ["#fee6ce", "#fdae6b", "#e6550d"],
            "4": ["#feedde", "#fdbe85", "#fd8d3c", "#d94701"],
            "5": ["#feedde", "#fdbe85", "#fd8d3c", "#e6550d", "#a63603"],
            "6": ["#feedde", "#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603"],
            "7": ["#feedde", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#8c2d04"],
        },
        "Purples": {
            "3": ["#efedf5", "#bcbddc", "#756bb1"],
            "4": ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#6a51a3"],
            "5": ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"],
            "6": ["#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#756bb1", "#54278f"],
            "7": ["#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#4a1486"],
        },
        "viridis": {
            "3": ["#fde725", "#21908d", "#440154"],
            "4": ["#fde725", "#35b779", "#31688e", "#440154"],
            "5": ["#fde725", "#5cc863", "#21908d", "#3b518b", "#440154"],
            "6": ["#fde725", "#7ad151", "#22a884", "#2a788e", "#414487", "#440154"],
            "7": ["#fde725", "#90d743", "#35b779", "#21908d", "#31688e", "#443983", "#440154"],
        },
    },
    "default_palette": "YlGnBu",
    # no value: a light grey with grey hatching (web: an SVG pattern of `hatch_color` lines; print: matplotlib hatch)
    "no_data": {"fill": "#f0f0f0", "color": "#8c8c8c", "hatch": "////", "hatch_color": "#9e9e9e", "weight": 0.8},
    "region": {"color": "#ffffff", "weight": 0.9, "fill_opacity": 0.88},  # outline and fill of classed regions
    "circle": {"color": "#333333", "weight": 1, "fill_opacity": 0.85, "min_radius": 5, "max_radius": 17},
}

# Printed maps and the HTML export: which labels win when they would collide (lower first) — per layer, and per
# site kind for layers drawn by kind (cities > pilot counties > bases and science cities > national zones >
# provincial zones > platforms > county names).
LABEL_PRIORITY: dict[str, int] = {
    "cities": 10,
    "pilot-counties": 15,
    "innovation-base": 20,
    "science-city": 22,
    "national-high-tech-zone": 25,
    "high-tech-zone": 28,
    "provincial-high-tech-zone": 30,
    "corridors": 35,
    "science-city-zone": 38,
    "science-city-zones": 38,
    "platform": 50,
    "counties": 60,
}
DEFAULT_LABEL_PRIORITY = 55

# Legend text of kinds and roles on printed maps and HTML exports (the web map's copies live in its i18n table).
CLASS_TITLES: dict[str, str] = {
    "innovation-base": "创新基地",
    "science-city": "科技城",
    "science-city-zone": "科技城分区",
    "corridor": "科创走廊",
    "high-tech-zone": "高新区",
    "national-high-tech-zone": "国家级高新区",
    "provincial-high-tech-zone": "省级高新区",
    "platform": "万亩千亿平台",
    "service-complex": "产业创新服务综合体",
    "characteristic-town": "特色小镇",
    "park": "园区",
    "new-area": "新区",
    "cbd": "中央商务区",
    "pilot-county": "试点县",
    "other": "其他",
    "core": "核心区",
    "zone": "功能区",
    "block": "区块",
    "axis": "发展轴",
    "node": "节点",
}
# The same in English (lang=en exports), as the web map's i18n table words them.
CLASS_TITLES_EN: dict[str, str] = {
    "innovation-base": "Innovation base",
    "science-city": "Science city",
    "science-city-zone": "Science-city zone",
    "corridor": "Innovation corridor",
    "high-tech-zone": "High-tech zone",
    "national-high-tech-zone": "National high-tech zone",
    "provincial-high-tech-zone": "Provincial high-tech zone",
    "platform": "Major industry platform",
    "service-complex": "Industrial innovation service complex",
    "characteristic-town": "Characteristic town",
    "park": "Park",
    "new-area": "New area",
    "cbd": "Central business district",
    "pilot-county": "Pilot county",
    "other": "Other",
    "core": "Core",
    "zone": "Functional zone",
    "block": "Block",
    "axis": "Axis",
    "node": "Node",
}
CLASS_TITLE_LANGS = {"zh": CLASS_TITLES, "en": CLASS_TITLES_EN}


def layer_style(layer_id: str) -> LayerStyle:
    """One layer's style (a copy); an unknown layer gets the neutral fallback."""
    return copy.deepcopy(LAYERS.get(layer_id, {"color": STATES["fallback"]["color"]}))


def style_table() -> dict[str, Any]:
    """The whole table as plain JSON-able data (a copy): what /api/layers serves as `styles`."""
    return copy.deepcopy(
        {
            "layers": LAYERS,
            "kinds": KINDS,
            "roles": ROLES,
            "symbols": SYMBOLS,
            "labels": LABELS,
            "states": STATES,
            "reference": REFERENCE,
            "thematic": THEMATIC,
        }
    )


def print_style(table: dict[str, Any], layer_id: str, lang: str = "zh") -> dict[str, Any]:
    """A layer's style for printed maps and HTML exports, from `table` (style_table()); class titles in `lang`.

    Besides the layer's own keys it carries `marker` (matplotlib) and, for layers styled per feature,
    `classes: {"field": "role"|"kind", "values": {value: {color, fill, alpha, dash, weight, marker, hollow, size,
    svg, title, label_priority}}}`; point layers `size`, `hollow`, `svg` (the SYMBOLS entry) and `symbol_stroke`;
    every layer `label_priority` (LABEL_PRIORITY) and, for region layers the web map labels, `context_label_field`;
    every layer `undated` (STATES["undated"]: how features whose `year_known` is false are drawn).
    """
    style: dict[str, Any] = copy.deepcopy(
        table["layers"].get(layer_id, {"color": table["states"]["fallback"]["color"]})
    )
    symbols = table["symbols"]
    titles = CLASS_TITLE_LANGS.get(lang, CLASS_TITLES)
    if style.get("symbol") in symbols:
        style["marker"] = symbols[style["symbol"]]["marker"]
    kind = style.get("kind")
    if kind in table["kinds"]:
        k = table["kinds"][kind]
        style.update(size=k["size"], hollow=k["hollow"], svg=symbols[k["symbol"]])
        style["symbol_stroke"] = table["states"]["symbol_stroke"]
    style["label_priority"] = LABEL_PRIORITY.get(layer_id, LABEL_PRIORITY.get(str(kind), DEFAULT_LABEL_PRIORITY))
    if table["states"].get("undated"):
        style["undated"] = dict(table["states"]["undated"])
    for rule in table["labels"].values():  # region layers the web map labels are labelled as context too
        if layer_id in rule.get("layers", []) or rule is table["labels"].get(layer_id):
            style["context_label_field"] = rule["field"]
    if style.get("role_styled"):
        style["classes"] = {
            "field": "role",
            "values": {
                role: {
                    "color": r["color"],
                    "fill": r["fill"],
                    "alpha": r["fill_opacity"],
                    "dash": r["dash"],
                    "weight": r["weight"],
                    "title": titles.get(role, role),
                    "label_priority": LABEL_PRIORITY.get(layer_id, DEFAULT_LABEL_PRIORITY),
                }
                for role, r in table["roles"].items()
            },
        }
    elif style.get("kind_styled"):
        style["classes"] = {
            "field": "kind",
            "values": {
                kind: {
                    "marker": symbols[k["symbol"]]["marker"],
                    "hollow": k["hollow"],
                    "size": k["size"],
                    "svg": symbols[k["symbol"]],
                    "title": titles.get(kind, kind),
                    "label_priority": LABEL_PRIORITY.get(kind, style["label_priority"]),
                }
                for kind, k in table["kinds"].items()
            },
        }
    return style
