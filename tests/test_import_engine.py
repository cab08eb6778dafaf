"""Importing a list: real files (CSV in UTF-8 and GB18030, .xlsx, GeoJSON, GeoPackage, zipped Shapefile, KML,
points in GCJ-02 and BD-09) read, reconciled with the boundaries and turned into features; hostile input refused
with a clear error."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point

from boundaries import EMBEDDED_GPKG
from boundaries.gazetteer import Gazetteer
from boundaries.store import load
from geo import datum
from geo.errors import ApiError, BadRequest
from geo.tables import Limits, TooLarge, UnreadableTable, read_table, read_text
from layers.importing import ImportOptions, Unresolved, reconcile

MIXED = '区县,高新技术企业数,备注\n杭州市萧山区,"1,234",a\n萧山,１２,b\n330109,7,c\n江干区,3,d\n萧山去,4,e\n\u3000瑞安 市\u3000,5,f\n'


@pytest.fixture(scope="module")
def zj():
    boundaries = load(EMBEDDED_GPKG)
    return boundaries, Gazetteer.of(boundaries)


@pytest.fixture(scope="module")
def china(china_gpkg):
    boundaries = load(china_gpkg)
    return boundaries, Gazetteer.of(boundaries)


def run(world, path, **options):
    boundaries, gazetteer = world
    return reconcile(read_table(path, sheet=options.get("sheet")), gazetteer, boundaries, ImportOptions(**options))


def by_row(report):
    return {item["row"]: item for item in report["items"]}


# ------------------------------------------------------------------ names
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_of_mixed_name_forms_in_each_encoding(zj, tmp_path, encoding):
    path = tmp_path / "list.csv"
    path.write_bytes(MIXED.encode(encoding))
    result = run(zj, path)
    report = json.loads(json.dumps(result.report(), ensure_ascii=False))
    assert report["rows"] == 6
    assert report["counts"] == {"matched": 4, "former": 1, "ambiguous": 0, "unmatched": 1}
    items = by_row(report)
    assert [items[r]["adcode"] for r in (1, 2, 3)] == ["330109"] * 3
    assert items[1]["name"] == "萧山区" and items[1]["status"] == "matched"
    assert items[4]["status"] == "former" and items[4]["adcode"] == "330102" and "上城区" in items[4]["note"]
    assert items[5]["status"] == "unmatched" and items[5]["adcode"] is None
    assert items[5]["suggestions"][0] == {"adcode": "330109", "name": "萧山区", "city": "杭州市"}
    assert items[6]["adcode"] == "330381"  # full-width spaces around and inside
    assert set(items[1]) == {"row", "input", "status", "adcode", "name", "note", "candidates", "suggestions"}
    assert report["columns"]["name"] == "区县"


def test_features_keep_the_rows_columns_typed(zj, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(MIXED, encoding="utf-8")
    result = run(zj, path)
    with pytest.raises(Unresolved) as err:
        result.features()
    assert err.value.status == 409 and err.value.details["rows"] == [5]
    frame = result.features({"5": "330109"})
    assert frame.crs.to_epsg() == 4326 and len(frame) == 6
    assert list(frame.columns) == ["区县", "高新技术企业数", "备注", "adcode", "name", "city", "geometry"]
    assert pd.api.types.is_integer_dtype(frame["高新技术企业数"])
    assert frame["高新技术企业数"].tolist() == [1234, 12, 7, 3, 4, 5]
    assert frame["高新技术企业数"].sum() == 1265
    assert frame.loc[3, ["adcode", "name", "city"]].tolist() == ["330102", "上城区", "杭州市"]
    counties = zj[0].counties.set_index("adcode")
    assert frame.geometry.iloc[0].equals(counties.loc["330109"].geometry)
    skipped = result.features({5: "skip"})
    assert len(skipped) == 5 and "萧山去" not in skipped["区县"].tolist()
    assert len(result.features(skip_unresolved=True)) == 5


def test_bad_resolutions_are_refused(zj, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(MIXED, encoding="utf-8")
    result = run(zj, path)
    for bad in ({"5": "999999"}, {"99": "skip"}, {"x": "skip"}):
        with pytest.raises(BadRequest):
            result.features(bad)


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_delimiters(zj, tmp_path, delimiter):
    path = tmp_path / "list.csv"
    path.write_text(delimiter.join(["序号", "县名", "数量"]) + "\n" + "1" + delimiter + "瑞安" + delimiter + "2.5\n")
    result = run(zj, path)
    assert result.report()["items"][0]["adcode"] == "330381"
    assert result.table.kinds == {"序号": "int", "县名": "text", "数量": "float"}


def test_pasted_text_one_name_a_line(zj):
    boundaries, gazetteer = zj
    table = read_text("萧山\n\n 瑞安市 \n江干区\n")
    result = reconcile(table, gazetteer, boundaries, ImportOptions())
    assert [i["adcode"] for i in result.report()["items"]] == ["330109", "330381", "330102"]


def test_name_column_given_or_missing(zj, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("编号,说明\n1,甲\n2,乙\n", encoding="utf-8")
    with pytest.raises(UnreadableTable) as err:
        run(zj, path)
    assert "编号" in err.value.message and "说明" in err.value.message and "--name-column" in err.value.message
    with pytest.raises(BadRequest) as err:
        run(zj, path, name_column="区县")
    assert "编号, 说明" in err.value.message
    result = run(zj, path, name_column="说明")
    assert result.report()["counts"]["unmatched"] == 2


def test_numbers_and_dates_are_typed(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        'a,b,c,d,e,f\n1,1.5,2021/3/5,0571,x,1e3\n"1,234",2,2021年3月5日,0572,<script>alert(1)</script>,\n'
        "３,,2021-03-05,,y,2\n",
        encoding="utf-8",
    )
    table = read_table(path)
    assert table.kinds == {"a": "int", "b": "float", "c": "date", "d": "text", "e": "text", "f": "float"}
    assert table.data["a"].tolist() == [1, 1234, 3]
    assert table.data["c"].tolist() == [pd.Timestamp(2021, 3, 5)] * 3
    assert table.data["d"].tolist() == ["0571", "0572", None]
    assert table.data["e"][1] == "<script>alert(1)</script>"


# ------------------------------------------------------------------ Excel
def test_xlsx_takes_cached_values_never_formulas(zj, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "名单"
    ws.append(["县区", "企业数", "认定日期", "合计"])
    ws.append(["萧山区", 12, dt.datetime(2021, 3, 5), "=B2*2"])
    ws.append(["瑞安市", 7.5, dt.datetime(2022, 1, 1), '=WEBSERVICE("http://example.invalid/")'])
    ws.append(["<script>alert(1)</script>", 3, None, None])
    other = book.create_sheet("另一页")
    other.append(["名称"])
    other.append(["江干区"])
    path = tmp_path / "list.xlsx"
    book.save(path)
    result = run(zj, path)
    table = result.table
    assert table.kinds["企业数"] == "float" and table.kinds["认定日期"] == "date"
    assert table.data["认定日期"][0] == pd.Timestamp(2021, 3, 5)
    assert table.data["合计"].isna().all()  # formulas without cached values are empty, never evaluated
    assert result.report()["counts"] == {"matched": 2, "former": 0, "ambiguous": 0, "unmatched": 1}
    frame = result.features(skip_unresolved=True)
    assert frame["企业数"].tolist() == [12.0, 7.5]
    second = run(zj, path, sheet="另一页")
    assert second.report()["items"][0]["status"] == "former"
    with pytest.raises(BadRequest) as err:
        run(zj, path, sheet="nope")
    assert "名单" in err.value.message


# ------------------------------------------------------------------ vector files
def _sites(zj) -> gpd.GeoDataFrame:
    counties = zj[0].counties
    chosen = counties[counties["adcode"].isin(["330109", "330381", "331127"])].sort_values("adcode")
    return gpd.GeoDataFrame(
        {"名称": ["<b>甲</b>", "乙", "丙"], "数量": [1, 2, 3], "adcode": list(chosen["adcode"])},
        geometry=list(chosen.geometry.representative_point()),
        crs=4326,
    )


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp.zip", "kml"])
def test_vector_files_keep_their_geometry(zj, tmp_path, fmt):
    sites = _sites(zj)
    if fmt == "shp.zip":
        folder = tmp_path / "shp"
        folder.mkdir()
        sites.to_file(folder / "sites.shp", engine="fiona", encoding="utf-8")
        path = tmp_path / "sites.zip"
        with zipfile.ZipFile(path, "w") as z:
            for part in folder.iterdir():
                z.write(part, f"sites/{part.name}")
    elif fmt == "kml":
        path = tmp_path / "sites.kml"
        sites.rename(columns={"名称": "Name"}).to_file(path, driver="KML", engine="pyogrio")
    else:
        path = tmp_path / f"sites.{fmt}"
        sites.to_file(path, engine="fiona")
    result = run(zj, path)
    report = result.report()
    assert report["counts"]["matched"] == 3, report
    assert [i["adcode"] for i in report["items"]] == list(sites["adcode"])
    frame = result.features()
    assert frame["county_adcode"].tolist() == list(sites["adcode"])
    assert np.allclose(shapely.get_coordinates(frame.geometry), shapely.get_coordinates(sites.geometry))
    label = "Name" if fmt == "kml" else "名称"
    assert frame[label].tolist()[0] == "<b>甲</b>"


# ------------------------------------------------------------------ points
@pytest.mark.parametrize("name, forward", [("gcj02", datum.wgs84_to_gcj02), ("bd09", datum.wgs84_to_bd09)])
def test_points_in_web_datums_land_in_their_county(zj, tmp_path, name, forward):
    counties = zj[0].counties.sort_values("adcode")
    truth = counties.geometry.representative_point()
    lon, lat = forward(truth.x.to_numpy(), truth.y.to_numpy())
    path = tmp_path / "points.csv"
    pd.DataFrame({"名称": counties["name"], "经度": lon, "纬度": lat}).to_csv(path, index=False, float_format="%.9f")
    with (tmp_path / "points.csv").open("a", encoding="utf-8") as f:
        f.write("北京某处,116.40,39.90\n没有坐标,,\n")
    result = run(zj, path, datum=name)
    report = result.report()
    assert report["mode"] == "points" and report["columns"]["lon"] == "经度"
    n = len(counties)
    assert report["counts"] == {"matched": n, "former": 0, "ambiguous": 0, "unmatched": 2}
    assert [i["adcode"] for i in report["items"][:n]] == list(counties["adcode"])
    assert "outside the loaded boundaries" in report["items"][n]["note"]
    assert "no valid longitude/latitude" in report["items"][n + 1]["note"]
    frame = result.features(skip_unresolved=True)
    assert list(frame["county_adcode"]) == list(counties["adcode"])
    metres = np.hypot(
        (frame.geometry.x - truth.x.to_numpy()) * 96_000, (frame.geometry.y - truth.y.to_numpy()) * 111_000
    )
    assert metres.max() < 0.01  # far below a metre
    assert pd.api.types.is_float_dtype(frame["经度"])


def test_points_with_explicit_columns(zj, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("site,A,B\n甲,120.27,30.18\n", encoding="utf-8")
    result = run(zj, path, lon="A", lat="B")
    assert result.report()["items"][0]["adcode"] == "330109"
    with pytest.raises(BadRequest):
        ImportOptions(lon="A")
    with pytest.raises(BadRequest):
        ImportOptions(datum="osgb")


# ------------------------------------------------------------------ all of China: ambiguity
def test_ambiguity_on_all_china(china, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("区县\n普陀区\n萧山区\n", encoding="utf-8")
    result = run(china, path)
    first = result.report()["items"][0]
    assert first["status"] == "ambiguous"
    assert {(c["adcode"], c["province"]) for c in first["candidates"]} == {("310107", "上海市"), ("330903", "浙江省")}
    assert run(china, path, province="浙江").report()["items"][0]["adcode"] == "330903"
    assert run(china, path, province="上海市").report()["items"][0]["adcode"] == "310107"
    assert run(china, path, city="舟山").report()["items"][0]["adcode"] == "330903"
    with_columns = tmp_path / "with.csv"
    with_columns.write_text("省份,地市,区县\n上海市,,普陀区\n浙江省,,普陀区\n,舟山市,普陀区\n", encoding="utf-8")
    report = run(china, with_columns).report()
    assert [i["adcode"] for i in report["items"]] == ["310107", "330903", "330903"]
    assert report["columns"]["name"] == "区县"


# ------------------------------------------------------------------ hostile input
def test_empty_files(tmp_path):
    for content, says in [(b"", "empty"), (b"  \n\n", "empty"), (b"\xef\xbb\xbf\xe5\x8e\xbf\n", "no rows")]:
        path = tmp_path / "e.csv"
        path.write_bytes(content)
        with pytest.raises(UnreadableTable) as err:
            read_table(path)
        assert says in err.value.message and err.value.status == 422


def test_unreadable_encoding_and_binary(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"name\n\x81\x20\xff\xfe\x81\n")
    with pytest.raises(UnreadableTable) as err:
        read_table(path)
    assert "UTF-8" in err.value.message and "GB18030" in err.value.message
    path.write_bytes(b"PK\x03\x04\0\0\0binary")
    with pytest.raises(UnreadableTable):
        read_table(path)


def test_oversized_upload_refused_before_reading(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as f:
        f.truncate(200 * 1024 * 1024)  # sparse: 200 MB on paper, nothing written
    with pytest.raises(TooLarge) as err:
        read_table(path)
    assert err.value.status == 413 and "20 MB" in err.value.message
    stream = io.BytesIO(b"a" * 2048)
    with pytest.raises(TooLarge):
        read_table(stream, "x.csv", limits=Limits(max_bytes=1024))
    assert stream.tell() == 1025  # read no further than the limit


def test_too_many_columns_or_rows(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join("1" * 10_000) + "\n")
    with pytest.raises(TooLarge) as err:
        read_table(path)
    assert "10000 columns" in err.value.message and err.value.status == 413
    path = tmp_path / "long.csv"
    path.write_text("名称\n" + "萧山\n" * 11)
    with pytest.raises(TooLarge) as err:
        read_table(path, limits=Limits(max_rows=10))
    assert "more than 10 rows" in err.value.message


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("member", ["../x.shp", "/tmp/x.shp", "a/../../x.dbf", "C:/x.shp", "..\\x.shx"])
def test_zip_with_path_traversal_is_refused(tmp_path, member):
    path = tmp_path / "evil.zip"
    path.write_bytes(_zip({member: b"x", "ok.shp": b"x"}))
    with pytest.raises(UnreadableTable) as err:
        read_table(path)
    assert "unsafe member names" in err.value.message
    assert not (tmp_path.parent / "x.shp").exists()


def test_zip_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.zip"
    path.write_bytes(_zip({"a.shp": b"\0" * 5_000_000, "a.dbf": b"\0", "a.shx": b"\0"}))
    assert path.stat().st_size < 50_000
    with pytest.raises(TooLarge) as err:
        read_table(path, limits=Limits(max_unzipped_bytes=1_000_000))
    assert "unpacks to more than" in err.value.message


@pytest.mark.parametrize(
    "prologue",
    [
        '<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE kml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
        '<!DOCTYPE kml SYSTEM "http://example.invalid/kml.dtd">',
    ],
)
def test_kml_with_doctype_or_entities_is_refused(tmp_path, prologue):
    body = (
        '<?xml version="1.0"?>' + prologue + '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>'
        "<name>&xxe;</name><Point><coordinates>120.27,30.18</coordinates></Point></Placemark></Document></kml>"
    ).replace("&xxe;", "&xxe;" if "xxe" in prologue else "x")
    path = tmp_path / "evil.kml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(UnreadableTable) as err:
        read_table(path)
    assert "DOCTYPE" in err.value.message


def test_unknown_and_damaged_files(tmp_path):
    for name, data in [
        ("x.xls", b"\xd0\xcf\x11\xe0"),
        ("x.pdf", b"%PDF"),
        ("x.xlsx", b"not a zip"),
        ("x.geojson", b"{"),
    ]:
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ApiError) as err:
            read_table(path)
        assert 400 <= err.value.status < 500 and "\n" not in err.value.message


def test_script_in_cells_stays_text(zj, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('区县,说明\n萧山,"<script>alert(1)</script>"\n', encoding="utf-8")
    frame = run(zj, path).features()
    assert frame["说明"][0] == "<script>alert(1)</script>"


def test_suggestions_for_typos(zj):
    gazetteer = zj[1]
    assert gazetteer.suggest("萧山去")[0].adcode == "330109"
    assert gazetteer.suggest("瑞按市")[0].adcode == "330381"
    assert gazetteer.suggest("杭州市萧山去")[0].adcode == "330109"
    assert gazetteer.suggest("瑞按市", city="温州")[0].adcode == "330381"


def test_point_outside_all_counties_gets_a_reason(zj, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("lng,lat\n121.47,31.23\n30.18,120.27\n", encoding="utf-8")
    items = run(zj, path).report()["items"]
    assert [i["status"] for i in items] == ["unmatched", "unmatched"]
    assert "outside" in items[0]["note"]
    assert "swapped" in items[1]["note"]


def test_file_named_like_the_reserved_columns(zj, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("name,city\n萧山,杭州\n", encoding="utf-8")
    frame = run(zj, path).features()
    assert {"name_input", "city_input", "name", "city", "adcode"} <= set(frame.columns)
    assert Path(path).exists()
    assert isinstance(frame.geometry.iloc[0], shapely.MultiPolygon | shapely.Polygon)
    assert not frame.geometry.iloc[0].contains(Point(0, 0))


def test_options_from_http_form_fields():
    options = ImportOptions.from_form({"name_column": " 区县 ", "datum": "GCJ-02", "lon": "", "province": "浙江"})
    assert options == ImportOptions(name_column="区县", datum="gcj02", province="浙江")
    with pytest.raises(BadRequest):
        ImportOptions.from_form({"datum": "utm"})
    with pytest.raises(BadRequest):
        ImportOptions.from_form({"lon": ["a"]})


def test_xlsx_integers_with_blanks_stay_integers(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["县区", "人数", "面积"])
    book.active.append(["萧山区", None, 1.5])
    book.active.append(["瑞安市", 3, 2])
    path = tmp_path / "x.xlsx"
    book.save(path)
    table = read_table(path)
    assert table.kinds == {"县区": "text", "人数": "int", "面积": "float"}
    assert table.data["人数"].tolist()[1] == 3 and pd.isna(table.data["人数"][0])
