"""The download formats as data: a registry mapping each file extension to its writer, media type and file name.

A writer takes `ExportLayer`s (data layers, plus background ones for maps) and an options mapping and
returns the file's bytes; it knows nothing of HTTP. `FORMATS[ext]` says how to write and label a format;
`split_ext` finds the format of a requested file name. Writers live in `text` (GeoJSON, CSV), `gdal`
(GeoPackage, Shapefile zip, KML) and `maps` (HTML, PNG, PDF).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import BadRequest
from ..geojson import MEDIA_TYPE as GEOJSON_MEDIA_TYPE
from .gdal import write_gpkg, write_kml, write_shp_zip
from .layer import ExportLayer, Table, choice, flat_frame
from .maps import write_html, write_pdf, write_png
from .text import FIGURES_MODES, GEOMETRY_MODES, write_csv, write_geojson

__all__ = [
    "DATA_OPTIONS",
    "FIGURES_MODES",
    "FORMATS",
    "GEOMETRY_MODES",
    "MAP_OPTIONS",
    "VIEW_ID",
    "ExportLayer",
    "Format",
    "Table",
    "choice",
    "download_name",
    "flat_frame",
    "split_ext",
    "write",
]

Writer = Callable[[Sequence[ExportLayer], Mapping[str, Any]], bytes]

# Options a map format reads from a request (the others ignore them).
MAP_OPTIONS = ("title", "subtitle", "size", "orientation", "dpi", "label_field", "lang")
# Options a data format reads: `geometry` (csv: point|wkt|none), `figures` (wide|long|none; long: csv only).
DATA_OPTIONS = ("geometry", "figures")
# The file stem that names no layer of its own: `view.<ext>?layers=a,b` downloads the layers listed.
VIEW_ID = "view"


@dataclass(frozen=True)
class Format:
    """One download format.

    `multi_layer`: one file can hold several data layers. `is_map`: a drawn map, which may show a context
    layer underneath the data; `is_print`: a printed map, which shows its layer's usual context unless told
    otherwise. `cacheable`: the bytes depend only on the layers and options, so a response cache may keep them.
    """

    ext: str
    media_type: str
    writer: Writer
    label: str
    multi_layer: bool = False
    is_map: bool = False
    is_print: bool = False
    cacheable: bool = True

    def write(self, layers: Sequence[ExportLayer], options: Mapping[str, Any] | None = None) -> bytes:
        """The file's bytes."""
        return self.writer(layers, options or {})

    def download_name(self, layers: Sequence[ExportLayer]) -> tuple[str, str]:
        """(file name from the layers' titles, ASCII file name from their machine names)."""
        return download_name(layers, self.ext)


FORMATS: dict[str, Format] = {
    f.ext: f
    for f in (
        Format("geojson", GEOJSON_MEDIA_TYPE, write_geojson, "GeoJSON (RFC 7946)", multi_layer=True),
        Format("gpkg", "application/geopackage+sqlite3", write_gpkg, "GeoPackage", multi_layer=True),
        Format("shp.zip", "application/zip", write_shp_zip, "Shapefile (zipped)", multi_layer=True),
        Format("kml", "application/vnd.google-earth.kml+xml", write_kml, "KML", multi_layer=True),
        Format("csv", "text/csv; charset=utf-8", write_csv, "CSV (lon/lat, or WKT geometry)", multi_layer=True),
        Format("html", "text/html; charset=utf-8", write_html, "Standalone HTML map", multi_layer=True, is_map=True),
        Format("png", "image/png", write_png, "Printable map (PNG)", multi_layer=True, is_map=True, is_print=True),
        Format(
            "pdf", "application/pdf", write_pdf, "Printable map (PDF)", multi_layer=True, is_map=True, is_print=True
        ),
    )
}


def split_ext(filename: str) -> tuple[str, Format]:
    """'pilot-counties.shp.zip' → ('pilot-counties', FORMATS['shp.zip']); BadRequest for an unknown extension."""
    for ext in sorted(FORMATS, key=len, reverse=True):
        if filename.endswith("." + ext):
            return filename[: -len(ext) - 1], FORMATS[ext]
    raise BadRequest(f"unknown export format in {filename!r}; use one of: {', '.join(FORMATS)}")


def write(layers: Sequence[ExportLayer], ext: str, options: Mapping[str, Any] | None = None) -> bytes:
    """The file's bytes in format `ext` (a key of FORMATS)."""
    fmt = FORMATS.get(ext)
    if fmt is None:
        raise BadRequest(f"unknown export format {ext!r}; use one of: {', '.join(FORMATS)}")
    return fmt.write(layers, options)


def download_name(layers: Sequence[ExportLayer], ext: str) -> tuple[str, str]:
    """(human file name from titles, ASCII fallback from layer names) for a download."""
    data = [lay for lay in layers if not lay.background] or list(layers)
    title = "+".join(lay.title for lay in data) or "export"
    title = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", title).strip() or "export"
    return f"{title}.{ext}", f"{'+'.join(lay.name for lay in data) or 'export'}.{ext}"
