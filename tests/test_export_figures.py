"""Downloads carry the cited figures (wide columns, long tables), CSV geometry fits Excel, and the view export.

Everything over real HTTP; files read back with GDAL's ogrinfo (and pyogrio, GDAL too, for cell values);
figures compared with `/api/regions/<adcode>`, selections with shapely on the catalog's layers.
"""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.parse
import zipfile
from pathlib import Path

import pyogrio
import pytest
import shapely

from tests.gdal import ogr_layers, ogrinfo

EXCEL_CELL_LIMIT = 32767
PILOT = "330109"  # 萧山区: a pilot county whose profile cites figures and facts


def get(http, path: str) -> bytes:
    status, _headers, body = http.get(path)
    assert status == 200, (path, status, body[:300])
    return body


def csv_rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def field_types(path: Path, layer: str) -> dict[str, str]:
    """`name: Type` lines of `ogrinfo -so FILE LAYER`."""
    text = ogrinfo("-so", str(path), layer)
    return dict(re.findall(r"^(.+?): (String|Real|Integer64|Integer|Date|DateTime) \(", text, re.M))


def number(text: str) -> float | None:
    return float(text) if text != "" else None


def profile(http, adcode: str) -> dict:
    return json.loads(get(http, f"/api/regions/{adcode}"))


# ---------------------------------------------------------------- GeoPackage: wide columns and the figures table


def test_gpkg_has_figures_table_and_numeric_figure_columns(http, catalog, tmp_path):
    path = tmp_path / "pilots.gpkg"
    path.write_bytes(get(http, "/export/pilot-counties.gpkg"))
    layers = {lay["name"]: lay for lay in ogr_layers(path)}
    assert list(layers) == ["pilot-counties", "figures", "pilot-counties_figure_fields"]
    assert layers["figures"]["geometry"] == "None"

    profiles = [profile(http, a) for a in catalog.frame("pilot-counties").index]
    assert layers["figures"]["count"] == sum(len(p["figures"]) + len(p["facts"]) for p in profiles)
    types = field_types(path, "figures")
    for name, kind in {"adcode": "String", "indicator": "String", "value": "Real", "year": "Integer64"}.items():
        assert types[name] == kind, (name, types)
    assert {"indicator_en", "unit", "source", "value_text"} <= set(types)

    # every wide column is numeric, and its values are the profile's figures for that indicator, unit and year
    fields = pyogrio.read_dataframe(path, layer="pilot-counties_figure_fields")
    layer_types = field_types(path, "pilot-counties")
    assert len(fields) > 0
    assert {layer_types[c] for c in fields["column"]} == {"Real"}
    wide = pyogrio.read_dataframe(path, layer="pilot-counties").set_index("id")
    for p in profiles:
        cited = {}
        for f in p["figures"]:
            cited.setdefault((f["label"], f["unit"], f["year"]), f["value"])
        for row in fields.itertuples():
            year = None if row.year is None or row.year != row.year else int(row.year)
            want = cited.get((row.indicator, row.unit, year))
            got = wide.loc[p["adcode"], row.column]
            if want is None:
                assert got != got or got is None, (p["name"], row.column, got)  # NaN / null
            else:
                assert got == pytest.approx(want), (p["name"], row.column)
        assert len(cited) == sum(1 for c in fields["column"] if wide.loc[p["adcode"], c] == wide.loc[p["adcode"], c])


# ---------------------------------------------------------------- CSV: lon/lat by default, WKT on request


@pytest.mark.parametrize("layer_id", ["pilot-counties", "counties", "cities", "innovation-bases", "corridors"])
def test_csv_default_is_lonlat_and_fits_excel(http, catalog, layer_id):
    rows = csv_rows(get(http, f"/export/{layer_id}.csv"))
    frame = catalog.frame(layer_id)
    assert [r["id"] for r in rows] == list(frame.index.astype(str))
    assert "WKT" not in rows[0]
    for row, geom in zip(rows, frame.geometry, strict=True):
        assert max(len(v) for v in row.values()) <= EXCEL_CELL_LIMIT
        point = shapely.Point(float(row["lon"]), float(row["lat"]))
        if geom.geom_type in ("Polygon", "MultiPolygon"):
            assert geom.buffer(1e-6).contains(point), row["name"]
        elif geom.geom_type == "Point":
            assert point.equals_exact(geom, 1e-6)
        else:
            assert geom.distance(point) < 1e-6
        assert row["meta_datum"] == "WGS-84 (EPSG:4326)"
        assert row["meta_geometry"].startswith("lon/lat")
    if layer_id in ("pilot-counties", "counties", "cities"):  # the same point as the region profile's centre
        for row in rows[:3]:
            assert [float(row["lon"]), float(row["lat"])] == profile(http, row["id"])["center"]


def test_csv_wkt_on_request_and_no_geometry(http, catalog):
    frame = catalog.frame("pilot-counties")
    rows = csv_rows(get(http, "/export/pilot-counties.csv?geometry=wkt"))
    assert "lon" not in rows[0]
    for row, geom in zip(rows, frame.geometry, strict=True):
        assert shapely.normalize(shapely.from_wkt(row["WKT"])).equals_exact(shapely.normalize(geom), 1e-6)
    # the reason WKT is no longer the default: most county outlines overflow an Excel cell
    assert sum(len(r["WKT"]) > EXCEL_CELL_LIMIT for r in rows) >= len(rows) // 2
    rows = csv_rows(get(http, "/export/pilot-counties.csv?geometry=none"))
    assert not {"WKT", "lon", "lat", "longitude", "latitude"} & set(rows[0])
    assert [r["name"] for r in rows] == list(frame["name"])


def test_csv_wide_figures_match_the_profile(http):
    rows = {r["id"]: r for r in csv_rows(get(http, "/export/pilot-counties.csv"))}
    p = profile(http, PILOT)
    assert p["figures"], "萧山区 is expected to cite figures"
    row = rows[PILOT]
    for f in p["figures"]:
        unit = f"（{f['unit']}）" if f["unit"] else ""
        (column,) = [c for c in row if re.fullmatch(re.escape(f["label"]) + r"( \S+)?" + re.escape(unit), c)]
        assert number(row[column]) == pytest.approx(f["value"]), column
    none = csv_rows(get(http, "/export/pilot-counties.csv?figures=none"))
    assert set(none[0]) < set(row)


def test_long_figures_csv_matches_the_region_profiles(http, catalog):
    rows = csv_rows(get(http, "/export/pilot-counties.csv?figures=long"))
    assert {"adcode", "name", "indicator", "indicator_en", "value", "unit", "year", "source"} <= set(rows[0])
    assert max(len(v) for r in rows for v in r.values()) <= EXCEL_CELL_LIMIT
    pilots = list(catalog.frame("pilot-counties").index)
    assert {r["adcode"] for r in rows} <= set(pilots)
    for adcode in pilots:
        p = profile(http, adcode)
        mine = [r for r in rows if r["adcode"] == adcode]
        assert {r["name"] for r in mine} <= {p["name"]}
        numbers = [r for r in mine if r["value"] != ""]
        words = [r for r in mine if r["value"] == ""]
        assert [
            (r["indicator"], r["indicator_en"], number(r["value"]), r["unit"], r["year"], r["source"]) for r in numbers
        ] == [
            (f["label"], f["label_en"], pytest.approx(f["value"]), f["unit"] or "", str(f["year"] or ""), f["source"])
            for f in p["figures"]
        ]
        assert [(r["indicator"], r["value_text"]) for r in words] == [(f["label"], f["value"]) for f in p["facts"]]
    assert any(r["adcode"] == PILOT and r["name"] == "萧山区" for r in rows)


def test_long_facts_csv_of_a_site_layer(http, catalog):
    rows = csv_rows(get(http, "/export/innovation-bases.csv?figures=long"))
    frame = catalog.frame("innovation-bases")
    expected = [(fid, f["label"]) for fid, facts in zip(frame.index, frame["facts"], strict=True) for f in facts or []]
    assert [(r["id"], r["indicator"]) for r in rows] == expected
    assert all(r["source"] for r in rows)


# ---------------------------------------------------------------- Shapefile zip and KML carry the tables too


def test_shapefile_zip_and_kml_hold_the_figures(http, catalog, tmp_path):
    path = tmp_path / "pilots.shp.zip"
    path.write_bytes(get(http, "/export/pilot-counties.shp.zip"))
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert {"figures.dbf", "figures.csv", "figures_fields.csv", "pilot-counties_figure_fields.dbf"} <= names
        zf.extractall(tmp_path / "shp")
        readme = zf.read("README.txt").decode("utf-8-sig")
    assert "[figures]" in readme
    count = sum(
        len(profile(http, a)["figures"]) + len(profile(http, a)["facts"]) for a in catalog.frame("pilot-counties").index
    )
    (table,) = ogr_layers(tmp_path / "shp" / "figures.dbf")
    assert table["count"] == count
    assert field_types(tmp_path / "shp" / "figures.dbf", "figures")["value"] == "Real"

    kml = tmp_path / "pilots.kml"
    kml.write_bytes(get(http, "/export/pilot-counties.kml"))
    folders = [lay["name"] for lay in ogr_layers(kml)]
    assert len(folders) == 3 and folders[0] == catalog.spec("pilot-counties").title
    assert "萧山区" in ogrinfo("-al", "-q", str(kml), folders[1])


# ---------------------------------------------------------------- export what is on screen

VIEW = (120.05, 29.95, 120.75, 30.3)  # around Hangzhou and Shaoxing: county outlines cross every edge
VIEW_LAYERS = ["counties", "pilot-counties", "innovation-bases", "high-tech-zones", "corridors"]


def expected_in_view(catalog) -> dict[str, list[str]]:
    box = shapely.box(*VIEW)
    return {
        layer: [str(i) for i, g in zip(frame.index, frame.geometry, strict=True) if shapely.intersects(g, box)]
        for layer, frame in ((lay, catalog.frame(lay)) for lay in VIEW_LAYERS)
    }


def view_url(ext: str, first: str = "view") -> str:
    return f"/export/{first}.{ext}?layers={','.join(VIEW_LAYERS)}&bbox={','.join(map(str, VIEW))}"


def test_view_keeps_regions_that_cross_the_view(catalog):
    expected = expected_in_view(catalog)
    counties = catalog.frame("counties").loc[expected["counties"]]
    box = shapely.box(*VIEW)
    assert any(not box.contains(g) for g in counties.geometry), "the view should cut some county outlines"
    assert all(expected[layer] for layer in ("counties", "pilot-counties", "innovation-bases"))


@pytest.mark.parametrize("ext", ["geojson", "csv"])
def test_view_export_one_table_formats(http, catalog, ext):
    expected = expected_in_view(catalog)
    body = get(http, view_url(ext))
    if ext == "geojson":
        features = json.loads(body)["features"]
        got = [(f["properties"]["layer"], f["id"]) for f in features]
    else:
        got = [(r["layer"], r["id"]) for r in csv_rows(body)]
    assert got == [(layer, i) for layer in VIEW_LAYERS for i in expected[layer]]


@pytest.mark.parametrize("ext", ["gpkg", "shp.zip", "kml"])
def test_view_export_multi_layer_files(http, catalog, tmp_path, ext):
    expected = expected_in_view(catalog)
    path = tmp_path / f"view.{ext}"
    status, headers, body = http.get(view_url(ext))
    assert status == 200, body[:300]
    path.write_bytes(body)
    utf8_name = urllib.parse.unquote(headers["Content-Disposition"].split("filename*=UTF-8''")[1])
    assert utf8_name == "+".join(catalog.spec(layer).title for layer in VIEW_LAYERS) + f".{ext}"
    if ext == "shp.zip":
        out = tmp_path / "v"
        with zipfile.ZipFile(path) as zf:
            zf.extractall(out)
        counts = {layer: ogr_layers(out / f"{layer}.shp")[0]["count"] for layer in VIEW_LAYERS}
    else:
        found = {lay["name"]: lay["count"] for lay in ogr_layers(path)}
        key = (lambda layer: layer) if ext == "gpkg" else (lambda layer: catalog.spec(layer).title)
        counts = {layer: found[key(layer)] for layer in VIEW_LAYERS}
    assert counts == {layer: len(ids) for layer, ids in expected.items()}
    # the same as naming the first layer in the path
    assert http.get(view_url(ext, first=VIEW_LAYERS[0]))[0] == 200


@pytest.mark.parametrize("ext", ["html", "png", "pdf"])
def test_view_export_maps(http, ext):
    status, _headers, body = http.get(view_url(ext) + "&dpi=72" * (ext != "html"))
    assert status == 200, body[:300]
    assert len(body) > 1000


# ---------------------------------------------------------------- the pieces, without HTTP


def test_related_tables_of_the_same_name_are_merged_once():
    import geopandas as gpd
    import pandas as pd

    from geo.formats.layer import ExportLayer, Table, related_tables

    empty = gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs=4326)
    rows = pd.DataFrame({"adcode": ["330109", "330603"], "value": [1.5, 2.0]})
    a = ExportLayer("counties", "c", empty, related=(Table("figures", "F", rows),))
    b = ExportLayer("pilot-counties", "p", empty, related=(Table("figures", "F", rows.iloc[:1]), Table("x", "X", rows)))
    background = ExportLayer("cities", "ci", empty, background=True, related=(Table("y", "Y", rows),))
    tables = related_tables([background, a, b])
    assert [t.name for t in tables] == ["figures", "x"]
    assert tables[0].frame.to_dict("list") == {"adcode": ["330109", "330603"], "value": [1.5, 2.0]}


def test_fact_rows_and_citations():
    from layers.figures import fact_row, source_text

    assert source_text({"file": "a.txt", "lines": [3, 5]}) == "a.txt L3–5"
    assert source_text({"file": "a.txt", "lines": [3, 3]}) == "a.txt L3"
    assert source_text("a.txt L3") == "a.txt L3"
    row = fact_row({"label": "GDP", "value": 3, "unit": "亿元", "unit_en": "100m yuan", "status": "plan"})
    assert (row["value"], row["value_text"], row["unit_en"], row["status"]) == (3.0, None, "100m yuan", "plan")
    assert fact_row({"label": "x", "value": "words"})["value_text"] == "words"
    assert fact_row({"label": "x", "value": True})["value"] is None
