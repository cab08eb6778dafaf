"""Browser tests: the real app in headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

Never `playwright install`: the system Chromium is used through `executable_path`.
Output (screenshots) goes to test-output/.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import urllib.parse

import pytest

pytestmark = pytest.mark.browser

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
BUDGET_GZIP_BYTES = 600 * 1024
XIAOSHAN = "330109"
RUIAN = "330381"
IDLE = (
    "() => window.kechuang && document.body.dataset.ready === 'true' && window.kechuang.busy === 0"
    " && [...window.kechuang.state.visible].every((id) => window.kechuang.store.get(id).key !== null)"
)


# ------------------------------------------------------------------ fixtures and helpers
@pytest.fixture(scope="module")
def layers(live_server):
    return api(live_server, "/api/layers")["layers"]


def api(base: str, path: str):
    import urllib.request

    with urllib.request.urlopen(base + urllib.parse.quote(path, safe="/?=&,:"), timeout=60) as resp:
        return json.loads(resp.read())


class MapPage:
    """A page on the map with everything it logged and requested."""

    def __init__(self, browser, base: str, hash_: str = "", viewport=(1280, 800), before_goto=None):
        self.base = base
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, locale="zh-CN")
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.requests: list[str] = []
        self.responses = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("response", lambda r: self.responses.append(r))
        if before_goto:
            before_goto(self)
        self.page.goto(base + "/" + (("#" + hash_.lstrip("#")) if hash_ else ""))
        self.wait_idle()

    def _on_console(self, msg):
        if msg.type == "error":
            self.console_errors.append(msg.text)
        if os.environ.get("KECHUANG_TEST_CONSOLE"):
            print("console", msg.type, msg.text)

    def wait_idle(self, timeout=30000):
        self.page.wait_for_function(IDLE, timeout=timeout)
        self.page.wait_for_timeout(150)
        self.page.wait_for_function(IDLE, timeout=timeout)

    def external_requests(self) -> list[str]:
        out = []
        for url in self.requests:
            parsed = urllib.parse.urlparse(url)
            if parsed.scheme in ("data", "blob", "about"):
                continue
            if parsed.hostname not in LOCAL_HOSTS:
                out.append(url)
        return out

    def layer_requests(self, layer_id: str) -> list[str]:
        return [u for u in self.requests if urllib.parse.urlparse(u).path == f"/api/layers/{layer_id}"]

    def js(self, expr: str, arg=None):
        return self.page.evaluate(expr, arg) if arg is not None else self.page.evaluate(expr)

    def view(self):
        return self.js(
            "() => { const m = window.kechuang.map, c = m.getCenter(); return {z: m.getZoom(), lat: c.lat, lng: c.lng}; }"
        )

    # Profiles open in a side sheet (a bottom drawer on phones).
    POPUP = '[data-testid="profile-sheet"]:not([hidden])'

    def popup(self):
        return self.page.locator(self.POPUP)

    def wait_popup_text(self, text: str, timeout=15000):
        self.page.wait_for_function(
            "([sel, t]) => { const p = document.querySelector(sel);"
            " return p && p.textContent.includes(t) && !p.querySelector('.loading'); }",
            arg=[self.POPUP, text],
            timeout=timeout,
        )
        return self.popup().inner_text()

    def point_inside(self, selector: str):
        """A viewport point where `selector` is the topmost element (so a real click lands on it)."""
        pt = self.js(
            """(sel) => {
            const el = document.querySelector(sel);
            if (!el) return null;
            const r = el.getBoundingClientRect();
            const n = 24;
            const order = [];
            for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) order.push([(i + 0.5) / n, (j + 0.5) / n]);
            order.sort((a, b) => Math.hypot(a[0] - .5, a[1] - .5) - Math.hypot(b[0] - .5, b[1] - .5));
            for (const [fx, fy] of order) {
                const x = r.left + fx * r.width, y = r.top + fy * r.height;
                if (document.elementFromPoint(x, y) === el) return [x, y];
            }
            return null;
        }""",
            selector,
        )
        assert pt, f"no visible, clickable point on {selector}"
        return pt

    def checkbox(self, layer_id: str):
        return self.page.locator(f'[data-testid="layer-toggle-{layer_id}"]')

    def close(self):
        self.context.close()


@pytest.fixture
def open_map(browser, live_server):
    pages: list[MapPage] = []

    def _open(hash_: str = "", **kw) -> MapPage:
        mp = MapPage(browser, live_server, hash_, **kw)
        pages.append(mp)
        return mp

    yield _open
    for mp in pages:
        mp.close()


def feature_count(mp: MapPage, layer_id: str) -> int:
    """Features of a layer on the map: drawn elements, or for point layers the markers in the shared cluster group
    (a marker inside a cluster is on the map but drawn as part of the cluster's icon)."""
    return mp.js(
        """(id) => { const c = window.kechuang.cluster;
        const clustered = c ? c.getLayers().filter((l) => l.options.layerId === id).length : 0;
        return clustered || document.querySelectorAll('#map .lyr-' + id).length; }""",
        layer_id,
    )


# ------------------------------------------------------------------ tests
def test_page_loads_clean_local_only_and_within_budget(open_map, layers, output_dir):
    mp = open_map()
    assert mp.page_errors == []
    assert mp.console_errors == []
    assert mp.external_requests() == []
    # Leaflet comes from the vendored npm copy.
    scripts = mp.js("() => [...document.scripts].map((s) => s.getAttribute('src')).filter(Boolean)")
    assert any(s.startswith("/static/vendor/leaflet-1.9.4/") for s in scripts), scripts
    hrefs = mp.js(
        "() => [...document.querySelectorAll('link[href], script[src], img[src]')]"
        ".map((e) => e.getAttribute('href') || e.getAttribute('src'))"
    )
    assert not [h for h in hrefs if re.match(r"^(https?:)?//", h)], hrefs
    # Every default-visible layer is on the map and drawn.
    for layer in layers:
        if layer["default_visible"]:
            assert mp.checkbox(layer["id"]).is_checked(), layer["id"]
            assert feature_count(mp, layer["id"]) == layer["count"], layer["id"]
        else:
            assert not mp.checkbox(layer["id"]).is_checked(), layer["id"]
            assert mp.layer_requests(layer["id"]) == [], f"{layer['id']} fetched before it was switched on"
    # The datum is shown; the legend lists what is visible; the feature table lists the pilot counties.
    assert "WGS-84" in mp.page.locator('[data-testid="datum-indicator"]').inner_text()
    legend = mp.page.locator('[data-testid="legend"]').inner_text()
    pilot = next(lyr for lyr in layers if lyr["id"] == "pilot-counties")
    assert pilot["title"] in legend
    assert mp.page.locator('[data-testid="table-row"]').count() == pilot["count"]
    # Initial view (page + assets + default-visible layers) stays within 600 KB gzipped.
    total = 0
    for resp in mp.responses:
        try:
            body = resp.body()
        except Exception:
            continue
        total += len(gzip.compress(body, 6))
    assert total <= BUDGET_GZIP_BYTES, f"initial view is {total / 1024:.0f} KB gzipped"
    mp.page.screenshot(path=str(output_dir / "map.png"))


def test_each_overlay_toggles_on_and_off(open_map, layers):
    mp = open_map()
    for layer in layers:
        lid, count = layer["id"], layer["count"]
        box = mp.checkbox(lid)
        if box.is_checked():
            box.uncheck()
            mp.wait_idle()
            assert feature_count(mp, lid) == 0, lid
            box.check()
            mp.wait_idle()
            assert feature_count(mp, lid) == count, lid
        else:
            assert mp.layer_requests(lid) == []
            box.check()
            mp.wait_idle()
            assert len(mp.layer_requests(lid)) == 1, f"{lid} is fetched the first time it is switched on"
            assert feature_count(mp, lid) == count, lid
            assert pick_legend(mp, lid), f"legend lacks {lid}"
            box.uncheck()
            mp.wait_idle()
            assert feature_count(mp, lid) == 0, lid
            assert not pick_legend(mp, lid)
            box.check()
            mp.wait_idle()
            assert len(mp.layer_requests(lid)) == 1, f"{lid} is cached once fetched"
            assert feature_count(mp, lid) == count, lid
            box.uncheck()
    assert mp.console_errors == [] and mp.page_errors == []
    assert mp.external_requests() == []


def pick_legend(mp: MapPage, layer_id: str) -> bool:
    return mp.page.locator(f'[data-testid="legend"] .legend-block[data-layer="{layer_id}"]').count() > 0


def test_symbols_distinguish_kinds_and_schematic_geometry(open_map, layers):
    mp = open_map("l=counties,science-cities,science-city-zones,high-tech-zones,innovation-bases,corridors,platforms")
    shapes = mp.js("""() => {
        const out = {};
        document.querySelectorAll('#map .site-icon').forEach((e) => {
            const kind = [...e.classList].find((c) => c.startsWith('lyr-')) + ' ' + [...e.classList].find((c) => c.startsWith('kind-'));
            const sym = e.querySelector('svg.sym');
            const shape = [...sym.classList].find((c) => c.startsWith('sym-'));
            const fill = sym.firstElementChild.getAttribute('fill');
            (out[kind] = out[kind] || new Set()).add(shape + '/' + fill);
        });
        return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v]]));
    }""")
    assert shapes, "no site symbols drawn"
    # Within a layer (one colour) each kind has one symbol, and different kinds have different shapes.
    for key, looks in shapes.items():
        assert len(looks) == 1, (key, looks)
    shape_of = {}
    for key, looks in shapes.items():
        kind = key.split(" ")[1]
        shape_of.setdefault(kind, set()).add(looks[0].split("/")[0])
    assert all(len(v) == 1 for v in shape_of.values()), shape_of
    assert shape_of["kind-science-city"] != shape_of["kind-innovation-base"]
    # Schematic geometry is dashed, except a layout's core, which the style table draws solid to set it apart.
    dashes = mp.js("""() => [...document.querySelectorAll('#map path.lyr-science-city-zones:not(.role-core),'
        + ' #map path.lyr-corridors')].map((p) => p.getAttribute('stroke-dasharray'))""")
    assert dashes and all(dashes), "schematic paths must be dashed"
    roles = mp.js("""() => { const out = {};
        window.kechuang.store.get('science-city-zones').group.eachLayer((l) => {
            out[l.feature.properties.role] = l.options.color + '|' + l.options.dashArray; });
        return out; }""")
    if "core" in roles and len(roles) > 1:
        assert len(set(roles.values())) == len(roles), roles


def test_hover_and_click_xiaoshan_opens_pilot_profile(open_map, live_server):
    profile = api(live_server, f"/api/regions/{XIAOSHAN}")
    assert profile["designations"], "萧山区 is a 2021 pilot county"
    mp = open_map()
    sel = f"#map path.lyr-pilot-counties.fid-{XIAOSHAN}"
    x, y = mp.point_inside(sel)
    mp.page.mouse.move(x, y)
    tooltip = mp.page.locator(".leaflet-tooltip.kc-tooltip")
    tooltip.wait_for()
    assert "萧山区" in tooltip.inner_text()
    stroke_hover = mp.js("(s) => document.querySelector(s).getAttribute('stroke-width')", sel)
    mp.page.mouse.click(x, y)
    text = mp.wait_popup_text("萧山区")
    assert profile["designations"][0]["programme"] in text
    assert "试点" in text
    for fig in profile["figures"][:3]:
        assert fig["label"] in text
    assert float(stroke_hover) > 2, "hover highlights the county"
    # Selection is in the URL and in the synced table.
    assert f"s=pilot-counties:{XIAOSHAN}" in mp.page.url
    row = mp.page.locator(f'[data-testid="table-row"][data-fid="{XIAOSHAN}"]')
    assert row.get_attribute("aria-selected") == "true"
    # Sites inside are links that fly to them and open their profile.
    links = mp.popup().locator('a.feature-link[data-layer]:not([data-layer="cities"]):not([data-layer="counties"])')
    if links.count():
        link = links.first
        name = link.inner_text()
        layer, fid = link.get_attribute("data-layer"), link.get_attribute("data-fid")
        if os.environ.get("KECHUANG_TEST_CONSOLE"):
            mp.js(
                """() => { const m = window.kechuang.map; ['movestart','moveend','popupopen','popupclose','preclick','click'].forEach(ev => m.on(ev, (e) => console.log(ev, performance.now().toFixed(0), JSON.stringify(window.kechuang.state.selected), e.popup && e.popup.getContent().dataset.feature))); }"""
            )
        link.click()
        mp.page.wait_for_selector(f'[data-testid="profile-sheet"] .popup-profile[data-feature="{layer}:{fid}"]')
        mp.wait_popup_text(name)
        mp.wait_idle()
        assert f"s={layer}:{fid}" in mp.page.url
        assert mp.js(
            """([lid, fid]) => { const l = window.kechuang.store.get(lid).index.get(fid);
            const m = window.kechuang.map;
            return l.getLatLng ? m.getBounds().contains(l.getLatLng()) : m.getBounds().intersects(l.getBounds()); }""",
            [layer, fid],
        ), "the map flew to the site"
    assert mp.console_errors == [] and mp.page_errors == []


def test_search_ruian_flies_there_and_opens_it(open_map, live_server):
    profile = api(live_server, f"/api/regions/{RUIAN}")
    mp = open_map()
    before = mp.view()
    mp.page.locator('[data-testid="search-input"]').fill("瑞安")
    result = mp.page.locator(f'[data-testid="search-result"][data-fid="{RUIAN}"]')
    result.wait_for()
    assert "瑞安市" in result.inner_text()
    result.click()
    text = mp.wait_popup_text("瑞安市")
    assert profile["designations"][0]["programme"] in text
    mp.wait_idle()
    view = mp.view()
    # The county fills the part of the map the profile sheet leaves free.
    minx, miny, maxx, maxy = profile["bbox"]
    free = mp.js(
        """() => { const m = window.kechuang.map, s = document.getElementById('profile-sheet').getBoundingClientRect(),
        c = m.getContainer().getBoundingClientRect(), x0 = Math.max(0, s.right - c.left);
        const nw = m.containerPointToLatLng([x0, 0]), se = m.containerPointToLatLng([c.width, c.height]);
        return [nw.lng, se.lat, se.lng, nw.lat]; }"""
    )
    assert free[0] <= minx and maxx <= free[2] and free[1] <= miny and maxy <= free[3], (free, profile["bbox"])
    assert view["z"] > before["z"]
    assert re.search(rf"s=[a-z-]+:{RUIAN}", mp.page.url)
    # Keyboard: type, arrow, Enter picks a site; its layer is switched on if needed.
    box = mp.page.locator('[data-testid="search-input"]')
    box.fill("")
    box.type("云栖")
    mp.page.locator('[data-testid="search-result"]').first.wait_for()
    first_name = mp.page.locator('[data-testid="search-result"] .sr-name').first.inner_text()
    box.press("Enter")
    mp.wait_popup_text(first_name)
    assert mp.console_errors == [] and mp.page_errors == []


def test_copied_url_restores_view_layers_and_selection(open_map, layers):
    mp = open_map()
    mp.checkbox("platforms").check()
    mp.checkbox("high-tech-zones").uncheck()
    mp.wait_idle()
    mp.page.locator('[data-testid="search-input"]').fill("萧山")
    mp.page.locator(f'[data-testid="search-result"][data-fid="{XIAOSHAN}"]').click()
    mp.wait_popup_text("萧山区")
    mp.wait_idle()
    mp.page.locator(".leaflet-control-zoom-in").click()
    mp.page.wait_for_timeout(600)
    mp.wait_idle()
    mp.page.wait_for_timeout(200)
    url = mp.page.url
    view = mp.view()
    visible = sorted(mp.js("() => [...window.kechuang.state.visible]"))
    selected = mp.js("() => window.kechuang.state.selected")
    assert "platforms" in visible and "high-tech-zones" not in visible
    assert selected == {"layer": "counties", "id": XIAOSHAN}

    other = open_map(urllib.parse.urlparse(url).fragment)
    mp2_text = other.wait_popup_text("萧山区")
    assert "试点" in mp2_text
    view2 = other.view()
    assert view2["z"] == view["z"]
    assert abs(view2["lat"] - view["lat"]) < 1e-4 and abs(view2["lng"] - view["lng"]) < 1e-4
    assert sorted(other.js("() => [...window.kechuang.state.visible]")) == visible
    for layer in layers:
        assert other.checkbox(layer["id"]).is_checked() == (layer["id"] in visible), layer["id"]
    assert other.js("() => window.kechuang.state.selected") == selected
    assert (
        other.page.locator(f'[data-testid="table-row"][data-fid="{XIAOSHAN}"]').get_attribute("aria-selected") == "true"
    )
    # Pasting another URL into the same tab applies it too.
    other.js(f"() => {{ window.location.hash = 'z=10&c=27.8,120.6&l=counties,platforms&s=counties:{RUIAN}'; }}")
    other.wait_popup_text("瑞安市")
    other.wait_idle()
    assert sorted(other.js("() => [...window.kechuang.state.visible]")) == ["counties", "platforms"]
    assert other.js("() => window.kechuang.state.selected") == {"layer": "counties", "id": RUIAN}
    assert other.view()["z"] == 10
    assert other.console_errors == [] and other.page_errors == []


def test_english_toggle_changes_all_ui_text(open_map, layers):
    mp = open_map()
    strings = mp.js("() => window.kechuang.I18N.STRINGS")
    assert set(strings["zh"]) == set(strings["en"]), "both languages cover the same strings"
    title = mp.page.locator('[data-testid="app-title"]')
    assert title.inner_text() == "科创地图"
    mp.page.locator('[data-testid="lang-toggle"]').click()
    assert title.inner_text() == strings["en"]["app.title"]
    assert mp.js("() => document.documentElement.lang") == "en"
    # Every static UI string is the English one.
    mismatched = mp.js(
        """(en) => [...document.querySelectorAll('[data-i18n]')]
        .filter((e) => e.textContent !== en[e.dataset.i18n]).map((e) => e.dataset.i18n)""",
        strings["en"],
    )
    assert mismatched == []
    assert (
        mp.page.locator('[data-testid="search-input"]').get_attribute("placeholder")
        == strings["en"]["search.placeholder"]
    )
    control = mp.page.locator('[data-testid="layer-control"]').inner_text()
    for layer in layers:
        assert layer["title_en"] in control
        assert layer["group_title_en"] in control
    assert mp.page.locator("#h-legend").text_content() == strings["en"]["section.legend"]
    assert strings["en"]["table.name"] == mp.page.locator("#th-name").inner_text()
    assert "lang=en" in mp.page.url
    # Popups follow the language.
    mp.js(f"() => window.kechuang.select('pilot-counties', '{XIAOSHAN}', {{fly: true}})")
    text = mp.wait_popup_text(strings["en"]["popup.designations"])
    assert "Science & Technology China" in text
    assert "Xiaoshan District" in text and "Hangzhou" in text  # region names follow the language too
    assert "Xiaoshan District" in mp.page.locator('[data-testid="table-row"]').all_inner_texts()[0]
    # And back.
    mp.page.locator('[data-testid="lang-toggle"]').click()
    assert title.inner_text() == "科创地图"
    assert mp.js("() => document.documentElement.lang") == "zh-CN"
    mp.wait_popup_text(strings["zh"]["popup.designations"])
    assert mp.console_errors == [] and mp.page_errors == []


def test_table_is_keyboard_navigable_and_synced_with_map(open_map):
    mp = open_map()
    rows = mp.page.locator('[data-testid="table-row"]')
    assert rows.count() >= 2
    rows.first.focus()
    mp.page.keyboard.press("ArrowDown")
    second = rows.nth(1)
    assert mp.js("() => document.activeElement.dataset.fid") == second.get_attribute("data-fid")
    name = second.locator("td.name").inner_text()
    mp.page.keyboard.press("Enter")
    mp.wait_popup_text(name)
    assert second.get_attribute("aria-selected") == "true"
    assert f"s=pilot-counties:{second.get_attribute('data-fid')}" in mp.page.url
    # Focus moved into the profile; Escape closes it and gives focus back to the row.
    assert mp.js("() => document.getElementById('profile-sheet').contains(document.activeElement)")
    mp.page.keyboard.press("Escape")
    assert mp.js("() => document.activeElement.dataset.fid") == second.get_attribute("data-fid")
    mp.page.keyboard.press("ArrowUp")
    assert mp.js("() => document.activeElement.dataset.fid") == rows.first.get_attribute("data-fid")
    # Map → table: a click on the map selects the row.
    mp.wait_idle()
    # Braces, so the calls return nothing: Leaflet's methods return the map, which Playwright would serialise.
    mp.js(
        "() => { window.kechuang.map.closePopup(); window.kechuang.map.setView([30.1, 120.3], 8, {animate: false}); }"
    )
    mp.wait_idle()
    x, y = mp.point_inside(f"#map path.lyr-pilot-counties.fid-{XIAOSHAN}")
    mp.page.mouse.click(x, y)
    mp.wait_popup_text("萧山区")
    assert mp.page.locator(f'[data-testid="table-row"][data-fid="{XIAOSHAN}"]').get_attribute("aria-selected") == "true"
    assert second.get_attribute("aria-selected") == "false"
    # The list can show another layer's features; selecting one there selects it on the map.
    mp.page.locator('[data-testid="layer-table-science-cities"]').click()
    mp.wait_idle()
    first = mp.page.locator('[data-testid="table-row"]').first
    assert first.get_attribute("data-layer") == "science-cities"
    first.click()
    mp.wait_popup_text(first.locator("td.name").inner_text())
    fid = first.get_attribute("data-fid")
    assert mp.js("() => window.kechuang.state.selected") == {"layer": "science-cities", "id": fid}
    assert mp.page.locator(f"#map .site-icon.selected.fid-{fid}").count() == 1


def test_untrusted_text_never_becomes_html(open_map, live_server):
    evil = '<img src=x onerror="window.__pwned=1">'

    def poison(mp: MapPage):
        def region(route):
            body = json.loads(route.fetch().text())
            body["name"] = evil + "萧山区"
            body["summary"] = evil
            body["designations"][0]["programme"] = evil + body["designations"][0]["programme"]
            if body.get("figures"):
                body["figures"][0]["label"] = evil
            route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

        def sites(route):
            body = json.loads(route.fetch().text())
            for f in body["features"][:1]:
                f["properties"]["name"] = evil
                f["properties"]["summary"] = evil
            route.fulfill(status=200, content_type="application/geo+json", body=json.dumps(body))

        mp.page.route(f"**/api/regions/{XIAOSHAN}", region)
        mp.page.route(re.compile(r".*/api/layers/science-cities(\?.*)?$"), sites)

    mp = open_map(before_goto=poison)
    mp.js(f"() => window.kechuang.select('pilot-counties', '{XIAOSHAN}', {{fly: true}})")
    text = mp.wait_popup_text("萧山区")
    assert evil in text
    assert mp.popup().locator("img").count() == 0
    mp.page.locator('[data-testid="layer-table-science-cities"]').click()
    mp.wait_idle()
    assert mp.page.locator('[data-testid="feature-table"]').locator("img").count() == 0
    row = mp.page.locator('[data-testid="table-row"]', has_text="onerror")
    assert row.count() == 1
    row.click()
    mp.wait_popup_text(evil)
    assert mp.popup().locator("img").count() == 0
    assert mp.page.locator("#map img:not(.leaflet-tile)").count() == 0
    assert mp.js("() => window.__pwned") is None
    assert mp.page_errors == []


def test_export_menu_and_ogc_url(open_map, live_server):
    mp = open_map()
    hrefs = mp.js("() => [...document.querySelectorAll('#export-links a')].map((a) => a.getAttribute('href'))")
    assert hrefs == [
        f"/export/pilot-counties.{ext}" for ext in ("geojson", "gpkg", "shp.zip", "kml", "csv", "html", "png", "pdf")
    ]
    assert mp.page.locator('[data-testid="ogc-url"]').input_value() == live_server + "/ogc"
    mp.page.locator('[data-testid="layer-table-high-tech-zones"]').click()
    mp.wait_idle()
    assert (
        mp.js("() => document.querySelector('#export-links a').getAttribute('href')")
        == "/export/high-tech-zones.geojson"
    )


def test_gcj02_basemap_refetches_overlays_in_gcj02(open_map, live_server):
    tile_png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a2d8a2bd0000000049454e44ae426082"
    )
    basemap = {
        "id": "amap-test",
        "title": "高德（测试）",
        "title_en": "AMap (test)",
        "datum": "gcj02",
        "url": live_server + "/__test_tiles/{z}/{x}/{y}.png",
        "attribution": "test tiles",
        "max_zoom": 18,
    }

    def inject(mp: MapPage):
        def index(route):
            html = route.fetch().text()
            html = re.sub(
                r'"basemaps": ?\[\]', '"basemaps": ' + json.dumps([basemap], ensure_ascii=False), html, count=1
            )
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

        mp.page.route(re.compile(r"^" + re.escape(live_server) + r"/(#.*)?$"), index)
        mp.page.route("**/__test_tiles/**", lambda r: r.fulfill(status=200, content_type="image/png", body=tile_png))

    mp = open_map(before_goto=inject)
    indicator = mp.page.locator('[data-testid="datum-indicator"]')
    assert "WGS-84" in indicator.inner_text()
    site = mp.js(
        "() => { const l = window.kechuang.store.get('science-cities').group.getLayers()[0];"
        " return {id: l.feature.id, lat: l.getLatLng().lat, lng: l.getLatLng().lng}; }"
    )
    n_before = len(mp.requests)
    mp.page.locator('[data-testid="basemap-amap-test"]').check()
    mp.wait_idle()
    assert "GCJ-02" in indicator.inner_text()
    after = mp.requests[n_before:]
    visible = mp.js("() => [...window.kechuang.state.visible]")
    for lid in visible:
        assert any(f"/api/layers/{lid}?" in u and "datum=gcj02" in u for u in after), lid
    moved = mp.js(
        "(id) => { const l = window.kechuang.store.get('science-cities').index.get(id);"
        " return {lat: l.getLatLng().lat, lng: l.getLatLng().lng}; }",
        site["id"],
    )
    shift = ((moved["lat"] - site["lat"]) ** 2 + (moved["lng"] - site["lng"]) ** 2) ** 0.5
    assert 0.001 < shift < 0.02, "overlays line up with the GCJ-02 base map"
    assert "b=amap-test" in mp.page.url
    assert mp.page.locator("img.leaflet-tile").count() > 0
    mp.page.locator('[data-testid="basemap-none"]').check()
    mp.wait_idle()
    assert "WGS-84" in indicator.inner_text()
    assert mp.external_requests() == []
    assert mp.console_errors == [] and mp.page_errors == []


def test_phone_sized_screen(open_map, output_dir):
    mp = open_map(viewport=(390, 844))
    panel = mp.page.locator('[data-testid="side-panel"]')
    box = panel.bounding_box()
    assert box["x"] + box["width"] <= 1, "the panel is a closed drawer on a phone"
    map_box = mp.page.locator('[data-testid="map"]').bounding_box()
    assert map_box["width"] >= 380 and map_box["height"] >= 500
    assert mp.page.locator('[data-testid="search-input"]').is_visible()
    mp.page.locator('[data-testid="panel-toggle"]').click()
    mp.page.wait_for_timeout(400)
    box = panel.bounding_box()
    assert box["x"] >= -1 and box["width"] > 250
    row = mp.page.locator('[data-testid="table-row"]').first
    name = row.locator("td.name").inner_text()
    row.click()
    mp.page.wait_for_timeout(400)
    assert panel.bounding_box()["x"] + panel.bounding_box()["width"] <= 1, "choosing a row closes the drawer"
    mp.wait_popup_text(name)
    mp.page.screenshot(path=str(output_dir / "map-phone.png"))
    assert mp.console_errors == [] and mp.page_errors == []


def test_web_map_draws_from_the_served_style_table(open_map, live_server):
    """Rendered SVG colours of a zone of each role and a marker of each kind are the table's values."""
    table = api(live_server, "/api/layers")["styles"]
    mp = open_map("l=science-city-zones,science-cities,high-tech-zones,innovation-bases,platforms")
    drawn = mp.js("""() => { const out = {};
        window.kechuang.store.get('science-city-zones').group.eachLayer((l) => {
            const p = l.getElement();
            out[l.feature.properties.role] = [p.getAttribute('stroke'), p.getAttribute('fill'), p.getAttribute('stroke-dasharray')];
        });
        return out; }""")
    assert len(drawn) >= 3, drawn  # the data has zones of several roles
    for role, (stroke, fill, dash) in drawn.items():
        want = table["roles"].get(role, table["roles"]["zone"])
        assert (stroke, fill, dash) == (want["color"], want["fill"], want["dash"] or None), role
    # Roles the data does not use yet: the styling module gives the table's values too.
    styled = mp.js(
        """async (roles) => { const m = await import('/static/app/js/styles.js');
        return Object.fromEntries(roles.map((r) => { const s = m.styleFor('science-city-zones', {properties: {role: r}}, {});
            return [r, [s.color, s.fillColor, s.dashArray]]; })); }""",
        list(table["roles"]),
    )
    assert styled == {r: [v["color"], v["fill"], v["dash"] or None] for r, v in table["roles"].items()}
    markers = mp.js("""() => [...document.querySelectorAll('#map .site-icon')].map((e) => {
        const cls = [...e.classList], sym = e.querySelector('svg.sym'), shape = sym.firstElementChild;
        return {layer: cls.find((c) => c.startsWith('lyr-')).slice(4), kind: cls.find((c) => c.startsWith('kind-')).slice(5),
                symbol: [...sym.classList].find((c) => c.startsWith('sym-')).slice(4),
                fill: shape.getAttribute('fill'), stroke: shape.getAttribute('stroke'), size: +sym.getAttribute('width')}; })""")
    kinds = {m["kind"] for m in markers}
    assert len(kinds) >= 4, kinds
    outline = table["states"]["symbol_stroke"]["outline"]
    for m in markers:
        k, colour = table["kinds"][m["kind"]], table["layers"][m["layer"]]["color"]
        assert m["symbol"] == k["symbol"], m
        assert (m["fill"], m["stroke"]) == ((outline, colour) if k["hollow"] else (colour, outline)), m
        assert m["size"] == k["size"], m


def test_js_datum_matches_python(open_map):
    """static/app/js/datum.js gives geo/datum.py's numbers (1e-9 degrees) both ways on a grid over China."""
    import numpy as np

    from geo.datum import gcj02_to_wgs84, wgs84_to_gcj02

    lons, lats = np.meshgrid(np.linspace(73.0, 135.0, 12), np.linspace(3.0, 53.0, 11))
    lons, lats = lons.ravel(), lats.ravel()
    mp = open_map()
    js = mp.js(
        """async ([lons, lats]) => { const d = await import('/static/app/js/datum.js');
        return lons.map((lon, i) => [d.wgsToGcj(lats[i], lon), d.gcjToWgs(lats[i], lon)]); }""",
        [lons.tolist(), lats.tolist()],
    )
    fwd_lon, fwd_lat = wgs84_to_gcj02(lons, lats)
    inv_lon, inv_lat = gcj02_to_wgs84(lons, lats)
    got = np.array(js)  # [n, 2 (fwd, inv), 2 (lat, lon)]
    assert np.abs(got[:, 0, 0] - fwd_lat).max() < 1e-9 and np.abs(got[:, 0, 1] - fwd_lon).max() < 1e-9
    assert np.abs(got[:, 1, 0] - inv_lat).max() < 1e-9 and np.abs(got[:, 1, 1] - inv_lon).max() < 1e-9
    assert np.abs(fwd_lon - lons).max() > 1e-3  # the grid is inside the shifted extent
