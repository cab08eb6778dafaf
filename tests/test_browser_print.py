"""Printing the current view from the map page, and the offline HTML map, in headless Chromium.

The print dialog builds the /export URL for what is on screen and the PNG it downloads has the paper's size at
the chosen dpi; the offline map shows outlines, a legend and readable popups, drawn in the style table's colours,
and asks no other host for anything. Screenshots: test-output/print-*.png.
"""

from __future__ import annotations

import urllib.parse

import pytest

from layers.styles import style_table

pytestmark = pytest.mark.browser

IDLE = (
    "() => window.kechuang && document.body.dataset.ready === 'true' && window.kechuang.busy === 0"
    " && [...window.kechuang.state.visible].every((id) => window.kechuang.store.get(id).key !== null)"
)
LAYERS = "pilot-counties,counties,cities,high-tech-zones,innovation-bases,science-cities"
SHAOXING_VIEW = "z=10&c=30.03,120.65"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_print_dialog_prints_the_current_view(browser, live_server, output_dir, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    try:
        page.goto(f"{live_server}/#{SHAOXING_VIEW}&l={LAYERS}")
        page.wait_for_function(IDLE, timeout=60000)
        opener = page.get_by_test_id("print-open")
        opener.click()
        dialog = page.get_by_test_id("print-dialog")
        assert dialog.is_visible()
        assert page.evaluate("() => document.activeElement.id") == "print-title"
        title = page.get_by_test_id("print-title").input_value()
        assert title.startswith("科创地图 ") and len(title) == len("科创地图 2026-01-01")
        summary = page.get_by_test_id("print-summary").inner_text()
        assert "高新区" in summary and "°E" in summary and "°N" in summary
        page.keyboard.press("Escape")  # Esc closes and gives focus back to the button
        assert not dialog.is_visible()
        assert page.evaluate("() => document.activeElement.id") == "print-open"

        opener.click()
        page.get_by_test_id("print-title").fill("绍兴 <b>测试</b> 打印")
        page.get_by_test_id("print-size").select_option("a4")
        page.get_by_test_id("print-orientation").select_option("landscape")
        page.get_by_test_id("print-dpi").select_option("100")
        page.get_by_test_id("print-format").select_option("png")
        page.screenshot(path=str(output_dir / "print-dialog.png"))
        bounds = page.evaluate(
            "() => { const b = window.kechuang.map.getBounds();"
            " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }"
        )
        with page.expect_download(timeout=240000) as info:
            page.get_by_test_id("print-submit").click()
        download = info.value
        assert not dialog.is_visible()
        url = urllib.parse.urlsplit(download.url)
        query = urllib.parse.parse_qs(url.query)
        assert url.path == "/export/pilot-counties.png"
        assert set(query["layers"][0].split(",")) == {"high-tech-zones", "innovation-bases", "science-cities"}
        assert set(query["over"][0].split(",")) == {"cities", "counties"}
        assert query["title"] == ["绍兴 <b>测试</b> 打印"]
        assert (query["size"], query["orientation"], query["dpi"]) == (["a4"], ["landscape"], ["100"])
        bbox = [float(v) for v in query["bbox"][0].split(",")]
        assert all(abs(a - b) < 1e-4 for a, b in zip(bbox, bounds, strict=True)), (bbox, bounds)
        path = tmp_path / "print.png"
        download.save_as(path)
        body = path.read_bytes()
        assert _png_size(body) == (int(297 / 25.4 * 100), int(210 / 25.4 * 100))  # A4 landscape at 100 dpi
        (output_dir / "print-download.png").write_bytes(body)
    finally:
        page.close()


def test_offline_html_map_has_outlines_legend_readable_popups_and_table_colours(
    browser, http, catalog, output_dir, tmp_path
):
    status, _, body = http.get("/export/high-tech-zones.html?layers=science-city-zones,innovation-bases")
    assert status == 200
    path = tmp_path / "offline.html"
    path.write_bytes(body)
    url = path.resolve().as_uri()
    requested: list[str] = []
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 850})
    try:
        page.on("request", lambda req: requested.append(req.url))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        page.wait_for_selector(".kc-site", timeout=20000)
        # outlines underneath: every county and city, not clickable
        outlines = page.locator("path.kc-shape.role-none")
        assert outlines.count() >= len(catalog.frame("counties")) + len(catalog.frame("cities"))
        # the legend names both kinds of high-tech zone and the zone roles
        legend = page.locator("#kc-legend").inner_text()
        for text in ("国家级高新区", "省级高新区", "核心区", "园区", catalog.spec("innovation-bases").title):
            assert text in legend, text
        # markers by kind, in the table's symbols and colours
        table = style_table()
        frame = catalog.frame("high-tech-zones")
        sites = page.locator(".kc-site")
        assert sites.count() == len(frame) + len(catalog.frame("innovation-bases"))
        drawn = page.evaluate(
            """() => [...document.querySelectorAll('.kc-site')].map((n) => {
                 const s = n.querySelector('svg > *');
                 return {cls: n.className, tag: s.tagName, fill: s.getAttribute('fill'),
                         stroke: s.getAttribute('stroke'), size: n.querySelector('svg').getAttribute('width')};
               })"""
        )
        color = table["layers"]["high-tech-zones"]["color"]
        national = [d for d in drawn if "kind-national-high-tech-zone" in d["cls"] and d["fill"] == color]
        provincial = [d for d in drawn if "kind-provincial-high-tech-zone" in d["cls"]]
        assert national and provincial
        assert all(d["fill"] == "#ffffff" and d["stroke"] == color for d in provincial)  # hollow
        assert national[0]["size"] == str(table["kinds"]["national-high-tech-zone"]["size"])
        star = [d for d in drawn if "kind-innovation-base" in d["cls"]]
        assert star and star[0]["fill"] == table["layers"]["innovation-bases"]["color"]
        roles = page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('path.kc-shape')]
                 .map((p) => [[...p.classList].find((c) => c.startsWith('role-')), p.getAttribute('stroke')]))"""
        )
        used = set(catalog.frame("science-city-zones")["role"].dropna())
        for role in used:
            assert roles[f"role-{role}"] == table["roles"][role]["color"], role
        # a readable popup: a table of fields, no JSON, capped and inside the window
        target = page.locator(".kc-site.kind-national-high-tech-zone").first
        target.click(force=True)
        page.wait_for_selector(".kc-popup", timeout=5000)
        popup = page.locator(".kc-popup")
        text = popup.inner_text()
        assert "类型" in text and "国家级高新区" in text
        assert "{" not in text and "source_ref" not in text and ".txt" not in text
        assert "《" in text  # documents by title
        # Leaflet pans the map (animated) so an opened popup fits the window: measure once the pan has ended
        page.wait_for_function(
            "() => { const r = document.querySelector('.kc-popup').getBoundingClientRect();"
            " return r.top >= 0 && r.bottom <= window.innerHeight; }",
            timeout=5000,
        )
        box = popup.bounding_box()
        assert box["height"] <= 300 and box["y"] >= 0 and box["y"] + box["height"] <= 850
        page.screenshot(path=str(output_dir / "print-offline-map.png"))
    finally:
        page.close()
    assert errors == []
    assert all(u == url or u.startswith(("data:", "file:")) for u in requested), requested
