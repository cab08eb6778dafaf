"""Draw layers as one self-contained HTML map (folium/Leaflet), with Leaflet, styles and data inlined.

The file opens offline: no tiles, no script or stylesheet from another host. The caller says where the
vendored Leaflet is (`leaflet_dir`, holding leaflet.js, leaflet.css and its images); nothing here knows
where a web app keeps its static files.
"""

from __future__ import annotations

import base64
import html as _html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from geopandas import GeoDataFrame

from .errors import BadRequest
from .formats.layer import ID_FIELD, META_KEYS, PRECISION, ExportLayer, data_layers, flat_frame, meta_text
from .geojson import feature_collection
from .maptext import localised, map_lang, text

if TYPE_CHECKING:
    import folium

MAX_POPUP_FIELDS = 40
CONTEXT_TOLERANCE = 0.001  # degrees: how far context outlines may be simplified


def leaflet_assets(leaflet_dir: str | Path) -> tuple[str, str]:
    """Leaflet's JS and CSS text from `leaflet_dir`, with the CSS images inlined as data: URIs."""
    leaflet_dir = Path(leaflet_dir)
    js = (leaflet_dir / "leaflet.js").read_text(encoding="utf-8")
    css = (leaflet_dir / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match) -> str:
        ref = match.group(1).strip("'\"")
        if ref.startswith(("#", "data:")):
            return match.group(0)
        img = leaflet_dir / ref
        if not img.is_file():
            return "url()"
        return f"url(data:image/png;base64,{base64.b64encode(img.read_bytes()).decode('ascii')})"

    css = re.sub(r"url\(([^)]*)\)", inline, css)
    js = js.replace("//# sourceMappingURL=leaflet.js.map", "")
    css = css.replace("/*# sourceMappingURL", "/* sourceMappingURL")
    return js, css


MAP_CSS = """
html, body { font: 13px/1.45 system-ui, "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; }
.folium-map { background: #dfe8ee; }
.kc-site { background: none; border: 0; }
.kc-site svg { display: block; overflow: visible; }
.kc-popup { max-height: 280px; width: 320px; max-width: 70vw; overflow: auto; }
.kc-popup h3 { font-size: 14px; margin: 0 0 6px; }
.kc-popup table { border-collapse: collapse; width: 100%; table-layout: fixed; }
.kc-popup th:first-child { width: 6.5em; }
.kc-popup td { overflow-wrap: anywhere; }
.kc-popup th, .kc-popup td { text-align: left; vertical-align: top; padding: 2px 4px; border-top: 1px solid #e4e4e4; }
.kc-popup th { color: #555; font-weight: 600; }
.kc-popup .src { color: #666; font-size: 11px; }
.leaflet-popup-content { margin: 10px 12px; }
.leaflet-popup-content > div > table, .leaflet-popup-content > div > table > tbody > tr > td { margin: 0; padding: 0; }
#kc-legend { position: fixed; top: 10px; left: 54px; z-index: 1000; max-width: 280px; max-height: 60vh;
  overflow: auto; background: rgba(255,255,255,.94); padding: 8px 10px; border-radius: 6px;
  box-shadow: 0 1px 4px rgba(0,0,0,.3); font-size: 12px; }
#kc-legend h2 { font-size: 13px; margin: 0 0 4px; }
#kc-legend .lg-layer { font-weight: 600; margin-top: 6px; display: flex; align-items: center; gap: 6px; }
#kc-legend .lg-heading { font-size: 11.5px; color: #444; margin: 2px 0 0 8px; }
#kc-legend ul { list-style: none; margin: 2px 0 0 8px; padding: 0; }
#kc-legend li { display: flex; align-items: center; gap: 6px; margin: 2px 0; }
#kc-legend .sw { display: inline-block; width: 16px; height: 12px; border: 2px solid; box-sizing: border-box; }
#kc-legend .sw.line { height: 0; border-width: 3px 0 0; }
#export-meta { position: fixed; bottom: 24px; right: 8px; z-index: 1000; max-width: 60%;
  background: rgba(255,255,255,.9); padding: 6px 8px; font-size: 12px; border-radius: 4px; }
"""
# Human fields a popup shows, in order, with the `geo.maptext` key of their headings (other scalar fields only
# when none of these exist). `name` in the other language comes first.
POPUP_FIELDS = (
    ("kind", "kind"),
    ("role", "role"),
    ("designation", "designation"),
    ("programme", "programme"),
    ("year", "year_field"),
    ("city", "city"),
    ("county", "county"),
    ("summary", "summary"),
    ("location_note", "location_note"),
)
HIDDEN_FIELDS = {"id", "source", "sources", "summary_source", "aliases", "geometry", "facts", "conflicts"}


def render_html(
    layers: Sequence[ExportLayer], *, leaflet_dir: str | Path, sources: str = "", lang: str = "zh"
) -> bytes:
    """One self-contained HTML file: context layers (outlines, not clickable) under the data layers, drawn with
    the styles each layer carries (`geo.formats.ExportLayer.style`, as printed maps: per-feature `classes`,
    SVG symbols for points), a legend, readable popups (a small table of human fields), a layer switcher and
    a metadata note (`sources`: the citation line to show; default: each layer's metadata). `lang` (zh|en) is
    the language of the map's own words and of the data fields that have an `_en` twin. Every piece of data
    text is escaped."""
    import folium  # local: only this map needs it, and it is slow to import

    if not layers:
        raise BadRequest("nothing to export: no layer given")
    lang = map_lang(lang)
    data = data_layers(layers)
    js, css = leaflet_assets(leaflet_dir)
    bounds = _bounds([lay.frame for lay in data] or [lay.frame for lay in layers])
    m = folium.Map(
        location=[(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2],
        zoom_start=8,
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
    )
    m.default_js = []
    m.default_css = []
    ordered = [lay for lay in layers if lay.background] + list(data)
    for layer in ordered:
        _add_layer(m, layer, lang)
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    folium.LayerControl(collapsed=False).add_to(m)
    if sources:  # the caller's citation line (documents by title) replaces the layers' metadata `source`
        first = meta_text(data[0]) if data else {}
        note = text(lang, "meta_join").join(
            f"{text(lang, label)}{text(lang, 'meta_colon')}{_esc(value)}"
            for label, value in (
                ("meta_sources", sources),
                ("meta_date", first.get("data_date", "")),
                ("meta_datum", first.get("datum", "")),
            )
            if value
        )
    else:
        note = "<br>".join(
            f"<b>{_esc(lay.title)}</b> — "
            + "; ".join(f"{_esc(k)}: {_esc(v)}" for k, v in meta_text(lay).items() if k in META_KEYS)
            for lay in data
        )
    page = cast("folium.Figure", m.get_root())
    page.html.add_child(folium.Element(_legend_html(data, lang)))
    page.html.add_child(folium.Element(f'<div id="export-meta">{note}</div>'))
    title = " + ".join(lay.title for lay in data)
    page.header.add_child(folium.Element(f"<title>{_esc(title)}</title>"))
    html = page.render()
    return _inline_assets(html, js, css + MAP_CSS).encode("utf-8")


def _class_of(style: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """The layer style with its per-feature class (`classes`: role, kind) applied."""
    classes = style.get("classes") or {}
    value = props.get(classes.get("field", ""))
    over = (classes.get("values") or {}).get(value, {}) if isinstance(value, str) else {}
    return {**{k: v for k, v in style.items() if k != "classes"}, **over}


def symbol_svg(style: dict[str, Any], size: int | None = None) -> str:
    """The point symbol as inline SVG, as the web map draws it: shape from `svg`, the layer's colour, a white
    outline (or, hollow, white inside with a coloured outline)."""
    shape = style.get("svg") or {"svg": "circle", "attrs": {"cx": 10, "cy": 10, "r": 6.5}}
    stroke = style.get("symbol_stroke") or {"outline": "#ffffff", "solid_width": 1.6, "hollow_width": 3}
    color = _esc(style.get("color", "#c0392b"))
    outline = _esc(stroke.get("outline", "#ffffff"))
    hollow = bool(style.get("hollow"))
    size = int(size or style.get("size") or 19)
    attrs = " ".join(f'{_esc(k)}="{_esc(v)}"' for k, v in (shape.get("attrs") or {}).items())
    width = stroke.get("hollow_width", 3) if hollow else stroke.get("solid_width", 1.6)
    tag = shape.get("svg") if shape.get("svg") in ("circle", "rect", "polygon") else "circle"
    return (
        f'<svg viewBox="0 0 20 20" width="{size}" height="{size}" aria-hidden="true">'
        f'<{tag} {attrs} fill="{outline if hollow else color}" stroke="{color if hollow else outline}" '
        f'stroke-width="{_esc(width)}" stroke-linejoin="round"/></svg>'
    )


def _add_layer(m: Any, layer: ExportLayer, lang: str = "zh") -> None:
    import folium

    frame = layer.frame
    if layer.background and len(frame):  # outlines only: ~100 m detail keeps the file small
        frame = frame.set_geometry(frame.geometry.simplify(CONTEXT_TOLERANCE, preserve_topology=True))
    flat = flat_frame(frame)
    style = dict(layer.style)
    popups = [] if layer.background else [popup_html(row, style, lang) for row in _records(layer.frame)]
    shown = flat.copy()
    if lang != "zh" and "name" in shown.columns:  # tooltips name features in the map's language where they can
        shown["name"] = [localised(row, "name", lang) for row in _records(layer.frame)]
    for col in shown.columns:  # folium's popups and tooltips put values into HTML strings: escape them
        if col != shown.geometry.name:
            shown[col] = shown[col].map(lambda v: _esc(v) if isinstance(v, str) else v)
    if popups:
        shown["_popup"] = popups
    fc = feature_collection(shown.set_index(ID_FIELD, drop=False), precision=PRECISION, stringify_nested=True)
    families = {t.replace("Multi", "") for t in flat.geometry.geom_type.dropna().unique()}
    background = layer.background

    def style_fn(feature: dict, style: dict = style, background: bool = background) -> dict:
        props = feature.get("properties") or {}
        st = _class_of(style, props)
        faded = (st.get("undated") or {}) if props.get("year_known") is False else {}  # a record without a year
        if (feature.get("geometry") or {}).get("type") in ("Point", "MultiPoint"):
            size = int(st.get("size") or 19)
            kind = re.sub(r"[^A-Za-z0-9_-]", "", str(props.get("kind") or "point"))
            svg = symbol_svg(st, size)
            if faded.get("marker_opacity") is not None:
                svg = svg.replace("<svg ", f'<svg opacity="{float(faded["marker_opacity"]):g}" ', 1)
            return {
                "html": svg,
                "className": f"kc-site kind-{kind}" + (" undated" if faded else ""),
                "iconSize": [size, size],
                "iconAnchor": [size / 2, size / 2],
            }
        color = st.get("color", "#555555" if background else "#c0392b")
        fill = st.get("fill")
        opacity = st.get("alpha", st.get("fill_opacity", 0.35 if fill else 0.0))
        return {
            "color": color,
            "weight": float(st.get("weight", 1 if background else 2)),
            "opacity": float(st.get("opacity", 1.0)) * float(faded.get("opacity_scale", 1.0)),
            "fillColor": fill or color,
            "fillOpacity": float(opacity) * float(faded.get("fill_opacity_scale", 1.0)) if fill else 0.0,
            "dashArray": faded.get("dash") or st.get("dash"),
            "className": f"kc-shape role-{_esc(props.get('role') or 'none')}",
        }

    kwargs: dict[str, Any] = {}
    if not background and popups and len(flat):  # folium refuses popups over no features
        kwargs["popup"] = folium.GeoJsonPopup(fields=["_popup"], labels=False, localize=False, max_width=380)
        if "name" in flat.columns:
            kwargs["tooltip"] = folium.GeoJsonTooltip(fields=["name"], labels=False)
    if "Point" in families:
        kwargs["marker"] = folium.Marker(icon=folium.DivIcon(class_name="kc-site"))
    folium.GeoJson(
        fc,
        name=layer.title,
        style_function=style_fn,
        control=True,
        interactive=not background,
        **kwargs,
    ).add_to(m)


def _records(frame: GeoDataFrame) -> list[dict[str, Any]]:
    cols = [c for c in frame.columns if c != frame.geometry.name]
    return [dict(zip(cols, values, strict=True)) for values in frame[cols].itertuples(index=False, name=None)]


def _scalar(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list | tuple):
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    text = str(value).strip()
    return text or None


def _doc(ref: Any, lang: str = "zh") -> str:
    """A cited document by title (and number), never a file name; in English its English title where it has one."""
    if not isinstance(ref, dict) or not ref.get("title"):
        return ""
    if lang != "zh" and ref.get(f"title_{lang}"):
        number = f" ({ref['doc_number']})" if ref.get("doc_number") else ""
        return f"“{ref[f'title_{lang}']}”{number}"
    number = f"（{ref['doc_number']}）" if ref.get("doc_number") else ""
    return f"《{ref['title']}》{number}"


def popup_html(props: dict[str, Any], style: dict[str, Any] | None = None, lang: str = "zh") -> str:
    """A feature's popup: its name, then a small table of human fields (kind or role by its legend title,
    designation, place, summary), figures with units, years and the documents they cite. Escaped HTML.
    `lang`: the headings' language, and the `_en` twin of a field where there is one."""
    style = style or {}
    titles = {k: v.get("title") for k, v in ((style.get("classes") or {}).get("values") or {}).items()}
    rows: list[tuple[str, str]] = []
    other = props.get("name") if lang != "zh" else props.get("name_en")
    if _scalar(other) and other != localised(props, "name", lang):
        rows.append((text(lang, "other_language"), str(other)))
    for key, heading in POPUP_FIELDS:
        value = localised(props, key, lang)
        if key in ("kind", "role") and isinstance(value, str):
            value = titles.get(value) or value
        if key == "designation" and isinstance(value, dict):
            value = (
                text(lang, "year", value=localised(value, "programme", lang) or "", year=value["year"])
                if value.get("year")
                else localised(value, "programme", lang) or ""
            )
        shown = _scalar(value)
        if shown:
            rows.append((text(lang, heading), shown))
    classes = style.get("classes") or {}
    shown_value = _scalar(props.get(classes.get("value_field") or ""))
    if shown_value is not None:  # a thematic map's value, under the figure's name
        rows.insert(0, (str(classes.get("value_title") or classes["value_field"]), shown_value))
    if not rows:  # data of another shape: its scalar fields, as they are
        rows = [
            (str(k), t)
            for k, v in props.items()
            if k not in HIDDEN_FIELDS and not str(k).startswith("_") and k != "name" and (t := _scalar(v))
        ][:MAX_POPUP_FIELDS]
    parts = [f'<div class="kc-popup"><h3>{_esc(localised(props, "name", lang) or "")}</h3><table>']
    parts += [f"<tr><th>{_esc(h)}</th><td>{_esc(t)}</td></tr>" for h, t in rows]
    facts_value = props.get("facts")
    facts: list[Any] = facts_value if isinstance(facts_value, list) else []
    for fact in facts:
        if not isinstance(fact, dict) or _scalar(fact.get("value")) is None:
            continue
        value = " ".join(x for x in (_scalar(fact.get("value")), _scalar(localised(fact, "unit", lang))) if x)
        if fact.get("year"):
            value = text(lang, "year", value=value, year=fact["year"])
        doc = _doc(fact.get("source_ref"), lang)
        src = f'<div class="src">{_esc(text(lang, "source_line", value=doc))}</div>' if doc else ""
        parts.append(f"<tr><th>{_esc(localised(fact, 'label', lang) or '')}</th><td>{_esc(value)}{src}</td></tr>")
    docs = dict.fromkeys(
        d
        for d in (
            _doc(props.get("summary_source_ref"), lang),
            _doc((props.get("designation") or {}).get("source_ref"), lang)
            if isinstance(props.get("designation"), dict)
            else "",
            _doc(props.get("source_ref"), lang),
        )
        if d
    )
    if docs:
        heading = _esc(text(lang, "source"))
        parts.append(f'<tr><th>{heading}</th><td class="src">{"<br>".join(_esc(d) for d in docs)}</td></tr>')
    parts.append("</table></div>")
    return "".join(parts)


def _legend_html(data: Sequence[ExportLayer], lang: str = "zh") -> str:
    """The legend: a swatch and title per data layer, then one row per kind or role its features use."""
    heading = _esc(text(lang, "legend_html"))
    blocks = [f'<div id="kc-legend" role="region" aria-label="{_esc(text(lang, "legend"))}"><h2>{heading}</h2>']
    for layer in data:
        style = dict(layer.style)
        frame = layer.frame
        points = bool(len(frame)) and frame.geometry.geom_type.isin(["Point", "MultiPoint"]).all()
        blocks.append(
            f'<div class="lg-layer">{_swatch(style, points)}'
            f"<span>{_esc(text(lang, 'count', label=layer.title, n=len(frame)))}</span></div>"
        )
        classes = style.get("classes") or {}
        field = classes.get("field")
        if classes.get("heading"):  # a thematic map: field, unit and classification
            blocks.append(f'<div class="lg-heading">{_esc(classes["heading"])}</div>')
        if field in frame.columns:
            counts = frame[field].value_counts()
            if classes.get("ordered"):  # a thematic map's classes, low to high, then "no data"
                counts = counts.reindex([v for v in (classes.get("values") or {}) if v in counts.index])
            if len(counts) > 1 or (points and counts.index[0] != style.get("kind")):
                items = []
                for value, n in counts.items():
                    st = _class_of(style, {str(field): value})
                    title = (classes.get("values") or {}).get(str(value), {}).get("title") or value
                    label = _esc(text(lang, "count", label=title, n=n))
                    items.append(f"<li>{_swatch(st, points)}<span>{label}</span></li>")
                blocks.append(f"<ul>{''.join(items)}</ul>")
    blocks.append("</div>")
    return "".join(blocks)


def _swatch(style: dict[str, Any], point: bool) -> str:
    if point:
        return symbol_svg(style, 16)
    color = _esc(style.get("color", "#555555"))
    fill = _esc(style.get("fill") or "transparent")
    dashed = "dashed" if style.get("dash") else "solid"
    return f'<span class="sw" style="border-color:{color};border-style:{dashed};background:{fill}"></span>'


def _esc(value: Any) -> str:
    """HTML-escaped text, also safe inside the JavaScript template strings folium writes values into."""
    return _html.escape(str(value)).replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def _inline_assets(html: str, js: str, css: str) -> str:
    """Put Leaflet inline and drop every remaining reference to an outside script or stylesheet."""
    js_safe = js.replace("</script", "<\\/script")
    html = re.sub(r'<script[^>]+src="https?://[^"]*"[^>]*>\s*</script>', "", html)
    html = re.sub(r'<link[^>]+href="https?://[^"]*"[^>]*/?>', "", html)
    head = f"<style>{css}</style>\n<script>{js_safe}</script>\n"
    return html.replace("<head>", "<head>\n" + head, 1)


def _bounds(frames: Sequence[GeoDataFrame]) -> tuple[float, float, float, float]:
    boxes = [f.total_bounds for f in frames if len(f) and not f.geometry.isna().all()]
    if not boxes:
        return (-180.0, -85.0, 180.0, 85.0)
    arr = np.array(boxes)
    b = (arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max())
    if b[0] == b[2] or b[1] == b[3]:  # a single point: pad a little
        b = (b[0] - 0.05, b[1] - 0.05, b[2] + 0.05, b[3] + 0.05)
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
