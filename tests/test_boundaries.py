"""The embedded GeoPackage: counts, nesting, coverage, no overlaps, the 2021 division, and a reproducible build."""

import subprocess

import geopandas as gpd
import pytest
import shapely

from boundaries import EMBEDDED_GPKG

EQUAL_AREA = "EPSG:32651"


@pytest.fixture(scope="module")
def frames():
    return {layer: gpd.read_file(EMBEDDED_GPKG, layer=layer) for layer in ("province", "cities", "counties")}


def test_counts(frames):
    assert len(frames["province"]) == 1
    assert len(frames["cities"]) == 11
    assert len(frames["counties"]) == 90


def test_fields_and_types(frames):
    c = frames["counties"]
    for field in ("adcode", "name", "level", "city", "city_adcode", "province", "province_adcode"):
        assert field in c.columns
    assert c["adcode"].str.fullmatch(r"\d{6}").all()
    assert set(c["level"]) == {"county"} and set(frames["cities"]["level"]) == {"city"}
    assert c["adcode"].is_unique
    assert (c["province_adcode"] == "330000").all()
    assert c.geometry.is_valid.all()


def test_2021_division_present(frames):
    names = dict(zip(frames["counties"]["adcode"], frames["counties"]["name"], strict=False))
    assert names["330114"] == "钱塘区"
    assert names["330113"] == "临平区"
    assert "江干区" not in names.values() and "下城区" not in names.values()


def test_each_county_lies_within_its_city_and_province(frames):
    cities = frames["cities"].set_index("adcode").to_crs(EQUAL_AREA)
    province = frames["province"].to_crs(EQUAL_AREA).geometry.iloc[0]
    for row in frames["counties"].to_crs(EQUAL_AREA).itertuples():
        city = cities.loc[row.city_adcode].geometry
        assert row.geometry.difference(city).area / row.geometry.area < 0.001, row.name
        assert row.geometry.difference(province).area / row.geometry.area < 0.001, row.name


def test_union_of_counties_matches_province(frames):
    counties = frames["counties"].to_crs(EQUAL_AREA)
    province = frames["province"].to_crs(EQUAL_AREA).geometry.iloc[0]
    union = shapely.union_all(counties.geometry.values)
    assert abs(union.area - province.area) / province.area < 0.005


def test_neighbouring_counties_do_not_overlap(frames):
    counties = frames["counties"].to_crs(EQUAL_AREA).reset_index(drop=True)
    province_area = frames["province"].to_crs(EQUAL_AREA).geometry.iloc[0].area
    left, right = counties.sindex.query(counties.geometry.values, predicate="intersects")
    overlap = sum(
        counties.geometry[i].intersection(counties.geometry[j]).area for i, j in zip(left, right, strict=False) if i < j
    )
    assert overlap / province_area < 0.001


def test_coordinates_rounded_to_six_decimals(frames):
    coords = shapely.get_coordinates(frames["counties"].geometry.values)
    assert abs(coords * 1e6 - (coords * 1e6).round()).max() < 1e-3


def test_ogrinfo_reads_three_layers_in_epsg4326():
    from tests.gdal import ogr_layers

    layers = {layer["name"]: layer for layer in ogr_layers(EMBEDDED_GPKG)}
    assert set(layers) == {"province", "cities", "counties"}
    assert layers["counties"]["count"] == 90 and layers["cities"]["count"] == 11
    assert all(layer["epsg4326"] and layer["geometry"] == "Multi Polygon" for layer in layers.values())
    assert "cnmaps==1.1.9" in layers["counties"]["meta"]["source"]


def test_build_reproduces_the_embedded_geopackage(tmp_path, frames):
    """Downloads the cnmaps wheel once (cached) and rebuilds Zhejiang: same features, same coordinates."""
    from boundaries.build import build

    report = build("浙江省", tmp_path / "zj.gpkg")
    assert report.counts == {"province": 1, "cities": 11, "counties": 90}
    for layer, frame in frames.items():
        rebuilt = gpd.read_file(report.path, layer=layer)
        assert list(rebuilt["adcode"]) == list(frame["adcode"])
        assert list(rebuilt["name"]) == list(frame["name"])
        assert all(a.equals_exact(b, 0) for a, b in zip(rebuilt.geometry, frame.geometry, strict=False))


def test_build_cli_rejects_unknown_province(tmp_path):
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "boundaries", "build", "--province", "火星省", "--output", str(tmp_path / "x.gpkg")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("error: no province named '火星省'")
    assert "Traceback" not in out.stderr


def test_english_names_cover_every_region_and_match_the_data():
    import pandas as pd

    from boundaries.store import NAMES_EN, load

    table = pd.read_csv(NAMES_EN, dtype=str)
    b = load(EMBEDDED_GPKG)
    regions = b.regions
    assert sorted(table["adcode"]) == sorted(regions["adcode"])
    assert dict(zip(table["adcode"], table["name"], strict=False)) == dict(
        zip(regions["adcode"], regions["name"], strict=False)
    )
    assert regions["name_en"].notna().all()
