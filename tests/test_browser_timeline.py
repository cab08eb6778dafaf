"""The year control in headless Chromium: choose a year, see the map as of it (the 2021 pilot counties gone in 2020,
records without a year drawn dashed and counted in a line under the control), the profile as of the year, the
export links carrying it, and a permalink that restores it. Screenshots: test-output/timeline-*.png."""

from __future__ import annotations

import pytest

from tests.test_browser import RUIAN, MapPage, api

pytestmark = pytest.mark.browser

LAYERS = "counties,pilot-counties,corridors,platforms"


def wait_year(mp: MapPage, year: int | None) -> None:
    """Until every visible layer holds its data as of `year` (None: all years)."""
    mp.page.wait_for_function(
        """(y) => [...window.kechuang.state.visible].every((id) => {
             const k = window.kechuang.store.get(id).key;
             return k !== null && (y === null ? !k.includes('|y') : k.endsWith('|y' + y));
           })""",
        arg=year,
    )
    mp.wait_idle()


def shown(mp: MapPage, layer: str) -> dict:
    """What the map holds for a layer: its feature ids and the ids drawn as undated."""
    return mp.js(
        """(id) => { const e = window.kechuang.store.get(id); const ids = [], undated = [];
             e.group.eachLayer((l) => { const f = l.feature; ids.push(String(f.id));
               if (f.properties.year_known === false) undated.push(String(f.id)); });
             return {ids: ids.sort(), undated: undated.sort()}; }""",
        layer,
    )


def test_choose_a_year_see_the_map_as_of_it_and_restore_it(browser, live_server, output_dir):
    mp = MapPage(browser, live_server, f"z=8&c=29.2,120.3&l={LAYERS}")
    page = mp.page
    try:
        control = page.locator('[data-testid="year-select"]')
        assert control.input_value() == ""  # all years by default
        assert page.locator('label[for="year-select"]').inner_text() == "显示截至"
        page.wait_for_function("() => document.querySelectorAll('#year-select option').length > 3")
        assert "2020" in [o.get_attribute("value") for o in control.locator("option").all()]
        assert len(shown(mp, "pilot-counties")["ids"]) == 10
        assert page.locator(".lyr-pilot-counties").count() == 10
        assert page.locator('[data-testid="year-note"]').is_hidden()
        page.screenshot(path=str(output_dir / "timeline-all.png"))

        control.focus()  # a native select: reachable and changed from the keyboard
        control.select_option("2020")
        wait_year(mp, 2020)
        assert page.locator(".lyr-pilot-counties").count() == 0
        assert shown(mp, "pilot-counties")["ids"] == []
        assert not mp.js(
            "() => { let n = 0; window.kechuang.store.get('counties').group.eachLayer((l) => "
            "{ if (l.feature.properties.pilot) n++; }); return n; }"
        )
        expected = {lid: api(live_server, f"/api/layers/{lid}?as_of=2020")["timeline"] for lid in LAYERS.split(",")}
        for lid in ("corridors", "platforms"):
            got = shown(mp, lid)
            assert len(got["ids"]) == expected[lid]["features"]
            assert len(got["undated"]) == expected[lid]["no_year"] > 0
        # an undated corridor is drawn dashed, as the style table's `undated` state says
        undated_path = page.locator("path.lyr-corridors.undated")
        assert undated_path.count() == expected["corridors"]["no_year"]
        assert undated_path.first.get_attribute("stroke-dasharray") == "2 4"
        no_year = sum(t["no_year"] for t in expected.values() if t["dated"])
        later = sum(t["left_out"] for t in expected.values() if t["dated"])
        note = page.locator('[data-testid="year-note"]')
        assert note.is_visible()
        assert f"{no_year} 条记录没有年份" in note.inner_text()
        assert f"{later} 条更晚的记录未显示" in note.inner_text()
        assert "没有年份的记录" in page.locator('[data-testid="legend"]').inner_text()
        assert "y=2020" in page.evaluate("location.hash")
        href = page.locator('[data-testid="export-csv"]').get_attribute("href")
        assert "as_of=2020" in href
        page.screenshot(path=str(output_dir / "timeline-2020.png"))

        # the profile of a 2021 pilot county as of 2020: no designation, the later one named
        mp.js(f"() => window.kechuang.select('counties', '{RUIAN}', {{}})")
        page.wait_for_selector('[data-testid="profile-later"]')
        assert "2021" in page.locator('[data-testid="profile-later"]').inner_text()
        page.screenshot(path=str(output_dir / "timeline-profile-2020.png"))

        page.locator('[data-testid="lang-toggle"]').click()
        page.wait_for_function("() => document.documentElement.lang === 'en'")
        assert f"{no_year} records have no year" in note.inner_text()
        assert control.locator("option").first.inner_text() == "All years"
        assert control.input_value() == "2020"
        # drawn maps are made in the page's language and as of its year; data downloads only as of the year
        html_link = page.locator('[data-testid="export-html"]').get_attribute("href")
        assert "lang=en" in html_link and "as_of=2020" in html_link
        assert "lang=" not in page.locator('[data-testid="export-csv"]').get_attribute("href")
        permalink = page.url
    finally:
        mp.context.close()
    assert not mp.page_errors and not mp.console_errors, (mp.page_errors, mp.console_errors)

    again = MapPage(browser, permalink.split("/#")[0], "#" + permalink.split("#", 1)[1])
    page = again.page
    try:
        wait_year(again, 2020)
        assert page.locator('[data-testid="year-select"]').input_value() == "2020"
        assert page.locator(".lyr-pilot-counties").count() == 0
        assert "records have no year" in page.locator('[data-testid="year-note"]').inner_text()
        page.screenshot(path=str(output_dir / "timeline-restored.png"))
        page.locator('[data-testid="year-select"]').select_option("")  # back to all years
        wait_year(again, None)
        assert page.locator(".lyr-pilot-counties").count() == 10
        assert page.locator('[data-testid="year-note"]').is_hidden()
        assert "y=" not in page.evaluate("location.hash")
    finally:
        again.context.close()
    assert not again.page_errors and not again.console_errors, (again.page_errors, again.console_errors)
