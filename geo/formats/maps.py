"""Writers for the map formats: a standalone HTML map (`geo.htmlmap`) and printable PNG/PDF maps (`geo.mapprint`).

Map options (a mapping): `leaflet_dir` (html: where leaflet.js and leaflet.css are; required), `sources` (the
citation line a map shows), `lang` (zh|en: the map's own words), and for png/pdf `title`, `subtitle`, `size`,
`orientation`, `dpi`, `label_field`, `bbox`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .layer import ExportLayer


def write_html(layers: Sequence[ExportLayer], options: Mapping[str, Any]) -> bytes:
    """A self-contained HTML map; `options["leaflet_dir"]` names the vendored Leaflet to inline."""
    from ..htmlmap import render_html  # local: folium is slow to import

    leaflet_dir = options.get("leaflet_dir")
    if leaflet_dir is None:
        raise ValueError("the html format needs options['leaflet_dir']: the folder with leaflet.js and leaflet.css")
    sources = str(options.get("sources") or "")
    return render_html(layers, leaflet_dir=leaflet_dir, sources=sources, lang=str(options.get("lang") or "zh"))


def write_png(layers: Sequence[ExportLayer], options: Mapping[str, Any]) -> bytes:
    """A printable map as PNG."""
    from .. import mapprint  # local: matplotlib is slow to import

    return mapprint.render_layers(layers, dict(options), fmt="png")


def write_pdf(layers: Sequence[ExportLayer], options: Mapping[str, Any]) -> bytes:
    """A printable map as PDF (fonts embedded)."""
    from .. import mapprint

    return mapprint.render_layers(layers, dict(options), fmt="pdf")
