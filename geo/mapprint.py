"""Render a printable thematic map (PNG or PDF) of WGS-84 layers with matplotlib (Agg).

A page (A4/A3, landscape/portrait) holds the title, the map (background layers under thematic
ones, optional feature labels), a legend, a scale bar measured in metres at the map's latitude,
a north arrow, and a footer naming sources, data date and datum. Text uses a CJK font.
"""

from __future__ import annotations

import functools
import gc
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
import shapely
from geopandas import GeoDataFrame
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import FigureCanvasPdf
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from .errors import BadRequest
from .maptext import map_lang
from .maptext import text as map_text

CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Medium.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)
PAGE_MM = {"a4": (297.0, 210.0), "a3": (420.0, 297.0)}
ORIENTATIONS = ("landscape", "portrait")
MARKERS = {"star": "*", "hexagon": "h", "diamond": "D", "square": "s", "circle": "o", "triangle": "^"}
METRES_PER_DEGREE = 111_320.0  # at the equator, WGS-84 (good to <0.5% for a scale bar)
MAX_LABELS = 80
DEFAULT_MAX_PIXELS = 12_000_000  # A4 at 300 dpi (8.7 MP) fits; A3 up to about 240 dpi
DEFAULT_LABEL_FIELDS = ("name", "name_en", "adcode", "city", "city_en")


@dataclass(frozen=True)
class MapLayer:
    """A frame to draw. `style`: color, fill, weight, dash, symbol, marker, hollow, alpha, and optional
    `classes: {"field": column, "values": {value: style overrides}}` (features styled by a column) and
    `undated: {dash, fill_opacity_scale, opacity_scale, marker_opacity}` (how features whose boolean column
    `year_known` is false are drawn); `label`: legend text."""

    frame: GeoDataFrame
    label: str
    style: Mapping[str, Any] = field(default_factory=dict)
    background: bool = False
    label_field: str | None = None  # feature labels drawn on the map from this column
    label_priority: float | None = None  # lower wins a collision; default: style's `label_priority`, else 50


@dataclass(frozen=True)
class PlacedLabel:
    """A label the placer kept: its text, the point it names, and its box on the page in pixels
    (x0, y0, x1, y1; origin bottom left, as matplotlib's display coordinates)."""

    text: str
    priority: float
    anchor: tuple[float, float]
    box: tuple[float, float, float, float]
    leader: bool = False


@dataclass
class _Candidate:
    text: str
    priority: float
    order: int
    x: float
    y: float
    radius_pt: float  # half the marker's size in points (0 for a polygon's label point)


@dataclass(frozen=True)
class Page:
    size: str = "a4"
    orientation: str = "landscape"
    dpi: int = 200

    @property
    def inches(self) -> tuple[float, float]:
        w, h = PAGE_MM[self.size]
        if self.orientation == "portrait":
            w, h = h, w
        return w / 25.4, h / 25.4


def page_from_options(options: Mapping[str, Any], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Page:
    """Page from query-style options (`size=a4|a3`, `orientation=landscape|portrait`, `dpi=72..300`);
    a page of more than `max_pixels` (width × height at the dpi) is a 400 naming the largest dpi that fits."""
    size = str(options.get("size") or "a4").lower()
    orientation = str(options.get("orientation") or "landscape").lower()
    if size not in PAGE_MM:
        raise BadRequest(f"size must be one of {', '.join(PAGE_MM)}, got {size!r}")
    if orientation not in ORIENTATIONS:
        raise BadRequest(f"orientation must be one of {', '.join(ORIENTATIONS)}, got {orientation!r}")
    try:
        dpi = int(options.get("dpi") or 200)
    except (TypeError, ValueError):
        raise BadRequest(f"dpi must be an integer between 72 and 300, got {options.get('dpi')!r}") from None
    if not 72 <= dpi <= 300:
        raise BadRequest(f"dpi must be between 72 and 300, got {dpi}")
    page = Page(size, orientation, dpi)
    w, h = page.inches
    if w * h * dpi * dpi > max_pixels:
        most = int(math.sqrt(max_pixels / (w * h)))
        raise BadRequest(
            f"a {size} page at {dpi} dpi is {w * h * dpi * dpi / 1e6:.1f} million pixels; the limit is "
            f"{max_pixels / 1e6:g} million: use dpi <= {most} for {size}",
            max_pixels=max_pixels,
        )
    return page


def check_label_field(name: str | None, allowed: Sequence[str] = DEFAULT_LABEL_FIELDS) -> str | None:
    """`label_field` must be one of the `allowed` text columns (None: no labels); anything else is a 400."""
    if name is None or name == "":
        return None
    if name not in allowed:
        raise BadRequest(f"label_field must be one of {', '.join(allowed)}, got {name!r}", allowed=list(allowed))
    return name


CJK_FAMILY = "Noto Sans CJK SC"  # the Simplified Chinese face of Debian's Noto Sans CJK collection


def cjk_font() -> FontProperties:
    """The Simplified Chinese face of the first installed CJK font; matplotlib's default if none is.

    A .ttc holds several faces (JP first); asking by file name gets the Japanese glyph shapes, so the
    collection is registered and its SC face is asked for by family name. Registered once per process
    (matplotlib's font list grows with every `addfont`).
    """
    return _cjk_font().copy()


@functools.lru_cache(maxsize=1)
def _cjk_font() -> FontProperties:
    from matplotlib import font_manager

    for path in CJK_FONT_CANDIDATES:
        if Path(path).is_file():
            font_manager.fontManager.addfont(path)
            if any(f.name == CJK_FAMILY for f in font_manager.fontManager.ttflist):
                return FontProperties(family=CJK_FAMILY)
            return FontProperties(fname=path)
    return FontProperties()


def nice_length(target_m: float) -> float:
    """The largest 1/2/5 × 10^k metres not above `target_m`."""
    if target_m <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(target_m))
    for step in (5, 2, 1):
        if step * exp <= target_m:
            return step * exp
    return exp


def _fmt_length(metres: float) -> str:
    return f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"


def _families(frame: GeoDataFrame) -> set[str]:
    return {t.replace("Multi", "") for t in frame.geometry.geom_type.dropna().unique()}


def _marker_pt(style: Mapping[str, Any], marker: str) -> float:
    """Marker size in points from the table's CSS pixel `size` (a web marker of 19 px prints at about 9.5 pt)."""
    size = float(style.get("size") or (28 if marker == "*" else 19)) * 0.5
    return size * 1.35 if marker == "*" else size  # a star fills less of its box than a disc


def _draw(ax: Any, layer: MapLayer, zorder: int, lang: str = "zh") -> list[tuple[Any, str, str | None]]:
    """Draw one layer; returns legend entries (handle, class title or "", class value or None), counts as
    `lang` writes them.

    Classes are drawn (and listed) in the order features first use them, or with `classes.ordered` in the
    order of `classes.values` (a thematic map's classes, low to high, then "no data")."""
    style = dict(layer.style)
    classes = style.pop("classes", None)
    if classes and classes.get("field") in layer.frame.columns:
        entries: list[tuple[Any, str, str | None]] = []
        values = classes.get("values") or {}
        column = layer.frame[classes["field"]]
        used = dict.fromkeys(column.tolist())
        for value in [v for v in values if v in used] if classes.get("ordered") else used:
            sub = layer.frame[column == value] if value is not None else layer.frame[column.isna()]
            over = values.get(value, {}) if isinstance(value, str) else {}
            part = replace(layer, frame=sub, style={**style, **over, "class_value": value})
            for drawn, _, _ in _draw(ax, part, zorder, lang):
                title = map_text(lang, "count", label=str(over.get("title") or value or ""), n=len(sub))
                entries.append((drawn, title, value if isinstance(value, str) else None))
        return entries
    undated = style.pop("undated", None)
    if undated and "year_known" in layer.frame.columns:  # records without a year: dashed and paler
        known = layer.frame["year_known"].fillna(False).astype(bool)
        if not known.all():
            faded = {**style, "dash": undated.get("dash") or style.get("dash"), "faded": undated}
            drawn = _draw(ax, replace(layer, frame=layer.frame[~known], style=faded), zorder, lang)
            shown = _draw(ax, replace(layer, frame=layer.frame[known], style=style), zorder, lang)
            return shown if known.any() else drawn
    faded = style.get("faded") or {}
    color = style.get("color", "#666666" if layer.background else "#c0392b")
    fill = style.get("fill")
    weight = float(style.get("weight", 0.6 if layer.background else 1.2))
    if layer.background:
        weight = min(weight, 0.8)  # context stays quiet under the theme
    dash = style.get("dash")
    linestyle: Any = "-"
    if dash:
        nums = [float(x) for x in str(dash).replace(",", " ").split()]
        linestyle = (0, tuple(n / 2 for n in nums)) if nums else "-"
    frame = layer.frame[~layer.frame.geometry.isna() & ~layer.frame.geometry.is_empty]
    fams = _families(frame)
    handle: Any = None
    if "Polygon" in fams:
        polys = frame[frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
        alpha = float(style.get("alpha", 1.0 if layer.background else 0.45)) * float(
            faded.get("fill_opacity_scale", 1.0)
        )
        face: Any = (*_rgb(fill), alpha) if fill else "none"
        hatch = style.get("hatch") or None  # e.g. "////": features without a value on a thematic map
        polys.plot(
            ax=ax, facecolor=face, edgecolor=color, linewidth=weight, linestyle=linestyle, hatch=hatch, zorder=zorder
        )
        handle = Patch(facecolor=face, edgecolor=color, linewidth=weight, linestyle=linestyle, hatch=hatch)
    if "LineString" in fams:
        lines = frame[frame.geometry.geom_type.isin(["LineString", "MultiLineString"])]
        lines.plot(ax=ax, color=color, linewidth=max(weight, 1.0), linestyle=linestyle, zorder=zorder + 1)
        handle = Line2D([], [], color=color, linewidth=max(weight, 1.0), linestyle=linestyle)
    if "Point" in fams:
        pts = frame[frame.geometry.geom_type.isin(["Point", "MultiPoint"])]
        marker = style.get("marker") or MARKERS.get(str(style.get("symbol", "circle")), "o")
        size = _marker_pt(style, marker)
        hollow = bool(style.get("hollow"))
        face, edge = ("white", color) if hollow else (color, "white")
        edge_width = 1.6 if hollow else 0.8
        xy = shapely.get_coordinates(pts.geometry.values)
        ax.plot(
            xy[:, 0],
            xy[:, 1],
            linestyle="none",
            marker=marker,
            markersize=size,
            markerfacecolor=face,
            markeredgecolor=edge,
            markeredgewidth=edge_width,
            alpha=faded.get("marker_opacity"),
            zorder=zorder + 2,
            gid=f"points:{layer.label}:{style.get('class_value') or style.get('kind') or ''}",
        )
        handle = Line2D(
            [],
            [],
            linestyle="none",
            marker=marker,
            markersize=min(size, 11),
            markerfacecolor=face,
            markeredgecolor=edge,
            markeredgewidth=edge_width,
        )
    return [] if handle is None else [(handle, "", None)]


def _rgb(color: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(color)


def _extent(layers: Sequence[MapLayer], bbox: Sequence[float] | None) -> tuple[float, float, float, float]:
    if bbox is not None:
        minx, miny, maxx, maxy = bbox
    else:
        frames = [lay.frame for lay in layers if not lay.background and len(lay.frame)]
        frames = frames or [lay.frame for lay in layers if len(lay.frame)]
        if not frames:
            raise BadRequest("nothing to draw: no features in the chosen layers, bbox and ids")
        b = np.array([f.total_bounds for f in frames])
        minx, miny, maxx, maxy = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    dx, dy = max(maxx - minx, 0.02), max(maxy - miny, 0.02)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    pad = 1.08
    return cx - dx * pad / 2, cy - dy * pad / 2, cx + dx * pad / 2, cy + dy * pad / 2


def _aspect(lat: float) -> float:
    """Data aspect that makes a degree of longitude as long on paper as it is on the ground."""
    return 1 / max(math.cos(math.radians(lat)), 0.05)


def _fit_box(
    minx: float, miny: float, maxx: float, maxy: float, fig: Figure, rect: Sequence[float]
) -> tuple[float, float, float, float]:
    """Grow the extent in x or y so that, at the latitude's aspect, it fills the axes rectangle exactly."""
    fw, fh = fig.get_size_inches()
    box_ratio = (rect[3] * fh) / (rect[2] * fw)  # height / width on paper
    k = _aspect((miny + maxy) / 2)
    dx, dy = maxx - minx, maxy - miny
    if dy * k / dx < box_ratio:  # too wide: grow y
        grow = (dx * box_ratio / k - dy) / 2
        miny, maxy = miny - grow, maxy + grow
    else:
        grow = (dy * k / box_ratio - dx) / 2
        minx, maxx = minx - grow, maxx + grow
    return minx, miny, maxx, maxy


def _scale_bar(ax: Any, font: FontProperties, lang: str = "zh") -> None:
    ax.apply_aspect()
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    lat = (y0 + y1) / 2
    m_per_deg = METRES_PER_DEGREE * math.cos(math.radians(lat))
    width_m = (x1 - x0) * m_per_deg
    length = nice_length(width_m / 5)
    deg = length / m_per_deg
    bx, by = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04
    h = (y1 - y0) * 0.008
    frac = deg / (x1 - x0)
    ax.add_patch(
        Rectangle(
            (0.015, 0.012),
            frac + 0.06,
            0.085,
            transform=ax.transAxes,
            facecolor="white",
            edgecolor="none",
            alpha=0.8,
            zorder=49,
        )
    )
    for i in range(4):
        ax.add_patch(
            Rectangle(
                (bx + i * deg / 4, by),
                deg / 4,
                h,
                facecolor="black" if i % 2 == 0 else "white",
                edgecolor="black",
                linewidth=0.6,
                zorder=50,
            )
        )
    for i, frac in enumerate((0, 0.5, 1)):
        label = "0" if frac == 0 else _fmt_length(length * frac)
        ax.text(
            bx + deg * frac,
            by + h * 1.8,
            label,
            ha="center",
            va="bottom",
            fontsize=7,
            fontproperties=font,
            parse_math=False,
            zorder=50,
            gid=f"scalebar-{i}",
        )
    ax.text(
        bx,
        by - h * 1.2,
        map_text(lang, "scale", lat=lat),
        ha="left",
        va="top",
        fontsize=6.5,
        fontproperties=font,
        parse_math=False,
        color="#444444",
        zorder=50,
        gid="scalebar-note",
    )


def _north_arrow(ax: Any, font: FontProperties, lang: str = "zh") -> None:
    ax.annotate(
        "",
        xy=(0.95, 0.95),
        xytext=(0.95, 0.86),
        xycoords="axes fraction",
        arrowprops=dict(facecolor="black", edgecolor="black", width=4, headwidth=12, headlength=12),
        zorder=60,
    )
    ax.text(
        0.95,
        0.965,
        map_text(lang, "north"),
        transform=ax.transAxes,
        ha="center",
        va="bottom",
        fontsize=11,
        weight="bold",
        fontproperties=font,
        parse_math=False,
        zorder=60,
        gid="north-arrow",
    )


def _label_candidates(layer: MapLayer, extent: Sequence[float], order: int) -> list[_Candidate]:
    """Labels a layer asks for, inside the extent: text, anchor point, priority, and its marker's radius."""
    field_name = layer.label_field
    frame = layer.frame
    if not field_name or field_name not in frame.columns or not len(frame):
        return []
    minx, miny, maxx, maxy = extent
    style = dict(layer.style)
    classes = style.get("classes") or {}
    values = classes.get("values") or {}
    column = frame[classes["field"]] if classes.get("field") in frame.columns else None
    base = float(layer.label_priority if layer.label_priority is not None else style.get("label_priority", 50))
    pts = frame.geometry.representative_point()
    out: list[_Candidate] = []
    for row, (name, pt, geom) in enumerate(zip(frame[field_name], pts, frame.geometry, strict=False)):
        if name is None or pt is None or pt.is_empty or not (minx <= pt.x <= maxx and miny <= pt.y <= maxy):
            continue
        over = values.get(column.iloc[row], {}) if column is not None and isinstance(column.iloc[row], str) else {}
        merged = {**style, **over}
        radius = 0.0
        if geom is not None and geom.geom_type in ("Point", "MultiPoint"):
            marker = merged.get("marker") or MARKERS.get(str(merged.get("symbol", "circle")), "o")
            radius = _marker_pt(merged, marker) / 2
        priority = float(over.get("label_priority", base))
        out.append(_Candidate(str(name), priority, order + len(out), pt.x, pt.y, radius))
    return out if len(out) <= MAX_LABELS else []


def _offsets(radius: float) -> list[tuple[float, float, str, str, bool]]:
    """Candidate label positions around a point, in points: (dx, dy, ha, va, leader line?) — beside the
    marker first (right, above, left, below, then the diagonals), then further out with a leader line."""
    out: list[tuple[float, float, str, str, bool]] = []
    if radius == 0:
        out.append((0.0, 0.0, "center", "center", False))
    for dist, leader in ((radius + 2.5, False), (radius + 16, True)):
        d = dist * 0.75
        out += [
            (dist, 0.0, "left", "center", leader),
            (0.0, dist, "center", "bottom", leader),
            (-dist, 0.0, "right", "center", leader),
            (0.0, -dist, "center", "top", leader),
            (d, d, "left", "bottom", leader),
            (-d, d, "right", "bottom", leader),
            (d, -d, "left", "top", leader),
            (-d, -d, "right", "top", leader),
        ]
    return out


def place_labels(fig: Figure, ax: Any, candidates: Sequence[_Candidate], font: FontProperties) -> list[PlacedLabel]:
    """Greedy placement by priority: each label, most important first, takes the first candidate position
    whose box stays inside the map and clear of the labels already placed and of every marker; a label that
    fits nowhere is left out. Deterministic (ties keep drawing order)."""
    from matplotlib.transforms import ScaledTranslation

    if not candidates:
        return []
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    ax.apply_aspect()
    frame_box = ax.get_window_extent(renderer)
    px_per_pt = fig.dpi / 72
    anchors = ax.transData.transform(np.array([[c.x, c.y] for c in candidates]))
    radii = np.array([c.radius_pt for c in candidates]) * px_per_pt
    all_markers = np.column_stack([anchors - radii[:, None], anchors + radii[:, None]])
    placed: list[PlacedLabel] = []
    named: set[str] = set()  # a name already on the map (a county both as theme and as context) is not repeated
    boxes = np.zeros((0, 4))
    for idx in sorted(range(len(candidates)), key=lambda i: (candidates[i].priority, candidates[i].order)):
        c = candidates[idx]
        ax_x, ax_y = anchors[idx]
        if c.text in named or not frame_box.contains(ax_x, ax_y):
            continue
        major = c.priority < 20
        size = 7.5 if major else 6.5
        pad = 0.25 * size * px_per_pt
        for dx, dy, ha, va, leader in _offsets(c.radius_pt):
            offset = ScaledTranslation(dx / 72, dy / 72, fig.dpi_scale_trans)
            text = ax.text(
                c.x,
                c.y,
                c.text,
                transform=ax.transData + offset,
                ha=ha,
                va=va,
                fontsize=size,
                fontproperties=font,
                parse_math=False,
                color="#111111" if major else "#222222",
                weight="bold" if major else "normal",
                zorder=41,
                gid="label",
            )
            text.set_fontsize(size)
            ext = text.get_window_extent(renderer)
            box = np.array([ext.x0 - pad, ext.y0 - pad, ext.x1 + pad, ext.y1 + pad])
            inside = (
                box[0] >= frame_box.x0 and box[1] >= frame_box.y0 and box[2] <= frame_box.x1 and box[3] <= frame_box.y1
            )
            others = all_markers[(radii > 0) & (np.arange(len(candidates)) != idx)]
            if inside and not _hits(box, boxes) and not _hits(box, others):
                text.set_bbox(dict(boxstyle="round,pad=0.25", fc="white", ec="none", alpha=0.75))
                if leader:
                    ax.annotate(
                        "",
                        xy=(c.x, c.y),
                        xytext=((box[0] + box[2]) / 2, (box[1] + box[3]) / 2),
                        textcoords="figure pixels",
                        arrowprops=dict(arrowstyle="-", color="#555555", linewidth=0.5, shrinkA=6, shrinkB=c.radius_pt),
                        zorder=40,
                    )
                boxes = np.vstack([boxes, box])
                named.add(c.text)
                placed.append(PlacedLabel(c.text, c.priority, (c.x, c.y), (box[0], box[1], box[2], box[3]), leader))
                break
            text.remove()
    return placed


def _hits(box: np.ndarray, others: np.ndarray) -> bool:
    if not len(others):
        return False
    return bool(
        ((others[:, 0] < box[2]) & (others[:, 2] > box[0]) & (others[:, 1] < box[3]) & (others[:, 3] > box[1])).any()
    )


_PLACED: WeakKeyDictionary[Figure, list[PlacedLabel]] = WeakKeyDictionary()


def placed_labels(fig: Figure) -> list[PlacedLabel]:
    """The labels `build_figure` placed on `fig` (boxes in the figure's pixels), most important first."""
    return list(_PLACED.get(fig, []))


def build_figure(
    layers: Sequence[MapLayer],
    *,
    title: str,
    subtitle: str | None = None,
    sources: str = "",
    data_date: str = "",
    datum: str = "WGS-84 (EPSG:4326)",
    page: Page = Page(),
    bbox: Sequence[float] | None = None,
    legend: Sequence[tuple[Any, str]] | None = None,
    credit: str | None = None,
    lang: str = "zh",
) -> Figure:
    """The map as a matplotlib Figure (not yet saved) — for callers that inspect it (tests) or save it. `lang`
    (`geo.maptext.LANGS`) is the language of the map's own words: legend heading, scale, footer."""
    font = cjk_font()
    bold = font.copy()
    bold.set_weight("bold")
    fig = Figure(figsize=page.inches, dpi=page.dpi)
    FigureCanvasAgg(fig)
    landscape = page.orientation == "landscape"
    map_rect = (0.06, 0.09, 0.67, 0.80) if landscape else (0.09, 0.25, 0.86, 0.64)
    ax = fig.add_axes(map_rect)
    ax.set_gid("map")
    minx, miny, maxx, maxy = _extent(layers, bbox)
    mid_lat = (miny + maxy) / 2
    minx, miny, maxx, maxy = _fit_box(minx, miny, maxx, maxy, fig, map_rect)
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect(_aspect(mid_lat), adjustable="box")
    ax.set_facecolor("#eef3f7")
    ax.tick_params(labelsize=6)
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)
    handles: list[tuple[Any, str]] = []
    candidates: list[_Candidate] = []
    ordered = [lay for lay in layers if lay.background] + [lay for lay in layers if not lay.background]
    for i, layer in enumerate(ordered):
        entries = _draw(ax, layer, zorder=2 + i * 3, lang=lang)
        name = layer.label if layer.background else map_text(lang, "count", label=layer.label, n=len(layer.frame))
        if len(entries) == 1 and not entries[0][1]:
            handles.append((entries[0][0], name))
        elif entries:  # drawn by class: the layer's name (and the classes' heading), then one row per class
            handles.append((Line2D([], [], linestyle="none"), name))
            heading = (layer.style.get("classes") or {}).get("heading")
            if heading:  # a thematic map: field, unit and classification, one line per language
                handles.extend((Line2D([], [], linestyle="none"), _wrap(p, 36)) for p in str(heading).split(" / "))
            handles.extend((handle, f"  {title}") for handle, title, _ in entries)
        candidates.extend(_label_candidates(layer, (minx, miny, maxx, maxy), order=len(candidates)))
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}°E")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:g}°N")
    _scale_bar(ax, font, lang)
    _north_arrow(ax, font, lang)
    _PLACED[fig] = place_labels(fig, ax, candidates, font)
    # Title block
    title_size = 18 if len(title) <= 28 else max(10.0, 18 * 28 / len(title))  # a long title still fits the page
    fig.text(
        0.5,
        0.955,
        title,
        ha="center",
        va="center",
        fontsize=title_size,
        fontproperties=bold,
        parse_math=False,
        gid="title",
    )
    if subtitle:
        fig.text(
            0.5,
            0.915,
            subtitle,
            ha="center",
            va="center",
            fontsize=10,
            fontproperties=font,
            parse_math=False,
            color="#444444",
            gid="subtitle",
        )
    # Legend panel
    legend_rows = list(legend) if legend is not None else handles
    leg_anchor = (0.76, 0.89) if landscape else (0.05, 0.22)

    def make_legend(size: float, spacing: float) -> Any:
        legend_font = font.copy()
        legend_font.set_size(size)  # with `prop`, matplotlib ignores `fontsize`: size the font itself
        made = fig.legend(
            [h for h, _ in legend_rows],
            [t for _, t in legend_rows],
            loc="upper left",
            bbox_to_anchor=leg_anchor,
            prop=legend_font,
            title=map_text(lang, "legend"),
            title_fontproperties=bold,
            frameon=True,
            borderpad=0.8,
            labelspacing=spacing,
            handlelength=2.2,
        )
        made.set_gid("legend")
        for text in made.get_texts():
            text.set_parse_math(False)
        return made

    leg = make_legend(8.5, 0.9)
    # Footer: sources, data date, datum
    lines = []
    if sources:
        lines.append(map_text(lang, "sources", value=sources))
    if data_date:
        lines.append(map_text(lang, "data_date", value=data_date))
    lines.append(map_text(lang, "datum", datum=datum, lat=mid_lat))
    if credit:
        lines.append(credit)
    if landscape:
        footer = fig.text(
            0.76,
            0.10,
            "\n".join(_wrap(line, 50) for line in lines),
            ha="left",
            va="bottom",
            fontsize=7.5,
            fontproperties=font,
            parse_math=False,
            color="#333333",
            linespacing=1.5,
            gid="footer",
        )
        # A long legend (many layers, a thematic map's classes) would run into the footer: set it smaller.
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        size, spacing = 8.5, 0.9
        while leg.get_window_extent(renderer).y0 < footer.get_window_extent(renderer).y1 and size > 6:
            leg.remove()
            size, spacing = size - 0.5, max(spacing - 0.15, 0.35)
            leg = make_legend(size, spacing)
    else:
        fig.text(
            0.55,
            0.05,
            "\n".join(_wrap(line, 70) for line in lines),
            ha="left",
            va="bottom",
            fontsize=7.5,
            fontproperties=font,
            parse_math=False,
            color="#333333",
            linespacing=1.5,
            gid="footer",
        )
    return fig


def _wrap(text: str, width: int) -> str:
    """Wrap at `width` display units (CJK characters count 2, others 1), breaking Latin text at spaces."""
    tokens = re.findall(r"[\u2e80-\uffff]|[^\s\u2e80-\uffff]+|\s+", text)
    out: list[str] = []
    line, w = "", 0
    for tok in tokens:
        tw = sum(2 if ord(ch) >= 0x2E80 else 1 for ch in tok)
        if w + tw > width and line.strip():
            out.append(line.rstrip())
            line, w = "", 0
            if tok.isspace():
                continue
        line += tok
        w += tw
    if line.strip():
        out.append(line.rstrip())
    return "\n".join(out)


def save(fig: Figure, fmt: str, *, metadata: Mapping[str, str] | None = None) -> bytes:
    """PNG or PDF bytes of a figure built by `build_figure`."""
    buf = io.BytesIO()
    meta = {k: v for k, v in (metadata or {}).items() if v}
    if fmt == "png":
        FigureCanvasAgg(fig).print_png(buf, metadata=meta)
    elif fmt == "pdf":
        pdf_meta = {k: v for k, v in meta.items() if k in ("Title", "Author", "Subject", "Keywords", "Creator")}
        FigureCanvasPdf(fig).print_pdf(buf, metadata=pdf_meta)
    else:
        raise BadRequest(f"printable map format must be png or pdf, got {fmt!r}")
    return buf.getvalue()


def render(layers: Sequence[MapLayer], *, fmt: str = "png", title: str, page: Page = Page(), **kwargs: Any) -> bytes:
    """Build and save in one step; `kwargs` as for `build_figure`."""
    fig = build_figure(layers, title=title, page=page, **kwargs)
    try:
        return save(fig, fmt, metadata=_file_metadata(title, kwargs))
    finally:
        _release(fig)


def _release(fig: Figure) -> None:
    """Figures hold the drawn artists and the pixel buffer; give them back now, not at the next collection."""
    fig.clear()
    gc.collect()


def _file_metadata(title: str, kwargs: Mapping[str, Any]) -> dict[str, str]:
    meta = {
        "Title": title,
        "Subject": kwargs.get("subtitle") or "",
        "Keywords": f"source: {kwargs.get('sources', '')}; data date: {kwargs.get('data_date', '')}; "
        f"datum: {kwargs.get('datum', 'WGS-84 (EPSG:4326)')}",
        "Creator": "geo.mapprint (matplotlib)",
    }
    meta.update({"Source": str(kwargs.get("sources", "")), "Description": meta["Keywords"]})  # PNG keeps all
    return meta


def render_layers(export_layers: Sequence[Any], options: Mapping[str, Any], *, fmt: str) -> bytes:
    """Adapter for `geo.formats.ExportLayer`s: thematic layers drawn over `background=True` ones.

    options: title, subtitle, size, orientation, dpi, bbox (tuple), label_field, credit, sources (the footer's
    source line; default: the layers' metadata `source`), lang (zh|en: the map's own words, and feature labels
    from `<field>_en` where a feature has one). Background layers are labelled from their style's
    `context_label_field`, if any.
    """
    fig, meta = layers_figure(export_layers, options)
    try:
        return save(fig, fmt, metadata=meta)
    finally:
        _release(fig)


def layers_figure(export_layers: Sequence[Any], options: Mapping[str, Any]) -> tuple[Figure, dict[str, str]]:
    """The figure `render_layers` saves, and the file metadata to save it with (for callers that inspect it)."""
    if not export_layers:
        raise BadRequest("nothing to draw: no layer given")
    # the web layer checks the configured pixel cap and label fields first; these are the library's own
    page = page_from_options(options, max_pixels=int(options.get("max_pixels") or 2 * DEFAULT_MAX_PIXELS))
    data = [lay for lay in export_layers if not lay.background]
    label_field = check_label_field(
        options.get("label_field", "name"), options.get("label_fields") or DEFAULT_LABEL_FIELDS
    )
    lang = map_lang(options.get("lang"))
    map_layers = []
    for lay in export_layers:
        field_name = lay.style.get("context_label_field") if lay.background else label_field
        map_layers.append(
            MapLayer(_labels_in(lay.frame, field_name, lang), lay.title, lay.style, lay.background, field_name)
        )
    meta_src = data[0].metadata if data else export_layers[0].metadata
    named = list(dict.fromkeys(str(lay.metadata.get("source")) for lay in export_layers if lay.metadata.get("source")))
    sources = str(options.get("sources") or "") or "；".join(
        s for s in named if not any(s != other and s in other for other in named)
    )
    title = str(options.get("title") or " + ".join(lay.title for lay in data) or export_layers[0].title)
    kwargs: dict[str, Any] = {
        "subtitle": options.get("subtitle"),
        "sources": sources,
        "data_date": str(meta_src.get("data_date") or ""),
        "datum": str(meta_src.get("datum") or "WGS-84 (EPSG:4326)"),
        "bbox": options.get("bbox"),
        "credit": options.get("credit"),
        "lang": lang,
    }
    fig = build_figure(map_layers, title=title, page=page, **kwargs)
    return fig, _file_metadata(title, kwargs)


def _labels_in(frame: GeoDataFrame, field_name: str | None, lang: str) -> GeoDataFrame:
    """`frame` with its label column in `lang`: `<field>_<lang>` where a feature has it, else the field as it is."""
    other = f"{field_name}_{lang}"
    if lang == "zh" or not field_name or field_name not in frame.columns or other not in frame.columns:
        return frame
    out = frame.copy()
    usable = out[other].map(lambda v: isinstance(v, str) and bool(v.strip()))
    out[field_name] = out[other].where(usable, out[field_name])
    return out
