"""The innovation layers hold what the seeds give, every fact is cited, and bad data fails at start-up."""

import re
import shutil

import pytest
import yaml

from layers import DataError
from layers.store import Catalog
from settings import Settings

SETTINGS = Settings()  # the defaults (and any KECHUANG_* overrides) these tests read data from

PILOTS = {"330109", "330203", "330381", "330522", "330603", "330782", "330881", "331081", "331024", "331122"}


def test_ten_pilot_counties_joined_to_polygons(catalog):
    frame = catalog.frame("pilot-counties")
    assert set(frame.index) == PILOTS
    assert frame.loc["330109", "listed_as"] == "杭州萧山区"
    assert frame.geometry.geom_type.isin(["MultiPolygon", "Polygon"]).all()
    counties = catalog.frame("counties")
    assert set(counties[counties["pilot"]].index) == PILOTS


def test_six_innovation_bases(catalog):
    frame = catalog.frame("innovation-bases")
    assert len(frame) == 6
    names = " ".join(frame["name"])
    for expected in ("云栖小镇", "灵峰", "眼谷", "莫干山", "滨海新区", "江南药镇"):
        assert expected in names


@pytest.mark.parametrize(
    "name",
    [
        "钱塘科学城",
        "未来科技城",
        "青山湖科技城",
        "紫金港科技城",
        "宁波新材料科技城",
        "嘉兴科技城",
        "海洋科学城",
        "浙南科技城",
        "金华国际科技城",
        "镜湖科技城",
        "滨海科技城",
        "鉴湖科技城",
        "瑞安科技城",
        "湖州科技城",
        "台州科技城",
        "国际海洋生态科技城",
    ],
)
def test_every_science_city_the_seeds_name(catalog, name):
    frame = catalog.frame("science-cities")
    assert any(name in n or name in " ".join(a) for n, a in zip(frame["name"], frame["aliases"], strict=False)), name


def test_layouts_have_parent_role_and_order(catalog):
    zones = catalog.frame("science-city-zones")
    cities = set(catalog.frame("science-cities").index) | set(catalog.frame("high-tech-zones").index)
    assert zones["parent"].isin(cities).all()
    assert zones["schematic"].all()
    qiantang = zones[zones["parent"] == "qiantang-science-city"]
    assert "core" in set(qiantang["role"])
    names = " ".join(qiantang["name"]) + " ".join(" ".join(a) for a in qiantang["aliases"])
    for part in ("环大学城", "下沙高教园区", "大创小镇", "医药港", "综合保税区", "创新成果转化区", "城市综合功能区"):
        assert part in names, part
    binhai = zones[zones["parent"].str.contains("binhai")]
    assert sorted(binhai["role"]) == ["core", "zone", "zone", "zone"]
    jinghu = zones[zones["parent"].str.contains("jinghu")]
    assert (jinghu["role"] == "park").sum() == 3


def test_high_tech_zones(catalog):
    names = " ".join(catalog.frame("high-tech-zones")["name"])
    for part in ("滨江", "临江", "宁波", "温州", "绍兴", "衢州", "秀洲", "莫干山"):
        assert part in names, part


def test_every_site_has_the_interface_properties(catalog):
    for layer in (
        "innovation-bases",
        "science-cities",
        "science-city-zones",
        "high-tech-zones",
        "corridors",
        "platforms",
    ):
        frame = catalog.frame(layer)
        assert len(frame), layer
        for fid, row in frame.iterrows():
            assert re.fullmatch(r"[a-z0-9-]+", fid)
            assert row["name"] and row["kind"] and row["precision"]
            assert re.fullmatch(r"33\d{4}", row["county_adcode"])
            assert row["source"], f"{layer}/{fid} has no source"


def test_every_figure_names_its_seed_file_and_line(catalog):
    profiles = [catalog.profiles.get(a) for a in catalog.boundaries.regions.index]
    sites = [
        r
        for layer in ("innovation-bases", "science-cities", "high-tech-zones", "platforms")
        for r in catalog.frame(layer).to_dict("records")
    ]
    facts = [f for p in profiles for f in p["figures"] + p["facts"]] + [f for s in sites for f in s["facts"] or []]
    assert len(facts) > 100
    for fact in facts:
        assert re.fullmatch(r"00\d_[0-9a-f]{16}\.txt L\d+(–\d+)?", fact["source"]), fact


def test_profiles_for_every_county_and_city(catalog):
    for adcode in catalog.frame("counties").index.tolist() + catalog.frame("cities").index.tolist():
        profile = catalog.profiles.get(adcode)
        assert profile["name"] and profile["level"] in ("county", "city")
    assert len(catalog.frame("counties")) == 90 and len(catalog.frame("cities")) == 11
    xiaoshan = catalog.profiles.get("330109")
    assert xiaoshan["designations"][0]["programme"].startswith("2021“科创中国”")
    assert xiaoshan["summary"] and xiaoshan["figures"]
    quiet = catalog.profiles.get("330127")  # 淳安县: the seeds say nothing about it
    assert quiet["designations"] == [] and quiet["name"] == "淳安县"


def _seed_text() -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(SETTINGS.seeds_dir.glob("*.txt")))


def _texts(node, key=""):
    """Every prose string in a parsed YAML tree with the key it stands under."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _texts(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _texts(v, key)
    elif isinstance(node, str) and key in ("summary", "location_note", "value", "label", "programme", "layout"):
        yield node


def test_summaries_are_our_own_words():
    """No prose we wrote repeats 20 or more consecutive characters of a seed (lists of names and quotes aside)."""
    if not SETTINGS.seeds_dir.is_dir():
        pytest.skip("seed documents not beside the project")
    seeds = re.sub(r"\s+", "", _seed_text())
    shingles = {seeds[i : i + 20] for i in range(len(seeds) - 19)}
    copied = []
    files = sorted(SETTINGS.layers_dir.rglob("*.yaml"))
    assert files
    for path in files:
        for text in _texts(yaml.safe_load(path.read_text(encoding="utf-8"))):
            # a list of names (A、B) or a quoted title or slogan (“…”, 《…》) may be quoted; prose may not
            flat = re.sub(r"“[^”]*”|《[^》]*》", "“”", re.sub(r"\s+", "", text))
            if flat.count("、") < 1 and any(flat[i : i + 20] in shingles for i in range(len(flat) - 19)):
                copied.append(f"{path.name}: {text[:60]}")
    assert not copied, copied


def test_bad_data_fails_listing_every_problem(tmp_path):
    layers_dir = tmp_path / "data"
    shutil.copytree(SETTINGS.layers_dir, layers_dir)
    bad = {
        "sites": [
            {
                "id": "bad-one",
                "name": "X",
                "kind": "park",
                "county": "火星区",
                "location": [120.2, 30.2],
                "precision": "site",
            },
            {
                "id": "bad-two",
                "name": "Y",
                "kind": "park",
                "county": "萧山区",
                "location": [121.5, 29.8],
                "precision": "site",
                "facts": [{"label": "n", "value": 3}],
            },
        ]
    }
    (layers_dir / "platforms" / "zz-bad.yaml").write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataError) as err:
        Catalog(SETTINGS.boundaries, layers_dir, SETTINGS.seeds_dir)
    text = str(err.value)
    assert "bad-one" in text and "火星区" in text
    assert "bad-two" in text and "not in 萧山区" in text
    assert "has no source" in text
    assert len(err.value.problems) >= 3


def test_a_wrong_citation_is_caught(tmp_path):
    if not SETTINGS.seeds_dir.is_dir():
        pytest.skip("seed documents not beside the project")
    layers_dir = tmp_path / "data"
    shutil.copytree(SETTINGS.layers_dir, layers_dir)
    bad = {
        "sites": [
            {
                "id": "bad-cite",
                "name": "Z",
                "kind": "park",
                "county": "萧山区",
                "location": [120.27, 30.17],
                "precision": "county",
                "facts": [
                    {"label": "n", "value": 98765, "source": {"file": "000_c6c9f80bd43acc42.txt", "lines": [3, 4]}}
                ],
            }
        ]
    }
    (layers_dir / "platforms" / "zz-bad.yaml").write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataError, match="98765 does not appear"):
        Catalog(SETTINGS.boundaries, layers_dir, SETTINGS.seeds_dir)


def test_catalog_builds_on_all_of_china(china_gpkg):
    """With the all-China boundaries, names like 西湖区 are ambiguous nationally but resolve within Zhejiang."""
    cat = Catalog(china_gpkg, SETTINGS.layers_dir, SETTINGS.seeds_dir)
    assert len(cat.frame("counties")) == 2875
    assert set(cat.frame("pilot-counties").index) == PILOTS
    assert cat.profiles.get("330109")["designations"]
    assert cat.profiles.get("110105")["name"] == "朝阳区"
    assert len(cat.profiles.get("330000")["counties"]) == 90  # a province lists its own counties, not China's


def test_data_date_is_declared_and_current():
    """Exports state a data date: the declared one must not be older than the last commit to the data."""
    import subprocess

    from layers.catalog import DATA_DATE

    root = SETTINGS.layers_dir.parent.parent
    last = subprocess.run(
        ["git", "log", "-1", "--format=%cs", "--", "layers/data"], cwd=root, capture_output=True, text=True
    )
    if last.returncode != 0 or not last.stdout.strip():
        pytest.skip("no git history here")
    assert DATA_DATE >= last.stdout.strip(), "layers/data changed: bump DATA_DATE in layers/catalog.py"


def test_metadata_names_source_date_and_datum(catalog):
    counties = catalog.metadata("counties")
    assert "cnmaps==1.1.9" in counties["source"] and counties["data_date"] == catalog.boundaries.metadata["build_date"]
    bases = catalog.metadata("innovation-bases")
    assert bases["datum"] == "WGS-84 (EPSG:4326)" and bases["data_date"]


def test_print_context_is_a_layer_one_level_up():
    """A printed map draws its layer over `print_over`: a known region layer, never the layer itself."""
    from layers.catalog import CATALOG

    specs = {s.id: s for s in CATALOG}
    assert specs["province"].print_over is None
    assert [specs[i].print_over for i in ("cities", "counties", "pilot-counties")] == ["province", "cities", "counties"]
    for spec in CATALOG:
        if spec.print_over is not None:
            assert spec.print_over != spec.id and specs[spec.print_over].kind == "regions", spec.id
