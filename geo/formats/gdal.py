"""Writers for the GDAL formats (via pyogrio, in a temporary directory): GeoPackage, zipped Shapefile and KML.

Each holds one or more data layers and keeps the layers' metadata (source, data date, datum) inside the file,
and the layers' related tables (no geometry): a GeoPackage attribute table, a lone .dbf (plus a full CSV) in
the Shapefile zip, a folder of placemarks without geometry in KML.
"""

from __future__ import annotations

import csv
import io
import tempfile
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyogrio
from geopandas import GeoDataFrame

from .layer import ExportLayer, Table, data_layers, flat_frame, flat_table, meta_text, related_tables

KML_NS = "http://www.opengis.net/kml/2.2"
KML_NAME_SWAPS = str.maketrans('&<>"', "＆＜＞＂")  # markup characters → full-width look-alikes


def _geometry_family(frame: GeoDataFrame) -> str | None:
    types = {t.replace("Multi", "") for t in frame.geometry.geom_type.dropna().unique()}
    return types.pop() if len(types) == 1 else None


def _promote(frame: GeoDataFrame) -> bool:
    """Write polygon/line layers as Multi* when they mix single and multi parts."""
    types = set(frame.geometry.geom_type.dropna().unique())
    return any(t.startswith("Multi") for t in types) and len(types) > 1


def _write_gdal(frame: GeoDataFrame, path: Path, driver: str, layer: str, **kwargs: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL chatter (truncation notes etc.)
        pyogrio.write_dataframe(
            frame, path, layer=layer, driver=driver, promote_to_multi=_promote(frame) or None, **kwargs
        )


def write_gpkg(layers: Sequence[ExportLayer], options: Mapping[str, Any]) -> bytes:
    """One GeoPackage; one table per layer, with title/description and metadata stored by GDAL."""
    data = data_layers(layers)
    with tempfile.TemporaryDirectory(prefix="export-") as tmp:
        path = Path(tmp) / "export.gpkg"
        for i, layer in enumerate(data):
            meta = meta_text(layer)
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
        for table in related_tables(data):
            _write_table(
                table,
                path,
                "GPKG",
                layer_options={"IDENTIFIER": table.title, "DESCRIPTION": table.description},
            )
        return path.read_bytes()


def _write_table(table: Table, path: Path, driver: str, **kwargs: Any) -> None:
    """A related table as a layer without geometry, appended to the file at `path`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pyogrio.write_dataframe(flat_table(table.frame), path, layer=table.name, driver=driver, append=True, **kwargs)


def _dataset_meta(layers: Sequence[ExportLayer]) -> dict[str, str]:
    first = meta_text(layers[0])
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
    data = data_layers(layers)
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="export-") as tmp, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        readme: list[str] = []
        for layer in data:
            flat = flat_frame(layer.frame)
            geom_col = flat.geometry.name
            cols = [c for c in flat.columns if c != geom_col]
            names = shapefile_field_names(cols)
            flat = flat.rename(columns=names)
            zf.writestr(f"{layer.name}_fields.csv", "\ufeff" + _field_table(names))
            parts = _split_by_family(flat)
            for suffix, part in parts:
                stem = layer.name + suffix
                _write_gdal(part, Path(tmp) / f"{stem}.shp", "ESRI Shapefile", stem, encoding="UTF-8")
                for ext in ("shp", "shx", "dbf", "prj", "cpg"):
                    f = Path(tmp) / f"{stem}.{ext}"
                    if f.exists():
                        zf.write(f, f"{stem}.{ext}")
            readme += [f"[{layer.name}] {layer.title}"]
            readme += [f"{k}: {v}" for k, v in meta_text(layer).items() if k not in ("title", "name")]
            readme += [
                f"files: {', '.join(stem + '.shp' for stem in (layer.name + s for s, _ in parts))}",
                f"field names: {layer.name}_fields.csv (DBF names are limited to 10 bytes)",
                "text attributes are UTF-8 (.cpg) and limited to 254 bytes by DBF; "
                "use the GeoPackage or GeoJSON download for full text",
                "",
            ]
        for related in related_tables(data):
            flat = flat_table(related.frame)
            names = shapefile_field_names([str(c) for c in flat.columns])
            zf.writestr(f"{related.name}_fields.csv", "\ufeff" + _field_table(names))
            zf.writestr(f"{related.name}.csv", "\ufeff" + flat.to_csv(index=False, lineterminator="\r\n"))
            base = Path(tmp) / related.name
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                pyogrio.write_dataframe(
                    flat.rename(columns=names), base.with_suffix(".dbf"), driver="ESRI Shapefile", encoding="UTF-8"
                )
            for ext in ("dbf", "cpg"):
                if base.with_suffix(f".{ext}").exists():
                    zf.write(base.with_suffix(f".{ext}"), f"{related.name}.{ext}")
            readme += [
                f"[{related.name}] {related.title}",
                related.description,
                f"files: {related.name}.dbf (a table without geometry), {related.name}.csv (the same, full text)",
                f"field names: {related.name}_fields.csv",
                "",
            ]
        zf.writestr("README.txt", "\ufeff" + "\r\n".join(readme))
    return buf.getvalue()


def _field_table(names: Mapping[str, str]) -> str:
    table = io.StringIO()
    w = csv.writer(table, lineterminator="\r\n")
    w.writerow(["dbf_field", "full_name"])
    w.writerows([[short, full] for full, short in names.items()])
    return table.getvalue()


def _split_by_family(flat: GeoDataFrame) -> list[tuple[str, GeoDataFrame]]:
    if _geometry_family(flat) is not None or len(flat) == 0:
        return [("", flat)]
    families = flat.geometry.geom_type.fillna("None").str.replace("Multi", "", regex=False)
    return [(f"_{fam.lower()}", flat[families == fam]) for fam in sorted(families.unique()) if fam != "None"]


def _kml_field_name(name: Any) -> str:
    """A field name GDAL's LIBKML writes into XML unescaped: its markup characters swapped for full-width ones
    (`R&D` → `R＆D`)."""
    return str(name).translate(KML_NAME_SWAPS)


def write_kml(layers: Sequence[ExportLayer], options: Mapping[str, Any]) -> bytes:
    """KML 2.2 via GDAL's LIBKML driver: one folder per layer and per related table (placemarks without
    geometry), attributes as ExtendedData, the document named after the layer(s) and described by the metadata.

    Each layer is written to a file of its own and the documents joined here: appending to a KML makes GDAL
    parse the whole file again, seconds for the county outlines.
    """
    data = data_layers(layers)
    tables = related_tables(data)
    ET.register_namespace("", KML_NS)
    for prefix, uri in (
        ("gx", "http://www.google.com/kml/ext/2.2"),
        ("atom", "http://www.w3.org/2005/Atom"),
        ("xal", "urn:oasis:names:tc:ciq:xsdschema:xAL:2.0"),
    ):
        ET.register_namespace(prefix, uri)
    parts = []
    with tempfile.TemporaryDirectory(prefix="export-") as tmp:
        for i, layer in enumerate(data):
            flat = flat_frame(layer.frame)
            for col in flat.columns:  # KML readers before GDAL 3.7 misread xsd:boolean "true" as 0
                if flat[col].dtype == bool:
                    flat[col] = flat[col].astype(int)
            path = Path(tmp) / f"layer{i}.kml"
            _write_gdal(flat.rename(columns=_kml_field_name), path, "LIBKML", layer.name)
            parts.append(ET.fromstring(path.read_bytes()))
        for i, table in enumerate(tables):
            path = Path(tmp) / f"table{i}.kml"
            frame = table.frame.rename(columns=_kml_field_name)
            _write_table(Table(table.name, table.title, frame, table.description, table.kind), path, "LIBKML")
            parts.append(ET.fromstring(path.read_bytes()))
    root = parts[0]
    doc = root.find(f"{{{KML_NS}}}Document")
    if doc is not None:
        for part in parts[1:]:  # every part: <kml><Document id="root_doc"> Schema… Document… </Document></kml>
            other = part.find(f"{{{KML_NS}}}Document")
            for child in list(other) if other is not None else []:
                if child.tag == f"{{{KML_NS}}}Schema":
                    schemas = doc.findall(f"{{{KML_NS}}}Schema")
                    doc.insert(list(doc).index(schemas[-1]) + 1 if schemas else 0, child)
                else:
                    doc.append(child)
        name = ET.Element(f"{{{KML_NS}}}name")
        name.text = " + ".join(lay.title for lay in data)
        desc = ET.Element(f"{{{KML_NS}}}description")
        desc.text = "\n".join(f"{k}: {v}" for lay in data for k, v in meta_text(lay).items())
        doc.insert(0, desc)
        doc.insert(0, name)
        titles = {lay.name: lay.title for lay in data} | {t.name: t.title for t in tables}
        for container in root.iter():
            cid = container.get("id")
            if container.tag in (f"{{{KML_NS}}}Document", f"{{{KML_NS}}}Folder") and cid is not None and cid in titles:
                label = container.find(f"{{{KML_NS}}}name")
                if label is not None:
                    label.text = titles[cid]
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
