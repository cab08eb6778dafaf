"""Region names as people write them resolve to adcodes; ambiguity and unknown names are clear errors."""

import subprocess
import sys

import pytest

from boundaries import EMBEDDED_GPKG
from boundaries.gazetteer import AmbiguousName, Gazetteer, UnknownName, short_name


@pytest.fixture(scope="module")
def zj():
    return Gazetteer.load(EMBEDDED_GPKG)


@pytest.fixture(scope="module")
def china(china_gpkg):
    return Gazetteer.load(china_gpkg)


@pytest.mark.parametrize(
    "name, adcode",
    [
        ("萧山区", "330109"),
        ("杭州萧山区", "330109"),
        ("杭州市萧山区", "330109"),
        ("浙江省杭州市萧山区", "330109"),
        ("萧山", "330109"),
        ("景宁", "331127"),
        ("景宁畲族自治县", "331127"),
        ("龙港", "330383"),
        ("330109", "330109"),
        ("瑞安", "330381"),
        ("温州瑞安市", "330381"),
        ("宁波海曙区", "330203"),
        ("丽水缙云县", "331122"),
        ("台州仙居县", "331024"),
        ("钱塘区", "330114"),
        ("临平", "330113"),
        ("杭州", "330100"),
        ("浙江", "330000"),
        (" 萧山 ", "330109"),
    ],
)
def test_resolves_names_as_people_write_them(zj, name, adcode):
    assert zj.resolve(name).adcode == adcode


@pytest.mark.parametrize(
    "former, now, says",
    [
        ("江干区", "330102", "2021"),
        ("下城区", "330105", "拱墅"),
        ("绍兴县", "330603", "柯桥"),
        ("奉化市", "330213", "奉化区"),
    ],
)
def test_former_names_say_what_became_of_them(zj, former, now, says):
    place = zj.resolve(former)
    assert place.adcode == now
    assert former in place.note and says in place.note


def test_unknown_name_suggests_the_closest(zj):
    with pytest.raises(UnknownName) as err:
        zj.resolve("萧三")
    assert "萧山" in err.value.message
    assert err.value.status == 404


def test_unknown_adcode(zj):
    with pytest.raises(UnknownName):
        zj.resolve("999999")


def test_short_names():
    assert short_name("景宁畲族自治县") == "景宁"
    assert short_name("萧山区") == "萧山"
    assert short_name("杭州市") == "杭州"
    assert short_name("义乌市") == "义乌"


@pytest.mark.parametrize("name, places", [("普陀区", {"310107", "330903"}), ("江北区", {"330205", "500105"})])
def test_all_china_ambiguous_names_list_candidates(china, name, places):
    with pytest.raises(AmbiguousName) as err:
        china.resolve(name)
    assert {c["adcode"] for c in err.value.details["candidates"]} == places
    assert err.value.status == 400


def test_gulou_lists_several_cities(china):
    with pytest.raises(AmbiguousName) as err:
        china.resolve("鼓楼区")
    assert len(err.value.details["candidates"]) >= 4


@pytest.mark.parametrize(
    "name, kw, adcode",
    [
        ("普陀区", {"province": "上海市"}, "310107"),
        ("普陀区", {"city": "舟山"}, "330903"),
        ("江北区", {"city": "宁波市"}, "330205"),
        ("江北区", {"province": "重庆"}, "500105"),
        ("鼓楼区", {"city": "南京市"}, "320106"),
        ("舟山普陀区", {}, "330903"),
        ("上海市普陀区", {}, "310107"),
    ],
)
def test_a_province_or_city_settles_ambiguity(china, name, kw, adcode):
    assert china.resolve(name, **kw).adcode == adcode


def test_cli_resolves_and_exits_non_zero_naming_failures():
    ok = subprocess.run(
        [sys.executable, "-m", "boundaries", "resolve", "萧山", "瑞安", "景宁"], capture_output=True, text=True
    )
    assert ok.returncode == 0
    lines = ok.stdout.strip().splitlines()
    assert lines[0].split("\t")[:4] == ["萧山", "330109", "萧山区", "杭州市"]
    assert lines[2].split("\t")[1:3] == ["331127", "景宁畲族自治县"]
    bad = subprocess.run(
        [sys.executable, "-m", "boundaries", "resolve", "萧山", "火星区"], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "火星区" in bad.stderr.splitlines()[-1]
    assert "Traceback" not in bad.stderr
