"""The thematic map in headless Chromium: pick a layer and a figure with the "专题图 / Thematic map" control, see
each region filled with its class colour from /api/thematic, the legend with the breaks and units (English units in
the English UI), the permalink restoring it, the print dialog passing it to the printed map, Clear restoring the
layer's own style; and graduated circles for an imported point list."""

from __future__ import annotations

import urllib.parse

import pytest

from settings import load_settings
from tests.conftest import Http, serve
from tests.test_browser import MapPage
from tests.test_import_http import upload
from tests.test_user_layers import Client, bearer

FIELD = "fact:2020年研发人员数目标"
CITY = "330100"  # 杭州市


def fill_of(mp: MapPage, layer: str, fid: str) -> str | None:
    return mp.js(
        "([l, f]) => { const p = document.querySelector(`path.lyr-${l}.fid-${f}`); return p && p.getAttribute('fill'); }",
        [layer, fid],
    )


def legend_rows(mp: MapPage) -> list[dict]:
    return mp.js(
        """() => [...document.querySelectorAll('[data-testid="th-legend"] li')].map((li) => ({
            cls: li.dataset.cls, color: li.dataset.color || null, text: li.textContent,
            swatch: getComputedStyle(li.querySelector('.th-swatch')).backgroundColor }))"""
    )


def rgb(hex_color: str) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def test_pick_a_figure_see_the_classes_link_print_and_clear(browser, live_server, output_dir):
    http = Http(live_server)
    mp = MapPage(browser, live_server)
    page = mp.page
    try:
        original = fill_of(mp, "cities", CITY)
        pane_z = mp.js("() => window.kechuang.map.getPane('p-cities').style.zIndex")
        page.locator('[data-testid="th-layer"]').select_option("cities")
        page.wait_for_function("() => !document.querySelector('#th-field').disabled")
        page.locator('[data-testid="th-method"]').select_option("natural_breaks")
        page.locator('[data-testid="th-k"]').select_option("4")
        page.locator('[data-testid="th-palette"]').select_option("Oranges")
        page.locator('[data-testid="th-field"]').select_option(FIELD)
        page.wait_for_selector('[data-testid="th-legend"] li >> nth=3')
        mp.wait_idle()

        answer = http.json(
            "/api/thematic/cities?"
            + urllib.parse.urlencode({"field": FIELD, "method": "natural_breaks", "k": 4, "palette": "Oranges"})
        )[1]
        assert answer["k_used"] == 4
        # every city is filled with the colour of its class in the API's answer
        for code, entry in answer["features"].items():
            assert fill_of(mp, "cities", code) == answer["classes"][entry["class"]]["color"], code
        # the legend lists the classes with their breaks, unit and counts, swatches in the class colours
        rows = legend_rows(mp)
        assert [r["color"] for r in rows] == [c["color"] for c in answer["classes"]]
        for row, cls in zip(rows, answer["classes"], strict=True):
            assert (
                f"{int(cls['max']):,}" in row["text"] and "人年" in row["text"] and f"({cls['count']})" in row["text"]
            )
            assert row["swatch"] == rgb(cls["color"])
        legend = page.locator('[data-testid="th-legend"]').inner_text()
        assert (
            "2020年研发人员数目标" in legend
            and "自然断点" in legend
            and "目标值" in legend
            and "浙政发〔2016〕24号" in legend
        )
        page.locator('[data-testid="thematic"]').scroll_into_view_if_needed()
        page.screenshot(path=str(output_dir / "thematic-choropleth.png"))

        # the choropleth lies under the other overlays: the pilot counties are drawn over it
        z = mp.js(
            """() => ['p-cities', 'p-pilot-counties'].map((p) => Number(window.kechuang.map.getPane(p).style.zIndex))"""
        )
        assert z[0] < z[1]

        # the permalink holds it
        hash_ = page.evaluate("() => window.location.hash")
        assert "th=cities:" in hash_ and "natural_breaks:4:Oranges" in hash_

        # the print dialog prints it
        page.locator('[data-testid="print-open"]').click()
        page.locator('[data-testid="print-format"]').select_option("png")
        page.locator('[data-testid="print-dpi"]').select_option("100")
        with page.expect_download():
            page.locator('[data-testid="print-submit"]').click()
        href = page.locator('[data-testid="print-link"]').get_attribute("href")
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query)
        assert href.startswith("/export/cities.png")
        assert params["thematic"] == [f"{FIELD}:natural_breaks:4:Oranges"] and params["thematic_layer"] == ["cities"]
        status, headers, png = http.get(href)
        assert status == 200 and headers["Content-Type"] == "image/png"
        (output_dir / "thematic-printed.png").write_bytes(png)

        # English: the figure's English label and unit
        page.locator('[data-testid="lang-toggle"]').click()
        legend_en = page.locator('[data-testid="th-legend"]').inner_text()
        assert (
            "R&D personnel target for 2020" in legend_en
            and "person-years" in legend_en
            and "Natural breaks" in legend_en
        )
        assert "target" in legend_en
        page.screenshot(path=str(output_dir / "thematic-choropleth-en.png"))
        page.locator('[data-testid="lang-toggle"]').click()

        # Clear restores the layer's own style and drops it from the link
        page.locator('[data-testid="th-clear"]').click()
        assert fill_of(mp, "cities", CITY) == original
        assert page.locator('[data-testid="th-legend"]').is_hidden()
        assert "th=" not in page.evaluate("() => window.location.hash")
        assert mp.js("() => window.kechuang.map.getPane('p-cities').style.zIndex") == pane_z
        assert not mp.page_errors and not mp.console_errors, (mp.page_errors, mp.console_errors)
    finally:
        mp.context.close()

    # a fresh page opened on the link shows the same map
    again = MapPage(browser, live_server, hash_)
    try:
        again.page.wait_for_selector('[data-testid="th-legend"] li >> nth=3')
        again.wait_idle()
        for code, entry in answer["features"].items():
            assert fill_of(again, "cities", code) == answer["classes"][entry["class"]]["color"], code
        assert again.page.locator('[data-testid="th-field"]').input_value() == FIELD
        assert again.page.locator('[data-testid="th-palette"]').input_value() == "Oranges"
        assert [r["color"] for r in legend_rows(again)] == [c["color"] for c in answer["classes"]]
        again.page.locator('[data-testid="thematic"]').scroll_into_view_if_needed()
        again.page.screenshot(path=str(output_dir / "thematic-permalink.png"))
        assert not again.page_errors, again.page_errors
    finally:
        again.context.close()


@pytest.fixture(scope="module")
def points_site(tmp_path_factory):
    """An app with a point list imported through the real path: places with coordinates and a number."""
    from layers.users import open_users
    from server import create_app

    data_dir = tmp_path_factory.mktemp("thematic-points")
    token = open_users(data_dir).add("ed", "editor").token
    app = create_app(load_settings(data_dir=data_dir))
    rows = [
        ("未来科技城", 119.99, 30.29, 420),
        ("紫金港", 120.08, 30.30, 180),
        ("滨江园区", 120.21, 30.21, 260),
        ("萧山园区", 120.27, 30.18, 75),
        ("临平园区", 120.30, 30.42, 40),
        ("富阳园区", 119.96, 30.05, 120),
        ("桐庐园区", 119.69, 29.80, ""),
    ]
    csv = "名称,经度,纬度,入驻企业数\n" + "\n".join(f"{n},{x},{y},{v}" for n, x, y, v in rows) + "\n"
    with serve(app) as base:
        c = Client(base)
        status, report = upload(c, "/api/imports", "园区.csv", csv.encode(), token)
        assert status == 200, report
        status, body = c.json("POST", f"/api/imports/{report['import_id']}/commit", {"title": "园区"}, bearer(token))
        assert status == 201, body
        yield {"base": base, "layer": body["layer"]}


def test_a_point_list_gets_graduated_circles(browser, points_site, output_dir):
    layer = points_site["layer"]
    http = Http(points_site["base"])
    listing = http.json(f"/api/thematic/{layer}")[1]
    assert listing["symbol"] == "graduated" and [f["id"] for f in listing["fields"]] == ["入驻企业数"]
    mp = MapPage(browser, points_site["base"])
    page = mp.page
    try:
        page.locator('[data-testid="th-layer"]').select_option(layer)
        page.wait_for_function("() => !document.querySelector('#th-field').disabled")
        page.locator('[data-testid="th-k"]').select_option("3")
        page.locator('[data-testid="th-field"]').select_option("入驻企业数")
        page.wait_for_selector('[data-testid="th-legend"] li >> nth=2')
        mp.wait_idle()
        answer = http.json(f"/api/thematic/{layer}?field=入驻企业数&method=quantiles&k=3&palette=YlGnBu")[1]
        circles = mp.js(
            """() => [...document.querySelectorAll('path.thematic-circle')].map((p) => ({
                cls: [...p.classList].find((c) => c.startsWith('class-') || c === 'no-data'),
                fill: p.getAttribute('fill'), box: p.getBBox().width }))"""
        )
        assert len(circles) == 7
        by_class = {c["cls"]: c for c in circles}
        assert "no-data" in by_class
        for i, cls in enumerate(answer["classes"]):
            assert by_class[f"class-{i}"]["fill"] == cls["color"]
        widths = [by_class[f"class-{i}"]["box"] for i in range(len(answer["classes"]))]
        assert widths == sorted(widths) and widths[0] < widths[-1]  # bigger class, bigger circle
        assert "无数据" in page.locator('[data-testid="th-legend"]').inner_text()
        mp.js("() => window.kechuang.map.fitBounds([[29.75, 119.6], [30.45, 120.35]], { animate: false })")
        mp.wait_idle()
        page.locator('[data-testid="thematic"]').scroll_into_view_if_needed()
        page.screenshot(path=str(output_dir / "thematic-circles.png"))
        assert not mp.page_errors, mp.page_errors
    finally:
        mp.context.close()
