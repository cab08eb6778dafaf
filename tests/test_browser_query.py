"""The filter panel in headless Chromium: build "pilot counties that contain a high-tech zone" with clicks, see the
count the API gives, the count per city, the other counties veiled on the map, the matches listed and selectable,
the export links; reload the permalink and find the filter again; clear it. Screenshots in test-output/query-*.png."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

from tests.test_browser import MapPage


def api(base: str, query: str) -> dict:
    with urllib.request.urlopen(f"{base}/api/query?{query}", timeout=60) as resp:
        return json.loads(resp.read())


def wait_count(page, n: int) -> None:
    page.wait_for_function(
        "(n) => (document.querySelector('[data-testid=filter-count]').textContent || '').includes(String(n))"
        " && document.querySelectorAll('path.query-match').length === n",
        arg=n,
        timeout=30000,
    )


def test_build_a_question_with_clicks_and_restore_it_from_the_link(browser, live_server, output_dir):
    expected = api(live_server, "in=pilot-counties&contains=high-tech-zones")
    assert expected["count"] >= 1
    mp = MapPage(browser, live_server)
    page = mp.page
    try:
        panel = page.locator('[data-testid="filter"]')
        panel.scroll_into_view_if_needed()
        page.locator('[data-testid="filter-add"]').click()
        rows = page.locator('[data-testid="filter-row"]')
        rows.first.locator('[data-testid="filter-kind"]').select_option("in")
        rows.first.locator('[data-testid="filter-layer"]').select_option("pilot-counties")
        mp.wait_idle()
        pilots = api(live_server, "in=pilot-counties")["count"]
        wait_count(page, pilots)

        page.locator('[data-testid="filter-add"]').click()
        second = rows.nth(1)
        second.locator('[data-testid="filter-kind"]').select_option("contains")
        second.locator('[data-testid="filter-layer"]').select_option("high-tech-zones")
        assert second.locator('[data-testid="filter-min"]').input_value() == "1"
        mp.wait_idle()
        wait_count(page, expected["count"])

        # the count, the count per city, the matches: what the API answers
        assert str(expected["count"]) in page.locator('[data-testid="filter-count"]').inner_text()
        cities = page.locator('[data-testid="filter-city"]').all_inner_texts()
        assert [c.split() for c in cities] == [[city, str(n)] for city, n in expected["by_city"].items()]
        matches = page.locator('[data-testid="filter-match"]')
        assert matches.count() == expected["count"]
        assert [matches.nth(i).get_attribute("data-adcode") for i in range(matches.count())] == [
            r["adcode"] for r in expected["regions"]
        ]
        # the others are veiled: every other county under a dimming path, in the filter's own pane
        dims = page.locator(".leaflet-p-query-pane path.query-dim")
        assert dims.count() == 90 - expected["count"]
        assert page.locator(".leaflet-p-query-pane path.query-match").count() == expected["count"]
        styles = mp.js("() => fetch('/api/layers').then((r) => r.json()).then((j) => j.styles)")
        fill = page.locator("path.query-match").first.get_attribute("fill")
        assert fill.lower() == styles["layers"]["query"]["fill"].lower()
        assert (
            page.locator("path.query-dim").first.get_attribute("fill").lower()
            == styles["states"]["query_dim"]["fill"].lower()
        )
        # the other layers' own styles are untouched
        pilot_fill = page.locator(".lyr-pilot-counties").first.get_attribute("fill")
        assert pilot_fill.lower() == styles["layers"]["pilot-counties"]["fill"].lower()

        # export links carry the question
        link = page.locator('[data-testid="filter-export-gpkg"]').get_attribute("href")
        assert link.startswith("/export/query.gpkg?")
        q = urllib.parse.parse_qs(link.split("?", 1)[1])
        assert q["in"] == ["pilot-counties"] and q["contains"] == ["high-tech-zones:1"]
        page.screenshot(path=str(output_dir / "query-map.png"))
        panel.screenshot(path=str(output_dir / "query-panel.png"))

        # a match is keyboard reachable and selects its county
        matches.first.focus()
        page.keyboard.press("Enter")
        mp.wait_popup_text(expected["regions"][0]["name"])
        page.screenshot(path=str(output_dir / "query-selected.png"))

        # the permalink holds the question: a fresh page restores it
        h = page.evaluate("() => window.location.hash")
        assert "q=" in h
        fresh = MapPage(browser, live_server, h)
        try:
            wait_count(fresh.page, expected["count"])
            kinds = fresh.page.locator('[data-testid="filter-kind"]')
            assert [kinds.nth(i).input_value() for i in range(kinds.count())] == ["in", "contains"]
            assert fresh.page.locator('[data-testid="filter-match"]').count() == expected["count"]
            fresh.page.screenshot(path=str(output_dir / "query-restored.png"))
            assert not fresh.page_errors
        finally:
            fresh.context.close()

        # city level: the per-city answer of the API
        page.locator('[data-testid="filter-level"]').select_option("city")
        mp.wait_idle()
        by_city = api(live_server, "level=city&in=pilot-counties&contains=high-tech-zones")
        page.wait_for_function(
            "(n) => document.querySelectorAll('[data-testid=filter-match]').length === n"
            " && document.querySelectorAll('path.query-dim').length === 11 - n",
            arg=by_city["count"],
        )
        page.screenshot(path=str(output_dir / "query-cities.png"))

        # clear resets everything: no rows, no count, no veil, no `q` in the link
        page.locator('[data-testid="filter-clear"]').click()
        mp.wait_idle()
        assert page.locator('[data-testid="filter-row"]').count() == 0
        assert page.locator("path.query-dim").count() == 0 and page.locator("path.query-match").count() == 0
        assert page.locator('[data-testid="filter-count"]').is_hidden()
        assert "q=" not in page.evaluate("() => window.location.hash")
        assert not mp.page_errors and not mp.console_errors
    finally:
        mp.context.close()


def test_a_bad_condition_says_why_and_english_labels(browser, live_server, output_dir):
    mp = MapPage(browser, live_server, "lang=en")
    page = mp.page
    try:
        page.locator('[data-testid="filter-add"]').click()
        row = page.locator('[data-testid="filter-row"]').first
        assert "is in list" in row.locator('[data-testid="filter-kind"]').inner_text()
        row.locator('[data-testid="filter-kind"]').select_option("where")
        assert "is in list" in row.inner_text() or "first" in row.inner_text()  # no list chosen: a hint, no field
        row.locator('[data-testid="filter-kind"]').select_option("not_contains")
        row.locator('[data-testid="filter-layer"]').select_option("platforms")
        mp.wait_idle()
        expected = api(live_server, "not_contains=platforms")
        wait_count(page, expected["count"])
        assert "Matching" in page.locator('[data-testid="filter-count"]').inner_text()
        page.screenshot(path=str(output_dir / "query-english.png"))
        assert not mp.page_errors
    finally:
        mp.context.close()
