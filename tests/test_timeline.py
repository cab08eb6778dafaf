"""The time filter over real HTTP: `as_of=<year>` on layers, region profiles and exports (later records left out,
undated ones kept, marked and counted), the years the data carries, a user list with a year column, bad input."""

from __future__ import annotations

import csv
import io
import json

import geopandas as gpd
import pytest

from layers.timeline import known_year
from settings import load_settings
from tests.conftest import Http, serve


def features(http: Http, path: str) -> dict:
    status, body = http.json(path)
    assert status == 200, body
    return body


def test_years_of_the_data(http, catalog):
    status, body = http.json("/api/timeline")
    assert status == 200
    assert 2016 in body["years"] and 2021 in body["years"]
    assert body["years"] == sorted(body["years"]) and body["min"] == body["years"][0]
    pilots = body["layers"]["pilot-counties"]
    assert pilots["years"] == [2021] and pilots["no_year"] == 0
    assert "counties" not in body["layers"]  # base geography: the same in every year
    undated = body["layers"]["platforms"]["no_year"]
    assert undated == sum(1 for d in catalog.frame("platforms")["designation"] if not (d or {}).get("year"))


def test_as_of_2020_leaves_out_the_2021_pilot_counties(http, catalog):
    everything = features(http, "/api/layers/pilot-counties")
    assert len(everything["features"]) == 10 and "timeline" not in everything
    before = features(http, "/api/layers/pilot-counties?as_of=2020")
    assert before["features"] == []
    assert before["timeline"] == {
        "as_of": 2020,
        "dated": True,
        "year_field": "year",
        "features": 0,
        "no_year": 0,
        "left_out": 10,
    }
    after = features(http, "/api/layers/pilot-counties?as_of=2021")
    assert len(after["features"]) == 10
    assert all(f["properties"]["year_known"] for f in after["features"])
    # the county layer is the same shapes in every year, but no county was a pilot before 2021
    counties = features(http, "/api/layers/counties?as_of=2020&zoom=7")
    assert len(counties["features"]) == len(catalog.frame("counties"))
    assert counties["timeline"]["dated"] is False
    assert not any(f["properties"]["pilot"] for f in counties["features"])
    assert all(f["properties"]["designations"] == [] for f in counties["features"])
    now = features(http, "/api/layers/counties?as_of=2021&zoom=7")
    assert sum(f["properties"]["pilot"] for f in now["features"]) == 10


def test_records_without_a_year_are_kept_marked_and_counted(http, catalog):
    frame = catalog.frame("platforms")
    years = {fid: (d or {}).get("year") for fid, d in zip(frame.index, frame["designation"], strict=True)}
    undated = {fid for fid, y in years.items() if y is None}
    later = {fid for fid, y in years.items() if y is not None and y > 2016}
    assert undated and later
    body = features(http, "/api/layers/platforms?as_of=2016")
    shown = {f["id"]: f["properties"] for f in body["features"]}
    assert set(shown) == set(frame.index) - later
    assert {fid for fid, p in shown.items() if not p["year_known"]} == undated
    assert body["timeline"]["no_year"] == len(undated)
    assert body["timeline"]["left_out"] == len(later)


def test_profiles_pick_the_latest_figure_up_to_the_year(http, catalog):
    # 瑞安: a 2021 pilot county with figures of several years
    full = features(http, "/api/regions/330381")
    assert full["designations"] and full["designations"][0]["year"] == 2021
    past = features(http, "/api/regions/330381?as_of=2020")
    assert past["designations"] == []
    assert [d["year"] for d in past["timeline"]["later_designations"]] == [2021]
    for f in past["figures"]:
        year = known_year(f)
        assert year is None or year <= 2020
        assert f["year_known"] is (year is not None)
    assert past["timeline"]["no_year"]["figures"] == sum(known_year(f) is None for f in full["figures"])
    # every profile: as of a year, one figure per indicator, the latest known by then
    for profile in catalog.profiles:
        if not profile["figures"]:
            continue
        code = profile["adcode"]
        for as_of in (2016, 2020):
            got = features(http, f"/api/regions/{code}?as_of={as_of}")
            expected: dict[str, tuple[int, object]] = {}
            for f in profile["figures"]:
                y = known_year(f)
                if y is not None and y <= as_of and (f["label"] not in expected or expected[f["label"]][0] < y):
                    expected[f["label"]] = (y, f["value"])
            dated = {f["label"]: (known_year(f), f["value"]) for f in got["figures"] if f["year_known"]}
            assert dated == expected, (code, as_of)
    # a city as of 2020 lists no pilot counties; as of 2021 its own
    wenzhou = features(http, "/api/regions/330300?as_of=2020")
    assert wenzhou["pilot_counties"] == [] and not any(c["pilot"] for c in wenzhou["counties"])
    assert features(http, "/api/regions/330300?as_of=2021")["pilot_counties"] == ["瑞安市"]


def test_a_target_counts_from_the_year_its_document_set_it():
    target = {"status": "target", "year": 2025, "source_ref": {"date": "2021-04"}}
    assert known_year(target) == 2021
    assert known_year({"status": "reported", "year": 2019}) == 2019
    assert known_year({"status": "cumulative", "period": "2016–2020"}) == 2020
    assert known_year({"status": "reported"}) is None


def test_exports_as_of_a_year(http):
    status, _headers, body = http.get("/export/platforms.csv?as_of=2016")
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    listed = features(http, "/api/layers/platforms?as_of=2016")
    assert len(rows) == len(listed["features"])
    assert {r["year_known"] for r in rows} == {"True", "False"}
    status, _h, body = http.get("/export/pilot-counties.geojson?as_of=2020")
    assert status == 200 and json.loads(body)["features"] == []
    status, _h, body = http.get("/export/pilot-counties.geojson?as_of=2021")
    assert len(json.loads(body)["features"]) == 10


@pytest.mark.parametrize("bad", ["abc", "2020.5", "20x", "99999", "0", "-2020", "3000"])
def test_bad_as_of_is_a_400_that_says_what_is_accepted(http, bad):
    for path in (f"/api/layers/platforms?as_of={bad}", f"/api/regions/330381?as_of={bad}"):
        status, message = http.error(path)
        assert status == 400 and "as_of" in message and "year" in message
    status, message = http.error(f"/export/platforms.csv?as_of={bad}")
    assert status == 400 and "as_of" in message


def test_a_user_list_with_a_year_column(tmp_path, catalog):
    from server import create_app

    app = create_app(load_settings(data_dir=tmp_path))
    codes = ["330381", "330782", "330109"]
    counties = catalog.frame("counties").loc[codes]
    frame = gpd.GeoDataFrame(
        {"adcode": codes, "name": counties["name"].tolist(), "批次年份": ["2019年", "2022", None]},
        geometry=counties.geometry.values,
        crs="EPSG:4326",
    )
    layer = app.extensions["editor"].save("按批次的名单", frame, actor="test", source="list.csv").id
    with serve(app) as base:
        http = Http(base)
        body = features(http, f"/api/layers/{layer}?as_of=2020")
        shown = {f["id"]: f["properties"]["year_known"] for f in body["features"]}
        assert shown == {"330381": True, "330109": False}
        assert body["timeline"]["year_field"] == "批次年份" and body["timeline"]["no_year"] == 1
        _status, years = http.json("/api/timeline")
        assert years["layers"][layer] == {"years": [2019, 2022], "no_year": 1, "year_field": "批次年份"}


def test_a_printed_map_as_of_a_year_says_so(catalog):
    from layers.timeline import as_of_note, frame_as_of

    frame, info = frame_as_of(catalog, "platforms", catalog.frame("platforms"), 2016)
    assert (
        as_of_note(2016, [frame], "en")
        == f"As of 2016 ({info['no_year']} records without a year, drawn dashed and pale)"
    )
    assert as_of_note(2016, [frame]).startswith("截至 2016 年")


def test_printed_map_as_of_a_year_is_drawn(http):
    status, headers, body = http.get("/export/platforms.png?as_of=2016&dpi=72&lang=en")
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert b"As of 2016" in body  # the subtitle is kept in the PNG's metadata (Subject)


def test_maps_as_of_a_year_draw_records_without_a_year_as_the_style_table_says(http, catalog):
    from geo import mapprint
    from geo.formats import ExportLayer
    from layers.styles import print_style, style_table
    from layers.timeline import frame_as_of

    undated = style_table()["states"]["undated"]
    frame, info = frame_as_of(catalog, "platforms", catalog.frame("platforms"), 2016)
    layer = ExportLayer("platforms", "platforms", frame, {}, print_style(style_table(), "platforms"))
    fig, _meta = mapprint.layers_figure([layer], {"dpi": 72})
    pale = [a for a in fig.axes[0].lines if a.get_alpha() == undated["marker_opacity"]]
    assert sum(len(a.get_xdata()) for a in pale) == info["no_year"] > 0
    status, _h, body = http.get("/export/platforms.html?as_of=2016")
    assert status == 200 and f'opacity=\\"{undated["marker_opacity"]:g}\\"'.encode() in body
    status, _h, body = http.get("/export/platforms.html")
    assert status == 200 and f'opacity=\\"{undated["marker_opacity"]:g}\\"'.encode() not in body


def test_figures_and_facts_of_a_download_as_of_a_year(http, catalog):
    status, _h, body = http.get("/export/cities.csv?figures=long&as_of=2016")
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    expected = set()
    for code in catalog.frame("cities").index:
        profile = features(http, f"/api/regions/{code}?as_of=2016")
        expected |= {(code, f["label"]) for f in [*profile["figures"], *profile["facts"]]}
    assert {(r["adcode"], r["indicator"]) for r in rows} == expected
    everything = http.get("/export/cities.csv?figures=long")[2].decode("utf-8-sig")
    assert len(list(csv.DictReader(io.StringIO(everything)))) > len(rows)
    # a site's facts as of a year: the latest known by then, those without a year marked
    sites = features(http, "/api/layers/high-tech-zones?as_of=2016")
    facts = [fact for f in sites["features"] for fact in f["properties"]["facts"]]
    assert facts
    for fact in facts:
        year = known_year(fact)
        assert (year is None and fact["year_known"] is False) or (year <= 2016 and fact["year_known"] is True)
