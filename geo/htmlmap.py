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

if TYPE_CHECKING:
    import folium

MAX_POPUP_FIELDS = 40


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


def render_html(layers: Sequence[ExportLayer], *, leaflet_dir: str | Path) -> bytes:
    """One self-contained HTML file showing every layer (background ones under the data, not clickable)
    with popups, a layer switcher and a metadata note."""
    import folium  # local: only this map needs it, and it is slow to import

    if not layers:
        raise BadRequest("nothing to export: no layer given")
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
    for layer in layers:
        flat = flat_frame(layer.frame)
        # folium's popups and tooltips put values into HTML strings: escape them so text stays text
        shown = flat.copy()
        for col in shown.columns:
            if col != shown.geometry.name:
                shown[col] = shown[col].map(lambda v: _esc(v) if isinstance(v, str) else v)
        fc = feature_collection(shown.set_index(ID_FIELD, drop=False), precision=PRECISION, stringify_nested=True)
        style = dict(layer.style)
        color = style.get("color", "#555555" if layer.background else "#c0392b")
        fill = style.get("fill")
        weight = float(style.get("weight", 1 if layer.background else 2))
        dash = style.get("dash")
        classes = style.get("classes") or {}  # features styled by a column (e.g. zones by role)

        def style_fn(
            feature: dict,
            color: str = color,
            fill: Any = fill,
            weight: float = weight,
            dash: Any = dash,
            classes: dict = classes,
        ) -> dict:
            value = (feature.get("properties") or {}).get(classes.get("field", ""))
            over = (classes.get("values") or {}).get(value, {}) if isinstance(value, str) else {}
            return {
                "color": over.get("color", color),
                "weight": over.get("weight", weight),
                "fillColor": over.get("fill") or fill or color,
                "fillOpacity": over.get("alpha", 0.35 if fill else 0.0),
                "dashArray": over.get("dash", dash),
            }

        fields = _popup_fields(flat)
        kwargs: dict[str, Any] = {}
        if not layer.background and fields and len(flat):  # folium refuses popups over no features
            kwargs["popup"] = folium.GeoJsonPopup(
                fields=fields, aliases=fields, localize=False, labels=True, max_width=420
            )
            if "name" in fields:
                kwargs["tooltip"] = folium.GeoJsonTooltip(fields=["name"], labels=False)
        families = {t.replace("Multi", "") for t in flat.geometry.geom_type.dropna().unique()}
        if "Point" in families:
            kwargs["marker"] = folium.CircleMarker(
                radius=7, color="#ffffff", weight=1.5, fill=True, fill_color=color, fill_opacity=0.9
            )
        folium.GeoJson(
            fc, name=layer.title, style_function=style_fn, control=True, interactive=not layer.background, **kwargs
        ).add_to(m)
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    folium.LayerControl(collapsed=False).add_to(m)
    note = "<br>".join(
        f"<b>{_esc(lay.title)}</b> — "
        + "; ".join(f"{_esc(k)}: {_esc(v)}" for k, v in meta_text(lay).items() if k in META_KEYS)
        for lay in data
    )
    page = cast("folium.Figure", m.get_root())
    page.html.add_child(
        folium.Element(
            f'<div id="export-meta" style="position:fixed;bottom:24px;right:8px;z-index:1000;max-width:60%;'
            f'background:rgba(255,255,255,.9);padding:6px 8px;font:12px sans-serif;border-radius:4px">{note}</div>'
        )
    )
    title = " + ".join(lay.title for lay in data)
    page.header.add_child(folium.Element(f"<title>{_esc(title)}</title>"))
    html = page.render()
    return _inline_assets(html, js, css).encode("utf-8")


def _popup_fields(frame: GeoDataFrame) -> list[str]:
    return [c for c in frame.columns if c != frame.geometry.name][:MAX_POPUP_FIELDS]


def _esc(value: Any) -> str:
    return _html.escape(str(value))


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
