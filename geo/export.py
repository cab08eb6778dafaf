"""Write GeoDataFrames as downloadable files (GeoJSON, GeoPackage, zipped Shapefile, KML, CSV, standalone HTML map).

Input: `ExportLayer`s — a WGS-84 GeoDataFrame whose index holds the feature ids and whose columns are the
properties (values may be lists/dicts) plus geometry, a layer name and title, and a metadata dict
(`source`, `data_date`, `datum`, ...). Output: the file's bytes. `FORMATS` maps each extension to its
media type and writer; `export()` dispatches through it. GDAL formats are written by pyogrio into a
temporary directory. Printable maps (png/pdf) are drawn by `geo.mapprint` and registered here too.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import tempfile
import unicodedata
import urllib.parse
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import shapely
from geopandas import GeoDataFrame

from .errors import BadRequest, NotFound
from .geojson import MEDIA_TYPE as GEOJSON_MEDIA_TYPE
from .geojson import feature_collection, jsonable, prepare_geometries, to_bytes
from .params import parse_bbox, parse_ids

PRECISION = 6
ID_FIELD = "id"
META_KEYS = ("source", "data_date", "datum", "licence")
# Where HTML exports find Leaflet to inline when no `leaflet_dir` option is given.
_REPO_STATIC = Path(__file__).resolve().parent.parent / "static" / "vendor"


@dataclass(frozen=True)
class ExportLayer:
    """One layer to write: `name` is the machine name (layer/file name), `title` the human one.

    `background` layers are context drawn under the data on maps (html, png, pdf) and skipped by
    data formats. `style` is a small dict (`color`, `fill`, `weight`, `symbol`, `dash`) used by maps.
    """

    name: str
    title: str
    frame: GeoDataFrame
    metadata: Mapping[str, Any] = field(default_factory=dict)
    style: Mapping[str, Any] = field(default_factory=dict)
    background: bool = False


Writer = Callable[[Sequence[ExportLayer], Mapping[str, Any]], bytes]


@dataclass(frozen=True)
class Format:
    ext: str
    mimetype: str
    writer: Writer
    multi_layer: bool  # can hold several data layers in one file
    label: str


# ---------------------------------------------------------------- request helpers


def select(
    frame: GeoDataFrame, *, bbox: Sequence[float] | None = None, ids: Sequence[str] | None = None
) -> GeoDataFrame:
    """Features whose geometry intersects `bbox` and/or whose id is in `ids` (order of the frame kept).

    Unknown ids raise NotFound naming them.
    """
    out = frame
    if ids is not None:
        index = out.index.astype(str)
        unknown = [i for i in ids if i not in set(index)]
        if unknown:
            raise NotFound(f"unknown feature id(s): {', '.join(unknown[:20])}", unknown=unknown[:20])
        out = out[index.isin(list(ids))]
    if bbox is not None:
        box = shapely.box(*bbox)
        out = out[out.geometry.intersects(box)]
    return out


def _ascii_fallback(name: str) -> str:
    norm = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    norm = re.sub(r"[^A-Za-z0-9._-]+", "_", norm).strip("_.")
    return norm or "download"


def content_disposition(filename: str, fallback: str | None = None) -> str:
    """RFC 6266 `attachment` header value: an ASCII `filename` plus `filename*=UTF-8''…` when needed."""
    ascii_name = _ascii_fallback(fallback or filename)
    if filename == ascii_name:
        return f'attachment; filename="{ascii_name}"'
    quoted = urllib.parse.quote(filename, safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"


def download_name(layers: Sequence[ExportLayer], ext: str) -> tuple[str, str]:
    """(human file name from titles, ASCII fallback from layer names) for a download."""
    data = [lay for lay in layers if not lay.background] or list(layers)
    title = "+".join(lay.title for lay in data) or "export"
    title = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", title).strip() or "export"
    return f"{title}.{ext}", f"{'+'.join(lay.name for lay in data) or 'export'}.{ext}"


# ---------------------------------------------------------------- frames for GDAL


def _data_layers(layers: Sequence[ExportLayer]) -> list[ExportLayer]:
    data = [lay for lay in layers if not lay.background]
    if not data:
        raise BadRequest("nothing to export: no data layer given")
    return data


def _with_id(frame: GeoDataFrame) -> GeoDataFrame:
    """Index (feature id) as a leading `id` column; an existing `id` column equal to it is dropped."""
    frame = frame.copy()
    ids = frame.index.astype(str)
    if ID_FIELD in frame.columns:
        if list(frame[ID_FIELD].astype(str)) == list(ids):
            frame = frame.drop(columns=[ID_FIELD])
        else:
            frame = frame.rename(columns={ID_FIELD: f"{ID_FIELD}_1"})
    frame.insert(0, ID_FIELD, list(ids))
    return frame.reset_index(drop=True)


def _flat_column(values: pd.Series) -> pd.Series:
    """A column GDAL can store: nested → JSON strings; mixed types → strings; numbers/str/bool kept."""
    if values.dtype != object:
        return values
    cleaned = [jsonable(v, stringify_nested=True) for v in values]
    present = [v for v in cleaned if v is not None]
    if not present:
        return pd.Series([None] * len(values), index=values.index, dtype=object)
    if all(isinstance(v, str) for v in present):
        return pd.Series(cleaned, index=values.index, dtype=object)
    if all(isinstance(v, bool) for v in present) and len(present) == len(cleaned):
        return pd.Series(cleaned, index=values.index, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pd.Series(cleaned, index=values.index, dtype="Int64")
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pd.Series([np.nan if v is None else float(v) for v in cleaned], index=values.index, dtype=float)
    return pd.Series(
        [None if v is None else (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)) for v in cleaned],
        index=values.index,
        dtype=object,
    )


def flat_frame(frame: GeoDataFrame, precision: int = PRECISION) -> GeoDataFrame:
    """The frame ready for GDAL: `id` column, flat attribute types, rounded/oriented geometry, EPSG:4326."""
    if frame.crs is None:
        frame = frame.set_crs(4326)
    elif frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    out = _with_id(frame)
    geom_col = out.geometry.name
    for col in out.columns:
        if col != geom_col:
            out[col] = _flat_column(out[col])
    out[geom_col] = prepare_geometries(out.geometry.values, precision)
    return out


def _geometry_family(frame: GeoDataFrame) -> str | None:
    types = {t.replace("Multi", "") for t in frame.geometry.geom_type.dropna().unique()}
    return types.pop() if len(types) == 1 else None


def _promote(frame: GeoDataFrame) -> bool:
    """Write polygon/line layers as Multi* when they mix single and multi parts."""
    types = set(frame.geometry.geom_type.dropna().unique())
    return any(t.startswith("Multi") for t in types) and len(types) > 1


def _meta_text(layer: ExportLayer) -> dict[str, str]:
    meta = {"title": layer.title, "name": layer.name}
    meta.update(
        {str(k): str(v) for k, v in layer.metadata.items() if v is not None and not isinstance(v, (dict, list))}
    )
    meta.setdefault("datum", "WGS-84 (EPSG:4326)")
    meta["feature_count"] = str(len(layer.frame))
    return meta


def _write_gdal(frame: GeoDataFrame, path: Path, driver: str, layer: str, **kwargs: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL chatter (truncation notes etc.)
        pyogrio.write_dataframe(
            frame, path, layer=layer, driver=driver, promote_to_multi=_promote(frame) or None, **kwargs
        )


# ---------------------------------------------------------------- writers


def write_geojson(layers: Sequence[ExportLayer], options: Mapping[str, Any]) -> bytes:
    """RFC 7946 FeatureCollection; nested properties as JSON strings; metadata as a foreign member."""
    (layer,) = _one(layers, "geojson")
    extra = {"name": layer.name, "title": layer.title, "metadata": _meta_text(layer)}
    return to_bytes(feature_collection(layer.frame, precision=PRECISION, stringify_nested=True, extra=extra))


def write_gpkg(layers: Sequence[ExportLayer], options: Mapping[str, Any]) -> bytes:
    """One GeoPackage; one table per layer, with title/description and metadata stored by GDAL."""
    data = _data_layers(layers)
    with tempfile.TemporaryDirectory(prefix="export-") as tmp:
        path = Path(tmp) / "export.gpkg"
        for i, layer in enumerate(data):
            meta = _meta_text(layer)
            description = "; ".join(f"{k}: {v}" for k, v in meta.items() if k not in ("title", "name"))
            _write_gdal(
                flat_frame(layer.frame),
                path,
                "GPKG",
                layer.name,
                append=i > 0,
                layer_options={"IDENTIFIER": layer.title, "DESCRIPTION": description},
                layer_metadata=meta,
                dataset_metadata=_dataset_meta(data) if i == 0 else None,
                dataset_options={"VERSION": "1.2"} if i == 0 else None,
            )
        return path.read_bytes()


def _dataset_meta(layers: Sequence[ExportLayer]) -> dict[str, str]:
    first = _meta_text(layers[0])
    keys = [k for k in first if k not in ("title", "name", "feature_count")]
    meta = {k: first[k] for k in keys}
    meta["layers"] = ", ".join(lay.name for lay in layers)
    return meta


def shapefile_field_names(columns: Sequence[str], limit: int = 10) -> dict[str, str]:
    """Unique DBF field names of at most `limit` bytes (UTF-8), case-insensitively distinct."""
    used: set[str] = set()
    mapping: dict[str, str] = {}

    def clip(name: str, n: int) -> str:
        out = ""
        for ch in name:
            if len((out + ch).encode("utf-8")) > n:
                break
            out += ch
        return out

    for col in columns:
        candidate = clip(col, limit)
        k = 1
        while candidate.lower() in used or not candidate:
            suffix = f"_{k}"
            candidate = clip(col, limit - len(suffix)) + suffix
            k += 1
        used.add(candidate.lower())
        mapping[col] = candidate
    return mapping


def write_shp_zip(layers: Sequence[ExportLayer], options: Mapping[str, Any]) -> bytes:
    """A zip with .shp/.shx/.dbf/.prj/.cpg (UTF-8) per layer (split by geometry family when mixed),
    `<layer>_fields.csv` mapping DBF names to full names, and a metadata README."""
    data = _data_layers(layers)
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="export-") as tmp, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        readme: list[str] = []
        for layer in data:
            flat = flat_frame(layer.frame)
            geom_col = flat.geometry.name
            cols = [c for c in flat.columns if c != geom_col]
            names = shapefile_field_names(cols)
            flat = flat.rename(columns=names)
            table = io.StringIO()
            w = csv.writer(table, lineterminator="\r\n")
            w.writerow(["dbf_field", "full_name"])
            w.writerows([[short, full] for full, short in names.items()])
            zf.writestr(f"{layer.name}_fields.csv", "\ufeff" + table.getvalue())
            parts = _split_by_family(flat)
            for suffix, part in parts:
                stem = layer.name + suffix
                _write_gdal(part, Path(tmp) / f"{stem}.shp", "ESRI Shapefile", stem, encoding="UTF-8")
                for ext in ("shp", "shx", "dbf", "prj", "cpg"):
                    f = Path(tmp) / f"{stem}.{ext}"
                    if f.exists():
                        zf.write(f, f"{stem}.{ext}")
            readme += [f"[{layer.name}] {layer.title}"]
            readme += [f"{k}: {v}" for k, v in _meta_text(layer).items() if k not in ("title", "name")]
            readme += [
                f"files: {', '.join(stem + '.shp' for stem in (layer.name + s for s, _ in parts))}",
                f"field names: {layer.name}_fields.csv (DBF names are limited to 10 bytes)",
                "text attributes are UTF-8 (.cpg) and limited to 254 bytes by DBF; "
                "use the GeoPackage or GeoJSON download for full text",
                "",
            ]
        zf.writestr("README.txt", "\ufeff" + "\r\n".join(readme))
    return buf.getvalue()


def _split_by_family(flat: GeoDataFrame) -> list[tuple[str, GeoDataFrame]]:
    if _geometry_family(flat) is not None or len(flat) == 0:
        return [("", flat)]
    families = flat.geometry.geom_type.fillna("None").str.replace("Multi", "", regex=False)
    return [(f"_{fam.lower()}", flat[families == fam]) for fam in sorted(families.unique()) if fam != "None"]


_KML_NS = "http://www.opengis.net/kml/2.2"


def write_kml(layers: Sequence[ExportLayer], options: Mapping[str, Any]) -> bytes:
    """KML 2.2 via GDAL's LIBKML driver: one folder per layer, attributes as ExtendedData,
    the document named after the layer(s) and described by the metadata."""
    data = _data_layers(layers)
    with tempfile.TemporaryDirectory(prefix="export-") as tmp:
        path = Path(tmp) / "export.kml"
        for i, layer in enumerate(data):
            flat = flat_frame(layer.frame)
            for col in flat.columns:  # KML readers before GDAL 3.7 misread xsd:boolean "true" as 0
                if flat[col].dtype == bool:
                    flat[col] = flat[col].astype(int)
            _write_gdal(flat, path, "LIBKML", layer.name, append=i > 0)
        raw = path.read_bytes()
    ET.register_namespace("", _KML_NS)
    for prefix, uri in (
        ("gx", "http://www.google.com/kml/ext/2.2"),
        ("atom", "http://www.w3.org/2005/Atom"),
        ("xal", "urn:oasis:names:tc:ciq:xsdschema:xAL:2.0"),
    ):
        ET.register_namespace(prefix, uri)
    root = ET.fromstring(raw)
    doc = root.find(f"{{{_KML_NS}}}Document")
    if doc is not None:
        name = ET.Element(f"{{{_KML_NS}}}name")
        name.text = " + ".join(lay.title for lay in data)
        desc = ET.Element(f"{{{_KML_NS}}}description")
        desc.text = "\n".join(f"{k}: {v}" for lay in data for k, v in _meta_text(lay).items())
        doc.insert(0, desc)
        doc.insert(0, name)
        titles = {lay.name: lay.title for lay in data}
        for container in root.iter():
            if container.tag in (f"{{{_KML_NS}}}Document", f"{{{_KML_NS}}}Folder") and container.get("id") in titles:
                label = container.find(f"{{{_KML_NS}}}name")
                if label is not None:
                    label.text = titles[container.get("id")]
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)


def write_csv(layers: Sequence[ExportLayer], options: Mapping[str, Any]) -> bytes:
    """UTF-8 CSV with BOM: id, properties (nested as JSON), `longitude`/`latitude` for point layers,
    `WKT` geometry (6 decimals) and metadata columns (`meta_source`, `meta_data_date`, `meta_datum`)."""
    (layer,) = _one(layers, "csv")
    flat = flat_frame(layer.frame)
    geom_col = flat.geometry.name
    geoms = flat.geometry.values
    table = pd.DataFrame(flat.drop(columns=[geom_col]))
    if len(flat) and set(flat.geometry.geom_type.dropna().unique()) == {"Point"}:
        table["longitude"] = shapely.get_x(geoms).round(PRECISION)
        table["latitude"] = shapely.get_y(geoms).round(PRECISION)
    table["WKT"] = shapely.to_wkt(geoms, rounding_precision=PRECISION, trim=True)
    meta = _meta_text(layer)
    for key in ("source", "data_date", "datum"):
        table[f"meta_{key}"] = meta.get(key, "")
    text = table.to_csv(index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    return ("\ufeff" + text).encode("utf-8")


# ---------------------------------------------------------------- standalone HTML (folium)


def _leaflet_assets(leaflet_dir: str | Path | None) -> tuple[str, str]:
    """Leaflet's JS and CSS text, with the CSS images inlined as data: URIs."""
    if leaflet_dir is None:
        found = sorted(_REPO_STATIC.glob("leaflet*/leaflet.js"))
        if not found:
            raise RuntimeError(f"no Leaflet found under {_REPO_STATIC}; pass leaflet_dir=")
        leaflet_dir = found[-1].parent
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


def _popup_fields(frame: GeoDataFrame) -> list[str]:
    return [c for c in frame.columns if c != frame.geometry.name][:40]


def write_html(layers: Sequence[ExportLayer], options: Mapping[str, Any]) -> bytes:
    """One self-contained HTML file (folium/Leaflet, scripts, styles and data inlined; no tiles,
    no external host) showing every layer with popups, a layer switcher and a metadata note."""
    import folium  # local: only this writer needs it

    if not layers:
        raise BadRequest("nothing to export: no layer given")
    data = _data_layers(layers)
    js, css = _leaflet_assets(options.get("leaflet_dir"))
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
        + "; ".join(f"{_esc(k)}: {_esc(v)}" for k, v in _meta_text(lay).items() if k in META_KEYS)
        for lay in data
    )
    m.get_root().html.add_child(
        folium.Element(
            f'<div id="export-meta" style="position:fixed;bottom:24px;right:8px;z-index:1000;max-width:60%;'
            f'background:rgba(255,255,255,.9);padding:6px 8px;font:12px sans-serif;border-radius:4px">{note}</div>'
        )
    )
    title = " + ".join(lay.title for lay in data)
    m.get_root().header.add_child(folium.Element(f"<title>{_esc(title)}</title>"))
    html = m.get_root().render()
    return _inline_assets(html, js, css).encode("utf-8")


def _esc(value: Any) -> str:
    import html as _html

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
    return tuple(float(v) for v in b)  # type: ignore[return-value]


# ---------------------------------------------------------------- printable maps (delegated)


def write_png(layers: Sequence[ExportLayer], options: Mapping[str, Any]) -> bytes:
    from . import mapprint

    return mapprint.render_layers(layers, dict(options), fmt="png")


def write_pdf(layers: Sequence[ExportLayer], options: Mapping[str, Any]) -> bytes:
    from . import mapprint

    return mapprint.render_layers(layers, dict(options), fmt="pdf")


def _one(layers: Sequence[ExportLayer], ext: str) -> list[ExportLayer]:
    data = _data_layers(layers)
    if len(data) != 1:
        raise BadRequest(f"{ext} holds one layer; ask for gpkg, shp.zip, kml or html to combine layers")
    return data


FORMATS: dict[str, Format] = {
    f.ext: f
    for f in (
        Format("geojson", GEOJSON_MEDIA_TYPE, write_geojson, False, "GeoJSON (RFC 7946)"),
        Format("gpkg", "application/geopackage+sqlite3", write_gpkg, True, "GeoPackage"),
        Format("shp.zip", "application/zip", write_shp_zip, True, "Shapefile (zipped)"),
        Format("kml", "application/vnd.google-earth.kml+xml", write_kml, True, "KML"),
        Format("csv", "text/csv; charset=utf-8", write_csv, False, "CSV (WKT geometry)"),
        Format("html", "text/html; charset=utf-8", write_html, True, "Standalone HTML map"),
        Format("png", "image/png", write_png, True, "Printable map (PNG)"),
        Format("pdf", "application/pdf", write_pdf, True, "Printable map (PDF)"),
    )
}


def split_ext(filename: str) -> tuple[str, str]:
    """'pilot-counties.shp.zip' → ('pilot-counties', 'shp.zip'); BadRequest for an unknown extension."""
    for ext in sorted(FORMATS, key=len, reverse=True):
        if filename.endswith("." + ext):
            return filename[: -len(ext) - 1], ext
    raise BadRequest(f"unknown export format in {filename!r}; use one of: {', '.join(FORMATS)}")


def export(layers: Sequence[ExportLayer], ext: str, options: Mapping[str, Any] | None = None) -> bytes:
    """The file's bytes in format `ext` (a key of FORMATS)."""
    fmt = FORMATS.get(ext)
    if fmt is None:
        raise BadRequest(f"unknown export format {ext!r}; use one of: {', '.join(FORMATS)}")
    return fmt.writer(layers, options or {})


# ---------------------------------------------------------------- one call for a web layer

MAP_OPTIONS = ("title", "subtitle", "size", "orientation", "dpi", "label_field")


def build_download(
    layers: Sequence[ExportLayer],
    ext: str,
    args: Mapping[str, Any] | None = None,
    *,
    leaflet_dir: str | Path | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Apply `bbox` / `ids` from the query to the data layers, write format `ext`, and return
    (body, headers) with Content-Type and an RFC 6266 Content-Disposition.

    `ids` keeps the listed features of every data layer; an id found in none of them is a 404.
    Map options (png/pdf): `title`, `subtitle`, `size`, `orientation`, `dpi`. `leaflet_dir` holds
    leaflet.js/leaflet.css for the html export (default: the first static/vendor/leaflet*/ found).
    """
    args = args or {}
    fmt = FORMATS.get(ext)
    if fmt is None:
        raise BadRequest(f"unknown export format {ext!r}; use one of: {', '.join(FORMATS)}")
    names = [lay.name for lay in layers if not lay.background]
    if len(set(names)) != len(names):
        raise BadRequest(f"a layer is listed twice: {', '.join(names)}")
    bbox = parse_bbox(args.get("bbox"))
    ids = parse_ids(args.get("ids"))
    if ids is not None:
        known = set().union(*(set(lay.frame.index.astype(str)) for lay in layers if not lay.background))
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise NotFound(f"unknown feature id(s): {', '.join(unknown[:20])}", unknown=unknown[:20])
    chosen = []
    for lay in layers:
        if lay.background:
            chosen.append(lay)
            continue
        frame = lay.frame
        if ids is not None:
            frame = frame[frame.index.astype(str).isin(ids)]
        frame = select(frame, bbox=bbox)
        chosen.append(ExportLayer(lay.name, lay.title, frame, lay.metadata, lay.style, False))
    options: dict[str, Any] = {k: args.get(k) for k in MAP_OPTIONS if args.get(k)}
    if bbox is not None:
        options["bbox"] = bbox
    if leaflet_dir is not None:
        options["leaflet_dir"] = leaflet_dir
    body = fmt.writer(chosen, options)
    name, fallback = download_name(chosen, ext)
    headers = {
        "Content-Type": fmt.mimetype,
        "Content-Disposition": content_disposition(name, fallback),
        "Content-Length": str(len(body)),
        "X-Content-Type-Options": "nosniff",
    }
    return body, headers
