"""The map on all of China's boundaries (2,875 counties) in headless Chromium: the first view stays small, counties
load per view, a county far from Zhejiang opens its profile, and search works (no timing assertions: see
bench/allchina.py). Also the search box's notes and "did you mean" suggestions on the embedded Zhejiang map."""

from __future__ import annotations

import pytest

from tests.conftest import serve
from tests.test_browser import MapPage

FIRST_VIEW_BYTES = 1_500_000  # gzip, response bodies as sent
PUTUO_SHANGHAI = "310107"


@pytest.fixture(scope="module")
def china_server(china_gpkg):
    from server import create_app
    from settings import load_settings

    app = create_app(load_settings(boundaries=china_gpkg))
    with serve(app) as base:
        yield base


def loaded(mp: MapPage, layer: str) -> list[str]:
    """The feature ids a layer has on the map now."""
    return mp.js("(id) => window.kechuang.store.get(id).features.map((f) => String(f.id))", layer)


def wait_view_loaded(mp: MapPage, layer: str = "counties") -> None:
    """Until the layer's loaded data covers the map's view (after a drag's inertia has stopped) and nothing loads."""
    mp.page.wait_for_function(
        "(id) => { const k = window.kechuang, e = k.store.get(id);"
        " return k.busy === 0 && !!e.view && e.view.bounds.contains(k.map.getBounds()); }",
        arg=layer,
        timeout=60000,
    )
    mp.wait_idle()


def test_first_view_is_small_and_loads_counties_of_the_view(browser, china_server, output_dir):
    sizes: dict[str, int] = {}

    def count(mp: MapPage) -> None:
        mp.page.on("requestfinished", lambda r: sizes.__setitem__(r.url, r.sizes()["responseBodySize"]))

    mp = MapPage(browser, china_server, before_goto=count)
    mp.page.wait_for_load_state("networkidle")
    mp.page.screenshot(path=str(output_dir / "allchina-first-view.png"))
    total = sum(sizes.values())
    assert total <= FIRST_VIEW_BYTES, sorted(((v, k) for k, v in sizes.items()), reverse=True)[:5]
    counties = loaded(mp, "counties")
    assert "330109" in counties and "310107" in counties  # 萧山区 and Shanghai's 普陀区 are in the view
    assert 50 < len(counties) < 1000  # the view's counties, not all 2,875
    assert all("bbox=" in u for u in mp.layer_requests("counties"))
    labels = mp.js("() => document.querySelectorAll('.map-label').length")
    assert labels <= 500
    assert not mp.page_errors and not mp.console_errors, (mp.page_errors, mp.console_errors)
    mp.context.close()


def test_panning_loads_the_counties_of_the_new_view(browser, china_server, output_dir):
    mp = MapPage(browser, china_server)
    before = set(loaded(mp, "counties"))
    page = mp.page
    for _ in range(3):  # drag the map eastward: the view moves west, into central China
        page.mouse.move(450, 400)
        page.mouse.down()
        page.mouse.move(800, 400, steps=8)
        page.mouse.move(1150, 400, steps=8)
        page.mouse.up()
        page.wait_for_timeout(1000)  # the drag's inertia
        wait_view_loaded(mp)
    after = set(loaded(mp, "counties"))
    assert after - before, "no new counties after panning"
    west = mp.js("() => window.kechuang.map.getBounds().getWest()")
    assert west < 114
    view = mp.js("() => window.kechuang.map.getBounds().toBBoxString()")
    new_provinces = {code[:2] for code in after} - {code[:2] for code in before}
    assert new_provinces, (view, sorted(new_provinces))  # counties of provinces the first view did not reach
    mp.page.screenshot(path=str(output_dir / "allchina-panned.png"))
    mp.context.close()


def test_clicking_a_county_outside_zhejiang_opens_its_profile(browser, china_server, output_dir):
    mp = MapPage(browser, china_server, hash_="")
    mp.js("() => { window.kechuang.map.setView([31.245, 121.395], 11, { animate: false }); }")
    wait_view_loaded(mp)
    mp.wait_idle()
    assert PUTUO_SHANGHAI in loaded(mp, "counties")
    x, y = mp.js(
        """(fid) => {
        const k = window.kechuang, f = k.store.get("counties").features.find((g) => String(g.id) === fid);
        const [lon, lat] = k.labelPoint(f.geometry);
        const p = k.map.latLngToContainerPoint([lat, lon]), r = k.map.getContainer().getBoundingClientRect();
        return [r.left + p.x, r.top + p.y];
    }""",
        PUTUO_SHANGHAI,
    )
    mp.page.mouse.click(x, y)
    mp.page.wait_for_timeout(500)
    mp.page.screenshot(path=str(output_dir / "allchina-click-putuo.png"))
    assert not mp.page_errors and not mp.console_errors, (mp.page_errors, mp.console_errors)
    text = mp.wait_popup_text("普陀区")
    assert "上海" in text
    mp.page.screenshot(path=str(output_dir / "allchina-click-putuo.png"))
    mp.context.close()


def test_search_finds_a_county_in_all_china_mode(browser, china_server, output_dir):
    mp = MapPage(browser, china_server)
    box = mp.page.locator("#search-input")
    box.fill("西湖区")
    first = mp.page.locator("[data-testid=search-result]").first
    first.wait_for()
    assert "西湖区" in first.inner_text()
    box.press("Enter")
    mp.wait_popup_text("西湖区")
    mp.wait_idle()
    assert "330106" in loaded(mp, "counties")
    mp.page.screenshot(path=str(output_dir / "allchina-search.png"))
    mp.context.close()


def test_search_box_shows_former_names_and_suggestions(browser, live_server, output_dir):
    mp = MapPage(browser, live_server)
    box = mp.page.locator("#search-input")
    results = mp.page.locator("#search-results")
    box.fill("瑞按市")
    mp.page.locator("li.suggestion").first.wait_for()
    assert "您是不是要找：瑞安市" in results.inner_text()
    box.fill("江干区")
    mp.page.locator(".sr-note").first.wait_for()
    text = results.inner_text()
    assert "上城区" in text and "江干区" in text and "2021" in text
    mp.page.screenshot(path=str(output_dir / "allchina-search-former.png"))
    box.press("Enter")
    mp.wait_popup_text("上城区")
    mp.context.close()
